"""The one downscaled copy of every decoded frame that the whole analysis pass shares.

`analysis_frames(rec, start, stop, width)` yields one `AnalysisFrame` per frame of [start, stop):
the picture (uint8) and the depth (float32, NaN = invalid) at `width` pixels wide, or an
unreadable record. Scene detection, the frame checks, the bootstrap and the model scores all read
this copy, so each decoded frame is resized once.

This is the one place to switch when capture's analysis reader lands (frames produced at the
analysis width straight from the decoder's planes, with per-frame unreadable records). Until
then the full-resolution frames of `Recording.frames` are resized right after decoding: the
picture with area averaging (as PySceneDetect and the checks did), the depth with nearest
neighbour (no invented depths at object edges; NaN holes stay holes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class AnalysisFrame:
    index: int
    rgb: np.ndarray | None = None  # (h, w, 3) uint8; None: the frame could not be decoded
    depth: np.ndarray | None = None  # (h, w) float32
    error: str | None = None  # why it could not be decoded (on the first unreadable frame of a run)

    @property
    def readable(self) -> bool:
        return self.rgb is not None


def analysis_size(width: int, height: int, analysis_width: int) -> tuple[int, int]:
    """(w, h) of the analysis copy: `analysis_width` wide unless the frame is narrower."""
    if width <= analysis_width:
        return width, height
    return analysis_width, max(8, round(height * analysis_width / width))


def downscale(rgb: np.ndarray, depth: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Picture (area) and depth (nearest) at `size` = (w, h)."""
    if rgb.shape[1::-1] != size:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    if depth.shape[::-1] != size:
        depth = cv2.resize(np.asarray(depth, np.float32), size, interpolation=cv2.INTER_NEAREST)
    return rgb, np.asarray(depth, np.float32)


def analysis_frames(rec, start: int, stop: int, width: int) -> Iterator[AnalysisFrame]:
    """Frames [start, stop) of an open recording at the analysis width. A decode error makes the
    failing frame and the rest of the range unreadable (the error is on the first of them)."""
    size = analysis_size(int(rec.width), int(rec.height), width)
    i = start
    try:
        for pair in rec.frames(start, stop):
            rgb, depth = downscale(pair.rgb, pair.depth, size)
            yield AnalysisFrame(pair.index, rgb, depth)
            i = pair.index + 1
    except Exception as e:  # a decode error mid-file: reported, and the rest of the range is unreadable
        msg = f"frame {i}: {type(e).__name__}: {e}"
        for k in range(i, stop):
            yield AnalysisFrame(k, error=msg if k == i else None)
        return
    for k in range(i, stop):  # a reader that ended early (truncated media)
        yield AnalysisFrame(k, error=f"frame {k}: not decoded (the stream ended early)" if k == i else None)


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
