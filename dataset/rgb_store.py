"""RGB clips as H.264 mp4 via PyAV, deterministic: the same frames give the same bytes on every run.

What makes it so (each one measured to matter, see tests/test_dataset_writer.py):
- RGB -> YUV is done in numpy (capture.writer's converters) rather than by PyAV's implicit
  conversion inside `encode()`;
- x264 without lookahead and macroblock tree (their SIMD code read uninitialised memory:
  identical input gave different bitstreams in a few percent of runs);
- a fixed x264 thread count (default 1) and a bit-exact muxer (`fflags=+bitexact`).
Colour: BT.601 limited range both ways (swscale's default on decode), so decode inverts encode.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import av
import cv2
import numpy as np

from capture.downscale import yuv_to_rgb8
from capture.errors import InputError
from capture.video_io import COLORSPACE_TAG, RANGE_TAG, frame_from_planes, plane
from capture.writer import rgb_to_yuv420p, rgb_to_yuv444p

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
        # No lookahead / macroblock tree: with them x264's SIMD code reads uninitialised heap
        # memory (found with MALLOC_PERTURB_, which made runs identical), so the same clip encoded
        # to different bytes in a few percent of runs. Costs some compression at the same crf.
        stream = out.add_stream("libx264", rate=rate, options={"crf": str(crf), "preset": preset,
                                                             "x264-params": "rc-lookahead=0:mbtree=0"})
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        stream.codec_context.thread_count = threads
        stream.codec_context.thread_type = "FRAME" if threads > 1 else "NONE"
        convert = rgb_to_yuv420p if pix_fmt == "yuv420p" else rgb_to_yuv444p
        for i in range(t):
            # RGB -> YUV in numpy, not PyAV's reformat: its shared swscale state made the same
            # clip encode differently now and then once other conversions ran in between
            # (~4% of runs), which broke byte-identical reruns. bt601 limited is what the
            # decoder's default conversion inverts.
            vf = frame_from_planes(convert(frames[i], "bt601", "limited"), w, h, pix_fmt)
            vf.color_range = RANGE_TAG["limited"]
            vf.colorspace = COLORSPACE_TAG["bt601"]
            vf.pts = i
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


Box = tuple[int, int, int, int]  # (y0, x0, height, width) of a crop, in source pixels


def decode_rgb(data: bytes, indices: Sequence[int] | None = None, name: str = "rgb",
               threads: int | None = None, box: Box | None = None,
               size: tuple[int, int] | None = None, frame_size: tuple[int, int] | None = None) -> np.ndarray:
    """mp4 bytes -> (T,H,W,3) uint8, or only frames `indices` (sorted, in clip order).

    Frames are decoded in order up to the last wanted one; unwanted ones skip colour conversion.
    `threads`: decoder threads (None: FFmpeg's default; 1: none beside the caller's).
    `box` and `size` (h, w): each frame cropped to `box` and resized to `size` (`crop_resize_frame`),
    from the decoder's planes: no full-size RGB is made. `frame_size` (h, w): the size the frames
    must have (an InputError otherwise)."""
    want = None if indices is None else sorted(set(int(i) for i in indices))
    out: dict[int, np.ndarray] = {}
    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            set_decoder_threads(stream, threads)
            for i, frame in enumerate(container.decode(stream)):
                if frame_size is not None and (frame.height, frame.width) != tuple(frame_size):
                    raise InputError(name, f"frames are {frame.height}x{frame.width}, expected "
                                           f"{frame_size[0]}x{frame_size[1]}")  # fmt: skip
                if want is None or i in want:
                    out[i] = frame.to_ndarray(format="rgb24") if box is None else crop_resize_frame(frame, box, size)
                if want is not None and i >= want[-1]:
                    break
    except InputError:
        raise  # already names the clip and the problem
    except (av.error.FFmpegError, ValueError) as e:
        raise InputError(name, f"RGB clip cannot be decoded: {e}") from None
    if want is not None and len(out) != len(want):
        raise InputError(name, f"RGB clip has fewer frames than asked for (max index {want[-1]}, got {len(out)})")
    if not out:
        raise InputError(name, "RGB clip has no frames")
    order = sorted(out) if indices is None else [int(i) for i in indices]
    return np.stack([out[i] for i in order])


def resize_plane(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A 2-D (or HxWxC) uint8 image to `size` (h, w): area averaging where it shrinks (antialiased,
    exact boxes at integer factors), bilinear where it grows."""
    h, w = size
    if a.shape[:2] == (h, w):
        return a
    shrink = h <= a.shape[0] and w <= a.shape[1]
    return cv2.resize(a, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def crop_resize_frame(frame: av.VideoFrame, box: Box, size: tuple[int, int]) -> np.ndarray:
    """One decoded frame cropped to `box` and resized to `size` (h, w) -> uint8 (h, w, 3) RGB.

    Why from the planes: swscale's full-size YUV -> RGB cost more than the H.264 decode itself
    at the stored sizes, and the trainer wants the frame at bucket size (often half). The YUV
    planes (views into the decoder's buffer) are cropped and resized, then converted at bucket
    size with the matrix and range the stream is tagged with (the stored clips: BT.601 limited; the conversion is affine, so it
    commutes with the averaging). 4:2:0 chroma is cropped at the nearest half-resolution rows and
    columns (at most half a source pixel off for an odd offset). Other formats: RGB, then resize."""
    y0, x0, ch, cw = box
    if y0 < 0 or x0 < 0 or y0 + ch > frame.height or x0 + cw > frame.width:
        raise ValueError(f"crop {box} lies outside the {frame.width}x{frame.height} frame")
    fmt = frame.format.name
    if fmt in ("yuv420p", "yuv444p"):
        sub = 2 if fmt == "yuv420p" else 1
        cy0, cx0, cy1, cx1 = y0 // sub, x0 // sub, -(-(y0 + ch) // sub), -(-(x0 + cw) // sub)
        y = resize_plane(plane(frame, 0)[y0 : y0 + ch, x0 : x0 + cw], size)
        u = resize_plane(plane(frame, 1)[cy0:cy1, cx0:cx1], size)
        v = resize_plane(plane(frame, 2)[cy0:cy1, cx0:cx1], size)
        matrix = "bt709" if frame.colorspace == COLORSPACE_TAG["bt709"] else "bt601"
        full = frame.color_range == RANGE_TAG["full"]
        return yuv_to_rgb8(np.ascontiguousarray(y), np.ascontiguousarray(u), np.ascontiguousarray(v), matrix, full)
    return np.ascontiguousarray(resize_plane(frame.to_ndarray(format="rgb24")[y0 : y0 + ch, x0 : x0 + cw], size))


def set_decoder_threads(stream, threads: int | None) -> None:
    """`threads` decoder threads for `stream` (None: leave FFmpeg's default). One thread means no
    thread pool at all: the stored clips are single-slice H.264 and intra FFV1 decoded a few frames
    at a time, so FFmpeg's default slice threads only cost their start-up per clip and, in loader
    workers that already use every core, compete with the other workers."""
    if threads is None:
        return
    stream.codec_context.thread_count = max(0, int(threads))
    stream.codec_context.thread_type = "NONE" if threads == 1 else "AUTO"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def _rate(fps: float):
    from fractions import Fraction

    return Fraction(fps).limit_denominator(1001)
