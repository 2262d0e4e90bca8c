"""RGB clips as H.264 mp4 via PyAV, deterministic: the same frames give the same bytes on every run.

Three things make it so (each one measured to matter, see tests/test_dataset_writer.py):
- frames are converted RGB -> YUV explicitly with `VideoFrame.reformat` before encoding; PyAV's
  implicit conversion inside `encode()` gave run-to-run different bitstreams here;
- a fixed x264 thread count (frame threads): x264's output depends on the count, not on timing;
- a bit-exact muxer (`fflags=+bitexact`: no version string, no random ids).
Colour: BT.601 limited range both ways (swscale defaults), so decode inverts encode.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import av
import numpy as np

from capture.errors import InputError

# Fractions of pixels that may differ by more than this after H.264 at crf <= 18 on game-like
# content: the tolerance the round-trip tests hold the codec to (see tests/test_dataset_roundtrip.py).
RGB_TOLERANCE = {"max_mean_abs_error": 3.0, "min_psnr_db": 35.0}


def encode_rgb(
    frames: np.ndarray,
    fps: float = 30.0,
    crf: int = 18,
    preset: str = "medium",
    pix_fmt: str = "yuv420p",
    threads: int = 2,
) -> bytes:
    """(T,H,W,3) uint8 RGB -> mp4 bytes. Odd sizes fall back to yuv444p (4:2:0 needs even sizes)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"rgb clip must be (T,H,W,3) uint8, got {frames.shape} {frames.dtype}")
    t, h, w, _ = frames.shape
    if pix_fmt == "yuv420p" and (h % 2 or w % 2):
        pix_fmt = "yuv444p"
    buf = io.BytesIO()
    rate = _rate(fps)
    with av.open(buf, "w", format="mp4", container_options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("libx264", rate=rate, options={"crf": str(crf), "preset": preset})
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        stream.codec_context.thread_count = threads
        stream.codec_context.thread_type = "FRAME" if threads > 1 else "NONE"
        for i in range(t):
            vf = av.VideoFrame.from_ndarray(frames[i], format="rgb24").reformat(format=pix_fmt)
            vf.pts = i
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def decode_rgb(data: bytes, indices: Sequence[int] | None = None, name: str = "rgb") -> np.ndarray:
    """mp4 bytes -> (T,H,W,3) uint8, or only frames `indices` (sorted, in clip order).

    Frames are decoded in order up to the last wanted one; unwanted ones skip colour conversion."""
    want = None if indices is None else sorted(set(int(i) for i in indices))
    out: dict[int, np.ndarray] = {}
    try:
        with av.open(io.BytesIO(data)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if want is None or i in want:
                    out[i] = frame.to_ndarray(format="rgb24")
                if want is not None and i >= want[-1]:
                    break
    except (av.error.FFmpegError, ValueError) as e:
        raise InputError(name, f"RGB clip cannot be decoded: {e}") from None
    if want is not None and len(out) != len(want):
        raise InputError(name, f"RGB clip has fewer frames than asked for (max index {want[-1]}, got {len(out)})")
    if not out:
        raise InputError(name, "RGB clip has no frames")
    order = sorted(out) if indices is None else [int(i) for i in indices]
    return np.stack([out[i] for i in order])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def _rate(fps: float):
    from fractions import Fraction

    return Fraction(fps).limit_denominator(1001)
