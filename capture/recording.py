"""Read a recording (media + manifest) as a stream of FramePair(index, pts, rgb, depth).

Decoding rules (see README "Decoding accuracy" for the bounds):
- YUV video -> RGB with the manifest's matrix and range given to swscale explicitly (its
  default, bt601, is wrong for OBS's bt709).
- Grey depth in YUV video is read straight from the Y plane (limited range 16-235 expanded);
  packed depth in YUV only from 4:4:4, the matrix applied and rounded to integers before
  unpacking; RGB pixel formats are read directly; 16-bit formats stay 16-bit.
- Stored value L -> depth: L >= 1 - tol is sky (NaN), L < -tol is invalid (NaN), small
  excursions are clipped; tol = half a quantisation step + what the codec may add.
  With a projection, metres via `capture.reshade.linear_to_metres`; without, L itself.
- `reshade.upside_down` means the stored depth image is upside down with respect to the RGB
  (the buffer as the game wrote it); it is flipped back either way, as `linear_to_metres`
  does (it inverts GetLinearizedDepth, which flips). HUD-mask pixels are NaN.
- Timeline: frames are counted by demuxing packets (a truncated file counts what it has); a
  frame's index is its slot on the pts timeline, so a hole left by packets a damaged container
  lost keeps the frames after it in place (the hole's frames are unreadable); a non-constant
  frame rate, timestamp drift between separate files and recorder-duplicated frames are
  reported (warnings / duplicated_frames), never silently absorbed.
Decoding streams: one frame (pair) at a time, so memory does not grow with length.

Damage costs only what is damaged: `Recording.stream()` yields, in timeline order, a FramePair
for every frame that was read and an UnreadableFrame for every frame that was not (a corrupt
image file; a damaged video packet and the frames decoded after it up to the next keyframe),
and goes on reading. NaN/inf in float depth files are invalid pixels (NaN), counted in
`nonfinite_depth` with one warning. `stream(analysis_width=W)` gives both images at width W
straight from the decoded planes (capture/downscale.py), without a full-size RGB conversion.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capture import depth_codec
from capture.colour import luma_to_unit, yuv_to_rgb
from capture.downscale import analysis_size, area_resize, grid, sample, yuv_to_rgb8
from capture.errors import CaptureError, raise_if_transient
from capture.float_io import read_float
from capture.layouts import halves, scale_region
from capture.manifest import Manifest, load_manifest
from capture.records import FrameItem, FramePair, UnreadableFrame
from capture.reshade import linear_to_metres
from capture.video_io import (
    SWS_COLORSPACE,
    SWS_RANGE,
    DecodeFailure,
    VideoIndex,
    chroma_subsampled,
    decode_range,
    frame_kind,
    gray_array,
    index_video,
    plane,
    rgb_array,
    yuv_planes,
)
from common.errors import ErrorRecord

# What lossy H.264 may add to a grey level, on top of rounding and dither (flat areas;
# strong edges blur more: the tests assert the median and 99th percentile there).
LOSSY_GRAY8_MARGIN = 2.0 / 255
# Duplicate-frame test: mean absolute change below these is "the same frame".
DUP_RGB_MAD = 0.5  # 8-bit code values (x264 may leave ~0.2 on a repeated frame)
DUP_DEPTH_MAD = 0.25 / 255  # in L (x264 left 0.07 grey levels on a repeated 8-bit depth frame)
_FULL = slice(None), slice(None)


@dataclass(frozen=True)
class _Read:
    """How one pass reads: decoder threads and hardware decoding; at analysis size, the output
    size and the source pixels that depth is sampled at (rows already flipped for upside_down)."""

    threads: int = 0
    hwaccel: str | None = None
    convert_threads: int = 1  # frames converted beside the decoder (0: in the calling thread)
    size: tuple[int, int] | None = None  # (w, h) at analysis width; None: full resolution
    rows: np.ndarray | None = None  # depth source rows, in stored orientation
    cols: np.ndarray | None = None

    def pick(self, a: np.ndarray) -> np.ndarray:
        return a if self.size is None else sample(a, self.rows, self.cols)


_FULL_READ = _Read()


def _pipelined(items: Iterator, convert, workers: int, ahead: int = 4) -> Iterator:
    """convert(item) for every item, in order. With workers > 0 the conversions run in a thread
    pool while the calling thread goes on pulling items (decoding: the decoder's pipeline stays
    fed); at most `ahead` items are in flight, so memory stays flat."""
    try:
        if workers <= 0:
            for x in items:
                yield convert(x)
            return
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        queue: deque = deque()
        with ThreadPoolExecutor(workers, thread_name_prefix="capture-convert") as pool:
            try:
                for x in items:
                    queue.append(pool.submit(convert, x))
                    if len(queue) > ahead:
                        yield queue.popleft().result()
                while queue:
                    yield queue.popleft().result()
            finally:
                for f in queue:
                    f.cancel()
    finally:  # conversions are done (or cancelled): now the decoder may close its file
        close = getattr(items, "close", None)
        if close is not None:
            close()


class _Bad:
    """A source's unreadable frame: (index, pts, message, path)."""

    __slots__ = ("i", "pts", "message", "path")

    def __init__(self, i: int, pts: float, message: str, path: Path | str | None):
        self.i, self.pts, self.message, self.path = i, pts, message, path


