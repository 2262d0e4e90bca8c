"""Prefect tasks: one unit of work each, keyed for incremental reruns, retried on transient errors.

Every task checks its completion marker first (flows/incremental.py): the key is the content hash
of its inputs plus the config hash, so a rerun skips finished work and only new or changed
inputs are processed. Tasks retry a transient error (`common.errors.is_transient`: EIO on a
share, a timeout) with backoff, never bad input (`InputError`: it does not get better by
retrying; it is reported instead). Errors are told apart by type, never by their text.

One recording is a small task graph (`submit_recording` in flows/pipeline.py): curate parts ->
publish. A recording longer than `curate.analysis.chunk_seconds` is split at keyframes into
chunks analysed as separate tasks (on any worker); the publish task merges them (exactly one
pass), finishes and writes the recording.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from common.errors import InputError, is_transient
from flows.config import PipelineConfig
from flows.incremental import (
    combine_keys,
    file_fingerprint,
    fresh_tmp,
    is_done,
    mark_done,
    publish,
    read_marker,
    recording_key,
)


def _logger():
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # outside a run (plain function call in a notebook)
        return logging.getLogger("synthdepth.flows")


# ---- retries ---------------------------------------------------------------------------------


def task_error(state) -> BaseException | None:
    """The exception a failed task state holds (None if it holds none)."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            exc = state.result(raise_on_failure=False)
        except Exception as e:  # the result itself cannot be read: treat it as the error
            exc = e
    return exc if isinstance(exc, BaseException) else None


def retry_transient(task, task_run, state) -> bool:
    """Prefect retry_condition_fn: retry transient errors only (common.errors.is_transient)."""
    return is_transient(task_error(state))


def retry_options(config: PipelineConfig) -> dict:
    """Task options for a config's retry policy: exponential backoff from retry_delay_seconds."""
    delays = [config.retry_delay_seconds * 2**i for i in range(config.retries)]
    return dict(retries=config.retries, retry_delay_seconds=delays or 0)


def use_threads(config: PipelineConfig) -> dict:
    """Give torch and OpenCV this task's share of the cores (process-global, so set at every task
    start): parallel tasks with a thread per core each thrash. Returns the thread counts a task
    runs with (torch, OpenCV, the decoder and its converter, BLAS as the worker's environment
    sets it), for the marker and the scale-out bench."""
    import cv2
    import torch

    n = config.threads_per_task()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    cv2.setNumThreads(n)
    read = config.read_options()
    return {"torch": torch.get_num_threads(), "opencv": cv2.getNumThreads(), "decoder": read["threads"],
            "convert": read["convert_threads"], "blas": os.environ.get("OPENBLAS_NUM_THREADS"),
            "prefetch": _analysis_config(config).analysis.prefetch}


def _analysis_config(config: PipelineConfig):
    """The curation config a task analyses with: a one-thread task also decodes ahead and runs
    the bootstrap in its own thread unless told otherwise (`analysis.prefetch`: no result changes)."""
    a = config.curate.analysis
    if config.threads_per_task() > 1 or "prefetch" in a.model_fields_set:
        return config.curate
    return config.curate.model_copy(update={"analysis": a.model_copy(update={"prefetch": 0})})


_TASK = dict(cache_policy=NO_CACHE, retry_condition_fn=retry_transient, retries=2, retry_delay_seconds=[1.0, 2.0])


# ---- keys ------------------------------------------------------------------------------------


def curate_hash(config: PipelineConfig) -> str:
    """Config hash of curation, plus the bootstrap weights' content (a retrained model re-curates)."""
    h = config.curate.config_hash()
    bootstrap = config.curate.scoring.bootstrap
    if bootstrap and Path(bootstrap).is_file():
        h = combine_keys(h, file_fingerprint(Path(bootstrap)))
    return h


# ---- curate -------------------------------------------------------------------------


@dataclass
class PartRun:
    """One curated part of a recording (the whole recording, or one chunk of it) and how it ran:
    where, wall and CPU seconds (the worker process's CPU during the task, all its threads), the
    seconds spent loading code and models (0 once the worker holds them: they load once per
    worker process), and the thread counts it ran with."""

    result: Any  # curate.pipeline.RecordingResult (whole recording) or curate.table.ChunkTable (a chunk)
    worker: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    setup_seconds: float = 0.0
    threads: dict = field(default_factory=dict)
    loaded_models: bool = False  # this task was the first in its worker process to use the models

    @property
    def info(self):
        return self.result.info


