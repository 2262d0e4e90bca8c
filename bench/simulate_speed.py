"""Simulator speed: render-only frames/s per scene kind and full simulate_recording frames/s
(render + faults + ReShade linearisation + encoding + sidecar), one process, one core.

Both wall-clock and CPU-time rates are printed: on a shared machine the wall clock measures
the neighbours too; CPU seconds (all threads of this process) are what the work costs.

    python bench/simulate_speed.py                 # 320x180, 4 s per scene kind (~1 min)
    python bench/simulate_speed.py --seconds 10 --width 640 --height 360
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the requirement states

import numpy as np  # noqa: E402

from capture.simulate.api import simulate_recording  # noqa: E402
from capture.simulate.camera import intrinsics_from_fov  # noqa: E402
from capture.simulate.config import SimConfig  # noqa: E402
from capture.simulate.render import Renderer  # noqa: E402
from capture.simulate.scenes import SCENE_KINDS, build_scene  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=180)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    n = int(a.seconds * a.fps)
    K = intrinsics_from_fov(a.width, a.height, 60.0)
    r = Renderer(a.width, a.height, K)
    print(f"{a.width}x{a.height}, {n} frames ({a.seconds} s at {a.fps} fps)")
    print(f"{'scene':10s} {'prims':>5s} {'build s':>8s} {'fps (wall)':>11s} {'fps (cpu)':>10s}")
    for kind in SCENE_KINDS:
        t0 = time.perf_counter()
        sc = build_scene(kind, a.seed, a.seconds)
        tb = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(n):
            t = i / a.fps
            r.render(sc, sc.camera.pose(t), t)
        tr, cr = time.perf_counter() - t0, time.process_time() - c0
        print(f"{kind:10s} {len(sc.primitives):5d} {tb:8.2f} {n / tr:11.1f} {n / cr:10.1f}")
    print(f"\n{'simulate_recording (all faults)':38s} {'wall s':>7s} {'fps':>6s} {'cpu s':>6s} {'fps':>6s}")
    with tempfile.TemporaryDirectory() as d:
        for layout, enc, codec in [("side_by_side", "gray8", "h264"), ("separate_files", "gray16", "h264")]:
            cfg = SimConfig(width=a.width, height=a.height, fps=a.fps, seconds=a.seconds, layout=layout,
                            encoding=enc, codec=codec, seed=a.seed)
            t0, c0 = time.perf_counter(), time.process_time()
            simulate_recording(d, cfg, f"bench-{enc}")
            dt, ct = time.perf_counter() - t0, time.process_time() - c0
            label = f"{layout}/{enc}/{codec}"
            print(f"{label:38s} {dt:7.2f} {cfg.n_frames / dt:6.1f} {ct:6.2f} {cfg.n_frames / ct:6.1f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MiB; numpy {np.__version__}")


if __name__ == "__main__":
    main()