class Coded:
    """Depth still as integer codes (Y values, channel sums, 16-bit levels): mapped to depth
    through a lookup table, which is much cheaper than the projection per pixel."""

    __slots__ = ("codes", "key", "step")

    def __init__(self, codes: np.ndarray, key: tuple, step: float):
        self.codes, self.key, self.step = codes, key, step

    def lut(self) -> np.ndarray:
        """L for every possible code."""
        kind, a, b = self.key
        if kind == "luma":  # (full_range, bits)
            return luma_to_unit(np.arange(1 << b), full_range=a, bits=b).astype(np.float64)
        if kind == "sum3":  # channel sum of 3 channels of max value a
            return np.arange(3 * a + 1, dtype=np.float64) / (3 * a)
        return np.arange(1 << b, dtype=np.float64) / ((1 << b) - 1)  # ("gray", _, bits)

    def to_unit(self) -> np.ndarray:
        return self.lut()[self.codes]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.codes.shape


class Recording:
    """An open recording.

    - `stream(start, stop, analysis_width=, threads=, hwaccel=)`: every frame of [start, stop) in
      timeline order, a FramePair or an UnreadableFrame; reading goes on after damage.
    - iterating, `frames(...)`, `read(start, stop)`: FramePairs only; they raise CaptureError at the
      first unreadable frame (the behaviour callers had before `stream`).
    `threads` (decoder threads, 0 = FFmpeg's choice), `hwaccel` (e.g. "cuda": FFmpeg hardware
    decoding, falling back to software with a warning) and `convert_threads` (threads that turn
    decoded frames into arrays beside the decoder, in order; 0: in the calling thread) are
    defaults for every pass."""

    def __init__(self, manifest_path: str | Path, *, threads: int = 0, hwaccel: str | None = None,
                 convert_threads: int = 1):
        self.path = Path(manifest_path)
        self.manifest: Manifest = load_manifest(self.path)
        self.root = self.path.parent
        self.warnings: list[str] = []
        self.threads, self.hwaccel, self.convert_threads = threads, hwaccel, convert_threads
        m = self.manifest
        self._dups: set[int] = set()
        self._checked = bytearray()  # 1 where frame i was compared with its predecessor (sized below)
        self._n_checked = 0
        self.nonfinite_depth: dict[int, int] = {}  # frame -> NaN/inf pixels in its float depth file
        self._nonfinite_warning: int | None = None  # its slot in `warnings`
        self.unreadable: dict[int, ErrorRecord] = {}  # frames found unreadable by the passes so far
        if m.layout in ("side_by_side", "top_bottom"):
            self._src: _Source = _PackedVideo(self)
        elif m.layout == "separate_files":
            self._src = _SeparateFiles(self)
        else:
            self._src = _ImageSequence(self)
        self.width, self.height = self._src.width, self._src.height
        self._checked = bytearray(self._src.n)  # a byte a frame: flat for hours of video
        self._hud = self._load_hud()
        self._luts: dict[tuple, np.ndarray] = {}

    # --- public API -------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def fps(self) -> float:
        return self.manifest.fps

    @property
    def depth_unit(self) -> str:
        return self.manifest.depth_unit

    @property
    def depth_exact(self) -> bool:
        """The depth reads back bit for bit as the game wrote it: 16-bit, packed or float, not
        through a lossy video codec. An 8-bit grey depth does not count: writers dither it (this
        project's does), so the same buffer written twice need not match."""
        return self.manifest.depth.encoding in ("gray16", "rgb24_packed", "float") and not self._src.lossy_depth

    @property
    def tolerance(self) -> float:
        """How far a decoded L may be from the stored value (half step + codec); also the
        margin below 1 that counts as sky."""
        return self._src.tol

    @property
    def hud_mask(self) -> np.ndarray | None:
        """HxW bool, True where the HUD covers the frame (depth is NaN there), or None."""
        return self._hud

    def __len__(self) -> int:
        return self._src.n

    def __iter__(self) -> Iterator[FramePair]:
        return self.frames()

    def analysis_size(self, width: int) -> tuple[int, int]:
        """(w, h) of the frames `stream(analysis_width=width)` yields (never wider than the recording)."""
        return analysis_size(self.width, self.height, width)

    def analysis_grid(self, width: int | tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols): analysis depth[r, c] is full-resolution depth[rows[r], cols[c]] exactly.
        `width`: the analysis width, or the exact analysis size (w, h)."""
        w, h = width if isinstance(width, tuple) else self.analysis_size(width)
        return grid(self.height, h), grid(self.width, w)

    def analysis_hud_mask(self, width: int | tuple[int, int]) -> np.ndarray | None:
        """The HUD mask at analysis width or size (sampled on the same grid as depth)."""
        if self._hud is None:
            return None
        rows, cols = self.analysis_grid(width)
        return sample(self._hud, rows, cols)

    def stream(self, start: int = 0, stop: int | None = None, *, analysis_width: int | None = None,
               analysis_size: tuple[int, int] | None = None, threads: int | None = None,
               hwaccel: str | None = None, convert_threads: int | None = None) -> Iterator[FrameItem]:
        """Every frame of [start, stop) in timeline order: a FramePair, or an UnreadableFrame whose
        `error` names the file and the problem. With `analysis_width` (aspect kept) or an exact
        `analysis_size` (w, h), RGB (area) and depth (nearest, see `analysis_grid`) come at that
        size, made from the decoded planes without a full-size RGB conversion. Seeks to the
        keyframe before `start`."""
        n = len(self)
        stop = n if stop is None else stop
        if not (0 <= start <= stop <= n):
            raise IndexError(f"{self.path}: frame range [{start}, {stop}) outside [0, {n})")
        size = analysis_size if analysis_size is not None else (
            self.analysis_size(analysis_width) if analysis_width is not None else None)
        how = self._read_options(size, threads, hwaccel, convert_threads)
        first = max(start - 1, 0)  # one frame before, to test `start` for duplication
        prev = None
        for item in self._src.frames(first, stop, how):
            if isinstance(item, _Bad):
                prev = None
                if not self._checked[item.i]:  # an unreadable frame is no duplicate: nothing to compare
                    self._checked[item.i] = 1
                    self._n_checked += 1
                if item.i >= start:
                    err = ErrorRecord("capture", "unreadable_frame",
                                      f"{item.path}: {item.message}" if item.path else item.message)
                    self.unreadable[item.i] = err
                    yield UnreadableFrame(item.i, item.pts, err, str(item.path) if item.path else None)
                continue
            i, pts, rgb, L = item
            depth = self._to_depth(L, how)
            if prev is not None or i == 0 or (i - 1) in self.unreadable:  # else: not compared yet
                if not self._checked[i]:
                    self._checked[i] = 1
                    self._n_checked += 1
                if prev is not None and _same_frame(prev, rgb, L):
                    self._dups.add(i)
            prev = (rgb, L)
            if i >= start:
                self.unreadable.pop(i, None)
                yield FramePair(i, pts, rgb, depth)

    def frames(self, start: int = 0, stop: int | None = None, **read) -> Iterator[FramePair]:
        """FramePairs of [start, stop) in order (keyword arguments as `stream`); raises CaptureError
        at the first unreadable frame."""
        for item in self.stream(start, stop, **read):
            if isinstance(item, UnreadableFrame):
                raise CaptureError(None, item.error.message)
            yield item

    def read(self, start: int, stop: int, **read) -> list[FramePair]:
        return list(self.frames(start, stop, **read))

    @property
    def duplicated_frames(self) -> list[int]:
        """Frames whose RGB and depth equal the previous frame's (the recorder repeated it).
        Complete after a full pass; if none was made yet, this makes one (decodes everything).
        A pass at analysis width judges at that width."""
        if self._n_checked < len(self):
            for _ in self.stream():
                pass
        return sorted(self._dups)

    def close(self) -> None:
        pass  # every decode opens and closes its own container

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Recording({self.id!r}, {len(self)} frames, {self.width}x{self.height}, "
                f"{self.fps} fps, {self.manifest.layout}/{self.manifest.depth.encoding}, {self.depth_unit})")

    # --- internals ----------------------------------------------------------------------
    def media_path(self, rel: str) -> Path:
        return self.root / rel

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def count_nonfinite(self, i: int, count: int, path: Path) -> None:
        """NaN/inf pixels in a float depth file: invalid depth, counted, one warning that keeps the total."""
        self.nonfinite_depth[i] = count
        frames = sorted(self.nonfinite_depth)
        msg = (f"{path.parent.name}/: float depth files hold NaN/inf at {sum(self.nonfinite_depth.values())} "
               f"pixels in {len(frames)} frame(s) (first: frame {frames[0]}, {path.name}); read as invalid depth (NaN)")
        if self._nonfinite_warning is None:
            self._nonfinite_warning = len(self.warnings)
            self.warnings.append(msg)
        else:
            self.warnings[self._nonfinite_warning] = msg

    def _read_options(self, size: tuple[int, int] | None, threads: int | None, hwaccel: str | None,
                      convert_threads: int | None = None) -> _Read:
        threads = self.threads if threads is None else threads
        hwaccel = self.hwaccel if hwaccel is None else (hwaccel or None)
        conv = self.convert_threads if convert_threads is None else convert_threads
        if size is not None and min(size) < 1:
            raise ValueError(f"analysis size must be positive, got {size}")
        if size is None or (size[0] >= self.width and size[1] >= self.height):
            return _Read(threads, hwaccel, conv)
        size = (min(int(size[0]), self.width), min(int(size[1]), self.height))
        rows, cols = self.analysis_grid(size)
        if self.manifest.depth.reshade.upside_down:
            rows = (self.height - 1 - rows)  # sample the stored (upside-down) image where it lands
        return _Read(threads, hwaccel, conv, size, rows, cols)

    def _load_hud(self) -> np.ndarray | None:
        if not self.manifest.hud_mask:
            return None
        import cv2

        p = self.media_path(self.manifest.hud_mask)
        if not p.exists():
            raise CaptureError(p, "HUD mask file not found")
        img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise CaptureError(p, "HUD mask cannot be read as an image (corrupt?)")
        if img.shape != (self.height, self.width):
            raise CaptureError(p, f"HUD mask is {img.shape[1]}x{img.shape[0]} but the frames are "
                                  f"{self.width}x{self.height} (wrong size)")
        return img > 127

    def _values(self, L: np.ndarray) -> np.ndarray:
        """Stored value L -> depth (NaN sky/invalid/NaN input, metres with a projection), not flipped."""
        tol = self._src.tol
        lin = np.where((lin_in := L) < -tol, np.nan, np.clip(lin_in, 0.0, 1.0))
        lin[lin_in >= 1.0 - tol] = np.nan  # sky: the far plane, within quantisation (and +inf)
        m = self.manifest
        if m.depth.projection is None:
            return lin.astype(np.float32)
        # upside_down is undone by the caller (same flip as linear_to_metres does).
        rs = m.depth.reshade.model_copy(update={"upside_down": False})
        return linear_to_metres(lin, m.depth.projection, rs).astype(np.float32)

    def _to_depth(self, D: np.ndarray | Coded, how: _Read = _FULL_READ) -> np.ndarray:
        if isinstance(D, Coded):
            lut = self._luts.get(D.key)
            if lut is None:
                lut = self._luts[D.key] = self._values(D.lut()[None, :])[0]
            d = lut[D.codes]
        else:
            d = self._values(D)
        sampled = how.size is not None
        if self.manifest.depth.reshade.upside_down and not sampled:  # sampled rows are flipped already
            d = d[::-1]
        d = np.ascontiguousarray(d)
        if self._hud is not None:
            d[self._hud if not sampled else sample(self._hud, grid(self.height, how.size[1]),
                                                    grid(self.width, how.size[0]))] = np.nan
        return d


def open_recording(manifest_path: str | Path, *, threads: int = 0, hwaccel: str | None = None,
                   convert_threads: int = 1) -> Recording:
    """Open a recording from its manifest; errors name the file and the problem. `threads`,
    `hwaccel` and `convert_threads` are the defaults of every pass (see `Recording`)."""
    return Recording(manifest_path, threads=threads, hwaccel=hwaccel, convert_threads=convert_threads)


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two same-shape integer images (one pass in OpenCV)."""
    import cv2

    return cv2.norm(a, b, cv2.NORM_L1) / a.size