def _run_part(config: PipelineConfig, work) -> PartRun:
    """`work(scorer)` in this worker with the task's threads, timed (see PartRun)."""
    t0, c0 = time.perf_counter(), time.process_time()
    threads = use_threads(config)
    from curate.pipeline import get_scorer

    scorer = get_scorer(config.curate, config.workers)  # loaded once per worker process
    setup = time.perf_counter() - t0
    loaded = id(scorer) not in _SCORERS_USED
    _SCORERS_USED.add(id(scorer))
    result = work(scorer)
    return PartRun(result, f"{socket.gethostname()}:{os.getpid()}", time.perf_counter() - t0,
                   time.process_time() - c0, setup, threads, loaded)


_SCORERS_USED: set[int] = set()  # the scorers (models) this process's tasks have used


def plan_parts(item: dict, config: PipelineConfig) -> list | None:
    """The chunks (`curate.analysis.Chunk`) a recording is curated in as separate tasks, split at
    keyframes about `curate.analysis.chunk_seconds` apart; None when it is one task (one chunk, or
    it cannot be opened here: that task then meets the problem and reports it as usual)."""
    import capture
    from curate.pipeline import plan_chunks

    try:
        rec = capture.open_recording(item["manifest"], **config.read_options())
        try:
            chunks = plan_chunks(item["manifest"], config.curate, recording=rec)
        finally:
            rec.close()
    except Exception:  # noqa: BLE001 - bad input or a transient error: the whole-recording task reports it
        return None
    return chunks if len(chunks) > 1 else None


@task(name="curate-part", **_TASK)
def curate_part_task(item: dict, config: PipelineConfig) -> PartRun:
    """Curate a whole recording -> PartRun of its RecordingResult.

    Bad input comes back as a result with status "failed"; a transient error is raised, so the
    task retries it; models are loaded once per worker process (curate.pipeline.get_scorer)."""
    from curate.pipeline import curate_recording

    def work(scorer):
        result = curate_recording(item["manifest"], _analysis_config(config), scorer, progress=False,
                                  read_options=config.read_options())
        result.features = None  # per-frame series are not written; keep what travels between workers small
        return result

    return _run_part(config, work)


@task(name="curate-chunk", **_TASK)
def curate_chunk_task(item: dict, chunk, config: PipelineConfig) -> PartRun:
    """Analyse one chunk of a recording -> PartRun of its ChunkTable (~200 bytes a frame); the
    publish task merges the chunks (exactly one pass) and finishes the recording. A recording
    that cannot be read raises (InputError: reported as failed, not retried; OSError: retried)."""
    import capture
    from common.memory import release_free_memory
    from curate.pipeline import analyze_chunk

    def work(scorer):
        rec = capture.open_recording(item["manifest"], **config.read_options())
        try:
            return analyze_chunk(item["manifest"], chunk, _analysis_config(config), scorer, recording=rec)
        finally:
            rec.close()
            release_free_memory()  # a long-lived worker runs chunk after chunk

    return _run_part(config, work)


def _finish(item: dict, config: PipelineConfig, parts: list[PartRun]):
    """The RecordingResult of a recording's parts: the one whole-recording result, or the chunks
    merged (== one pass) and finished here."""
    from curate.pipeline import RecordingResult, finish_recording, get_scorer, merge_chunks

    if len(parts) == 1 and isinstance(parts[0].result, RecordingResult):
        return parts[0].result
    t0 = time.perf_counter()
    use_threads(config)
    table = merge_chunks([p.result for p in parts])
    result = finish_recording(item["manifest"], table, config.curate, get_scorer(config.curate, config.workers))
    result.features = None
    result.seconds = sum(p.seconds for p in parts) + time.perf_counter() - t0
    return result


