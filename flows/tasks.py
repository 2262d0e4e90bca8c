"""Prefect tasks: one unit of work each, keyed for incremental reruns, retried on transient I/O.

Every task checks its completion marker first (flows/incremental.py): the key is the content hash
of its inputs plus the config hash, so a rerun skips finished work and only new or changed
inputs are processed. Tasks retry an OSError (a flaky disk or network share) but not an
InputError (bad input does not get better by retrying; it is reported instead).
"""

from __future__ import annotations

import builtins
import json
import logging
import shutil
import threading
import time
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from capture.errors import InputError
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
from flows.ingest import register_failed, validate_recording


def _logger():
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # outside a run (plain function call in a notebook)
        return logging.getLogger("synthdepth.flows")


# ---- retries ---------------------------------------------------------------------------------

_OSERROR_NAMES = {"OSError", "IOError"} | {
    n for n, c in vars(builtins).items() if isinstance(c, type) and issubclass(c, OSError)
}


def is_transient(exc: BaseException | None) -> bool:
    """An I/O error that may go away on retry; bad input (InputError, a ValueError) never does."""
    return isinstance(exc, OSError) and not isinstance(exc, InputError)


def retry_transient(task, task_run, state) -> bool:
    """Prefect retry_condition_fn: retry OSError, not InputError or any other exception."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            exc = state.result(raise_on_failure=False)
        except Exception as e:  # the result itself cannot be read: treat it as the error
            exc = e
    return is_transient(exc)


def use_threads(config: PipelineConfig) -> None:
    """Give torch this task's share of the cores (process-global, so set at every task start)."""
    import torch

    n = config.threads_per_task()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


_TASK = dict(cache_policy=NO_CACHE, retry_condition_fn=retry_transient, retries=2, retry_delay_seconds=1.0)


# ---- keys ------------------------------------------------------------------------------------


def curate_config_for(config: PipelineConfig, bootstrap: str | None):
    """The CurateConfig curation actually runs with (the bootstrap checkpoint filled in)."""
    cc = config.curate
    if bootstrap:
        cc = cc.model_copy(update={"scoring": cc.scoring.model_copy(update={"bootstrap": str(bootstrap)})})
    return cc


def curate_hash(config: PipelineConfig, bootstrap: str | None) -> str:
    """Config hash of curation, plus the bootstrap weights' content (a retrained model re-curates)."""
    h = curate_config_for(config, bootstrap).config_hash()
    if bootstrap and Path(bootstrap).is_file():
        h = combine_keys(h, file_fingerprint(Path(bootstrap)))
    return h


# ---- ingest + curate -------------------------------------------------------------------------


@task(name="ingest", **_TASK)
def ingest_task(manifest: str, recording_id: str, key: str, config: PipelineConfig) -> dict:
    """Validate one recording; a failed one is registered (published) with its error."""
    use_threads(config)
    item = validate_recording(manifest, recording_id)
    item.recording_id = recording_id  # the id its folder is keyed on (manifest id or file stem)
    if item.status == "failed":
        register_failed(item, config.layout.curated_dir(recording_id), key, config.curate)
        _logger().warning("recording %s FAILED validation: %s", recording_id, item.error)
    return item.as_dict()


_SCORERS: dict[str, object] = {}
_SCORER_LOCK = threading.Lock()


def _scorer(curate_config):
    """One CurationScorer (models loaded once) per worker process and scoring config."""
    from curate.scoring import CurationScorer

    k = curate_config.scoring.model_dump_json()
    with _SCORER_LOCK:
        if k not in _SCORERS:
            s = CurationScorer(curate_config.scoring)
            s.setup()
            _SCORERS[k] = s
        return _SCORERS[k]


@task(name="curate-recording", **_TASK)
def curate_task(item: dict, key: str, config: PipelineConfig, bootstrap: str | None) -> dict:
    """Curate one recording into ROOT/curated/<id>/ (temp folder renamed when complete)."""
    use_threads(config)
    from curate.pipeline import curate_recording, write_results

    rid = item["recording_id"]
    final = config.layout.curated_dir(rid)
    if is_done(final, key):
        return {"recording_id": rid, "status": "skipped", **read_marker(final)}
    t0 = time.perf_counter()
    cc = curate_config_for(config, bootstrap)
    scorer = _scorer(cc)
    result = curate_recording(item["manifest"], cc, scorer, progress=False)
    result.info.recording_id = rid
    if result.info.status == "failed":
        errs = result.info.errors
        if errs and errs[0].split(":", 1)[0] in _OSERROR_NAMES:
            raise OSError(f"{item['manifest']}: {errs[0]}")  # transient: let the task retry
    result.features = None
    tmp = fresh_tmp(final)
    write_results([result], tmp, cc, list(scorer.notes))
    kept = sum(c.decision == "kept" for c in result.clips)
    dropped = sum(c.decision == "dropped" for c in result.clips)
    info = {"recording_id": rid, "status": "curated" if result.info.status == "ok" else "failed",
            "frames": result.info.num_frames, "clips_kept": kept, "clips_dropped": dropped,
            "errors": result.info.errors, "seconds": round(time.perf_counter() - t0, 2)}
    publish(tmp, final, key, info)
    _logger().info("curated %s: %d frames, %d clips kept, %d dropped (%.1f s)", rid,
                   result.info.num_frames, kept, dropped, info["seconds"])
    return info


