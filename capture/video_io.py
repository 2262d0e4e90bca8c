"""PyAV helpers: write frames to a video stream, index a video by demuxing, decode a range.

Writing takes ready-made frames (RGB arrays or YUV planes) so the colour conversion is done
by the caller with an explicit matrix and range (capture/colour.py), never left to a default.
Reading indexes a file by demuxing its packets (no decoding): the frame count comes from the
packets actually present, so a truncated file is counted as it is, not as its header claims.
A frame's index is its position on that timeline (by pts), never a running count of decoded
frames, so frames after a damaged stretch keep their indices.

Errors: a file that is missing, empty, a directory, not a video, or audio only gets a
`CaptureError` saying which; an `OSError` that may heal (EIO on a network share, a timeout) is
raised as `common.errors.TransientError` (an `OSError`) so the task retries it.
"""

from __future__ import annotations

import bisect
import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from pathlib import Path

import av
import numpy as np

from capture.errors import CaptureError, raise_if_transient

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
    """What demuxing a video tells without decoding: frames (by packet), their times, keyframes.

    Frames are slots on the file's timeline: packet k (in pts order) sits at slot `slots[k]`. In a
    constant-rate stream those are 0, 1, 2, ...; where the packets leave a hole of whole frame
    intervals (a damaged container lost them, or they were never written) the hole's slots have
    no packet (`missing`) and the frames after it keep their place on the timeline.
    Timestamps are kept in int64 arrays (a few bytes a frame: hours of video index in megabytes)."""

    path: Path
    pts: np.ndarray  # presentation timestamps of the packets present, in stream time base, sorted
    keyframe_pts: np.ndarray  # sorted
    time_base: Fraction
    width: int
    height: int
    pix_fmt: str
    codec: str
    color_range: int
    colorspace: int
    duration_s: float | None = None  # what the container header claims
    decode_pts: np.ndarray | None = None  # pts of the packets in demux (= decode) order
    slots: np.ndarray | None = None  # timeline slot of each entry of `pts`

    def __post_init__(self) -> None:
        self.pts = np.asarray(self.pts, dtype=np.int64)
        self.keyframe_pts = np.asarray(self.keyframe_pts, dtype=np.int64)
        self.decode_pts = self.pts if self.decode_pts is None else np.asarray(self.decode_pts, dtype=np.int64)
        self.slots = timeline_slots(self.pts) if self.slots is None else np.asarray(self.slots, dtype=np.int64)

    def truncation_warning(self, fps: float) -> str | None:
        """A header that claims more time than the packets cover means a cut-off file."""
        if not self.duration_s:
            return None
        covered = float(self.pts[-1] - self.pts[0]) * float(self.time_base) + 1.0 / fps
        if self.duration_s - covered > 0.5 / fps:  # at least one whole frame is missing
            return (f"{self.path.name}: the container says {self.duration_s:.3f} s but its frames cover only "
                    f"{covered:.3f} s ({len(self.pts)} frames): truncated file? reading the frames present")
        return None

    def missing_warning(self) -> str | None:
        miss = self.missing
        if not miss:
            return None
        runs, start = [], miss[0]
        for a, b in zip(miss, miss[1:] + [None], strict=True):
            if b != a + 1:
                runs.append(f"{start}" if a == start else f"{start}-{a}")
                if b is not None:
                    start = b
        shown = ", ".join(runs[:10]) + (" ..." if len(runs) > 10 else "")
        return (f"{self.path.name}: {len(miss)} frame(s) have no packet in the file (frames {shown}): lost from a "
                "damaged container or never written; they are unreadable, and the frames after them keep their "
                "place on the timeline")

    def __len__(self) -> int:
        return int(self.slots[-1]) + 1

    def seconds(self) -> np.ndarray:
        """Time of every slot (interpolated for slots without a packet)."""
        t = self.pts.astype(np.float64) * float(self.time_base)
        if len(self.slots) == len(self):
            return t
        return np.interp(np.arange(len(self)), self.slots.astype(np.float64), t)

    def slot_of(self, pts: int | None) -> int | None:
        """Frame index (timeline slot) of a packet/frame timestamp, None if no packet has it."""
        if pts is None:
            return None
        k = int(np.searchsorted(self.pts, pts))
        return int(self.slots[k]) if k < len(self.pts) and self.pts[k] == pts else None

    def keyframe_at_or_before(self, index: int) -> int:
        """pts of the last keyframe at or before frame `index` (or the first frame's pts)."""
        k = int(np.searchsorted(self.slots, index, side="right")) - 1
        target = self.pts[max(k, 0)]
        k = int(np.searchsorted(self.keyframe_pts, target, side="right")) - 1
        return int(self.keyframe_pts[k]) if k >= 0 else int(self.pts[0])

    @cached_property
    def missing(self) -> list[int]:
        if len(self.slots) == len(self):
            return []
        return np.setdiff1d(np.arange(len(self)), self.slots).tolist()

    @cached_property
    def reorders(self) -> bool:
        """Frames are decoded in another order than shown (B-frames): the decoder holds pictures back."""
        return bool(np.any(np.diff(self.decode_pts) < 0))

    @cached_property
    def decode_order(self) -> np.ndarray:
        """decode position -> frame index."""
        return self.slots[np.searchsorted(self.pts, self.decode_pts)]

    @cached_property
    def decode_position(self) -> np.ndarray:
        """frame index -> position of its packet in decode order (-1: no packet)."""
        out = np.full(len(self), -1, dtype=np.int64)
        out[self.decode_order] = np.arange(len(self.decode_order))
        return out

    @cached_property
    def keyframe_decode_positions(self) -> list[int]:
        slots = [self.slot_of(int(t)) for t in self.keyframe_pts]
        return sorted(int(self.decode_position[s]) for s in slots if s is not None)

    @cached_property
    def hole_damage(self) -> list[int]:
        """For each run of slots without a packet, the decode position from which frames may depend on
        the lost packets: frames decoded after the last anchor (I/P) shown before the hole, up to the
        next keyframe. (A lost anchor is referenced by the B-frames shown before it.)"""
        if not self.missing:
            return []
        order, dpos = self.decode_order, self.decode_position
        keys = set(self.keyframe_decode_positions)
        anchors, top = [], -1
        for d, slot in enumerate(order.tolist()):  # an anchor is shown after everything decoded before it
            if d in keys:
                top = -1
            if slot > top:
                anchors.append(slot)
                top = slot
        anchors.sort()
        key_slots = sorted(int(order[d]) for d in keys)
        out = []
        miss = self.missing
        for k, j in enumerate(miss):
            if k and miss[k - 1] == j - 1:
                continue  # one entry per run
            a = anchors[bisect.bisect_left(anchors, j) - 1] if anchors and anchors[0] < j else -1
            q = bisect.bisect_right(key_slots, j)
            hi = key_slots[q] if q < len(key_slots) else len(self)
            floor = dpos[a] if a >= 0 else -1
            after = dpos[a + 1:hi]
            after = after[after > floor]
            if after.size:
                out.append(int(after.min()))
        return out


