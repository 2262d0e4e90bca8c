"""The pipeline as Prefect flows: ingest, curate, shard, train, evaluate, and `pipeline` (all of them).

    from flows.pipeline import pipeline_flow, run_pipeline
    summary = run_pipeline("recordings/", PipelineConfig(root="data"))   # picks the task runner

Incremental and kill-safe: each recording's curation is keyed on the content of its manifest and
media plus the curation config hash (and the bootstrap weights); its output is written to a temp
folder and renamed into ROOT/curated/<id>/ when complete, so a rerun (after a crash, a SIGKILL, or
with one new recording in the folder) only does the work that is missing. Shards, training and
evaluation are keyed the same way. One bad recording never stops the others: it is registered as
failed with its error, and every flow ends with a summary of what failed and why.

Task runner: threads by default; `runner: process|dask|ray` in the config (or `--runner`) runs the
same flow code on processes, a Dask cluster or a Ray cluster (flows/runners.py).
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow

from flows.config import PipelineConfig
from flows.incremental import is_done, recording_key
from flows.ingest import find_manifests, peek_recording_id
from flows.runners import make_task_runner
from flows.tasks import (
    _logger,
    bootstrap_task,
    curate_hash,
    curate_task,
    evaluate_task,
    ingest_task,
    shard_task,
    train_task,
    write_catalog_file,
)


def _opts(task, config: PipelineConfig):
    return task.with_options(retries=config.retries, retry_delay_seconds=config.retry_delay_seconds)


def _plan(manifests: list[Path], config: PipelineConfig, bootstrap: str | None) -> tuple[list[dict], list[dict]]:
    """(recording id, manifest, key) for each manifest; a duplicate id is an error, not a second folder."""
    chash = curate_hash(config, bootstrap)
    seen: dict[str, str] = {}
    plan, errors = [], []
    for m in manifests:
        rid = peek_recording_id(m)
        if rid in seen:
            errors.append({"recording_id": rid, "manifest": str(m),
                           "error": f"duplicate recording id {rid!r} (also in {seen[rid]}); not processed"})
            continue
        seen[rid] = str(m)
        plan.append({"recording_id": rid, "manifest": str(m), "key": recording_key(m, chash)})
    return plan, errors


def _state_error(state) -> str:
    try:
        exc = state.result(raise_on_failure=False)
    except Exception as e:
        exc = e
    return f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(state.message)


@flow(name="ingest", log_prints=True)
def ingest_flow(recordings: str | list[str], config: PipelineConfig) -> dict:
    """Validate manifests; register the ones that fail (status failed + error) in the catalog."""
    plan, errors = _plan(find_manifests(recordings), config, config.bootstrap.checkpoint)
    futures = [(p, _opts(ingest_task, config).submit(p["manifest"], p["recording_id"], p["key"], config))
               for p in plan if not is_done(config.layout.curated_dir(p["recording_id"]), p["key"])]
    items = []
    for p, f in futures:
        st = f.wait() or f.state
        if st.is_completed():
            items.append(f.result())
        else:
            errors.append({"recording_id": p["recording_id"], "manifest": p["manifest"], "error": _state_error(st)})
    return {"recordings": len(plan), "ingested": items, "errors": errors,
            "failed": [i for i in items if i["status"] == "failed"]}


@flow(name="curate", log_prints=True)
def curate_flow(recordings: str | list[str], config: PipelineConfig, bootstrap: str | None = None) -> dict:
    """Ingest + curate every recording not curated yet (one task per recording, in parallel).

    Returns {"recordings", "curated", "skipped", "failed": [...], "errors": [...], ...}: `skipped` are
    recordings whose output with the same key exists; `failed` were registered as failed (bad
    input); `errors` could not be processed this time (e.g. I/O errors after retries) and will be
    retried by the next run."""
    t0 = time.perf_counter()
    log = _logger()
    bootstrap = bootstrap or config.bootstrap.checkpoint
    plan, errors = _plan(find_manifests(recordings), config, bootstrap)
    todo = [p for p in plan if not is_done(config.layout.curated_dir(p["recording_id"]), p["key"])]
    skipped = len(plan) - len(todo)
    log.info("%d recordings: %d to curate, %d already done", len(plan), len(todo), skipped)
    ingest = _opts(ingest_task, config)
    curate = _opts(curate_task, config)
    ing = [(p, ingest.submit(p["manifest"], p["recording_id"], p["key"], config)) for p in todo]
    cur, failed = [], []
    for p, f in ing:
        # Curation of a recording starts as soon as its own validation is done.
        st = f.wait() or f.state
        if not st.is_completed():
            errors.append({"recording_id": p["recording_id"], "manifest": p["manifest"], "error": _state_error(st)})
            continue
        item = f.result()
        if item["status"] == "failed":
            failed.append({"recording_id": p["recording_id"], "manifest": p["manifest"], "error": item["error"]})
            continue
        cur.append((p, curate.submit(item, p["key"], config, bootstrap)))
    curated, kept, dropped = 0, 0, 0
    for p, f in cur:
        st = f.wait() or f.state
        if not st.is_completed():
            errors.append({"recording_id": p["recording_id"], "manifest": p["manifest"], "error": _state_error(st)})
            continue
        r = f.result()
        if r["status"] == "skipped":
            skipped += 1
            continue
        curated += 1
        kept += r.get("clips_kept", 0)
        dropped += r.get("clips_dropped", 0)
        if r["status"] == "failed":
            failed.append({"recording_id": p["recording_id"], "manifest": p["manifest"],
                           "error": "; ".join(r.get("errors", []))})
    summary = {"recordings": len(plan), "curated": curated, "skipped": skipped, "failed": failed, "errors": errors,
               "clips_kept": kept, "clips_dropped": dropped, "seconds": round(time.perf_counter() - t0, 1)}
    for e in failed + errors:
        log.warning("recording %s not curated: %s", e["recording_id"], e["error"])
    log.info("curation: %d curated, %d skipped, %d failed, %d errors (%s s)", curated, skipped, len(failed),
             len(errors), summary["seconds"])
    return summary


@flow(name="shard", log_prints=True)
def shard_flow(config: PipelineConfig) -> dict:
    """Kept clips of ROOT/curated/* -> WebDataset shards + Parquet in ROOT/shards."""
    return _opts(shard_task, config)(config)


@flow(name="train", log_prints=True)
def train_flow(config: PipelineConfig) -> dict:
    """Short flow-matching training of the depth model on ROOT/shards."""
    return _opts(train_task, config)(config)


@flow(name="evaluate", log_prints=True)
def evaluate_flow(config: PipelineConfig, models: dict[str, tuple[str, str]] | None = None) -> list[dict]:
    """Evaluate the bootstrap model and the trained depth model (name -> (checkpoint, kind))."""
    from model.train import latest_checkpoint

    if models is None:
        models = {}
        if config.layout.bootstrap.is_file():
            models["bootstrap"] = (str(config.layout.bootstrap), "bootstrap")
        elif config.bootstrap.checkpoint:
            models["bootstrap"] = (config.bootstrap.checkpoint, "bootstrap")
        ck = latest_checkpoint(config.layout.runs)
        if ck is not None:
            models["depth-tiny" if config.train.preset == "tiny" else "depth"] = (str(ck), "flow")
    out = []
    for name, (ck, kind) in models.items():
        st = _opts(evaluate_task, config)(config, name, ck, kind, return_state=True)
        out.append(st.result() if st.is_completed() else {"model": name, "error": _state_error(st)})
    return out


def finish_run(config: PipelineConfig, run: dict) -> dict:
    """Catalog file, counts, report.html, dataset card and the Prefect artifact of a run."""
    from dataset import catalog
    from dataset import stats as dstats
    from flows.artifacts import catalog_counts, markdown_summary, publish_artifact, write_report

    lay = config.layout
    lay.root.mkdir(parents=True, exist_ok=True)
    catalog_file = write_catalog_file(config)
    counts = catalog_counts(lay.root)
    try:
        con = catalog.open(str(lay.root))
        dstats.write_card(con, lay.root / "dataset_card.html", thumbnails=4)
        con.close()
    except Exception as e:  # the card is a nicety; its failure must not fail the run
        _logger().warning("dataset card not written: %s", e)
    report = write_report(lay, counts, run)
    md = markdown_summary(counts, run, report)
    publish_artifact(md)
    run.update(counts=counts, report=str(report), catalog=str(catalog_file), markdown=md)
    return run


@flow(name="pipeline", log_prints=True)
def pipeline_flow(recordings: str | list[str], config: PipelineConfig, stages: list[str] | None = None) -> dict:
    """bootstrap -> curate -> shard -> train -> evaluate, then catalog, report and artifact.

    `stages` limits what runs (default: all; curation always includes ingest)."""
    stages = stages or ["bootstrap", "curate", "shard", "train", "evaluate"]
    log = _logger()
    run: dict = {"stages": stages}
    runner = make_task_runner(config.runner, config.workers, config.address)
    bootstrap = config.bootstrap.checkpoint
    if "bootstrap" in stages and config.bootstrap.picks:
        bootstrap = _opts(bootstrap_task, config)(config)
    run["bootstrap"] = bootstrap
    if "curate" in stages:
        run.update(curate_flow.with_options(task_runner=runner)(recordings, config, bootstrap))
    if "shard" in stages:
        run["shard"] = shard_flow(config)
    if "train" in stages and config.train.enabled:
        run["train"] = train_flow(config)
    if "evaluate" in stages and config.evaluate.enabled:
        run["evaluation"] = evaluate_flow(config)
    finish_run(config, run)
    c = run["counts"]
    log.info("run done: %d recordings (%d failed), %d clips kept, %d dropped, %d shards; report %s",
             c["recordings"], c["recordings_failed"], c["clips_kept"], c["clips_dropped"], c["shards"], run["report"])
    return run


def run_pipeline(recordings: str | list[str], config: PipelineConfig, stages: list[str] | None = None) -> dict:
    """Run `pipeline_flow` (the flow picks the task runner from the config)."""
    return pipeline_flow(recordings, config, stages)