@task(name="publish-recording", **_TASK)
def publish_recording_task(item: dict, config: PipelineConfig, parts: list[PartRun], keep_result: bool = False) -> dict:
    """Merge and finish a recording's parts, write its curated files into a temp folder and rename
    it into <curated>/<id>/ (the commit point: a reader sees the old folder or the complete new
    one). `keep_result`: the RecordingResult comes back too, under "result" (for a report)."""
    from curate.pipeline import write_results

    rid = item["recording_id"]
    for part in parts:
        part.info.recording_id = rid  # a recording that could not be read is named by its path
    result = _finish(item, config, parts)
    result.info.recording_id = rid
    final = config.layout.curated_dir(rid)
    tmp = fresh_tmp(final)
    notes = list(result.notes)
    write_results([result], tmp, config.curate, notes)
    kept = sum(c.decision == "kept" for c in result.clips)
    dropped = sum(c.decision == "dropped" for c in result.clips)
    status = "curated" if result.info.status == "ok" else "failed"
    info = {"recording_id": rid, "manifest": item["manifest"], "status": status,
            "frames": result.info.num_frames, "clips_kept": kept, "clips_dropped": dropped,
            "errors": list(result.info.errors), "seconds": round(result.seconds, 2),
            "worker": parts[0].worker, "parts": len(parts),
            "workers": sorted({p.worker for p in parts}),
            "cpu_seconds": round(sum(p.cpu_seconds for p in parts), 2),
            "setup_seconds": round(sum(p.setup_seconds for p in parts), 2),
            "models_loaded": sum(p.loaded_models for p in parts),
            "threads": parts[0].threads}
    publish(tmp, final, item["key"], info)
    if status == "failed":
        _logger().warning("recording %s FAILED: %s", rid, "; ".join(result.info.errors))
    else:
        _logger().info("curated %s: %d frames in %d part(s), %d clips kept, %d dropped (%.1f s)", rid,
                       result.info.num_frames, len(parts), kept, dropped, result.seconds)
    return {**info, "result": result} if keep_result else info


# ---- bootstrap -------------------------------------------------------------------------------


@task(name="train-bootstrap", **_TASK)
def bootstrap_task(config: PipelineConfig) -> str | None:
    """Train the bootstrap scorer on the picks (keyed on picks + their recordings + settings)."""
    use_threads(config)
    import numpy as np

    from flows.picks import read_picks
    from model.bootstrap import (
        BootstrapConfig,
        holdout_picks_for,
        load_picks_csv,
        save_bootstrap,
        train_bootstrap,
    )

    b = config.bootstrap
    if not b.picks:
        if b.checkpoint and not Path(b.checkpoint).is_file():
            raise InputError(b.checkpoint, "bootstrap checkpoint not found")
        return b.checkpoint
    picks = load_picks_csv(b.picks)
    out = config.layout.bootstrap
    # the calibration scores held-out clips as this run's curation will (its widths and samples)
    sizes = config.curate.score_sizes()
    parts = [Path(b.picks).read_bytes().hex(), b.model_dump_json(), repr(sizes)]
    parts += [recording_key(m, "bootstrap") for m in sorted({p[0] for p in picks})]
    key = combine_keys(*parts)
    marker_dir = config.layout.models
    if out.is_file() and read_marker(marker_dir).get("bootstrap_key") == key:
        _logger().info("bootstrap model up to date: %s", out)
        return str(out)
    clips = read_picks(picks, sizes, say=_logger().info)
    if not clips:
        raise InputError(b.picks, "no frames could be read from any pick")
    bc = BootstrapConfig(size=b.size, batch_size=b.batch_size, train_frames=b.train_frames)
    _logger().info("training the bootstrap model on %d picked clips (%d steps)", len(clips), b.steps)
    net, hist = train_bootstrap(clips, bc, steps=b.steps, lr=b.lr, seed=b.seed, progress=True,
                                holdout_clips=holdout_picks_for(len(clips), b.holdout_picks), calib_sizes=sizes)
    save_bootstrap(out, net, bc)
    first, last = np.mean([h["loss"] for h in hist[:10]]), np.mean([h["loss"] for h in hist[-10:]])
    mark_done(marker_dir, "models", {"bootstrap_key": key, "loss_first": float(first), "loss_last": float(last)})
    _logger().info("bootstrap loss %.4f -> %.4f; wrote %s", first, last, out)
    return str(out)


# ---- shard -----------------------------------------------------------------------------------


