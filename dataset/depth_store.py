"""Depth clips stored losslessly at their stored precision, NaN (invalid) included.

Encodings (ShardConfig.depth_encoding):
- ffv1_f16 (default): depth cast to float16, its 16-bit pattern coded as gray16le FFV1 frames in
  Matroska. Bit-exact float16 incl. NaN; float16 bit patterns of positive depth are monotonic in
  depth, so FFV1's neighbour prediction works on them and smooth game depth compresses well.
- npz_f16: the same float16 array in a zlib-compressed .npz (portable, no video codec needed).
- npz_f32: float32 as captured, zlib .npz: exact, for data where float16's 11-bit mantissa
  (relative step 2^-11 = 0.05 %) is not enough.
Measured choice (bench/packing_and_encoding.py): see README of the dataset stage / the report.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import av
import numpy as np

from capture.errors import InputError

EXTENSIONS = {"ffv1_f16": "depth.mkv", "npz_f16": "depth.npz", "npz_f32": "depth.npz"}
STORED_DTYPE = {"ffv1_f16": np.float16, "npz_f16": np.float16, "npz_f32": np.float32}
F16_MAX = float(np.finfo(np.float16).max)


def stored_precision(depth: np.ndarray, encoding: str) -> np.ndarray:
    """What a round trip gives back, as float32: the reference for bit-exact checks."""
    return _to_stored(depth, encoding).astype(np.float32)


def _to_stored(depth: np.ndarray, encoding: str) -> np.ndarray:
    dt = STORED_DTYPE[encoding]
    if dt is np.float16:
        # Finite values beyond float16's range are clipped to its max (not turned into inf);
        # NaN and inf stay what they are.
        depth = np.where(np.isinf(depth), depth, np.clip(depth, -F16_MAX, F16_MAX))
    return np.ascontiguousarray(depth.astype(dt))


def encode_depth(depth: np.ndarray, encoding: str = "ffv1_f16") -> bytes:
    """(T,H,W) float depth (NaN = invalid) -> bytes in `encoding`."""
    if depth.ndim != 3:
        raise ValueError(f"depth clip must be (T,H,W), got {depth.shape}")
    if encoding not in EXTENSIONS:
        raise ValueError(f"unknown depth encoding {encoding!r}; one of {sorted(EXTENSIONS)}")
    stored = _to_stored(depth, encoding)
    if encoding.startswith("npz"):
        buf = io.BytesIO()
        np.savez_compressed(buf, depth=stored)
        return buf.getvalue()
    return _encode_ffv1(stored.view(np.uint16))


def decode_depth(
    data: bytes, encoding: str = "ffv1_f16", indices: Sequence[int] | None = None, name: str = "depth",
    dtype: type = np.float32, threads: int | None = None,
) -> np.ndarray:
    """bytes -> (T,H,W) float32 (or `dtype`, e.g. the stored float16) with NaN where invalid
    (frames `indices` only, when given). `threads`: FFV1 decoder threads (None: FFmpeg's default)."""
    try:
        if encoding.startswith("npz"):
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                arr = z["depth"]
            if indices is not None:
                arr = arr[np.asarray(indices, dtype=np.int64)]
            return arr.astype(dtype, copy=False)
        if encoding == "ffv1_f16":
            return _decode_ffv1(data, indices, name, threads).view(np.float16).astype(dtype, copy=False)
    except (av.error.FFmpegError, ValueError, KeyError, OSError, IndexError) as e:
        raise InputError(name, f"depth clip ({encoding}) cannot be decoded: {e}") from None
    raise InputError(name, f"unknown depth encoding {encoding!r}")


def _encode_ffv1(planes: np.ndarray) -> bytes:
    t, h, w = planes.shape
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska", container_options={"fflags": "+bitexact"}) as out:
        # level 3 + range coder + large context: best FFV1 ratio; one thread keeps output fixed.
        stream = out.add_stream(
            "ffv1", rate=30, options={"level": "3", "coder": "1", "context": "1", "threads": "1", "g": "1"}
        )
        stream.width, stream.height, stream.pix_fmt = w, h, "gray16le"
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        stream.codec_context.thread_count = 1
        stream.codec_context.thread_type = "NONE"
        for i in range(t):
            vf = av.VideoFrame.from_ndarray(planes[i], format="gray16le")
            vf.pts = i
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def _decode_ffv1(data: bytes, indices: Sequence[int] | None, name: str, threads: int | None = None) -> np.ndarray:
    from dataset.rgb_store import set_decoder_threads

    want = None if indices is None else set(int(i) for i in indices)
    last = None if want is None else max(want)
    out: dict[int, np.ndarray] = {}
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        set_decoder_threads(stream, threads)
        i = 0
        # FFV1 is intra-only: every packet decodes alone, so frames that frame dropout did not pick
        # are skipped at the packet level (decode cost ~ K, not T).
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if want is None or i in want:
                for frame in packet.decode():
                    out[i] = frame.to_ndarray(format="gray16le")
            i += 1
            if last is not None and i > last:
                break
    order = sorted(out) if indices is None else [int(i) for i in indices]
    missing = [i for i in order if i not in out]
    if missing or not order:
        raise InputError(name, f"depth clip is missing frames {missing[:5]} (decoded {len(out)})")
    return np.stack([out[i] for i in order])