def timeline_slots(pts: np.ndarray | list[int], window: int = 16) -> np.ndarray:
    """Slot of each (sorted) timestamp: consecutive, except across a hole of whole frame intervals,
    which leaves empty slots. Where an interval is over 1.5 typical intervals, the frames after it
    are placed on the grid fitted to the `window` frames before it, so timestamps rounded to the
    time base or wobbling by up to ~0.3 of an interval are not mistaken for a hole."""
    n = len(pts)
    if n < 3:
        return np.arange(n, dtype=np.int64)
    t = np.asarray(pts, dtype=np.float64)
    d = np.diff(t)
    step = float(np.median(d))
    if step <= 0:
        return np.arange(n, dtype=np.int64)
    typical = d[(d > 0.5 * step) & (d < 1.5 * step)]
    b = float(typical.mean()) if len(typical) else step  # the frame interval, to sub-tick precision
    slots = np.arange(n, dtype=np.int64)
    cand = np.flatnonzero(d > 1.5 * step)
    for c, k in enumerate(cand):  # a candidate hole between k and k + 1
        lo = max(0, k + 1 - window)
        a = float(np.mean(t[lo : k + 1] - b * slots[lo : k + 1]))  # the grid of the frames before it
        nxt = cand[c + 1] + 1 if c + 1 < len(cand) else n  # frames up to the next candidate
        hi = min(n, k + 1 + window // 2, nxt)
        # How many slots later than "next" the frames after it fall on that grid; a hole only when
        # that is clearly a whole number (jitter near half an interval stays a plain interval).
        late = float(np.mean((t[k + 1 : hi] - a) / b - (slots[k] + 1 + np.arange(hi - k - 1))))
        if round(late) >= 1 and abs(late - round(late)) < 0.3:
            slots[k + 1 :] += round(late)
    return slots


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


def check_media_file(path: Path) -> None:
    """A CaptureError saying what is wrong with a media path that cannot be a video at all:
    missing, a directory, not a regular file, empty."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CaptureError(path, "media file not found") from None
    except NotADirectoryError:
        raise CaptureError(path, "media file not found (a parent of it is not a directory)") from None
    except PermissionError:
        raise CaptureError(path, "media file cannot be read (permission denied)") from None
    except OSError as e:
        raise_if_transient(e, path, "cannot read media file")
        raise CaptureError(path, f"cannot read media file: {e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise CaptureError(path, "is a directory, not a video file")
    if not stat.S_ISREG(st.st_mode):
        raise CaptureError(path, "is not a regular file (a device, socket or pipe?), not a video file")
    if st.st_size == 0:
        raise CaptureError(path, "file is empty (0 bytes)")


def _text_head(path: Path) -> str | None:
    """The first characters of a file that holds text (None for binary data)."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    if b"\0" in head:
        return None
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    printable = sum(c.isprintable() or c in "\r\n\t" for c in text)
    return text if text and printable >= 0.95 * len(text) else None


def open_container(path: Path, hwaccel: str | None = None,
                   warn: Callable[[str], None] | None = None) -> av.container.InputContainer:
    """Open a media file for reading; errors say what is wrong (missing, empty, a directory, not a
    video). A transient OSError is raised as TransientError. `hwaccel` (e.g. "cuda") asks FFmpeg for
    hardware decoding; when that device cannot be opened, decoding falls back to software and
    `warn` is told why."""
    path = Path(path)
    check_media_file(path)
    if hwaccel:
        from av.codec.hwaccel import HWAccel

        try:
            return av.open(str(path), hwaccel=HWAccel(device_type=hwaccel, allow_software_fallback=True))
        except Exception as e:  # no such device here, or an FFmpeg without it: decode in software
            raise_if_transient(e, path, "cannot open video")
            if warn is not None:
                warn(f"{path.name}: hardware decoding ({hwaccel}) is not available here ({e}); decoding in software")
    try:
        return av.open(str(path))
    except OSError as e:
        raise_if_transient(e, path, "cannot open video")
        if isinstance(e, IsADirectoryError):
            raise CaptureError(path, "is a directory, not a video file") from None
        if isinstance(e, FileNotFoundError):
            raise CaptureError(path, "media file not found") from None
        raise CaptureError(path, f"cannot open video: {e}") from None
    except (av.error.FFmpegError, ValueError) as e:
        text = _text_head(path)
        if text is not None:
            first = text.strip().splitlines()[0][:60] if text.strip() else ""
            raise CaptureError(path, f"not a video file: it holds text ({first!r}...)") from None
        if isinstance(e, av.error.EOFError) or getattr(e, "errno", None) == errno.EIO:
            raise CaptureError(path, f"cannot open video: the file ends early (truncated?): {e}") from None
        raise CaptureError(path, "not a video file, or a video corrupt or cut off before its first frame: "
                                 f"FFmpeg recognises no format in it ({e})") from None


def index_video(path: str | Path) -> VideoIndex:
    """Demux every packet of the first video stream (cheap: no decoding)."""
    path = Path(path)
    container = open_container(path)
    try:
        if not container.streams.video:
            audio = container.streams.audio
            if audio:
                names = ", ".join(sorted({a.codec_context.name for a in audio}))
                raise CaptureError(path, f"not a video file: it holds only audio ({len(audio)} {names} stream(s), "
                                         "no video stream)")
            raise CaptureError(path, "not a video file: no video stream in it (corrupt, or another kind of media?)")
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
            raise_if_transient(e, path, "cannot read video")
            if not pts:
                raise CaptureError(path, f"cannot demux video (corrupt?): {e}") from None
            # A damaged tail: keep the packets read so far; decoding will name the bad frame.
        if not pts:
            raise CaptureError(path, "video has no frames (empty or truncated)")
        decode_pts = np.asarray(pts, dtype=np.int64)
        pts = np.sort(decode_pts)
        if len(pts) > 1 and not (np.diff(pts) > 0).all():
            raise CaptureError(path, "video has repeated timestamps (corrupt timeline)")
        keys.sort()
        dur = container.duration / 1e6 if container.duration else None
        return VideoIndex(path, pts, keys or [int(pts[0])], stream.time_base, cc.width, cc.height,
                          cc.pix_fmt or "", cc.name, int(cc.color_range), int(cc.colorspace), dur, decode_pts)
    finally:
        container.close()


@dataclass(frozen=True)
class DecodeFailure:
    """A frame of the timeline that could not be decoded (or is spoilt by damage before it)."""

    message: str


# Frames a decoder may hold back for reordering (H.264's largest picture buffer): a frame still
# missing when a frame this much later has come out will not come out any more.
REORDER_WINDOW = 16


class _RangeDecoder:
    """Decides, frame by frame, which frames of [start, stop) decoded cleanly.

    Damage shows as a decoder error, a frame the decoder flags corrupt (it concealed broken data),
    or a frame it never returns. Every frame decoded after the damaged one (in decode order) up to
    the next keyframe may reference it, so all of them are failures; frames decoded before it
    cannot, so they stay good even when they are shown after it (B-frames). A frame is handed out
    only once every frame decoded before it has come out, so its verdict is final; that holds
    back at most the decoder's reordering depth of frames."""

    def __init__(self, index: VideoIndex, start: int, stop: int):
        self.ix, self.expected, self.stop = index, start, stop
        self.first_key = 0  # slot of the keyframe decoding starts from
        self.dpos, self.order = index.decode_position, index.decode_order
        self.keys = index.keyframe_decode_positions
        self.decided: dict[int, av.VideoFrame | DecodeFailure] = {}
        self.held: dict[int, av.VideoFrame] = {}
        self.pending: set[int] = set()  # decode positions sent to the decoder and not yet out
        for j in index.missing:
            if start <= j < stop:
                self.decided[j] = DecodeFailure(f"frame {j} cannot be decoded: the file has no packet for it "
                                                "(lost from a damaged container, or never written)")
        for d in index.hole_damage:
            self.damage(d, "packets before it are missing from the file")

    def index_of(self, pts: int | None) -> int | None:
        return self.ix.slot_of(pts)

    def sent(self, i: int) -> None:
        self.pending.add(int(self.dpos[i]))

    def frame(self, frame: av.VideoFrame) -> None:
        t = frame.pts if frame.pts is not None else frame.dts
        i = self.index_of(t)
        if i is None:
            raise CaptureError(self.ix.path, f"decoded a frame with timestamp {t} that no packet has (corrupt timeline)")
        d = int(self.dpos[i])
        self.pending.discard(d)
        if frame.is_corrupt and i >= self.first_key:
            self.damage(d, f"frame {i} holds corrupt data (the decoder concealed it)")
        elif frame.is_corrupt:
            pass  # a leading picture of the keyframe we sought to (open GOP): its references lie before the seek
        elif self.expected <= i < self.stop and i not in self.decided:
            self.held[i] = frame
        # A frame this far behind will not come out any more: the decoder dropped it.
        for dd in [dd for dd in self.pending if self.order[dd] < i - REORDER_WINDOW]:
            self.damage(dd, f"the decoder returned no picture for frame {int(self.order[dd])}")
        self.release()

    def damage(self, d: int, why: str) -> None:
        """Frames decoded from position d up to the next keyframe are failures."""
        k = bisect.bisect_right(self.keys, d)
        hi = self.keys[k] if k < len(self.keys) else len(self.order)
        nxt = f"frame {int(self.order[hi])}" if hi < len(self.order) else "the end of the file"
        for dd in range(d, hi):
            self.pending.discard(dd)
            j = int(self.order[dd])
            if self.expected <= j < self.stop and not isinstance(self.decided.get(j), DecodeFailure):
                self.held.pop(j, None)
                msg = why if dd == d else f"{why}; frame {j} depends on it"
                self.decided[j] = DecodeFailure(f"frame {j} cannot be decoded: {msg} (unreadable up to the next "
                                                f"keyframe, {nxt})")
        self.release()

    def release(self) -> None:
        low = min(self.pending) if self.pending else None
        for i in [i for i in self.held if low is None or self.dpos[i] < low]:
            self.decided[i] = self.held.pop(i)

    def finish(self, why: str) -> None:
        for d in sorted(self.pending):
            self.damage(d, why)
        self.release()
        for j in range(self.expected, self.stop):
            if j not in self.decided:
                self.decided[j] = DecodeFailure(f"frame {j} cannot be decoded: {why}")

    def ready(self) -> Iterator[tuple[int, av.VideoFrame | DecodeFailure]]:
        while self.expected < self.stop and self.expected in self.decided:
            i = self.expected
            self.expected += 1
            yield i, self.decided.pop(i)

    @property
    def done(self) -> bool:
        return self.expected >= self.stop


def decode_range(index: VideoIndex, start: int, stop: int, threads: int = 0, hwaccel: str | None = None,
                 warn: Callable[[str], None] | None = None) -> Iterator[tuple[int, av.VideoFrame | DecodeFailure]]:
    """Decode frames [start, stop) of an indexed video, in timeline order: (frame index, frame) for a
    frame that decoded cleanly, (frame index, DecodeFailure) for one that did not. Seeks to the
    keyframe at or before `start`. A damaged frame costs the frames up to the next keyframe, not
    the rest of the file. `threads`: decoder threads (0: FFmpeg's choice). Frame threading (not
    slice threading) keeps the H.264 decoder's error concealment, and with it the corrupt flag,
    switched on. A transient I/O error is raised (TransientError), not turned into failures."""
    if start >= stop:
        return
    path = index.path
    st = _RangeDecoder(index, start, stop)
    key_pts = index.keyframe_at_or_before(start)
    key_index = st.first_key = index.slot_of(key_pts)
    container = open_container(path, hwaccel, warn)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        # With B-frames, frame threading hands out a held-back picture with the flags it had when
        # a later frame's thread picked it, which can be before its own thread found the damage
        # (FFmpeg copies the corrupt flag at that moment): under load a damaged frame came out
        # unflagged, and the frames that depend on it with it. One decoder thread flags it always.
        stream.thread_count = 1 if index.reorders else max(0, int(threads))
        for attempt in range(2):
            seek_to = int(index.pts[0]) if attempt else key_pts
            if seek_to > index.pts[0] or attempt:
                container.seek(seek_to, stream=stream, backward=True)
            started, flushed, restart = False, False, False
            packets = container.demux(stream)
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.error.FFmpegError as e:  # a damaged container: the index ended here too
                    raise_if_transient(e, path, "cannot read video")
                    break
                t = packet.pts if packet.pts is not None else packet.dts
                i = st.index_of(t)
                if packet.size and not started:
                    if i is None or not packet.is_keyframe:
                        continue  # decoding starts at a keyframe
                    if st.dpos[i] > st.dpos[key_index] and not attempt:
                        restart = True  # the seek landed past the keyframe we need: go from the start
                        break
                    started = True
                if not packet.size:
                    if not started:
                        continue
                    flushed = True
                elif i is not None:
                    st.sent(i)
                try:
                    frames = stream.decode(packet)
                except av.error.FFmpegError as e:
                    raise_if_transient(e, path, "cannot read video")
                    frames = []
                    low = min(st.pending) if st.pending else (int(st.dpos[i]) if i is not None else None)
                    if low is not None:
                        st.damage(low, f"decoder error: {e}")
                for f in frames:
                    st.frame(f)
                yield from st.ready()
                if st.done:
                    return
            if restart:
                st.pending.clear()
                st.first_key = 0
                continue
            if not flushed and started:
                try:
                    for f in stream.decode(None):
                        st.frame(f)
                except av.error.FFmpegError as e:
                    raise_if_transient(e, path, "cannot read video")
            break
        st.finish(f"not decoded (truncated or corrupt video; {len(index)} frames were indexed)")
        yield from st.ready()
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
    y = plane(frame, 0, dt)
    if frame.format.name.startswith(("nv", "p0", "p2")):  # semi-planar (hardware decoders): Y only
        return y, None, None, bits
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