def _same_frame(prev: tuple[np.ndarray, np.ndarray | Coded], rgb: np.ndarray, D: np.ndarray | Coded) -> bool:
    prgb, pD = prev
    if _mad(prgb, rgb) > DUP_RGB_MAD:
        return False
    if isinstance(D, Coded) and isinstance(pD, Coded) and D.key == pD.key:
        a, b = pD.codes, D.codes
        if a.dtype in (np.uint8, np.uint16):
            return _mad(a, b) * D.step <= DUP_DEPTH_MAD
        return float(np.abs(a.astype(np.int64) - b.astype(np.int64)).mean()) * D.step <= DUP_DEPTH_MAD
    a = pD.to_unit() if isinstance(pD, Coded) else pD
    b = D.to_unit() if isinstance(D, Coded) else D
    return float(np.abs(a - b).mean()) <= DUP_DEPTH_MAD


# ---------------------------------------------------------------------------------------
# Sources: each yields (index, pts seconds, rgb uint8 HxWx3, L float64 HxW) for a range.


class _Source:
    n: int
    width: int
    height: int
    tol: float
    lossy_depth: bool = False  # the depth goes through a lossy (YUV) video codec

    def frames(self, start: int, stop: int, how: _Read) -> Iterator[tuple[int, float, np.ndarray, np.ndarray | Coded] | _Bad]:
        """Frames [start, stop) in order: (index, pts, rgb, L or Coded) or _Bad."""
        raise NotImplementedError


