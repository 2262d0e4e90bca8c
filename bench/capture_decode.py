"""Decode speed of capture.open_recording against a plain PyAV decode of the same file.

Writes a side-by-side H.264 recording (OBS-like: yuv420p, bt709 limited, crf 16; gray8 depth)
whose stored frame is 1280x720 by default, i.e. each half 640x720 (`--full-halves` makes each
half 1280x720, a 2560x720 file), then times
  baseline: PyAV decode of every frame -> rgb24 ndarray (whole frame, swscale),
  reader:   iterating open_recording (RGB half with the bt709/limited matrix, depth half from
            the Y plane, linearised -> metres with an infinite reversed-Z projection, NaN sky),
and prints frames/second of each, their ratio, and peak RSS.

    python bench/capture_decode.py [--frames 90] [--full-halves] [--out DIR]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capture.manifest import Projection, ReshadeSettings  # noqa: E402
from capture.recording import open_recording  # noqa: E402
from capture.reshade import metres_to_linear  # noqa: E402
from capture.writer import write_recording  # noqa: E402


def synthetic_frames(n: int, w: int, h: int, proj: Projection, rs: ReshadeSettings):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(n):
        # A ground plane receding to a horizon, a moving box, sky above the horizon.
        horizon = 0.4 * h
        z = np.where(yy > horizon, 2.0 * h / np.maximum(yy - horizon, 1.0), np.inf)
        cx = (0.2 + 0.6 * i / max(n - 1, 1)) * w
        box = (np.abs(xx - cx) < 0.08 * w) & (np.abs(yy - 0.6 * h) < 0.15 * h)
        z = np.where(box, 4.0, z)
        rgb = np.stack([(xx * 0.3 + i * 3) % 256, np.clip(255 - yy * 0.3, 0, 255),
                        np.where(box, 220, 90 + 40 * np.sin(xx / 17 + i / 5))], -1).astype(np.uint8)
        yield rgb, metres_to_linear(z, proj, rs)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--full-halves", action="store_true", help="each half 1280x720 (file 2560x720)")
    ap.add_argument("--repeat", type=int, default=2, help="timed passes of each; the best is reported")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    import av

    w, h = (1280, 720) if args.full_halves else (640, 720)
    proj = Projection(type="infinite_reversed", near=0.1)
    rs = ReshadeSettings(far_plane=1000.0)
    out = args.out or Path(tempfile.mkdtemp(prefix="capture_bench_"))
    t0 = time.perf_counter()
    mp = write_recording(out, "bench", synthetic_frames(args.frames, w, h, proj, rs), layout="side_by_side",
                         encoding="gray8", codec="h264", crf=16, reshade=rs, projection=proj)
    t_write = time.perf_counter() - t0
    rec = open_recording(mp)
    video = out / rec.manifest.media.video
    print(f"recording: {video} ({2 * w}x{h} stored, halves {w}x{h}), {len(rec)} frames, "
          f"{video.stat().st_size / 1e6:.1f} MB, written in {t_write:.1f} s")
    rss_before = peak_rss_mb()

    def plain() -> int:
        k = 0
        with av.open(str(video)) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            for f in c.decode(s):
                f.to_ndarray(format="rgb24")
                k += 1
        return k

    def reader() -> int:
        k = 0
        for fp in open_recording(mp):
            assert fp.depth.dtype == np.float32
            k += 1
        return k

    res = {}
    for name, fn in (("plain PyAV -> rgb24", plain), ("open_recording", reader)):
        best = np.inf
        for _ in range(args.repeat):
            t = time.perf_counter()
            k = fn()
            best = min(best, time.perf_counter() - t)
        res[name] = k / best
        print(f"{name:22s} {k} frames  {k / best:7.1f} frames/s")
    ratio = res["open_recording"] / res["plain PyAV -> rgb24"]
    print(f"ratio open_recording / plain = {ratio:.2f}")
    print(f"peak RSS {peak_rss_mb():.0f} MB (after writing: {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
