"""Loader throughput: decoded training frames/s against a plain decode of the same stored clips.

    python bench/loader_throughput.py [--clips 48 --frames 16 --width 320 --height 192]
                                      [--workers 0 2] [--repeat 3] [--cache DIR]

Shards of simulated game clips (H.264 RGB + FFV1 float16 depth, as `synthdepth shard` writes them;
cached under --cache). Then, on the same tar files:
  plain decode     every sample's mp4 and depth read from the tars and decoded to arrays with PyAV's
                   defaults, in 1 process, and in N processes over the shards (N = each --workers > 0)
  loader           dataset.loader with a bucket that takes every frame (the same frames as the plain
                   decode) at half resolution: decode, crop/resize, pack, collate, at each --workers;
                   ratio against the plain decode with as many processes (1 for 0 workers)
  loader, dropout  the same with frame dropout (K of T frames, K in 4/8): training frames/s
With 0 workers the loader runs in this process with torch's default threads, as in a trainer.
Frames = (RGB, depth) pairs. Medians over --repeat; peak RSS of this process and of its children.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
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


def time_plain(shards: list[str], procs: int) -> float:
    t = time.perf_counter()
    if procs <= 1:
        n = sum(plain_decode(s) for s in shards)
    else:
        with mp.get_context("fork").Pool(procs) as pool:
            n = sum(pool.map(plain_decode, shards, chunksize=1))
    return n / (time.perf_counter() - t)


def time_loader(shards: list[str], table: BucketTable, workers: int) -> tuple[float, int]:
    loader = make_loader(shards, table, num_workers=workers, shuffle_buffer=8)
    t = time.perf_counter()
    frames = sum(int(b["rgb"].shape[0] * b["rgb"].shape[1]) for b in loader)
    return frames / (time.perf_counter() - t), loader.stats.samples


def median(f, repeat: int) -> float:
    return statistics.median(f() for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=48)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-loader")
    args = ap.parse_args()
    import torch

    out = args.cache / f"c{args.clips}-t{args.frames}-{args.width}x{args.height}"
    t = time.perf_counter()
    shards = make_data(out, args.clips, args.frames, args.width, args.height)
    size = sum(Path(s).stat().st_size for s in shards)
    print(f"{args.clips} clips x {args.frames} frames at {args.width}x{args.height} in {len(shards)} shards, "
          f"{size / 1e6:.2f} MB ({time.perf_counter() - t:.1f} s to make or find); torch threads "
          f"{torch.get_num_threads()}, {mp.cpu_count()} CPUs; median of {args.repeat}")  # fmt: skip
    h, w = args.height // 2 // 8 * 8, args.width // 2 // 8 * 8
    every = BucketTable.from_budget([(h, w)], [args.frames], pixel_budget=4 * args.frames * h * w)
    dropout = BucketTable.from_budget([(h, w)], [4, 8], pixel_budget=4 * args.frames * h * w)
    plain = {1: median(lambda: time_plain(shards, 1), args.repeat)}
    print(f"plain decode, 1 process     : {plain[1]:8.1f} frames/s")
    for nw in sorted({n for n in args.workers if n > 1}):
        plain[nw] = median(lambda nw=nw: time_plain(shards, nw), args.repeat)
        print(f"plain decode, {nw} processes   : {plain[nw]:8.1f} frames/s")
    for nw in args.workers:
        fps = median(lambda nw=nw: time_loader(shards, every, nw)[0], args.repeat)
        base = plain[max(nw, 1)]
        print(f"loader, {nw} workers, all {args.frames} frames -> {h}x{w}: {fps:8.1f} frames/s = {fps / base:.2f}x "
              f"plain decode with {max(nw, 1)} process(es)" + (f", {fps / plain[1]:.2f}x 1 process" if nw > 1 else ""))  # fmt: skip
    for nw in args.workers:
        fps = median(lambda nw=nw: time_loader(shards, dropout, nw)[0], args.repeat)
        print(f"loader, {nw} workers, frame dropout K=4/8 of {args.frames}: {fps:8.1f} training frames/s")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: this process {own:.0f} MB, largest child (worker / decode process) {kids:.0f} MB")


if __name__ == "__main__":
    main()