@task(name="shard", **_TASK)
def shard_task(config: PipelineConfig) -> dict:
    """Kept clips of every published curated dir -> ROOT/shards (resumable; skipped when unchanged).

    The shard set is keyed on the curated folders' keys and the shard config. A kill leaves the
    key of the set being written in _STARTED.json: the rerun resumes it (complete shards are
    kept). When the input changed, the set is written anew from an empty folder."""
    use_threads(config)
    from dataset.shard_writer import shard_curated

    cur = config.layout.curated
    dirs = sorted(d for d in cur.iterdir() if d.is_dir() and not d.name.startswith(".")) if cur.is_dir() else []
    dirs = [d for d in dirs if (d / "_DONE.json").exists()]
    out = config.layout.shards
    key = combine_keys(config.shard.config_hash(), *(f"{d.name}:{read_marker(d).get('key')}" for d in dirs))
    if is_done(out, key):
        info = read_marker(out)
        _logger().info("shards up to date: %s shards", len(info.get("shards", [])))
        return {**info, "status": "skipped"}
    started = out / "_STARTED.json"
    try:
        resume = json.loads(started.read_text()).get("key") == key
    except (OSError, ValueError):
        resume = False
    if not resume:
        # Other input or settings: start from an empty folder (then record what is being written).
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        tmp = out / "._STARTED.json.tmp"
        tmp.write_text(json.dumps({"key": key}))
        tmp.replace(started)
    res = shard_curated(dirs, out, config.shard, progress=True)
    info = {"shards": [Path(s).name for s in res.shards], "written": len(res.written),
            "clips": res.num_clips, "frames": res.num_frames}
    mark_done(out, key, info)
    _logger().info("%d shards (%d written now), %d clips, %d frames", len(res.shards), len(res.written),
                   res.num_clips, res.num_frames)
    return {**info, "status": "written"}


# ---- train -----------------------------------------------------------------------------------


def _shard_content_key(shards_dir: Path) -> str:
    import pyarrow.parquet as pq

    hashes = []
    for p in sorted(shards_dir.glob("*-[0-9][0-9][0-9][0-9][0-9][0-9].parquet")):
        hashes += pq.read_table(p, columns=["sample_sha256"]).column("sample_sha256").to_pylist()
    return combine_keys(*hashes)


def _batches_forever(shards: list[str], t, seed: int):
    from dataset.loader import cycle_epochs, make_loader
    from dataset.packing import Bucket, BucketTable

    buckets = BucketTable([Bucket(t.height, t.width, t.frames, t.batch_size)])
    loader = make_loader(shards, buckets=buckets, seed=seed, shuffle_buffer=16)
    return cycle_epochs(loader, shards[0] if shards else None)


