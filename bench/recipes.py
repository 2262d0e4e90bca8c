"""Recipes the benchmarks share: a bootstrap trained the way a user would train it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path


def train_bootstrap_on_clean(folder: Path, ckpt: Path, n: int, seconds: float, seed: int, size: int,
                             steps: int, channels: int, threads: int, holdout_picks: int = 0) -> Path:
    """Simulate `n` clean recordings (scene kinds in turn, seeds seed..seed+n-1) in `folder`,
    write picks.csv of their full ranges and run `synthdepth bootstrap train` on it, the last
    `holdout_picks` of them held out whole for calibration (0: held-out windows of every pick).
    Reuses the checkpoint when it already exists."""
    from capture.simulate import SCENE_KINDS, SimConfig, simulate_recording

    if ckpt.exists():
        return ckpt
    rows = ["manifest,start_frame,end_frame"]
    for r in range(n):
        cfg = SimConfig(seconds=seconds, seed=seed + r, faults="none", kinds=[SCENE_KINDS[r % len(SCENE_KINDS)]])
        rid = f"sim-{seed + r:05d}"
        m = folder / rid / f"{rid}.json"
        if not m.exists():
            m = simulate_recording(folder, cfg, rid)
        rows.append(f"{m.relative_to(folder)},0,{cfg.n_frames}")
    picks = folder / "picks.csv"
    picks.write_text("\n".join(rows) + "\n")
    exe = shutil.which("synthdepth")
    cmd = ([exe] if exe else [sys.executable, "-m", "flows.cli"]) + [
        "bootstrap", "train", "--picks", str(picks), "--out", str(ckpt), "--size", str(size), "--steps", str(steps),
        "--base-channels", str(channels), "--threads", str(threads), "--holdout-picks", str(holdout_picks)]
    print("training the bootstrap:", " ".join(cmd))
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    print(f"trained the bootstrap in {time.perf_counter() - t:.0f} s")
    return ckpt
