"""Kill anywhere: `synthdepth run` SIGKILLed at random moments spread over curate, shard and train,
rerun after each kill, ends with the same catalog, the same shard bytes and the same checkpoint
folder as an uninterrupted run. Two runs started at once on one root: the second is refused with
a clear message (or, if it got the root after the first, finishes with the same result).

The fast version (default suite) kills three times, one moment drawn in each stage; the slow one
(`-m slow`) six times. Moments are drawn from a seeded RNG (printed on failure) within each
stage's duration in the uninterrupted run, counted from when the killed run enters that stage.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_flows_pipeline import OVERRIDES, sim_recordings

REPO = Path(__file__).resolve().parents[1]
STAGES = "curate,shard,train"
TRAIN = ["train.steps=8", "train.vae_steps=4", "train.height=32", "train.width=64", "train.frames=4",
         "train.batch_size=2", "train.checkpoint_every=3"]


def _cmd(recs: Path, root: Path) -> list[str]:
    sets = [a for o in [*OVERRIDES, "workers=1", "torch_threads=1", *TRAIN] for a in ("--set", o)]
    return [sys.executable, "-m", "flows.cli", "run", str(recs), "--root", str(root), "--stages", STAGES, *sets]


def _env() -> dict:
    from prefect.settings import PREFECT_API_URL

    # The test session's Prefect server: each run would otherwise start an ephemeral one.
    return {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_API_URL": PREFECT_API_URL.value() or "",
            "PREFECT_LOGGING_LEVEL": "WARNING"}


def _start(recs: Path, root: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(_cmd(recs, root), env=_env(), stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stage_of(root: Path, n_recordings: int) -> str:
    """Where a run on `root` is, from what it has published."""
    if len(list((root / "curated").glob("*/_DONE.json"))) < n_recordings:
        return "curate"
    if not (root / "shards" / "_DONE.json").exists():
        return "shard"
    if not (root / "runs" / "depth" / "_DONE.json").exists():
        return "train"
    return "finish"


def _holds_lock(root: Path, pid: int) -> bool:
    try:
        return json.loads((root / ".synthdepth.lock").read_text()).get("pid") == pid
    except (OSError, ValueError):
        return False


def _timeline(procs: list[subprocess.Popen], root: Path, n: int, limit: float = 900) -> tuple[dict, subprocess.Popen]:
    """Seconds from start at which a run took the lock and finished each stage; and which run."""
    t0, marks, holder = time.monotonic(), {}, None
    while any(p.poll() is None for p in procs) and time.monotonic() - t0 < limit:
        now = time.monotonic() - t0
        if holder is None:
            holder = next((p for p in procs if _holds_lock(root, p.pid)), None)
            if holder is not None:
                marks["lock"] = now
        st = stage_of(root, n)
        for s in ("curate", "shard", "train"):
            if s not in marks and ["curate", "shard", "train", "finish"].index(st) > ["curate", "shard", "train"].index(s):
                marks[s] = now
        time.sleep(0.02)
    marks["end"] = time.monotonic() - t0
    return marks, holder


def _kill_in(stage: str, durations: dict[str, float], proc: subprocess.Popen, root: Path, n: int,
             rng: random.Random) -> tuple[float, str]:
    """Wait until the run is in `stage` (holding the lock), then a random part of that stage's
    duration, then SIGKILL its process group. Returns (delay, the stage it was in when killed)."""
    deadline = time.monotonic() + 900
    while proc.poll() is None and time.monotonic() < deadline:
        if _holds_lock(root, proc.pid) and stage_of(root, n) == stage:
            break
        time.sleep(0.02)
    delay = rng.uniform(0.0, durations[stage])
    end = time.monotonic() + delay
    while proc.poll() is None and time.monotonic() < end:
        time.sleep(0.01)
    landed = stage_of(root, n) if proc.poll() is None else "done"
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return delay, landed


# ---- what must be equal ------------------------------------------------------------------------


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def catalog_rows(root: Path) -> dict[str, list]:
    """Every catalog view's rows, paths under the root made relative."""
    from dataset import catalog

    con = catalog.open(str(root))
    out = {}
    for view in catalog.VIEWS:
        cur = con.execute(f"SELECT * FROM {view}")
        names = [d[0] for d in cur.description]
        rows = [tuple(str(v).replace(str(root), "ROOT") if isinstance(v, str) else v for v in r) for r in cur.fetchall()]
        out[view] = [names, sorted(rows, key=repr)]
    con.close()
    return out


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def shard_files(root: Path) -> dict[str, str]:
    """sha256 of every shard file (tar, Parquet, stats) and the data set summary."""
    d = root / "shards"
    return {p.name: _digest(p) for p in sorted(d.iterdir()) if p.is_file() and not p.name.startswith(("_DONE", "_STARTED"))}