@task(name="train", **_TASK)
def train_task(config: PipelineConfig) -> dict:
    """A short flow-matching training of the depth model on the shards (keyed on shard content)."""
    use_threads(config)
    import torch

    from model.config import ModelConfig, TrainConfig
    from model.latent_codec import fit_vae
    from model.pipeline import DepthPipeline
    from model.train import latest_checkpoint, train

    t = config.train
    shards = sorted(str(p) for p in config.layout.shards.glob("*-[0-9][0-9][0-9][0-9][0-9][0-9].tar"))
    if not shards:
        _logger().warning("no shards (no kept clips): training skipped")
        return {"status": "no-data"}
    out = config.layout.runs
    key = combine_keys(_shard_content_key(config.layout.shards), t.model_dump_json())
    if is_done(out, key) and latest_checkpoint(out) is not None:
        return {**read_marker(out), "status": "skipped"}
    if read_marker(out).get("key") not in (None, key):
        shutil.rmtree(out, ignore_errors=True)  # other data or settings: start over, do not resume
    torch.manual_seed(t.seed)
    mc = ModelConfig.preset_named(t.preset)
    pipe = None
    resume = latest_checkpoint(out)
    if resume is None:
        pipe = DepthPipeline.from_config(mc)
        if t.preset == "tiny" and t.vae_steps:
            _logger().info("fitting the tiny VAE (%d steps)", t.vae_steps)
            fit_vae(pipe.codec, _batches_forever(shards, t, t.seed + 1), steps=t.vae_steps, progress=True)
            # The config the checkpoints record must say the scale the codec now uses (a resumed run
            # reads it back from there); model/train.py's checkpoint writer does not sync it yet.
            pipe.config.vae_scaling_factor = pipe.codec.scaling_factor
    else:  # a killed run's checkpoint: the model is the one it holds (its fitted VAE scale included)
        mc = ModelConfig.from_dict(json.loads((resume / "model_config.json").read_text())["model"])
    tc = TrainConfig(model=mc, out_dir=str(out), max_steps=t.steps, lr=t.lr, warmup_steps=min(20, t.steps // 5),
                     checkpoint_every=t.checkpoint_every, seed=t.seed, logger="jsonl", log_every=10)
    _logger().info("training the %s depth model for %d steps on %d shards", t.preset, t.steps, len(shards))
    res = train(tc, _batches_forever(shards, t, t.seed), pipeline=pipe)
    losses = res.losses
    k = max(1, len(losses) // 5)
    info = {"checkpoint": str(latest_checkpoint(out)), "steps": res.steps,
            "loss_first": float(sum(losses[:k]) / k) if losses else None,
            "loss_last": float(sum(losses[-k:]) / k) if losses else None}
    mark_done(out, key, info)
    return {**info, "status": "trained"}


# ---- evaluate --------------------------------------------------------------------------------


class _FlowPredictor:
    """The flow model with its Euler step count, optionally run at a smaller size and resized back."""

    def __init__(self, pipe, steps: int, size: tuple[int, int] | None):
        self.pipe, self.steps, self.size = pipe, steps, size

    def predict(self, frames):
        import cv2
        import numpy as np

        if self.size is None:
            return self.pipe(frames, num_steps=self.steps)
        h, w = frames.shape[1:3]
        small = np.stack([cv2.resize(f, (self.size[1], self.size[0]), interpolation=cv2.INTER_AREA) for f in frames])
        pred = self.pipe(small, num_steps=self.steps)
        return np.stack([cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR) for p in pred]).astype(np.float32)


@task(name="evaluate", **_TASK)
def evaluate_task(config: PipelineConfig, name: str, checkpoint: str, kind: str) -> dict:
    """Evaluate one model on the benchmark (model.evaluate); writes ROOT/eval/<name>/results.json."""
    use_threads(config)
    from model.benchmarks import load_benchmark
    from model.evaluate import aggregate, evaluate_video
    from model.loading import load_model

    e = config.evaluate
    out = config.layout.eval / name
    ck = Path(checkpoint)
    files = sorted(ck.rglob("*.safetensors")) if ck.is_dir() else [ck]
    key = combine_keys(e.model_dump_json(), kind, *(file_fingerprint(f) for f in files))
    if is_done(out, key):
        return {**json.loads((out / "results.json").read_text())["summary"], "status": "skipped"}
    model = load_model(checkpoint, kind)
    if kind == "flow":
        model = _FlowPredictor(model, e.flow_steps, e.flow_size)
    rows = []
    for video in load_benchmark(e.benchmark, e.root, max_frames=e.max_frames, max_videos=e.max_videos):
        pred = model.predict(video.frames)
        m = evaluate_video(pred, video.depth, video.valid, video.poses, video.K, space="depth",
                           min_depth=video.min_depth, max_depth=video.max_depth)
        rows.append({"video": video.name, "frames": m["frames"], "abs_rel": m["abs_rel"], "delta1": m["delta1"],
                     "rmse": m["rmse"], "tae": m["tae"]})
    summary = {"model": name, "checkpoint": checkpoint, "benchmark": e.benchmark, **aggregate(rows)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"summary": summary, "videos": rows}, indent=2, default=float))
    mark_done(out, key, {"model": name})
    _logger().info("%s on %s: AbsRel %.4f delta1 %.4f", name, e.benchmark, summary["abs_rel"], summary["delta1"])
    return {**summary, "status": "evaluated"}


# ---- catalog ---------------------------------------------------------------------------------


def write_catalog_file(config: PipelineConfig) -> Path:
    """ROOT/catalog.duckdb brought up to date with ROOT's Parquet files (only new or changed files
    are read; see dataset.catalog_db), readable by any DuckDB client."""
    from dataset import catalog

    return Path(catalog.refresh(config.layout.root).path)
