"""Scale-out of curation: the `synthdepth curate` flow on a Dask LocalCluster of 1 vs 2 worker
processes with one thread each, on enough work to keep both busy: a few recordings, each split
into chunks (`curate.analysis.chunk_seconds`) that run as separate tasks on any worker.

    python bench/curate_scaleout.py                   # 4 recordings x 120 s, 320x180, 60 s chunks, 2 repeats
    python bench/curate_scaleout.py --seconds 30 --chunk-seconds 10 --repeats 3   # small tasks: the overhead
    python bench/curate_scaleout.py --recordings 8 --seconds 60 --repeats 5 --runner ray

One thread per worker, really: torch and OpenCV get one thread (`torch_threads=1`), the video
decoder one and the reader converts in the decoding thread (`decoder_threads`, `convert_threads`
follow `torch_threads`), BLAS one (the Dask nanny's environment); every marker records the thread
counts its task ran with, and the bench prints them. A one-thread task also runs without the
analysis pass's reader thread and the bootstrap's background thread (`analysis.prefetch` 0, set
by flows/tasks.py unless the user set it); the bench prints the cores each busy worker used (the
workers' CPU seconds over their tasks' wall seconds). The recordings take ~5 minutes to make the
first time (cached under --cache).

Printed for each run and as medians (configurations alternate within each repeat, so a load
change on a shared machine hits both alike):
  wall        what a user waits for: cluster start (processes, imports), the flow, shutdown
  work        the flow's own time, cluster up: tasks (model loading included, once per worker
              process: `setup` = imports and model loading inside the tasks), planning, publishing
  cluster     wall - work: starting and stopping the cluster and the Prefect flow runs
and the speed-up 1 -> N workers with and without the cluster start (RESULT lines). The
bootstrap is a random-init BootstrapNet (same compute as a trained one) and CLIP the tiny
random-weight model, as in bench/curate_throughput.py.
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
    ap.add_argument("--recordings", type=int, default=4)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=180)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--chunk-seconds", type=float, default=60.0, help="curate.analysis.chunk_seconds")
    ap.add_argument("--repeats", type=int, default=2)
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
    print(f"{len(manifests)} recordings {args.width}x{args.height}, {args.seconds:g} s each, chunks of "
          f"{args.chunk_seconds:g} s (ready in {time.perf_counter() - t:.0f} s); {os.cpu_count()} CPUs; load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    ckpt = args.cache / "bootstrap-random.safetensors"
    if not ckpt.exists():
        save_bootstrap(ckpt, BootstrapNet())
    cfg = CurateConfig.load(None, ["scoring.clip_model=synthdepth-tiny", "scoring.clip_pretrained=null",
                                   "scoring.clip_random_init=true", f"scoring.bootstrap={ckpt}",
                                   "scoring.bootstrap_trust=always",  # its compute, not its judgement
                                   f"analysis.chunk_seconds={args.chunk_seconds}"])  # fmt: skip

    @flow
    def warm_up() -> None:  # start Prefect's ephemeral API outside the timing
        return None

    warm_up()
    counts = [int(x) for x in args.workers.split(",")]
    runs: dict[int, list[dict]] = {w: [] for w in counts}
    frames = 0
    for rep in range(args.repeats):
        for w in counts:
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
            markers = [json.loads((out / m.stem / "_DONE.json").read_text()) for m in manifests]
            r = {"wall": wall, "work": run["seconds"], "cluster": wall - run["seconds"],
                 "task_s": sum(m["seconds"] for m in markers), "cpu_s": sum(m["cpu_seconds"] for m in markers),
                 "setup_s": sum(m["setup_seconds"] for m in markers), "parts": sum(m["parts"] for m in markers),
                 "workers": len({x for m in markers for x in m["workers"]}),
                 "threads": {json.dumps(m["threads"], sort_keys=True) for m in markers}}
            runs[w].append(r)
            print(f"  {w} worker(s), run {rep + 1}: wall {wall:6.1f} s = cluster {r['cluster']:5.1f} s + work "
                  f"{r['work']:6.1f} s ({frames / r['work']:5.1f} frames/s); {r['parts']} tasks on {r['workers']} "
                  f"worker process(es), their setup (imports, models) {r['setup_s']:4.1f} s, cores per busy worker "
                  f"{r['cpu_s'] / r['task_s']:.2f}; load average {load0:.1f} -> {os.getloadavg()[0]:.1f}",
                  flush=True)  # fmt: skip
    med = statistics.median
    print(f"\n{args.runner} runner, {len(manifests)} recordings, {frames} frames, median of {args.repeats}:")
    for w, rs in runs.items():
        threads = set().union(*(r["threads"] for r in rs))
        print(f"  {w} worker(s): wall {med(r['wall'] for r in rs):6.1f} s, cluster start/stop "
              f"{med(r['cluster'] for r in rs):5.1f} s, work {med(r['work'] for r in rs):6.1f} s "
              f"({frames / med(r['work'] for r in rs):5.1f} frames/s); setup in the tasks "
              f"{med(r['setup_s'] for r in rs):4.1f} s; cores per busy worker {med(r['cpu_s'] / r['task_s'] for r in rs):.2f}; "
              f"threads per task {', '.join(sorted(threads))}")  # fmt: skip
    base = counts[0]
    for w in counts[1:]:
        # per repeat (alternating runs), then the median
        incl = med(a["wall"] / b["wall"] for a, b in zip(runs[base], runs[w], strict=True))
        excl = med(a["work"] / b["work"] for a, b in zip(runs[base], runs[w], strict=True))
        print(f"RESULT {base} -> {w} workers: {excl:.2f}x without the cluster start (the flow's own time), "
              f"{incl:.2f}x wall clock with it (median of {args.repeats}; goal >= 1.7x)")  # fmt: skip
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of a worker process (largest child): {kids:.0f} MB; this process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
