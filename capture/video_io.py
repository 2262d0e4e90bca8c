"""PyAV helpers: write frames to a video stream, index a video by demuxing, decode a range.

Writing takes ready-made frames (RGB arrays or YUV planes) so the colour conversion is done
by the caller with an explicit matrix and range (capture/colour.py), never left to a default.
Reading indexes a file by demuxing its packets (no decoding): the frame count comes from the
packets actually present, so a truncated file is counted as it is, not as its header claims.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from capture.errors import CaptureError

# Tags written into the stream (and checked on read) for each manifest colour setting.
COLORSPACE_TAG = {"bt709": 1, "bt601": 6}  # AVCOL_SPC_BT709, AVCOL_SPC_SMPTE170M
PRIMARIES_TAG = {"bt709": 1, "bt601": 6}
TRC_TAG = {"bt709": 1, "bt601": 6}
RANGE_TAG = {"limited": 1, "full": 2}  # AVCOL_RANGE_MPEG, AVCOL_RANGE_JPEG
SWS_COLORSPACE = {"bt709": "ITU709", "bt601": "ITU601"}
SWS_RANGE = {"limited": "MPEG", "full": "JPEG"}

# Encoder time base: fine enough for sub-millisecond timestamp jitter in tests.
TIME_BASE = Fraction(1, 90000)


@dataclass
class VideoEncoder:
    """One video stream in its own container; `add` takes a frame and its time in seconds."""

    path: Path
    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    options: dict[str, str] = field(default_factory=dict)
    color_range: str | None = None
    color_matrix: str | None = None

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._container = av.open(str(self.path), "w")
        self._stream = self._container.add_stream(self.codec, rate=Fraction(self.fps).limit_denominator(1001))
        cc = self._stream.codec_context
        self._stream.width, self._stream.height, self._stream.pix_fmt = self.width, self.height, self.pix_fmt
        cc.time_base = TIME_BASE
        if self.color_range is not None:
            cc.color_range = RANGE_TAG[self.color_range]
        if self.color_matrix is not None:
            cc.colorspace = COLORSPACE_TAG[self.color_matrix]
            cc.color_primaries = PRIMARIES_TAG[self.color_matrix]
            cc.color_trc = TRC_TAG[self.color_matrix]
        self._stream.options = dict(self.options)

    def add_rgb(self, img: np.ndarray, t: float, fmt: str = "rgb24") -> None:
        """An RGB-family frame (`rgb24`, `rgb48le`, `gray16le`, ...) given as an array."""
        self._add(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format=fmt), t)

    def add_planes(self, planes: list[np.ndarray], t: float) -> None:
        """A planar YUV frame from its planes (already converted, rounded and subsampled)."""
        frame = frame_from_planes(planes, self.width, self.height, self.pix_fmt)
        if self.color_range is not None:
            frame.color_range = RANGE_TAG[self.color_range]
        if self.color_matrix is not None:
            frame.colorspace = COLORSPACE_TAG[self.color_matrix]
        self._add(frame, t)

    def _add(self, frame: av.VideoFrame, t: float) -> None:
        frame.time_base = TIME_BASE
        frame.pts = int(round(t / TIME_BASE))
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()


@dataclass
class VideoIndex:
    """What demuxing a video tells without decoding: frames (by packet), their times, keyframes."""

    path: Path
    pts: list[int]  # presentation timestamps in stream time base, sorted
    keyframe_pts: list[int]  # sorted
    time_base: Fraction
    width: int
    height: int
    pix_fmt: str
    codec: str
    color_range: int
    colorspace: int
    duration_s: float | None = None  # what the container header claims

    def truncation_warning(self, fps: float) -> str | None:
        """A header that claims more time than the packets cover means a cut-off file."""
        if not self.duration_s:
            return None
        covered = (self.pts[-1] - self.pts[0]) * float(self.time_base) + 1.0 / fps
        if self.duration_s - covered > 0.5 / fps:  # at least one whole frame is missing
            return (f"{self.path.name}: the container says {self.duration_s:.3f} s but its frames cover only "
                    f"{covered:.3f} s ({len(self.pts)} frames): truncated file? reading the frames present")
        return None

    def __len__(self) -> int:
        return len(self.pts)

    def seconds(self) -> np.ndarray:
        return np.asarray(self.pts, dtype=np.float64) * float(self.time_base)

    def keyframe_at_or_before(self, index: int) -> int:
        """pts of the last keyframe at or before frame `index` (or the first frame's pts)."""
        target = self.pts[index]
        k = bisect.bisect_right(self.keyframe_pts, target) - 1
        return self.keyframe_pts[k] if k >= 0 else self.pts[0]


def frame_from_planes(planes: list[np.ndarray], width: int, height: int, pix_fmt: str) -> av.VideoFrame:
    """A planar 8-bit video frame from ready planes (rows padded to the frame's line size)."""
    frame = av.VideoFrame(width, height, pix_fmt)
    for plane, data in zip(frame.planes, planes, strict=True):
        data = np.ascontiguousarray(data, dtype=np.uint8)
        h, w = data.shape
        if plane.line_size == w:
            plane.update(data)
        else:
            buf = np.zeros((h, plane.line_size), np.uint8)
            buf[:, :w] = data
            plane.update(buf)
    return frame


def open_container(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise CaptureError(path, "media file not found")
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise CaptureError(path, f"cannot open video (truncated or corrupt?): {e}") from None


def index_video(path: str | Path) -> VideoIndex:
    """Demux every packet of the first video stream (cheap: no decoding)."""
    path = Path(path)
    container = open_container(path)
    try:
        if not container.streams.video:
            raise CaptureError(path, "no video stream in file (corrupt or not a video?)")
        stream = container.streams.video[0]
        cc = stream.codec_context
        if not cc.width or not cc.height:
            raise CaptureError(path, "video stream has no frame size (corrupt header?)")
        pts: list[int] = []
        keys: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None and packet.dts is None:
                    continue  # flush packet / no timestamp
                t = packet.pts if packet.pts is not None else packet.dts
                pts.append(t)
                if packet.is_keyframe:
                    keys.append(t)
        except av.error.FFmpegError as e:
            if not pts:
                raise CaptureError(path, f"cannot demux video (corrupt?): {e}") from None
            # A damaged tail: keep the packets read so far; decoding will name the bad frame.
        if not pts:
            raise CaptureError(path, "video has no frames (empty or truncated)")
        pts.sort()
        if len(set(pts)) != len(pts):
            raise CaptureError(path, "video has repeated timestamps (corrupt timeline)")
        keys.sort()
        dur = container.duration / 1e6 if container.duration else None
        return VideoIndex(path, pts, keys or [pts[0]], stream.time_base, cc.width, cc.height,
                          cc.pix_fmt or "", cc.name, int(cc.color_range), int(cc.colorspace), dur)
    finally:
        container.close()


def decode_range(index: VideoIndex, start: int, stop: int, threads: bool = True) -> Iterator[tuple[int, av.VideoFrame]]:
    """Decode frames [start, stop) of an indexed video: seek to the keyframe at or before
    `start`, decode forward, drop what comes before `start`. Yields (frame index, frame)."""
    if start >= stop:
        return
    path = index.path
    pos = {p: i for i, p in enumerate(index.pts)}
    container = open_container(path)
    try:
        stream = container.streams.video[0]
        if threads:
            stream.thread_type = "AUTO"
        seek_pts = index.keyframe_at_or_before(start)
        for attempt in range(2):
            if seek_pts > index.pts[0] or attempt:
                container.seek(seek_pts if not attempt else index.pts[0], stream=stream, backward=True)
            expected = start
            ok = True
            try:
                for frame in container.decode(stream):
                    t = frame.pts if frame.pts is not None else frame.dts
                    i = pos.get(t)
                    if i is None:
                        raise CaptureError(path, f"decoded a frame with timestamp {t} that no packet has (corrupt?)")
                    if i < expected:
                        continue
                    if i > expected:
                        if expected == start and attempt == 0:
                            ok = False  # the seek landed past the target: retry from the start
                            break
                        raise CaptureError(path, f"frame {expected} cannot be decoded (truncated or corrupt video)")
                    yield i, frame
                    expected += 1
                    if expected >= stop:
                        return
            except av.error.FFmpegError as e:
                raise CaptureError(path, f"frame {expected} cannot be decoded: {e}") from None
            if ok:
                break
        if expected < stop:
            raise CaptureError(path, f"frame {expected} cannot be decoded (truncated or corrupt video; "
                                     f"{len(index)} frames were indexed)")
    finally:
        container.close()


def plane(frame: av.VideoFrame, i: int, dtype=np.uint8) -> np.ndarray:
    """Plane `i` of a planar frame as a (view of a) 2-D array without the row padding."""
    p = frame.planes[i]
    item = np.dtype(dtype).itemsize
    a = np.frombuffer(p, dtype=dtype).reshape(p.height, p.line_size // item)
    return a[:, : p.width]


def frame_kind(pix_fmt: str) -> str:
    """'yuv', 'rgb' or 'gray' family of a pixel format."""
    if pix_fmt.startswith(("yuv", "yuvj", "nv")):
        return "yuv"
    if pix_fmt.startswith(("gray", "ya")):
        return "gray"
    return "rgb"


def frame_bits(frame: av.VideoFrame) -> int:
    return 8 if frame.format.components[0].bits <= 8 else frame.format.components[0].bits


def chroma_subsampled(frame: av.VideoFrame) -> bool:
    if frame.format.name.startswith("nv"):
        return True
    return any(p.width != frame.width or p.height != frame.height for p in list(frame.planes)[1:3])


def yuv_planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, int]:
    """(Y, U, V, bits) of a planar YUV frame; U and V at their own (possibly subsampled) size."""
    bits = frame_bits(frame)
    dt = np.uint8 if bits == 8 else np.uint16
    if frame.format.name.startswith("nv"):
        raise CaptureError(None, f"semi-planar {frame.format.name} not supported; expected planar YUV")
    y = plane(frame, 0, dt)
    if len(frame.planes) < 3:
        return y, None, None, bits
    return y, plane(frame, 1, dt), plane(frame, 2, dt), bits


def rgb_array(frame: av.VideoFrame) -> np.ndarray:
    """HxWx3 RGB of an RGB-family frame, losslessly (uint8, or uint16 for >8-bit formats)."""
    name = frame.format.name
    if name.startswith("gbrp"):
        dt = np.uint8 if name == "gbrp" else np.uint16
        g, b, r = (plane(frame, i, dt) for i in range(3))
        return np.stack([r, g, b], axis=-1)
    if frame_bits(frame) > 8:
        return frame.to_ndarray(format="rgb48le")
    return frame.to_ndarray(format="rgb24")


def gray_array(frame: av.VideoFrame) -> tuple[np.ndarray, int]:
    bits = frame_bits(frame)
    return plane(frame, 0, np.uint8 if bits == 8 else np.uint16), bits
