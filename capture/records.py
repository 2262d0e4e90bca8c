"""The unit that every later stage reads: one RGB frame and its depth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(slots=True)
class FramePair:
    """Frame `index` of a recording (0-based, recording order) at `pts` seconds.

    `rgb` is uint8 HxWx3 in RGB order; `depth` is float32 HxW linear depth (metres or
    ReShade-linearised [0, 1], see `Recording.depth_unit`), NaN where invalid.
    """

    index: int
    pts: float
    rgb: np.ndarray
    depth: np.ndarray
