"""`synthdepth curate` and `synthdepth run`: the output layout and the documented exit codes
(0 all processed, 1 some recordings failed or not processed, 2 bad usage, 3 run incomplete)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from test_flows_pipeline import OVERRIDES, sim_recordings
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
CURATE_SET = ["--set", "clips.length=24", "--set", "scoring.clip_pretrained=null", "--set", "scoring.score_width=64",
              "--set", "frame_checks.work_width=64"]


def _app() -> typer.Typer:
    from flows.cli_curate import curate
    from flows.cli_flows import run

    app = typer.Typer()
    app.command("curate")(curate)
    app.command("run")(run)
    return app


def _invoke(*args: str):
    return CliRunner().invoke(_app(), [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def recs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("recs")
    sim_recordings(folder, 1, seed=90)
    return folder


def _broken(folder: Path) -> Path:
    d = folder / "broken"
    d.mkdir(exist_ok=True)
    (d / "recording.json").write_text('{"id": "x", "media": ')
    return d / "recording.json"


def test_help_documents_exit_codes():
    for cmd in ("curate", "run"):
        out = " ".join(_invoke(cmd, "--help").output.split())
        assert "Exit codes" in out and "1 some recordings failed or were not processed" in out and "2 bad usage" in out


def test_curate_layout_and_exit_codes(prefect_harness, recs, tmp_path):
    out = tmp_path / "curated"
    manifest = next(recs.glob("sim-*/sim-*.json"))
    r = _invoke("curate", manifest, "--out", out, "--threads", "1", *CURATE_SET)
    assert r.exit_code == 0, r.output
    # --threads 1: the task ran torch, OpenCV and the decoder on one thread, converting in the decoder's
    threads = json.loads((out / manifest.stem / "_DONE.json").read_text())["threads"]
    assert (threads["torch"], threads["opencv"], threads["decoder"], threads["convert"]) == (1, 1, 1, 0)
    assert threads["prefetch"] == 0  # no reader or bootstrap thread beside the task
    # one folder per recording, published with its key, and one report over all of them
    assert {p.name for p in (out / manifest.stem).iterdir()} >= {"clips.parquet", "spans.parquet",
                                                                 "recordings.parquet", "report.html", "_DONE.json"}
    clips = pq.read_table(out / manifest.stem / "clips.parquet").to_pylist()
    assert clips and (out / "report.html").read_text().count(manifest.stem) >= 1
    assert "1 curated" in r.output

    # a broken manifest beside it: exit 1, the summary names its file and the problem; the good
    # recording is not curated again
    bad_dir = tmp_path / "more"
    shutil.copytree(manifest.parent, bad_dir / manifest.parent.name)
    bad = _broken(bad_dir)
    r = _invoke("curate", bad_dir, "--out", out, *CURATE_SET)
    assert r.exit_code == 1, r.output
    assert "FAILED recording-" in r.output and str(bad) in r.output and "not valid JSON" in r.output
    assert "1 unchanged (skipped)" in r.output

    # bad usage: 2
    assert _invoke("curate", manifest, "--out", out, "--bogus").exit_code == 2
    assert _invoke("curate", manifest, "--out", out, "--set", "decision.no_such_field=1").exit_code == 2
    assert _invoke("curate", tmp_path / "missing.json", "--out", out).exit_code == 2


def test_locked_root_is_refused_and_a_dead_holder_is_taken_over(prefect_harness, recs, tmp_path):
    out = tmp_path / "curated"
    manifest = next(recs.glob("sim-*/sim-*.json"))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom flows.lock import root_lock\nwith root_lock(sys.argv[1]):\n"
         "    print('locked', flush=True)\n    time.sleep(600)\n", str(out)],
        env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        r = _invoke("curate", manifest, "--out", out, *CURATE_SET)
        assert r.exit_code == 3, r.output
        assert "in use by another synthdepth run" in r.output and f"pid {holder.pid}" in r.output
        assert not (out / manifest.stem).exists()  # nothing written
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the holder died without letting go: its lock file still names it, and is taken over
    assert f'"pid": {holder.pid}' in (out / ".synthdepth.lock").read_text()
    r = _invoke("curate", manifest, "--out", out, *CURATE_SET)
    assert r.exit_code == 0, r.output
    assert f'"pid": {os.getpid()}' in (out / ".synthdepth.lock").read_text()


def test_run_exit_codes(prefect_harness, recs, tmp_path):
    sets = [a for o in OVERRIDES for a in ("--set", o)]
    root = tmp_path / "root"
    assert _invoke("run", recs, "--root", root, "--stages", "curate,bogus").exit_code == 2
    assert _invoke("run", tmp_path / "nowhere", "--root", root).exit_code == 2
    assert _invoke("run", recs, "--root", root, "--set", "workers=0").exit_code == 2

    r = _invoke("run", recs, "--root", root, "--stages", "curate", *sets)
    assert r.exit_code == 0, r.output

    mixed = tmp_path / "mixed"
    shutil.copytree(recs, mixed)
    bad = _broken(mixed)
    r = _invoke("run", mixed, "--root", root, "--stages", "curate", *sets)
    assert r.exit_code == 1, r.output
    assert str(bad) in r.output and "| failed |" in r.output

    # a stage that fails: 3, and the catalog and report are still written
    (root / "shards").write_text("not a folder")
    (root / "report.html").unlink()
    r = _invoke("run", recs, "--root", root, "--stages", "curate,shard", *sets)
    assert r.exit_code == 3, r.output
    assert "STAGE FAILED shard" in r.output and (root / "report.html").exists()
