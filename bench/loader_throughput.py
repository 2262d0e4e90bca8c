"""Loader throughput (clips/s, frames/s) against a raw read of the same tar bytes.

    python bench/loader_throughput.py [--clips 24 --frames 16 --width 256 --height 144] [--workers 0 2]
Writes simulated clips as shards in a temp dir, then times (1) reading every tar member's bytes,
(2) dataset.loader at each worker count (decode K frames, crop/resize, pack, collate).
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.records import Clip  # noqa: E402
from dataset.config import ShardConfig  # noqa: E402
from dataset.loader import make_loader  # noqa: E402
from dataset.packing import BucketTable  # noqa: E402
from dataset.shard_writer import write_arrays  # noqa: E402


def make_data(out: Path, clips: int, frames: int, width: int, height: int) -> list[str]:
    from capture.simulate.api import simulate_sequence
    from capture.simulate.config import SimConfig

    seq = simulate_sequence(SimConfig(width=width, height=height, seconds=clips * frames / 30 + 0.1, faults=[],
                                      kinds=["street", "room"], cuts=0))  # fmt: skip
    depth = seq.depth_m.astype(np.float32)
    depth[~np.isfinite(depth)] = np.nan
    items = []
    for c in range(clips):
        s = c * frames
        row = Clip("bench", s, s + frames, manifest="sim", fps=30.0, decision="kept").to_row()
        items.append((row, seq.rgb[s : s + frames], depth[s : s + frames]))
    res = write_arrays(items, out, ShardConfig(max_shard_samples=max(1, clips // 4)))
    return res.shards


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=144)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    args = ap.parse_args()
    h, w = args.height // 2 // 8 * 8, args.width // 2 // 8 * 8
    table = BucketTable.from_budget([(h, w)], [1, 4, 8, args.frames], pixel_budget=8 * args.frames * h * w)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        shards = make_data(Path(tmp), args.clips, args.frames, args.width, args.height)
        total = sum(Path(s).stat().st_size for s in shards)
        print(f"{args.clips} clips x {args.frames} frames {args.width}x{args.height} -> {len(shards)} shards, "
              f"{total / 1e6:.2f} MB ({time.perf_counter() - t:.1f} s to simulate+write)")  # fmt: skip
        t = time.perf_counter()
        nbytes = 0
        for s in shards:
            with tarfile.open(s) as tf:
                for m in tf:
                    nbytes += len(tf.extractfile(m).read())
        raw = time.perf_counter() - t
        print(f"raw tar read : {args.clips / raw:10.1f} clips/s  {nbytes / raw / 1e6:8.1f} MB/s")
        for nw in args.workers:
            loader = make_loader(shards, table, num_workers=nw, shuffle_buffer=8)
            t = time.perf_counter()
            frames = sum(int(b["rgb"].shape[0] * b["rgb"].shape[1]) for b in loader)
            dt = time.perf_counter() - t
            st = loader.stats
            print(f"loader w={nw}  : {st.samples / dt:10.1f} clips/s  {frames / dt:8.1f} frames/s (K sampled, "
                  f"to {h}x{w})  {args.clips / dt / (args.clips / raw):.4f} of raw clip rate; {st.batches} batches, "
                  f"skipped {st.skipped}")  # fmt: skip


if __name__ == "__main__":
    main()
