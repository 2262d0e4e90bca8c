"""Loader throughput: decoded training frames/s against a plain decode of the same stored clips.

    python bench/loader_throughput.py [--clips 48 --frames 16 --width 320 --height 192]
                                      [--workers 0 2] [--repeat 3] [--cache DIR]

Shards of simulated game clips (H.264 RGB + FFV1 float16 depth, as `synthdepth shard` writes them;
cached under --cache). Then, on the same tar files:
  plain decode     every sample's mp4 and depth read from the tars and decoded to arrays with PyAV's
                   defaults, in 1 process, and in N processes over the shards (N = each --workers > 0)
  loader           dataset.loader with a bucket that takes every frame (the same frames as the plain
                   decode) at half resolution (--scale): decode, crop/resize, pack, collate, at each --workers;
                   ratio against the plain decode with as many processes (1 for 0 workers).
                   Two passes each: the first includes starting the processes (the loader's
                   workers, the decode's pool), the second runs with them up (the loader keeps its
                   workers from pass to pass, as a trainer's epochs do); both ratios are printed
  loader, dropout  the same with frame dropout (K of T frames, K in 4/8): training frames/s
With 0 workers the loader runs in this process with torch's default threads, as in a trainer.
Frames = (RGB, depth) pairs. Each repeat runs every configuration in turn (plain decode, then the
loader it is compared with), so the ratio is taken under the same load; printed: medians over
--repeat, the median of the per-repeat ratios (the RESULT lines), CPU ms per frame of each (all
processes and threads: on a machine shared with other jobs the wall-clock ratio also measures how
the scheduler shares the cores among everyone's threads, the CPU cost does not), peak RSS of this
process and of its children.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.records import Clip  # noqa: E402
from dataset.config import ShardConfig  # noqa: E402
from dataset.loader import make_loader  # noqa: E402
from dataset.packing import BucketTable  # noqa: E402
from dataset.shard_writer import write_arrays  # noqa: E402


def make_data(out: Path, clips: int, frames: int, width: int, height: int, shards: int = 8) -> list[str]:
    """`clips` windows of a simulated street/room sequence (clips overlap: the decode cost is the same)."""
    done = sorted(out.glob("*.tar"))
    if done and (out / "_dataset.json").exists():
        return [str(p) for p in done]
    from capture.simulate.api import simulate_sequence
    from capture.simulate.config import SimConfig

    seconds = min(clips * frames / 30, 10.0) + 0.2
    seq = simulate_sequence(SimConfig(width=width, height=height, seconds=seconds, faults=[], kinds=["street", "room"],
                                      cuts=0))  # fmt: skip
    depth = seq.depth_m.astype(np.float32)
    depth[~np.isfinite(depth)] = np.nan
    n = len(seq.rgb)
    items = []
    for c in range(clips):
        s = (c * 7 * frames // 5) % (n - frames)
        row = Clip(f"bench{c // 8}", c * frames, (c + 1) * frames, manifest="sim", fps=30.0, decision="kept").to_row()
        items.append((row, seq.rgb[s : s + frames], depth[s : s + frames]))
    return write_arrays(items, out, ShardConfig(max_shard_samples=max(1, clips // shards))).shards


def plain_decode(shard: str) -> int:
    """Every sample of a shard decoded as a plain PyAV user would: all frames to arrays (RGB uint8,
    depth float16 -> float32), FFmpeg's default threads."""
    n = 0
    with tarfile.open(shard) as tf:
        for m in tf:
            data = tf.extractfile(m).read()
            if m.name.endswith(".mp4"):
                with av.open(io.BytesIO(data)) as c:
                    n += len([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
            elif m.name.endswith(".depth.mkv"):
                with av.open(io.BytesIO(data)) as c:
                    [f.to_ndarray(format="gray16le").view(np.float16).astype(np.float32) for f in c.decode(video=0)]
    return n


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (decode processes, workers)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def time_plain(shards: list[str], procs: int) -> tuple[float, float, float]:
    """(frames/s of a first pass, process start included; frames/s of a second pass with the
    processes up; CPU ms per frame over both: all processes) of the plain decode in `procs`
    processes (one pass in this process when procs is 1: there is nothing to start)."""
    t, c = time.perf_counter(), _cpu()
    if procs <= 1:
        n = sum(plain_decode(s) for s in shards)
        fps = n / (time.perf_counter() - t)
        return fps, fps, (_cpu() - c) * 1000 / n
    with mp.get_context("fork").Pool(procs) as pool:
        n = sum(pool.map(plain_decode, shards, chunksize=1))
        first = n / (time.perf_counter() - t)
        t = time.perf_counter()
        n2 = sum(pool.map(plain_decode, shards, chunksize=1))
        steady = n2 / (time.perf_counter() - t)
    return first, steady, (_cpu() - c) * 1000 / (n + n2)  # the pool's processes are joined: counted


def time_loader(shards: list[str], table: BucketTable, workers: int) -> tuple[float, float, float]:
    """(frames/s of a first pass, worker start included; frames/s of a second pass of the same
    loader, its workers up; CPU ms per frame over both passes: workers and this process)."""
    loader = make_loader(shards, table, num_workers=workers, shuffle_buffer=8)
    t, c = time.perf_counter(), _cpu()
    frames = sum(int(b["rgb"].shape[0] * b["rgb"].shape[1]) for b in loader)
    first = frames / (time.perf_counter() - t)
    t = time.perf_counter()
    frames2 = sum(int(b["rgb"].shape[0] * b["rgb"].shape[1]) for b in loader)
    steady = frames2 / (time.perf_counter() - t)
    del loader  # its workers end (and are joined: their CPU is counted)
    return first, steady, (_cpu() - c) * 1000 / (frames + frames2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=48)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=float, default=0.5, help="bucket size / stored size (1: no resize)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-loader")
    args = ap.parse_args()
    import torch

    out = args.cache / f"c{args.clips}-t{args.frames}-{args.width}x{args.height}"
    t = time.perf_counter()
    shards = make_data(out, args.clips, args.frames, args.width, args.height)
    size = sum(Path(s).stat().st_size for s in shards)
    print(f"{args.clips} clips x {args.frames} frames at {args.width}x{args.height} in {len(shards)} shards, "
          f"{size / 1e6:.2f} MB ({time.perf_counter() - t:.1f} s to make or find); torch threads "
          f"{torch.get_num_threads()}, {mp.cpu_count()} CPUs; median of {args.repeat}; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    h, w = int(args.height * args.scale) // 8 * 8, int(args.width * args.scale) // 8 * 8
    every = BucketTable.from_budget([(h, w)], [args.frames], pixel_budget=4 * args.frames * h * w)
    dropout = BucketTable.from_budget([(h, w)], [4, 8], pixel_budget=4 * args.frames * h * w)
    # Configurations alternate within each repeat (plain decode right before the loader it is compared
    # with), so a load change on a shared machine hits both sides of a ratio alike; the ratio printed
    # is the median of the per-repeat ratios, beside the medians of the rates.
    res: dict[str, dict[int, list[float]]] = {}

    def add(name: str, n: int, v: float) -> None:
        res.setdefault(name, {}).setdefault(n, []).append(v)

    for rep in range(args.repeat):
        for nw in args.workers:
            p1, p2, pc = time_plain(shards, max(nw, 1))
            l1, l2, lc = time_loader(shards, every, nw)
            drop = time_loader(shards, dropout, nw)[1]
            for name, v in (("plain_first", p1), ("plain", p2), ("plain_cpu", pc), ("first", l1), ("loader", l2),
                            ("cpu", lc), ("ratio", l2 / p2), ("ratio_first", l1 / p1), ("drop", drop)):
                add(name, nw, v)
            print(f"  repeat {rep + 1}, {nw} workers: plain decode {p2:7.1f} ({p1:7.1f} first pass), loader {l2:7.1f} "
                  f"({l1:7.1f} first pass) frames/s: {l2 / p2:.2f}x ({l1 / p1:.2f}x first passes); CPU {pc:.2f} vs "
                  f"{lc:.2f} ms/frame; frame dropout {drop:7.1f} training frames/s; load average "
                  f"{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    med = statistics.median
    for nw in args.workers:
        n = max(nw, 1)
        print(f"plain decode, {n} process(es): {med(res['plain'][nw]):8.1f} frames/s ({med(res['plain_first'][nw]):.1f} "
              f"first pass), CPU {med(res['plain_cpu'][nw]):.2f} ms/frame")  # fmt: skip
        print(f"loader, {nw} workers, all {args.frames} frames -> {h}x{w}: {med(res['loader'][nw]):8.1f} frames/s "
              f"({med(res['first'][nw]):.1f} first pass), CPU {med(res['cpu'][nw]):.2f} ms/frame; frame dropout K=4/8 "
              f"of {args.frames}: {med(res['drop'][nw]):8.1f} training frames/s")  # fmt: skip
    for nw in args.workers:
        r, f = res["ratio"][nw], res["ratio_first"][nw]
        print(f"RESULT loader {nw} workers / plain decode with {max(nw, 1)} process(es): {med(r):.2f}x with the processes "
              f"up (median of {len(r)}; range {min(r):.2f}-{max(r):.2f}; goal >= 0.8x); {med(f):.2f}x on a first pass "
              f"(process start included); CPU per frame {med(res['cpu'][nw]) / med(res['plain_cpu'][nw]):.2f}x the "
              "plain decode's")  # fmt: skip
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: this process {own:.0f} MB, largest child (worker / decode process) {kids:.0f} MB")


if __name__ == "__main__":
    main()
