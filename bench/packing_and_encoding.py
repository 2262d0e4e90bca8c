"""Depth encoding size/speed on simulated game depth, and video packing efficiency.

    python bench/packing_and_encoding.py [--width 320 --height 180 --seconds 2] [--clips 2000]
Encoding: bytes per frame of each depth encoding against raw float16 (2 bytes/pixel), encode
and decode speed. Packing: real pixel-frames over slots per training step, for batches packed
by (resolution, K) buckets vs one sample per batch vs padding a mixed batch to the longest clip.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dataset.depth_store import decode_depth, encode_depth, stored_precision  # noqa: E402
from dataset.packing import BucketTable, pack, packing_efficiency  # noqa: E402


def simulated_depth(width: int, height: int, seconds: float) -> np.ndarray:
    from capture.simulate.api import simulate_sequence
    from capture.simulate.config import SimConfig

    seq = simulate_sequence(SimConfig(width=width, height=height, seconds=seconds, faults=[], kinds=["street"]))
    d = seq.depth_m.astype(np.float32)
    d[~np.isfinite(d)] = np.nan  # sky / cleared depth: invalid, as capture hands it on
    return d


def bench_encoding(depth: np.ndarray) -> None:
    t, h, w = depth.shape
    raw16 = h * w * 2
    print(f"depth: {t} frames {w}x{h}, invalid {np.isnan(depth).mean():.1%}; raw float16 = {raw16} B/frame")
    print(f"{'encoding':12s} {'B/frame':>9s} {'vs raw f16':>10s} {'enc fps':>8s} {'dec fps':>8s}  exact")
    for enc in ["ffv1_f16", "npz_f16", "npz_f32"]:
        t0 = time.perf_counter()
        data = encode_depth(depth, enc)
        te = time.perf_counter() - t0
        t0 = time.perf_counter()
        back = decode_depth(data, enc)
        td = time.perf_counter() - t0
        exact = np.array_equal(back, stored_precision(depth, enc), equal_nan=True)
        print(f"{enc:12s} {len(data) / t:9.0f} {len(data) / t / raw16:10.3f} {t / te:8.0f} {t / td:8.0f}  {exact}")
    # 16-bit PNG frames of the float16 bit pattern (one file per frame), for comparison.
    bits = depth.astype(np.float16).view(np.uint16)
    t0 = time.perf_counter()
    pngs = [cv2.imencode(".png", f)[1].tobytes() for f in bits]
    te = time.perf_counter() - t0
    t0 = time.perf_counter()
    back = np.stack([cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_UNCHANGED) for p in pngs])
    td = time.perf_counter() - t0
    size = sum(map(len, pngs))
    print(f"{'png16_f16':12s} {size / t:9.0f} {size / t / raw16:10.3f} {t / te:8.0f} {t / td:8.0f}  "
          f"{np.array_equal(back, bits)}")  # fmt: skip


def bench_packing(n_clips: int, seed: int = 0) -> None:
    table = BucketTable.default()
    rng = np.random.default_rng(seed)
    # Mixed data set: lengths 1..150 frames (images to 5 s clips), three source shapes.
    shapes = [(1080, 1920), (720, 1280), (1024, 1024), (1440, 3440)]
    lengths = rng.integers(1, 151, n_clips)
    items = []
    for t in lengths:
        h, w = shapes[int(rng.integers(len(shapes)))]
        b = table.choose(h, w, int(t), rng)
        if b is not None:
            items.append((b, int(t)))
    budget = table.max_slots
    packed = [(b, len(s)) for b, s in pack(items)]
    eff_packed = packing_efficiency(packed, budget)
    eff_single = packing_efficiency([(b, 1) for b, _ in items], budget)
    # Padding baseline: batches of 8 samples in arrival order at the largest resolution, padded to the longest K.
    big = max(table.buckets, key=lambda b: b.height * b.width)
    real = slots = 0
    for i in range(0, len(items), 8):
        chunk = items[i : i + 8]
        kmax = max(b.frames for b, _ in chunk)
        real += sum(b.frames * b.height * b.width for b, _ in chunk)
        slots += 8 * kmax * big.height * big.width
    print(f"packing over {len(items)} clips (lengths 1..150, 4 source shapes), slot budget {budget:,} px-frames/step:")
    print(f"  packed by (resolution, K) buckets : {eff_packed:.3f} real/slots, {len(packed)} steps")
    print(f"  one sample per batch              : {eff_single:.3f} real/slots, {len(items)} steps "
          f"({eff_packed / eff_single:.1f}x fewer real frames per step)")  # fmt: skip
    print(f"  batch of 8 padded to longest K    : {real / slots:.3f} real/slots")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=180)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--clips", type=int, default=2000)
    args = ap.parse_args()
    bench_encoding(simulated_depth(args.width, args.height, args.seconds))
    bench_packing(args.clips)


if __name__ == "__main__":
    main()
