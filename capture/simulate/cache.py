"""Simulated recordings cached in a folder: benchmarks rerun without simulating again."""

from __future__ import annotations

import time
from pathlib import Path

from capture.simulate.api import simulate_dataset
from capture.simulate.config import SimConfig


def simulate_cached(folder: Path, n: int, seconds: float, seed: int, faults: str = "all") -> list[Path]:
    """The `n` manifests under `folder`, simulating them first unless all are already there."""
    found = sorted(Path(folder).glob("sim-*/sim-*[0-9].json"))  # not the faults.json sidecars
    if len(found) == n:
        return found
    t = time.perf_counter()
    paths = simulate_dataset(folder, n, SimConfig(seconds=seconds, faults=faults), seed=seed)
    print(f"simulated {n} recordings x {seconds:g} s ({faults} faults) in {time.perf_counter() - t:.0f} s into {folder}")
    return paths
