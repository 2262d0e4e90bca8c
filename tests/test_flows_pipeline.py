"""Pipeline flows: good and corrupt recordings together, incremental reruns, retry policy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flows.config import PipelineConfig

OVERRIDES = [
    "curate.clips.length=24",
    "curate.scoring.clip_pretrained=null",
    "curate.scoring.score_width=64",
    "curate.frame_checks.work_width=64",
    "shard.rgb_preset=ultrafast",
    "workers=2",
    "retry_delay_seconds=0",
]


def sim_recordings(folder: Path, n: int, seed: int) -> list[Path]:
    from capture.simulate import SimConfig, simulate_dataset

    cfg = SimConfig(width=96, height=64, seconds=4.0, seed=seed, faults="menu,cut,hud")
    return simulate_dataset(folder, n, cfg, progress=False)


def add_corrupt(folder: Path, good_manifest: Path) -> None:
    """A manifest that is not JSON, and a valid manifest whose video is random bytes."""
    (folder / "broken-json").mkdir(parents=True)
    (folder / "broken-json" / "broken-json.json").write_text('{"id": "broken-json", "layout": ')
    d = folder / "garbage-video"
    d.mkdir()
    m = json.loads(good_manifest.read_text())
    m["id"] = "garbage-video"
    video = m["media"]["video"]
    (d / "garbage-video.json").write_text(json.dumps(m))
    (d / video).write_bytes(bytes(range(256)) * 40)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("recs")
    good = sim_recordings(folder, 3, seed=40)
    add_corrupt(folder, good[0])
    return folder


def config(root: Path, *extra: str) -> PipelineConfig:
    return PipelineConfig.load(None, [f"root={root}", *OVERRIDES, *extra])


def test_good_and_corrupt_recordings_then_incremental_reruns(prefect_harness, recordings, tmp_path):
    from dataset import catalog
    from flows.ingest import fallback_id
    from flows.pipeline import pipeline_flow

    cfg = config(tmp_path / "root")
    run = pipeline_flow(str(recordings), cfg, ["curate", "shard"])

    # every good recording fully processed, every bad one reported with its manifest and error
    broken = fallback_id(recordings / "broken-json" / "broken-json.json")  # no readable id: named by its path
    assert run["curated"] == 3 and run["skipped"] == 0 and run["not_processed"] == []
    failed = {f["recording_id"]: f for f in run["failed"]}
    assert set(failed) == {broken, "garbage-video"}
    assert failed[broken]["manifest"].endswith("broken-json/broken-json.json") and "JSON" in failed[broken]["error"]
    assert failed["garbage-video"]["manifest"].endswith("garbage-video.json")
    assert "garbage-video" in failed["garbage-video"]["error"]
    con = catalog.open(str(cfg.layout.root))
    status = dict(con.execute("SELECT recording_id, status FROM recordings").fetchall())
    assert status == {"sim-00040": "ok", "sim-00041": "ok", "sim-00042": "ok",
                      broken: "failed", "garbage-video": "failed"}
    errs = dict(con.execute("SELECT recording_id, errors[1] FROM recordings WHERE status = 'failed'").fetchall())
    assert "not valid JSON" in errs[broken] and "broken-json.json" in errs[broken]
    # frame accounting adds up for every recording, good or bad
    acc = con.execute("SELECT recording_id, num_frames, accounted_frames, balanced FROM frames_accounting").fetchall()
    assert all(r[3] for r in acc), acc
    assert {r[0]: r[1] for r in acc}["sim-00040"] == 120
    # the shards hold exactly the kept clips
    kept = {r[0] for r in con.execute("SELECT clip_id FROM clips WHERE decision = 'kept'").fetchall()}
    sharded = {r[0] for r in con.execute("SELECT clip_id FROM shard_clips").fetchall()}
    assert kept and kept == sharded
    assert run["counts"]["clips_kept"] == len(kept) and run["counts"]["recordings_failed"] == 2
    assert (cfg.layout.root / "report.html").exists() and cfg.layout.catalog.exists()
    assert "| clips kept |" in run["markdown"] and f"| {broken} | failed |" in run["markdown"]
    con.close()
    # the run published its markdown artifact with the counts and the report path
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["synthdepth-run"])))
    assert any(a.data == run["markdown"] for a in arts)
    assert f"| clips kept | {len(kept)} |" in run["markdown"] and str(cfg.layout.report) in run["markdown"]

    # a rerun with nothing new does no curation work, and the shards are not rewritten
    marker = json.loads((cfg.layout.curated_dir("sim-00040") / "_DONE.json").read_text())
    again = pipeline_flow(str(recordings), cfg, ["curate", "shard"])
    assert (again["curated"], again["skipped"]) == (0, 5)
    assert {f["recording_id"] for f in again["failed"]} == {broken, "garbage-video"}  # still bad: still reported
    assert again["shard"]["status"] == "skipped"
    assert json.loads((cfg.layout.curated_dir("sim-00040") / "_DONE.json").read_text()) == marker

    # a new recording dropped into the watched folder is the only thing processed
    from flows.watch import pending, serve_folder

    assert pending(recordings, cfg) == []
    extra = tmp_path / "extra"
    new = sim_recordings(extra, 1, seed=47)[0]
    shutil.copytree(new.parent, recordings / new.parent.name)
    try:
        assert pending(recordings, cfg) == ["sim-00047"]
        (third,) = serve_folder(recordings, cfg, once=True, echo=lambda *_: None)
    finally:
        shutil.rmtree(recordings / new.parent.name)
    assert (third["curated"], third["skipped"]) == (1, 5)
    assert third["counts"]["recordings"] == 6 and third["counts"]["unbalanced_recordings"] == 0


def test_retry_policy_retries_transient_errors_not_bad_input(prefect_harness):
    import errno

    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    from common.errors import InputError
    from flows.tasks import retry_transient

    calls = {"io": 0, "bad": 0, "missing": 0}

    @task(retries=3, retry_delay_seconds=0, retry_condition_fn=retry_transient, cache_policy=NO_CACHE)
    def flaky(kind: str) -> str:
        calls[kind] += 1
        if kind == "io" and calls["io"] < 3:
            raise OSError(errno.EIO, "network share went away")
        if kind == "bad":
            raise InputError("x.json", "field 'fps': must be > 0")
        if kind == "missing":
            raise FileNotFoundError(errno.ENOENT, "no such file", "x.mkv")
        return "ok"

    @flow
    def f():
        return flaky("io", return_state=True), flaky("bad", return_state=True), flaky("missing", return_state=True)

    io, bad, missing = f()
    assert io.is_completed() and io.result() == "ok" and calls["io"] == 3  # two retries, then success
    assert bad.is_failed() and calls["bad"] == 1  # bad input is not retried
    assert missing.is_failed() and calls["missing"] == 1  # nor is a file that is not there


def test_same_flow_on_a_dask_local_cluster(prefect_harness, recordings, tmp_path):
    """runner=dask: a LocalCluster of 2 one-thread worker processes curates with the same outcome
    as curating each recording in this process."""
    pytest.importorskip("prefect_dask")
    import os

    import pyarrow.parquet as pq

    from curate.pipeline import curate_recording, get_scorer
    from dataset import catalog
    from flows.pipeline import pipeline_flow

    # 4 s recordings in chunks of about 2 s: each recording is curated by chunk tasks
    cfg = config(tmp_path / "root", "runner=dask", "workers=2", "torch_threads=1", "curate.analysis.chunk_seconds=2")
    run = pipeline_flow(str(recordings), cfg, ["curate"])
    assert run["curated"] == 3 and len(run["failed"]) == 2 and run["not_processed"] == []
    con = catalog.open(str(cfg.layout.root))
    assert con.execute("SELECT count(*) FROM frames_accounting WHERE balanced").fetchone()[0] == 5
    con.close()
    workers = set()
    for m in sorted(recordings.glob("sim-*/sim-*.json")):
        folder = cfg.layout.curated_dir(m.stem)
        marker = json.loads((folder / "_DONE.json").read_text())
        workers.update(marker["workers"])
        assert marker["parts"] >= 2  # chunks as tasks
        # every thread knob of a one-thread worker applied in the worker (BLAS: the Dask nanny's env)
        assert marker["threads"] == {"torch": 1, "opencv": 1, "decoder": 1, "convert": 0, "blas": "1", "prefetch": 0}
        got = [(r["clip_id"], r["decision"], r["reasons"]) for r in pq.read_table(folder / "clips.parquet").to_pylist()]
        # one pass in this process (no chunks) gives exactly what the chunk tasks merged to
        want = curate_recording(m, cfg.curate, get_scorer(cfg.curate), progress=False, chunk_frames=10**9)
        assert got == [(c.clip_id, c.decision, c.reasons) for c in want.clips] and got
        spans = [(r["start_frame"], r["end_frame"], r["reason"]) for r in pq.read_table(folder / "spans.parquet").to_pylist()]
        assert spans == [(s.start_frame, s.end_frame, s.reason) for s in want.spans]
    assert all(not w.endswith(f":{os.getpid()}") for w in workers), workers  # curated in the cluster's workers
    # the models loaded once per worker process, not once per task (over every published folder: the
    # broken recordings' tasks use the models too)
    markers = [json.loads(f.read_text()) for f in cfg.layout.curated.glob("*/_DONE.json")]
    tasks = sum(mk.get("parts", 0) for mk in markers)
    assert 1 <= sum(mk.get("models_loaded", 0) for mk in markers) <= 2 and tasks >= 7, markers
    # each publish task took its parts as upstream task results (futures handed worker to worker),
    # not as values the flow fetched and put into the graph (Dask's "large graph" on long recordings)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        pubs = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="publish-recording")))
    inputs = [len([x for x in t.task_inputs.get("parts", []) if getattr(x, "input_type", "") == "task_run"])
              for t in pubs]
    assert sum(n >= 2 for n in inputs) >= 3, inputs  # this run's 3 chunked recordings (at least)


@pytest.mark.slow
def test_same_flow_on_a_local_ray_instance(prefect_harness, recordings, tmp_path):
    """runner=ray: the same flow on a local Ray instance of 2 CPUs (slow: Ray takes a while to start)."""
    pytest.importorskip("prefect_ray")
    from flows.pipeline import pipeline_flow

    cfg = config(tmp_path / "root", "runner=ray", "workers=2")
    run = pipeline_flow(str(recordings), cfg, ["curate"])
    assert run["curated"] == 3 and len(run["failed"]) == 2 and run["not_processed"] == []
    assert run["counts"]["unbalanced_recordings"] == 0 and run["counts"]["clips_kept"] > 0
