"""The pipeline's typed config: one `PipelineConfig` holding every stage's config, the data root
and the task runner. Load it from YAML and override any field on the command line:

    synthdepth run recordings/ --root data --set curate.clips.length=60 --set train.steps=50

Layout of the data root (every path below is derived from `root`):

    ROOT/curated/<recording_id>/   clips.parquet, spans.parquet, recordings.parquet, report.html, _DONE.json
    ROOT/shards/                   shard-000000.{tar,parquet,stats.json}, _dataset.json, _DONE.json
    ROOT/models/bootstrap.safetensors
    ROOT/runs/depth/               training checkpoints (checkpoint-NNNNNNN/ = a DepthPipeline folder)
    ROOT/eval/                     results.json, results.md per model
    ROOT/catalog.duckdb            DuckDB file with the catalog views (re-created after each run)
    ROOT/report.html               run report: counts, links to each recording's curation report
    ROOT/.synthdepth.lock          held (flock) by the run writing to ROOT; holds its pid

`synthdepth curate MANIFESTS --out DIR` runs the same per-recording flow with `root` = `curated_dir`
= DIR: DIR/<recording_id>/ per recording, DIR/report.html for all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from capture.config import StageConfig
from curate.config import CurateConfig
from dataset.config import ShardConfig


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BootstrapStage(_Part):
    """Train the bootstrap scorer from hand-picked clean clips (`picks`), or use `checkpoint`."""

    picks: str | None = None  # CSV manifest,start_frame,end_frame
    checkpoint: str | None = None  # an existing bootstrap .safetensors (used as is when no picks)
    steps: int = Field(300, ge=1)
    size: int = Field(128, ge=16)
    batch_size: int = Field(4, ge=1)
    train_frames: int = Field(4, ge=1)
    lr: float = 2e-3
    seed: int = 0
    # Hold out the last N picks whole to calibrate curation's depth thresholds and trust (0: held-out
    # windows of every pick, which flatter the model; -1: a quarter of the picks when there are at
    # least 4; see model.bootstrap.holdout_picks_for).
    holdout_picks: int = Field(-1, ge=-1)


class TrainStage(_Part):
    """A (short) flow-matching training of the depth model on the shards."""

    enabled: bool = True
    preset: Literal["tiny", "svd"] = "tiny"
    steps: int = Field(200, ge=1)
    # fine-tune the tiny preset's shipped autoencoder on the shards first (0 = use it as shipped)
    vae_steps: int = Field(0, ge=0)
    # bucket resolution (a multiple of the preset's size multiple: 32 for tiny) and frames per sample
    height: int = Field(96, ge=8)
    width: int = Field(160, ge=8)
    frames: int = Field(4, ge=1)
    batch_size: int = Field(4, ge=1)
    lr: float = 1e-3  # the tiny preset trains from scratch (svd fine-tunes at 6.4e-5)
    seed: int = 0
    checkpoint_every: int = Field(100, ge=1)


class EvaluateStage(_Part):
    enabled: bool = True
    benchmark: str = "simulated"  # held-out simulated scenes with exact depth and poses
    max_videos: int = Field(3, ge=1)
    max_frames: int = Field(12, ge=2)
    root: str | None = None  # dataset folder for the published benchmarks (sintel, kitti, ...)
    flow_steps: int = Field(3, ge=1)  # Euler steps of the flow model at inference
    # (height, width) the flow model sees; its prediction is resized back (None = native size)
    flow_size: tuple[int, int] | None = None


class PipelineConfig(StageConfig):
    root: str = "synthdepth-data"
    curated_dir: str | None = None  # where each recording's folder goes (default ROOT/curated)
    runner: Literal["thread", "process", "dask", "ray"] = "thread"
    workers: int = Field(2, ge=1)
    address: str | None = None  # Dask scheduler (tcp://...) / Ray cluster address (ray://...)
    # torch threads per task; None = CPU cores // workers. Oversubscribed cores make torch up to 20x
    # slower (threads spin-waiting on each other), so parallel tasks each get their share.
    torch_threads: int | None = Field(None, ge=1)
    # How each task reads its recording (capture.open_recording): the video decoder's threads
    # (None: `threads_per_task()`, so a one-thread worker decodes on one thread; 0: FFmpeg's
    # choice, one per core) and the reader's conversion threads beside the decoder (None: 1 when a
    # task has more than one thread, else 0 = converted in the decoding thread). They cannot
    # change a result (decoding is exact), so they are not part of any key.
    decoder_threads: int | None = Field(None, ge=0)
    convert_threads: int | None = Field(None, ge=0)
    # Retries of a task that hit a transient error (common.errors.is_transient: EIO, timeouts, ...),
    # with exponential backoff: delay, 2 x delay, 4 x delay, ... When they run out the recording is
    # recorded as not_processed and the next run tries it again.
    retries: int = Field(2, ge=0)
    retry_delay_seconds: float = Field(1.0, ge=0)
    curate: CurateConfig = CurateConfig()
    shard: ShardConfig = ShardConfig()
    bootstrap: BootstrapStage = BootstrapStage()
    train: TrainStage = TrainStage()
    evaluate: EvaluateStage = EvaluateStage()

    def with_bootstrap(self, checkpoint: str | Path | None) -> PipelineConfig:
        """This config with curation scoring with `checkpoint` (the one place the bootstrap a run
        trained or was given reaches curation); None keeps `curate.scoring.bootstrap` as it is."""
        if not checkpoint:
            return self
        scoring = self.curate.scoring.model_copy(update={"bootstrap": str(checkpoint)})
        return self.model_copy(update={"curate": self.curate.model_copy(update={"scoring": scoring})})

    def threads_per_task(self) -> int:
        import os

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return self.torch_threads or max(1, cores // self.workers)

    def read_options(self) -> dict:
        """`capture.open_recording` keywords for a task: its decoder and conversion threads."""
        n = self.threads_per_task()
        return {"threads": n if self.decoder_threads is None else self.decoder_threads,
                "convert_threads": (1 if n > 1 else 0) if self.convert_threads is None else self.convert_threads}

    @property
    def layout(self) -> Layout:
        return Layout(Path(self.root), Path(self.curated_dir) if self.curated_dir else None)


class Layout:
    """Where each stage writes under the data root."""

    def __init__(self, root: Path, curated: Path | None = None):
        self.root = Path(root)
        self._curated = curated

    @property
    def curated(self) -> Path:
        return self._curated if self._curated is not None else self.root / "curated"

    @property
    def lock(self) -> Path:
        return self.root / ".synthdepth.lock"

    @property
    def shards(self) -> Path:
        return self.root / "shards"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def bootstrap(self) -> Path:
        return self.models / "bootstrap.safetensors"

    @property
    def runs(self) -> Path:
        return self.root / "runs" / "depth"

    @property
    def eval(self) -> Path:
        return self.root / "eval"

    @property
    def catalog(self) -> Path:
        return self.root / "catalog.duckdb"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    def curated_dir(self, recording_id: str) -> Path:
        return self.curated / recording_id