class _FrameDecoder:
    """Turns decoded video frames into RGB and L, by the manifest's range/matrix/encoding."""

    def __init__(self, rec: Recording, index: VideoIndex, role: str):
        m = rec.manifest
        self.path = index.path
        self.encoding = m.depth.encoding
        self.kind = frame_kind(index.pix_fmt)
        self.matrix = m.color_matrix
        full_tag = index.pix_fmt.startswith("yuvj")
        self.full = m.color_range == "full" or full_tag
        self.role = role
        if self.kind == "yuv" and index.color_range in (1, 2):
            tagged = "full" if index.color_range == 2 else "limited"
            if tagged != m.color_range and not full_tag:
                rec.warnings.append(f"{index.path.name}: stream is tagged {tagged} range but the manifest says "
                                    f"{m.color_range}; decoding as the manifest says")
        if self.kind == "gray" and role in ("rgb", "packed"):
            raise CaptureError(index.path, f"pixel format {index.pix_fmt} is grey only: it cannot hold the RGB frames")

    def tolerance(self, index: VideoIndex) -> float:
        enc = self.encoding
        if self.kind == "yuv":
            bits = 8 if "p1" not in index.pix_fmt else int(re.search(r"p(\d+)", index.pix_fmt).group(1))
            step = 1.0 / (((1 << bits) - 1) if self.full else 219.0 * (1 << (bits - 8)))
            if enc == "gray8":
                return 0.5 * step + 1.0 / 255 + LOSSY_GRAY8_MARGIN
            if enc == "gray16":
                return 0.5 * step + (LOSSY_GRAY8_MARGIN if bits == 8 else 0.0)
            if enc == "rgb24_packed":
                return (1.0 if self.full else 2.0) / 255 + 0.5 / depth_codec.PACKED_MAX
        if enc == "gray8":
            return 1.0 / 255  # half a step + per-channel dither
        if enc == "gray16":
            return 0.5 / 65535
        return 0.5 / depth_codec.PACKED_MAX

    def rgb(self, frame, region=_FULL, how: _Read = _FULL_READ) -> np.ndarray:
        if how.size is not None:
            return self._rgb_small(frame, region, how.size)
        if self.kind == "yuv":
            img = frame.reformat(format="rgb24", src_colorspace=SWS_COLORSPACE[self.matrix],
                                 src_color_range=SWS_RANGE["full" if self.full else "limited"],
                                 dst_color_range="JPEG").to_ndarray()
            return np.ascontiguousarray(img[region])
        a = rgb_array(frame)[region]
        if a.dtype == np.uint16:
            a = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
        return np.ascontiguousarray(a)

    def _rgb_small(self, frame, region, size: tuple[int, int]) -> np.ndarray:
        """RGB at analysis size from the planes of the region (views, no full-size conversion)."""
        name = frame.format.name
        if self.kind == "yuv" and name.startswith(("yuv", "nv")):
            bits = 8 if frame.format.components[0].bits <= 8 else frame.format.components[0].bits
            dt = np.uint8 if bits == 8 else np.uint16
            y = plane(frame, 0, dt)
            ys = area_resize(y[region], size)
            if name.startswith("nv"):  # interleaved chroma (hardware decoders)
                p1 = frame.planes[1]
                ch, cw = (frame.height + 1) // 2, (frame.width + 1) // 2
                uv = np.frombuffer(p1, dt).reshape(ch, p1.line_size // np.dtype(dt).itemsize)
                uv = uv[:, : 2 * cw].reshape(ch, cw, 2)
                uvs = area_resize(uv[_sub_region(region, y.shape, uv.shape)], size)
                us, vs = uvs[..., 0], uvs[..., 1]
            else:
                u, v = plane(frame, 1, dt), plane(frame, 2, dt)
                cr = _sub_region(region, y.shape, u.shape)
                us, vs = area_resize(u[cr], size), area_resize(v[cr], size)
            return yuv_to_rgb8(ys, us, vs, self.matrix, self.full, bits)
        if name.startswith("gbrp"):
            dt = np.uint8 if name == "gbrp" else np.uint16
            g, b, r = (area_resize(plane(frame, i, dt)[region], size) for i in range(3))
            a = np.stack([r, g, b], axis=-1)
        elif self.kind == "yuv":  # another YUV layout: convert in full, then downscale
            return area_resize(self.rgb(frame, region), size)
        else:
            a = area_resize(rgb_array(frame)[region], size)
        if a.dtype == np.uint16:
            a = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
        return np.ascontiguousarray(a)

    def depth(self, frame, index: int, region=_FULL, how: _Read = _FULL_READ) -> np.ndarray | Coded:
        enc = self.encoding
        pick = how.pick
        if self.kind == "yuv":
            y, u, v, bits = yuv_planes(frame)
            if enc in ("gray8", "gray16"):
                step = 1.0 / (((1 << bits) - 1) if self.full else 219.0 * (1 << (bits - 8)))
                return Coded(pick(y[region]), ("luma", self.full, bits), step)
            if u is None or chroma_subsampled(frame):
                raise CaptureError(self.path, f"rgb24_packed depth in chroma-subsampled {frame.format.name} "
                                              "cannot be unpacked (needs 4:4:4 or RGB)")
            yuv = np.stack([pick(y[region]), pick(u[region]), pick(v[region])], axis=-1)
            if bits > 8:
                yuv = yuv.astype(np.float32) / np.float32(1 << (bits - 8))
            rgb = np.clip(np.rint(yuv_to_rgb(yuv, self.matrix, self.full)), 0, 255).astype(np.uint8)
            return depth_codec.decode_rgb24_packed(rgb)
        if self.kind == "gray":
            g, bits = gray_array(frame)
            return Coded(pick(g[region]), ("gray", 0, bits), 1.0 / ((1 << bits) - 1))
        name = frame.format.name
        if name.startswith("gbrp"):  # planar RGB: sample the planes without stacking them in full
            dt = np.uint8 if name == "gbrp" else np.uint16
            g, b, r = (pick(plane(frame, i, dt)[region]) for i in range(3))
            a = np.stack([r, g, b], axis=-1)
        else:
            a = pick(rgb_array(frame)[region])
        if enc in ("gray8", "gray16"):
            return _sum3(a)
        if a.dtype == np.uint16:
            a = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
        return depth_codec.decode_rgb24_packed(a)


def _sub_region(region: tuple[slice, slice], full: tuple[int, ...], sub: tuple[int, ...]) -> tuple[slice, slice]:
    """`region` of a full-size plane, on a chroma plane of size `sub` (4:2:0: half each way)."""
    r, c = (slice(*s.indices(n)[:2]) for s, n in zip(region, full[:2], strict=True))
    return scale_region((r, c), max(1, full[0] // sub[0]), max(1, full[1] // sub[1]))


def _sum3(a: np.ndarray) -> Coded:
    """Grey in RGB channels: the channel sum (the mean undoes per-channel dither)."""
    mx = 65535 if a.dtype == np.uint16 else 255
    codes = a.sum(axis=-1, dtype=np.uint32 if mx == 65535 else np.uint16)
    return Coded(codes, ("sum3", mx, 0), 1.0 / (3 * mx))


def _timeline_warnings(name: str, secs: np.ndarray, fps: float, tb: float) -> list[str]:
    """Constant frame rate check on presentation times."""
    out: list[str] = []
    if len(secs) < 2:
        return out
    d = np.diff(secs)
    nominal = 1.0 / fps
    tol = max(0.1 * nominal, 1.5 * tb)
    med = float(np.median(d))
    if abs(med - nominal) > tol:
        out.append(f"{name}: frames are {med * 1e3:.2f} ms apart ({1 / med:.3f} fps) but the manifest says {fps} fps")
        nominal = med
    bad = np.flatnonzero(np.abs(d - nominal) > tol) + 1
    if len(bad):
        shown = ", ".join(str(int(b)) for b in bad[:10]) + (" ..." if len(bad) > 10 else "")
        out.append(f"{name}: not constant frame rate: the interval before frame(s) {shown} "
                   f"({len(bad)} in all) differs from {nominal * 1e3:.2f} ms by more than {tol * 1e3:.2f} ms")
    return out


class _PackedVideo(_Source):
    def __init__(self, rec: Recording):
        self.rec = rec
        m = rec.manifest
        self.index = index_video(rec.media_path(m.media.video))
        ix = self.index
        if m.layout == "side_by_side" and ix.width % 2:
            raise CaptureError(ix.path, f"odd width {ix.width}: a side_by_side frame must split into two equal halves")
        if m.layout == "top_bottom" and ix.height % 2:
            raise CaptureError(ix.path, f"odd height {ix.height}: a top_bottom frame must split into two equal halves")
        self.rgb_region, self.depth_region = halves((ix.height, ix.width), m.layout, m.rgb_first)
        self.width = ix.width // 2 if m.layout == "side_by_side" else ix.width
        self.height = ix.height // 2 if m.layout == "top_bottom" else ix.height
        self.dec = _FrameDecoder(rec, ix, "packed")
        self.tol = self.dec.tolerance(ix)
        self.lossy_depth = self.dec.kind == "yuv"
        self.n = len(ix)
        self.secs = ix.seconds()
        rec.warnings += _timeline_warnings(ix.path.name, self.secs, m.fps, float(ix.time_base))
        rec.warnings += [w for w in [ix.truncation_warning(m.fps), ix.missing_warning()] if w]

    def frames(self, start, stop, how):
        def convert(item):
            i, frame = item
            pts = float(self.secs[i] - self.secs[0])
            if isinstance(frame, DecodeFailure):
                return _Bad(i, pts, frame.message, self.index.path)
            try:
                return i, pts, self.dec.rgb(frame, self.rgb_region, how), self.dec.depth(frame, i, self.depth_region, how)
            except CaptureError:
                raise  # the recording as described cannot be read (e.g. packed depth in 4:2:0)
            except Exception as e:  # pixel data that does not fit the declared format
                raise CaptureError(self.index.path, f"frame {i}: cannot convert: {e}") from None

        frames = decode_range(self.index, start, stop, how.threads, how.hwaccel, self.rec.warn)
        yield from _pipelined(frames, convert, how.convert_threads)


def _printf_regex(pattern: str) -> tuple[re.Pattern, str]:
    name = Path(pattern).name
    m = re.search(r"%0?(\d*)d", name)
    if not m:
        raise ValueError("no %d in pattern")
    rx = re.escape(name[: m.start()]) + r"(\d+)" + re.escape(name[m.end():])
    return re.compile("^" + rx + "$"), name


class _FileSequence:
    """Per-frame files named by a printf pattern (`depth/%06d.npy`), counted from 0."""

    def __init__(self, root: Path, pattern: str):
        self.pattern = root / pattern
        folder = self.pattern.parent
        try:
            rx, _ = _printf_regex(pattern)
        except ValueError:
            raise CaptureError(self.pattern, "an image/float sequence path needs a frame-number pattern like %06d") from None
        if not folder.is_dir():
            raise CaptureError(folder, "media folder not found")
        idx = sorted(int(mm.group(1)) for f in folder.iterdir() if (mm := rx.match(f.name)))
        if not idx:
            raise CaptureError(self.pattern, "no files match this frame pattern (missing media)")
        if idx[0] != 0:
            raise CaptureError(self.path(0), "missing: sequences are numbered from 0")
        for k, j in enumerate(idx):
            if j != k:
                raise CaptureError(self.path(k), f"missing frame file (the sequence goes on to {idx[-1]})")
        self.n = len(idx)

    def path(self, i: int) -> Path:
        return Path(str(self.pattern) % i)


def _read_image(path: Path, i: int) -> np.ndarray:
    """An image file as an array (RGB order); CaptureError if it cannot be decoded, TransientError
    if reading it failed in a way that may heal."""
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise CaptureError(path, f"frame {i}: file not found") from None
    except IsADirectoryError:
        raise CaptureError(path, f"frame {i}: is a directory, not an image") from None
    except OSError as e:
        raise_if_transient(e, path, f"frame {i}: cannot read image")
        raise CaptureError(path, f"frame {i}: cannot read image: {e}") from None
    if data.size == 0:
        raise CaptureError(path, f"frame {i}: image file is empty (0 bytes)")
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise CaptureError(path, f"frame {i}: cannot decode image (truncated or corrupt?)")
    if img.ndim == 3:
        img = img[..., :3][..., ::-1]  # BGR(A) -> RGB
    return img


class _ImageDepth:
    """Depth from per-frame files (PNG or float), shared by image_sequence and separate_files."""

    def __init__(self, rec: Recording, seq: _FileSequence):
        self.rec = rec
        self.seq, self.encoding = seq, rec.manifest.depth.encoding
        ext = seq.pattern.suffix.lower()
        if (self.encoding == "float") != (ext in (".npy", ".exr", ".tif", ".tiff")):
            raise CaptureError(seq.pattern, f"depth encoding {self.encoding!r} does not match file type {ext!r}")
        self.tol = {"gray8": 1.0 / 255, "gray16": 0.5 / 65535, "rgb24_packed": 0.5 / depth_codec.PACKED_MAX,
                    "float": 0.0}[self.encoding]
        first = _first_readable(seq.n, self.read)
        self.height, self.width = first.shape

    def read(self, i: int) -> np.ndarray | Coded:
        """Stored depth of frame i at full size: L (float) or integer codes."""
        p = self.seq.path(i)
        if self.encoding == "float":
            a = read_float(p, i, nonfinite="nan")
            bad = int(np.count_nonzero(~np.isfinite(a)))
            if bad:
                self.rec.count_nonfinite(i, bad, p)
            return a.astype(np.float64)
        img = _read_image(p, i)
        if self.encoding in ("gray8", "gray16"):
            if img.ndim == 3:
                return _sum3(img)
            bits = 16 if img.dtype == np.uint16 else 8
            return Coded(img, ("gray", 0, bits), 1.0 / ((1 << bits) - 1))
        if img.ndim != 3 or img.dtype != np.uint8:
            raise CaptureError(p, f"frame {i}: rgb24_packed depth must be an 8-bit RGB image, got {img.dtype} {img.shape}")
        return depth_codec.decode_rgb24_packed(img)


def _first_readable(n: int, read, tries: int = 10):
    """The first frame that reads (a damaged frame 0 should not make the whole recording unreadable)."""
    first_err = None
    for i in range(min(n, tries)):
        try:
            return read(i)
        except CaptureError as e:
            first_err = first_err or e
    raise first_err


def _to_rgb8(img: np.ndarray, path: Path, i: int) -> np.ndarray:
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.dtype == np.uint16:
        img = ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if img.dtype != np.uint8:
        raise CaptureError(path, f"frame {i}: RGB image has unsupported type {img.dtype}")
    return np.ascontiguousarray(img)


class _ImageSequence(_Source):
    def __init__(self, rec: Recording):
        m = rec.manifest
        self.rgb_seq = _FileSequence(rec.root, m.media.rgb)
        dseq = _FileSequence(rec.root, m.media.depth)
        if self.rgb_seq.n != dseq.n:
            raise CaptureError(self.rgb_seq.pattern, f"{self.rgb_seq.n} RGB frames but {dseq.n} depth frames in "
                                                     f"{dseq.pattern} (mismatched frame counts)")
        self.depth = _ImageDepth(rec, dseq)
        self.n, self.tol, self.fps = dseq.n, self.depth.tol, m.fps
        rgb0 = _first_readable(self.n, lambda i: _read_image(self.rgb_seq.path(i), i))
        self.height, self.width = rgb0.shape[:2]
        _check_same_size(self.rgb_seq.path(0), (self.height, self.width), dseq.path(0), (self.depth.height, self.depth.width))

    def frames(self, start, stop, how):
        def convert(i):
            p = self.rgb_seq.path(i)
            try:
                img = _read_image(p, i)
                if img.shape[:2] != (self.height, self.width):
                    raise CaptureError(p, f"frame {i}: size {img.shape[1]}x{img.shape[0]} differs from the "
                                          f"sequence's {self.width}x{self.height}")
                rgb = _to_rgb8(img, p, i)
                if how.size is not None:
                    rgb = np.ascontiguousarray(area_resize(rgb, how.size))
                L = _read_depth_file(self.depth, i, how, (self.height, self.width))
            except CaptureError as e:  # this frame only; the next one may be fine
                return _Bad(i, i / self.fps, e.problem, e.path)
            return i, i / self.fps, rgb, L

        yield from _pipelined(iter(range(start, stop)), convert, how.convert_threads)


def _read_depth_file(depth: _ImageDepth, i: int, how: _Read, size: tuple[int, int]) -> np.ndarray | Coded:
    p = depth.seq.path(i)
    if how.size is None:
        L = depth.read(i)
        if L.shape != size:
            raise CaptureError(p, f"frame {i}: depth size {L.shape[1]}x{L.shape[0]} differs from the "
                                  f"RGB frames' {size[1]}x{size[0]}")
        return L
    full = depth.read(i)  # the size check needs the full image; sampling it is cheap
    if full.shape != size:
        raise CaptureError(p, f"frame {i}: depth size {full.shape[1]}x{full.shape[0]} differs from the "
                              f"RGB frames' {size[1]}x{size[0]}")
    if isinstance(full, Coded):
        return Coded(how.pick(full.codes), full.key, full.step)
    return how.pick(full)


def _check_same_size(p_rgb: Path, s_rgb: tuple[int, int], p_dep: Path, s_dep: tuple[int, int]) -> None:
    if s_rgb != s_dep:
        raise CaptureError(p_rgb, f"RGB frames are {s_rgb[1]}x{s_rgb[0]} but depth frames in {p_dep} are "
                                  f"{s_dep[1]}x{s_dep[0]} (mismatched sizes)")


class _SeparateFiles(_Source):
    def __init__(self, rec: Recording):
        self.rec = rec
        m = rec.manifest
        self.rgb_index = index_video(rec.media_path(m.media.rgb))
        self.rgb_dec = _FrameDecoder(rec, self.rgb_index, "rgb")
        self.width, self.height = self.rgb_index.width, self.rgb_index.height
        self.secs = self.rgb_index.seconds()
        rec.warnings += _timeline_warnings(self.rgb_index.path.name, self.secs, m.fps, float(self.rgb_index.time_base))
        rec.warnings += [w for w in [self.rgb_index.truncation_warning(m.fps), self.rgb_index.missing_warning()] if w]
        self.depth_index: VideoIndex | None = None
        self.depth_files: _ImageDepth | None = None
        if "%" in m.media.depth:
            seq = _FileSequence(rec.root, m.media.depth)
            self._check_counts(self.rgb_index.path, len(self.rgb_index), seq.pattern, seq.n)
            self.depth_files = _ImageDepth(rec, seq)
            self.tol = self.depth_files.tol
            _check_same_size(self.rgb_index.path, (self.height, self.width), seq.pattern,
                             (self.depth_files.height, self.depth_files.width))
        else:
            dix = self.depth_index = index_video(rec.media_path(m.media.depth))
            self._check_counts(self.rgb_index.path, len(self.rgb_index), dix.path, len(dix))
            _check_same_size(self.rgb_index.path, (self.height, self.width), dix.path, (dix.height, dix.width))
            self.depth_dec = _FrameDecoder(rec, dix, "depth")
            self.tol = self.depth_dec.tolerance(dix)
            self.lossy_depth = self.depth_dec.kind == "yuv"
            dsecs = dix.seconds()
            rec.warnings += _timeline_warnings(dix.path.name, dsecs, m.fps, float(dix.time_base))
            rec.warnings += [w for w in [dix.truncation_warning(m.fps), dix.missing_warning()] if w]
            rec.warnings += self._drift(dsecs - self.secs, m.fps, max(float(dix.time_base), float(self.rgb_index.time_base)))
        self.n = len(self.rgb_index)

    @staticmethod
    def _check_counts(p1: Path, n1: int, p2: Path, n2: int) -> None:
        if n1 != n2:
            raise CaptureError(p1, f"{n1} frames, but {p2} has {n2} frames (mismatched frame counts between "
                                   "separate files)")

    def _drift(self, off: np.ndarray, fps: float, tb: float) -> list[str]:
        """Pairs are made by index; say how far their timestamps disagree."""
        tol = max(0.1 / fps, 1.5 * tb)
        big = np.flatnonzero(np.abs(off) > tol)
        if not len(big):
            return []
        worst = int(np.argmax(np.abs(off)))
        msg = (f"depth/rgb timestamp drift: depth is {off[worst] * 1e3:+.1f} ms from rgb at frame {worst} "
               f"(range {off.min() * 1e3:+.1f}..{off.max() * 1e3:+.1f} ms; beyond {tol * 1e3:.1f} ms at "
               f"{len(big)} frames, first {int(big[0])}); frames are paired by index")
        half = np.flatnonzero(np.abs(off) >= 0.5 / fps)
        if len(half):
            msg += f"; at {len(half)} frames (first {int(half[0])}) by half a frame or more, so pairs may be off by one"
        return [msg]

    def frames(self, start, stop, how):
        warn = self.rec.warn
        rgb_iter = decode_range(self.rgb_index, start, stop, how.threads, how.hwaccel, warn)
        dep_iter = (decode_range(self.depth_index, start, stop, how.threads, how.hwaccel, warn)
                    if self.depth_index is not None else None)

        def pairs():
            for i, frame in rgb_iter:
                dframe = None
                if dep_iter is not None:
                    j, dframe = next(dep_iter)
                    assert j == i
                yield i, frame, dframe

        def convert(item):
            i, frame, dframe = item
            pts = float(self.secs[i] - self.secs[0])
            if isinstance(frame, DecodeFailure):
                return _Bad(i, pts, frame.message, self.rgb_index.path)
            if isinstance(dframe, DecodeFailure):
                return _Bad(i, pts, dframe.message, self.depth_index.path)
            rgb = self.rgb_dec.rgb(frame, _FULL, how)
            if dframe is not None:
                return i, pts, rgb, self.depth_dec.depth(dframe, i, _FULL, how)
            try:
                return i, pts, rgb, _read_depth_file(self.depth_files, i, how, (self.height, self.width))
            except CaptureError as e:
                return _Bad(i, pts, e.problem, e.path)

        yield from _pipelined(pairs(), convert, how.convert_threads)


__all__ = ["FramePair", "Recording", "UnreadableFrame", "open_recording"]