def checkpoint_files(root: Path) -> dict[str, object]:
    """Every file of every checkpoint folder: bytes digest; trainer_state.json without its paths."""
    out: dict[str, object] = {}
    for ck in sorted((root / "runs" / "depth").glob("checkpoint-*")):
        for f in sorted(ck.iterdir()):
            if f.name == "trainer_state.json":
                st = json.loads(f.read_text())
                st["train_config"].pop("out_dir", None)
                out[f"{ck.name}/{f.name}"] = st
            else:
                out[f"{ck.name}/{f.name}"] = _digest(f)
    return out


def snapshot(root: Path) -> tuple:
    return catalog_rows(root), shard_files(root), checkpoint_files(root)


def _diff(a: dict, b: dict) -> list[str]:
    keys = sorted(set(a) | set(b))
    return [k for k in keys if not _same(a.get(k), b.get(k))]


# ---- the test ---------------------------------------------------------------------------------


def kill_anywhere(tmp_path: Path, kills: list[str], seed: int) -> None:
    recs = tmp_path / "recs"
    n = len(sim_recordings(recs, 2, seed=60))
    rng = random.Random(seed)

    # the uninterrupted run, and a second run started at the same moment on the same root
    ref_root = tmp_path / "ref"
    runs = [_start(recs, ref_root, tmp_path / f"ref{i}.log") for i in range(2)]
    marks, ref = _timeline(runs, ref_root, n)
    for p in runs:
        p.wait(timeout=900)
    assert ref is not None and ref.returncode == 0, [(tmp_path / f"ref{i}.log").read_text()[-3000:] for i in range(2)]
    (twin,) = [p for p in runs if p is not ref]
    twin_log = (tmp_path / f"ref{runs.index(twin)}.log").read_text()
    if twin.returncode == 3:  # refused, naming the run that holds the root
        assert "in use by another synthdepth run" in twin_log and f"pid {ref.pid}" in twin_log, twin_log[-2000:]
    else:  # it got the root after the first run: it found everything done
        assert twin.returncode == 0, twin_log[-3000:]
    durations = {"curate": marks["curate"] - marks["lock"], "shard": marks["shard"] - marks["curate"],
                 "train": marks["train"] - marks["shard"]}
    expected = snapshot(ref_root)
    assert expected[0]["clips"][1] and expected[1] and expected[2], "the reference run must produce data"

    # runs killed at random moments, each rerun continuing where the last was killed
    root = tmp_path / "killed"
    landed = []
    for i, stage in enumerate(kills):
        proc = _start(recs, root, tmp_path / f"kill{i}.log")
        delay, where = _kill_in(stage, durations, proc, root, n, rng)
        landed.append((stage, round(delay, 2), where, proc.returncode))
    final = _start(recs, root, tmp_path / "final.log")
    final.wait(timeout=900)
    info = f"seed {seed}, stage durations {durations}, kills (aimed, delay s, landed in, rc): {landed}"
    assert final.returncode == 0, info + (tmp_path / "final.log").read_text()[-3000:]
    assert all(rc == -signal.SIGKILL for *_, rc in landed), info
    leftovers = [p for pat in (".tmp*", ".old-*", "*.partial") for p in root.rglob(pat)]
    assert not leftovers, (info, leftovers)  # what killed runs left half-written is gone

    got = snapshot(root)
    for name, a, b in zip(("catalog", "shards", "checkpoints"), expected, got, strict=True):
        assert a.keys() == b.keys(), (name, info, sorted(set(a) ^ set(b)))
        assert not _diff(a, b), (name, info, _diff(a, b)[:10])
    return landed


def test_kill_in_each_stage_then_rerun_matches_uninterrupted(prefect_harness, tmp_path):
    kill_anywhere(tmp_path, ["curate", "shard", "train"], seed=int(os.environ.get("KILL_SEED", "13")))


@pytest.mark.slow
def test_kill_six_times_then_rerun_matches_uninterrupted(prefect_harness, tmp_path):
    landed = kill_anywhere(tmp_path, ["curate", "curate", "shard", "shard", "train", "train"],
                           seed=int(os.environ.get("KILL_SEED", "29")))
    assert {w for _, _, w, _ in landed} >= {"curate", "shard", "train"}, landed
