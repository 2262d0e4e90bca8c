"""Scale-out of curation: the `synthdepth curate` flow on a Dask LocalCluster of 1 vs 2 worker
processes with one thread each (torch and OpenCV limited to one thread per task), on enough
recordings to keep both busy. Prints the median wall time of each, frames/s and the speed-up.

    python bench/curate_scaleout.py                        # 8 recordings, 320x180, 8 s, 3 repeats
    python bench/curate_scaleout.py --recordings 12 --repeats 5 --runner process

The wall time is what a user waits for: cluster start (worker processes importing torch and
loading the models once each) included. The bootstrap is a random-init BootstrapNet (same compute
as a trained one) and CLIP the tiny random-weight model, as in bench/curate_throughput.py.
Also printed: the sum of the recordings' own curation seconds (from each folder's marker), so
wall x workers / that sum says how much of the workers' time went to curation, and the machine's
load average, since other jobs on a shared 2-core machine take cores from the workers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def simulate(cache: Path, n: int, width: int, height: int, seconds: float) -> list[Path]:
    from capture.simulate import SimConfig, simulate_recording

    folder = cache / f"{width}x{height}-{seconds:g}s"
    out = []
    for i in range(n):
        rid = f"scale-{i:03d}"
        m = folder / rid / f"{rid}.json"
        if not m.exists():
            cfg = SimConfig(width=width, height=height, seconds=seconds, seed=300 + i, faults="menu,cut,hud")
            m = simulate_recording(folder, cfg, rid)
        out.append(m)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recordings", type=int, default=8)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=180)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--runner", default="dask", choices=["dask", "process", "ray"])
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-scaleout")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

    from prefect import flow

    from curate.config import CurateConfig
    from flows.config import PipelineConfig
    from flows.pipeline import curate_recordings_flow
    from model.bootstrap import BootstrapNet, save_bootstrap

    t = time.perf_counter()
    manifests = simulate(args.cache, args.recordings, args.width, args.height, args.seconds)
    print(f"{len(manifests)} recordings {args.width}x{args.height}, {args.seconds:g} s each "
          f"(ready in {time.perf_counter() - t:.0f} s)")
    ckpt = args.cache / "bootstrap-random.safetensors"
    if not ckpt.exists():
        save_bootstrap(ckpt, BootstrapNet())
    cfg = CurateConfig.load(None, ["scoring.clip_model=synthdepth-tiny", "scoring.clip_pretrained=null",
                                   "scoring.clip_random_init=true", f"scoring.bootstrap={ckpt}",
                                   "scoring.bootstrap_trust=always"])  # its compute, not its judgement

    @flow
    def warm_up() -> None:  # start Prefect's ephemeral API outside the timing
        return None

    warm_up()
    walls: dict[int, list[float]] = {}
    task_s: dict[int, list[float]] = {}
    frames = 0
    for w in [int(x) for x in args.workers.split(",")]:
        for rep in range(args.repeats):
            out = args.cache / f"out-{w}"
            shutil.rmtree(out, ignore_errors=True)
            pc = PipelineConfig(root=str(out), curated_dir=str(out), curate=cfg, runner=args.runner, workers=w,
                                torch_threads=1)
            load0 = os.getloadavg()[0]
            t = time.perf_counter()
            run = curate_recordings_flow([str(m) for m in manifests], pc)
            wall = time.perf_counter() - t
            assert run["curated"] == len(manifests), run
            frames = run["frames"]
            secs = sum(json.loads((out / m.stem / "_DONE.json").read_text())["seconds"] for m in manifests)
            workers_seen = {json.loads((out / m.stem / "_DONE.json").read_text())["worker"] for m in manifests}
            walls.setdefault(w, []).append(wall)
            task_s.setdefault(w, []).append(secs)
            print(f"  {w} worker(s), run {rep + 1}: {wall:6.1f} s wall, {frames / wall:6.1f} frames/s; recordings' "
                  f"own curation {secs:6.1f} s; {len(workers_seen)} worker process(es); load average "
                  f"{load0:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"\n{args.runner} runner, {len(manifests)} recordings, {frames} frames, median of {args.repeats}:")
    base = statistics.median(walls[min(walls)])
    for w, ws in walls.items():
        med = statistics.median(ws)
        busy = w * med / statistics.median(task_s[w])
        print(f"  {w} worker(s): {med:6.1f} s  {frames / med:6.1f} frames/s  speed-up {base / med:4.2f}x  "
              f"(wall x workers / curation seconds {busy:.2f})")
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of a worker process (largest child): {kids:.0f} MB; this process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