# ---- bootstrap -------------------------------------------------------------------------------


@task(name="train-bootstrap", **_TASK)
def bootstrap_task(config: PipelineConfig) -> str | None:
    """Train the bootstrap scorer on the picks (keyed on picks + their recordings + settings)."""
    use_threads(config)
    import numpy as np

    from capture import open_recording
    from model.bootstrap import BootstrapConfig, load_picks_csv, save_bootstrap, train_bootstrap

    b = config.bootstrap
    if not b.picks:
        if b.checkpoint and not Path(b.checkpoint).is_file():
            raise InputError(b.checkpoint, "bootstrap checkpoint not found")
        return b.checkpoint
    picks = load_picks_csv(b.picks)
    out = config.layout.bootstrap
    parts = [Path(b.picks).read_bytes().hex(), b.model_dump_json()]
    parts += [recording_key(m, "bootstrap") for m in sorted({p[0] for p in picks})]
    key = combine_keys(*parts)
    marker_dir = config.layout.models
    if out.is_file() and read_marker(marker_dir).get("bootstrap_key") == key:
        _logger().info("bootstrap model up to date: %s", out)
        return str(out)
    clips = []
    for manifest, start, end in picks:
        with open_recording(manifest) as rec:
            pairs = rec.read(start, end)
        if pairs:
            clips.append((np.stack([p.rgb for p in pairs]), np.stack([p.depth for p in pairs]).astype(np.float32)))
    if not clips:
        raise InputError(b.picks, "no frames could be read from any pick")
    bc = BootstrapConfig(size=b.size, batch_size=b.batch_size, train_frames=b.train_frames)
    _logger().info("training the bootstrap model on %d picked clips (%d steps)", len(clips), b.steps)
    net, hist = train_bootstrap(clips, bc, steps=b.steps, lr=b.lr, seed=b.seed, progress=True,
                                holdout_clips=b.holdout_picks)
    save_bootstrap(out, net, bc)
    first, last = np.mean([h["loss"] for h in hist[:10]]), np.mean([h["loss"] for h in hist[-10:]])
    mark_done(marker_dir, "models", {"bootstrap_key": key, "loss_first": float(first), "loss_last": float(last)})
    _logger().info("bootstrap loss %.4f -> %.4f; wrote %s", first, last, out)
    return str(out)


# ---- shard -----------------------------------------------------------------------------------


@task(name="shard", **_TASK)
def shard_task(config: PipelineConfig) -> dict:
    """Kept clips of every published curated dir -> ROOT/shards (resumable; skipped when unchanged)."""
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
    try:
        res = shard_curated(dirs, out, config.shard, progress=True)
    except InputError as e:
        if "other clips" not in str(e) and "another shard config" not in str(e):
            raise
        # New recordings sort between old ones: the shard order changed, rewrite the set.
        _logger().info("input changed (%s); rewriting the shard set", e.problem)
        res = shard_curated(dirs, out, config.shard, progress=True, overwrite=True)
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
    if latest_checkpoint(out) is None:
        pipe = DepthPipeline.from_config(mc)
        if t.preset == "tiny" and t.vae_steps:
            _logger().info("fitting the tiny VAE (%d steps)", t.vae_steps)
            fit_vae(pipe.codec, _batches_forever(shards, t, t.seed + 1), steps=t.vae_steps, progress=True)
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
    """ROOT/catalog.duckdb: the catalog views materialised as tables (a snapshot of this run),
    written to a temp file and renamed, readable by any DuckDB client."""
    import duckdb

    from dataset import catalog

    path = config.layout.catalog
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    live = catalog.open(str(config.layout.root))
    con = duckdb.connect(str(tmp))
    try:
        for view in catalog.VIEWS:
            con.register("_src", live.sql(f"SELECT * FROM {view}").to_arrow_table())
            con.execute(f"CREATE TABLE {view} AS SELECT * FROM _src")
            con.unregister("_src")
    finally:
        con.close()
        live.close()
    tmp.replace(path)
    return path
