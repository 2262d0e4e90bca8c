"""The one downscaled copy of every decoded frame that the whole analysis pass shares.

`analysis_frames(rec, start, stop, width)` yields one `AnalysisFrame` per frame of [start, stop):
the picture (uint8) and the depth (float32, NaN = invalid) at `width` pixels wide, or an
unreadable record. Scene detection, the frame checks, the bootstrap and the model scores all read
this copy, so each decoded frame is resized once.

The copy comes from capture's analysis reader (`Recording.stream(analysis_size=)`): the picture
area-averaged and the depth sampled (nearest: no invented depths at object edges, NaN holes stay
holes) straight from the decoder's planes, with no full-resolution RGB conversion, and per-frame
unreadable records. A recording object without that reader gives full-size frames, resized
here the same way (`common.frames.downscale`). The sizes live in `common.frames`, shared with the
bootstrap's calibration.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from common.frames import analysis_size, downscale  # re-exported: curation's consumers import them from here


@dataclass
class AnalysisFrame:
    index: int
    rgb: np.ndarray | None = None  # (h, w, 3) uint8; None: the frame could not be decoded
    depth: np.ndarray | None = None  # (h, w) float32
    error: str | None = None  # why it could not be decoded (on the first unreadable frame of a run)

    @property
    def readable(self) -> bool:
        return self.rgb is not None


def _decode(rec, start: int, stop: int, size: tuple[int, int]) -> Iterator[AnalysisFrame]:
    """Frames [start, stop): a damaged frame (a corrupt image, a broken packet and the frames that
    depend on it up to the next keyframe) is one unreadable frame and decoding goes on after it
    (`capture.Recording.stream`). A transient OSError is raised (the task retries the recording);
    any other error ends the range, its frames unreadable."""
    from capture.records import UnreadableFrame

    stream = getattr(rec, "stream", None)
    # capture's reader makes the analysis copy straight from the decoded planes (no full-size RGB)
    items = stream(start, stop, analysis_size=size) if stream is not None else rec.frames(start, stop)
    i = start
    try:
        for item in items:
            if isinstance(item, UnreadableFrame):
                yield AnalysisFrame(item.index, error=f"frame {item.index}: {item.error.message}")
            else:
                rgb, depth = downscale(item.rgb, item.depth, size)
                yield AnalysisFrame(item.index, rgb, depth)
            i = item.index + 1
    except OSError:
        raise
    except Exception as e:  # the reader gave up mid-file: the rest of the range is unreadable
        msg = f"frame {i}: {type(e).__name__}: {e}"
        for k in range(i, stop):
            yield AnalysisFrame(k, error=msg if k == i else None)
        return
    for k in range(i, stop):  # a reader that ended early (truncated media)
        yield AnalysisFrame(k, error=f"frame {k}: not decoded (the stream ended early)" if k == i else None)


_END = object()


def analysis_frames(rec, start: int, stop: int, width: int, prefetch: int = 8) -> Iterator[AnalysisFrame]:
    """Frames [start, stop) of an open recording at the analysis width (`analysis_size`). A damaged
    frame is an unreadable one and the frames after it are read on (see `_decode`).

    Decoding, the reader's conversions and the downscale run in a background thread, up to
    `prefetch` frames ahead (0: in the caller's thread): PyAV, OpenCV and torch release the GIL,
    so on two cores the decoder works while the checks and the models run. Memory: `prefetch`
    analysis-size frames."""
    size = analysis_size(int(rec.width), int(rec.height), width)
    if prefetch <= 0:
        yield from _decode(rec, start, stop, size)
        return
    q: queue.Queue = queue.Queue(maxsize=prefetch)
    stop_flag = threading.Event()

    failed: list[BaseException] = []  # a transient error in the reader, raised in the caller's thread

    def work() -> None:
        try:
            for fr in _decode(rec, start, stop, size):
                while not stop_flag.is_set():
                    try:
                        q.put(fr, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop_flag.is_set():
                    return
        except BaseException as e:  # noqa: BLE001 (handed to the caller)
            failed.append(e)
        finally:
            q.put(_END)

    t = threading.Thread(target=work, name=f"decode-{start}-{stop}", daemon=True)
    t.start()
    try:
        while (fr := q.get()) is not _END:
            yield fr
        if failed:
            raise failed[0]
    finally:
        stop_flag.set()
        while t.is_alive():  # let the reader see the flag (and finish its frame) before returning
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.1)
        t.join()


def duplicated_in(rec, start: int, stop: int) -> np.ndarray:
    """Bool per frame of [start, stop): the recorder repeated the previous frame (picture and depth),
    as the reader found while decoding the range. Only frames the reader compared count; asking the
    recording's `duplicated_frames` would decode the whole recording again."""
    out = np.zeros(max(0, stop - start), bool)
    found = getattr(rec, "duplicated_between", None)
    dups = found(start, stop) if found is not None else getattr(rec, "_dups", ())
    for i in dups:
        if start <= i < stop:
            out[i - start] = True
    return out


def keyframes(rec) -> list[int] | None:
    """Frame numbers a reader can start decoding at without decoding earlier frames; None = any
    frame (image sequences)."""
    found = getattr(rec, "keyframes", None)
    if found is not None:
        return list(found() if callable(found) else found)
    src = getattr(rec, "_src", None)
    indexes = [getattr(src, a, None) for a in ("index", "rgb_index", "depth_index")]
    indexes = [ix for ix in indexes if ix is not None]
    if not indexes:
        return None
    common: set[int] | None = None
    for ix in indexes:
        pos = {p: i for i, p in enumerate(ix.pts)}
        k = {pos[p] for p in ix.keyframe_pts if p in pos}
        common = k if common is None else common & k
    return sorted(common or {0})
