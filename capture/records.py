"""The units that every later stage reads: one RGB frame and its depth, or a frame that could not be read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.errors import ErrorRecord


@dataclass(slots=True)
class FramePair:
    """Frame `index` of a recording (0-based, recording order) at `pts` seconds.

    `rgb` is uint8 HxWx3 in RGB order; `depth` is float32 HxW linear depth (metres or
    ReShade-linearised [0, 1], see `Recording.depth_unit`), NaN where invalid. At analysis width
    (`Recording.stream(analysis_width=...)`) both are the smaller size.
    """

    index: int
    pts: float
    rgb: np.ndarray
    depth: np.ndarray


@dataclass(frozen=True, slots=True)
class UnreadableFrame:
    """Frame `index` of a recording's timeline (at `pts` seconds) that could not be read: a corrupt
    image file, a damaged video packet, or a frame that depends on one (up to the next keyframe).
    `error` says which file and why; `path` is that file."""

    index: int
    pts: float
    error: ErrorRecord
    path: str | None = None


FrameItem = FramePair | UnreadableFrame
