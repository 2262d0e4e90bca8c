"""The pipeline as Prefect flows: curate, shard, train, evaluate, and `pipeline` (all of them).

    from flows.pipeline import pipeline_flow
    summary = pipeline_flow("recordings/", PipelineConfig(root="data"))   # picks the task runner

One curation path: `synthdepth run` and `synthdepth curate` both run `curate_flow`, whose unit is
one recording's task graph (`submit_recording`: curate -> write -> publish). Incremental and
kill-safe: each recording is keyed on the content of its manifest and media plus the curation
config hash (and the bootstrap weights); its output is written to a temp folder and renamed into
<curated>/<id>/ when complete, so a rerun (after a crash, a SIGKILL, or with one new recording in
the folder) only does the work that is missing. Shards, training and evaluation are keyed the
same way. One run per data root at a time (flows/lock.py).

What happens to a recording (the summary lists every one that is not curated or skipped):
- `curated` / `skipped` (published earlier with the same key);
- `failed`: bad input (InputError: a broken manifest, undecodable media, a duplicate id), reported
  with the manifest file and the problem, registered in the catalog, not retried until it changes;
- `not_processed`: a transient error outlasted the retries (or an unexpected error): registered
  without a key, so the next run tries it again.

Task runner: threads by default; `runner: process|dask|ray` in the config (or `--runner`) runs the
same flow code on processes, a Dask cluster or a Ray cluster (flows/runners.py).
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow
from prefect.futures import as_completed

from common.errors import InputError, error_record, is_transient
from flows.config import PipelineConfig
from flows.incremental import MARKER, is_done, read_marker, recording_key
from flows.ingest import fallback_id, find_manifests, peek_recording_id, problem_info, register
from flows.lock import root_lock
from flows.runners import make_task_runner
from flows.tasks import (
    _logger,
    bootstrap_task,
    curate_chunk_task,
    curate_hash,
    curate_part_task,
    evaluate_task,
    plan_parts,
    publish_recording_task,
    retry_options,
    shard_task,
    task_error,
    train_task,
    write_catalog_file,
)


def _opts(task, config: PipelineConfig):
    return task.with_options(**retry_options(config))


def _problem(item: dict, status: str, error) -> dict:
    return {"recording_id": item["recording_id"], "manifest": item["manifest"], "status": status, "error": str(error)}


def plan_recordings(manifests: list[Path], config: PipelineConfig) -> list[dict]:
    """One item per manifest: recording_id, manifest, key, and `problem` (failed / not_processed,
    with `error`) when it cannot be submitted. A manifest that gives no id is named from its path
    (it cannot collide); a duplicate id is reported naming both manifests."""
    chash = curate_hash(config)
    seen: dict[str, str] = {}
    plan = []
    for m in manifests:
        item = {"recording_id": fallback_id(m), "manifest": str(m), "key": None, "problem": None}
        try:
            rid = peek_recording_id(m)
            item["key"] = recording_key(m, chash)
        except Exception as e:  # only transient errors come out of these (a share that hiccups)
            if not is_transient(e):
                raise
            plan.append({**item, "problem": "not_processed", "error": str(error_record(e, "flows"))})
            continue
        if rid is not None and rid in seen:
            plan.append({**item, "recording_id": rid, "problem": "failed",
                         "error": str(InputError(m, f"duplicate recording id {rid!r}: {seen[rid]} has it too; "
                                                    "this manifest was not curated (give it its own id)",
                                                 stage="flows", kind="duplicate_id").record)})
            continue
        if rid is not None:
            seen[rid] = str(m)
            item["recording_id"] = rid
        plan.append(item)
    return plan


def submit_recording(item: dict, config: PipelineConfig):
    """The task graph of one recording: its parts' curation, then one publish task that merges and
    writes. A recording longer than `curate.analysis.chunk_seconds` is split at keyframes into
    chunks, each analysed by its own task on any worker; a shorter one (or one that cannot be
    opened here: its task reports why) is one task. Returns the part futures; `publish` is
    submitted as they complete."""
    chunks = plan_parts(item, config)
    if chunks is None:
        return [_opts(curate_part_task, config).submit(item, config)]
    return [_opts(curate_chunk_task, config).submit(item, c, config) for c in chunks]


def _not_processed_or_failed(exc: BaseException | None) -> str:
    # Bad input is final until the input changes; anything else (transient after the retries, or a
    # bug) leaves the recording to the next run.
    return "failed" if isinstance(exc, InputError) else "not_processed"


def _register_problem(row: dict, config: PipelineConfig, key: str | None) -> None:
    """Registered in the catalog: failed ones keyed, not_processed ones not (retried next run);
    a good earlier curation of the recording is never replaced by a not_processed row."""
    folder = config.layout.curated_dir(row["recording_id"])
    if key is None and read_marker(folder).get("status") == "curated":
        return
    info = problem_info(row["recording_id"], row["manifest"], row["status"], row["error"])
    try:
        register(info, folder, key, config.curate)
    except Exception as e:  # the disk itself is failing: the summary still reports the recording
        _logger().error("could not register %s: %s", row["recording_id"], error_record(e, "flows"))


def _drop_stale_fallback(item: dict, config: PipelineConfig) -> None:
    """A manifest that was broken (and registered under its path-derived id) and now gives an id:
    its old failed registration goes, so the catalog holds the recording once."""
    old = config.layout.curated_dir(fallback_id(item["manifest"]))
    if item["recording_id"] != old.name and (old / MARKER).exists() \
            and read_marker(old).get("manifest") == item["manifest"]:
        import shutil

        shutil.rmtree(old, ignore_errors=True)


@flow(name="curate", log_prints=True)
def curate_flow(recordings: str | list[str], config: PipelineConfig, keep_results: bool = False) -> dict:
    """Curate every recording not curated yet (one task graph per recording, in parallel on the
    flow's task runner).

    Returns {"recordings", "curated", "skipped", "failed": [rows], "not_processed": [rows],
    "clips_kept", "clips_dropped", "seconds"}; rows are {recording_id, manifest, status, error}.
    `keep_results`: also "results", the RecordingResults curated in this run (for a report)."""
    t0 = time.perf_counter()
    log = _logger()
    lay = config.layout
    with root_lock(lay.root, lay.lock):
        plan = plan_recordings(find_manifests(recordings), config)
        failed, not_processed, todo, skipped = [], [], [], 0
        for item in plan:
            if item["problem"]:
                row = _problem(item, item["problem"], item["error"])
                (failed if row["status"] == "failed" else not_processed).append(row)
                if row["status"] == "not_processed":
                    _register_problem(row, config, None)
                # a duplicate is not registered: its id belongs to the other manifest
                continue
            folder = lay.curated_dir(item["recording_id"])
            if is_done(folder, item["key"]):
                skipped += 1
                marker = read_marker(folder)
                if marker.get("status") == "failed":  # still bad: still reported
                    failed.append(_problem(item, "failed", "; ".join(marker.get("errors") or [])))
                continue
            _drop_stale_fallback(item, config)
            todo.append(item)
        log.info("%d recordings: %d to curate, %d already done", len(plan), len(todo), skipped)

        parts: dict = {}  # part future -> recording index in todo
        pending: list[list] = []  # per recording: its part futures
        left: list[int] = []  # per recording: parts not yet completed
        for r, item in enumerate(todo):
            futures = submit_recording(item, config)
            pending.append(futures)
            left.append(len(futures))
            for f in futures:
                parts[f] = r
        publishing, results, given_up = [], [], set()
        for f in as_completed(list(parts)):
            r = parts.pop(f)
            item = todo[r]
            f.wait()  # the final state (as_completed only says the run ended)
            st = f.state
            if r in given_up:
                continue
            if not st.is_completed():  # one part lost: the recording is not published this time
                given_up.add(r)
                pending[r] = []
                exc = task_error(st)
                status = _not_processed_or_failed(exc)
                row = _problem(item, status, error_record(exc, "curate") if exc else st.message)
                (failed if status == "failed" else not_processed).append(row)
                _register_problem(row, config, item["key"] if status == "failed" else None)
                continue
            left[r] -= 1
            if left[r]:
                continue
            # The part futures, not their results: a Dask runner then hands the parts from worker to
            # worker instead of shipping every chunk's frame table inside the task graph (its
            # "large graph" warning on long recordings).
            publishing.append((item, _opts(publish_recording_task, config).submit(item, config, pending[r], keep_results)))
            pending[r] = []
        curated, kept, dropped = 0, 0, 0
        for item, f in publishing:
            f.wait()
            st = f.state
            if not st.is_completed():
                exc = task_error(st)
                row = _problem(item, "not_processed", error_record(exc, "flows") if exc else st.message)
                not_processed.append(row)
                _register_problem(row, config, None)
                continue
            r = f.result()
            if r.get("result") is not None:
                results.append(r.pop("result"))
            if r["status"] == "failed":
                failed.append(_problem(item, "failed", "; ".join(r.get("errors", []))))
                continue
            curated += 1
            kept += r.get("clips_kept", 0)
            dropped += r.get("clips_dropped", 0)
    order = {p["manifest"]: i for i, p in enumerate(plan)}
    failed.sort(key=lambda r: order.get(r["manifest"], 0))
    not_processed.sort(key=lambda r: order.get(r["manifest"], 0))
    summary = {"recordings": len(plan), "curated": curated, "skipped": skipped, "failed": failed,
               "not_processed": not_processed, "clips_kept": kept, "clips_dropped": dropped,
               "seconds": round(time.perf_counter() - t0, 1),
               # the folder of each recording, in manifest order (a duplicate has none of its own)
               "folders": list(dict.fromkeys(p["recording_id"] for p in plan if p["problem"] != "failed"
                                             or p["recording_id"] == fallback_id(p["manifest"])))}
    if keep_results:
        results.sort(key=lambda r: order.get(r.info.manifest, 0))
        summary["results"] = results
    for e in failed:
        log.warning("recording %s FAILED (%s): %s", e["recording_id"], e["manifest"], e["error"])
    for e in not_processed:
        log.warning("recording %s NOT PROCESSED (%s): %s; the next run tries again", e["recording_id"],
                    e["manifest"], e["error"])
    log.info("curation: %d curated, %d skipped, %d failed, %d not processed (%s s)", curated, skipped,
             len(failed), len(not_processed), summary["seconds"])
    return summary


@flow(name="shard", log_prints=True)
def shard_flow(config: PipelineConfig) -> dict:
    """Kept clips of ROOT/curated/* -> WebDataset shards + Parquet in ROOT/shards."""
    with root_lock(config.layout.root, config.layout.lock):
        return _opts(shard_task, config)(config)


@flow(name="train", log_prints=True)
def train_flow(config: PipelineConfig) -> dict:
    """Short flow-matching training of the depth model on ROOT/shards."""
    with root_lock(config.layout.root, config.layout.lock):
        return _opts(train_task, config)(config)


def _state_error(state) -> str:
    exc = task_error(state)
    return str(error_record(exc, "flows")) if exc is not None else str(state.message)


@flow(name="evaluate", log_prints=True)
def evaluate_flow(config: PipelineConfig, models: dict[str, tuple[str, str]] | None = None) -> list[dict]:
    """Evaluate the bootstrap model and the trained depth model (name -> (checkpoint, kind))."""
    from model.train import latest_checkpoint

    if models is None:
        models = {}
        if config.layout.bootstrap.is_file():
            models["bootstrap"] = (str(config.layout.bootstrap), "bootstrap")
        elif config.curate.scoring.bootstrap or config.bootstrap.checkpoint:
            models["bootstrap"] = (config.curate.scoring.bootstrap or config.bootstrap.checkpoint, "bootstrap")
        ck = latest_checkpoint(config.layout.runs)
        if ck is not None:
            models["depth-tiny" if config.train.preset == "tiny" else "depth"] = (str(ck), "flow")
    out = []
    with root_lock(config.layout.root, config.layout.lock):
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


def _stage(run: dict, name: str, state) -> dict | list | None:
    """A stage's result, or None with the error recorded in run["stage_errors"]."""
    if state.is_completed():
        return state.result()
    run.setdefault("stage_errors", []).append({"stage": name, "error": _state_error(state)})
    _logger().error("stage %s failed: %s", name, run["stage_errors"][-1]["error"])
    return None


@flow(name="pipeline", log_prints=True)
def pipeline_flow(recordings: str | list[str], config: PipelineConfig, stages: list[str] | None = None) -> dict:
    """bootstrap -> curate -> shard -> train -> evaluate, then catalog, report and artifact.

    `stages` limits what runs (default: all). A stage that fails (shard, train, evaluate, the
    bootstrap) is recorded in run["stage_errors"], the stages after it do not run, and the
    catalog and report are still written. Holds the root's run lock throughout."""
    stages = stages or ["bootstrap", "curate", "shard", "train", "evaluate"]
    log = _logger()
    run: dict = {"stages": stages}
    lay = config.layout
    with root_lock(lay.root, lay.lock):
        bootstrap = config.bootstrap.checkpoint or config.curate.scoring.bootstrap
        ok = True
        if "bootstrap" in stages and config.bootstrap.picks:
            bootstrap = _stage(run, "bootstrap", _opts(bootstrap_task, config)(config, return_state=True))
            ok = bootstrap is not None
        run["bootstrap"] = bootstrap
        config = config.with_bootstrap(bootstrap)
        if ok and "curate" in stages:
            runner = make_task_runner(config.runner, config.workers, config.address, config.threads_per_task())
            run.update(curate_flow.with_options(task_runner=runner)(recordings, config))
        if ok and "shard" in stages:
            run["shard"] = _stage(run, "shard", shard_flow(config, return_state=True))
            ok = run["shard"] is not None
        if ok and "train" in stages and config.train.enabled:
            run["train"] = _stage(run, "train", train_flow(config, return_state=True))
            ok = run["train"] is not None
        if ok and "evaluate" in stages and config.evaluate.enabled:
            run["evaluation"] = _stage(run, "evaluate", evaluate_flow(config, return_state=True)) or []
            for e in run["evaluation"]:
                if "error" in e:
                    run.setdefault("stage_errors", []).append({"stage": f"evaluate {e['model']}", "error": e["error"]})
        finish_run(config, run)
    c = run["counts"]
    log.info("run done: %d recordings (%d failed, %d not processed), %d clips kept, %d dropped, %d shards; "
             "report %s", c["recordings"], c["recordings_failed"], c["recordings_not_processed"], c["clips_kept"],
             c["clips_dropped"], c["shards"], run["report"])
    return run


@flow(name="curate-recordings", log_prints=True)
def curate_recordings_flow(recordings: str | list[str], config: PipelineConfig) -> dict:
    """`synthdepth curate`: the curate flow on the configured task runner, then one report for
    every recording (those curated now and those published earlier) at <root>/report.html."""
    from curate.report import write_report
    from flows.readback import read_published

    lay = config.layout
    with root_lock(lay.root, lay.lock):
        runner = make_task_runner(config.runner, config.workers, config.address, config.threads_per_task())
        run = curate_flow.with_options(task_runner=runner)(recordings, config, keep_results=True)
        fresh = {r.info.recording_id: r for r in run.pop("results")}
        results, notes = [], []
        for rid in run["folders"]:
            r = fresh.get(rid) or read_published(lay.curated_dir(rid))
            if r is not None:
                r.info.recording_id = rid
                results.append(r)
                notes.extend(n for n in r.notes if n not in notes)
        tmp = lay.report.with_name(f".{lay.report.name}.tmp")
        write_report(results, tmp, config.curate, notes)
        tmp.replace(lay.report)
        run["report"] = str(lay.report)
        run["notes"] = notes
        run["frames"] = sum(r.info.num_frames for r in results)
    return run
