"""Overlays found without a model: a menu or a loading screen drawn over the game.

An overlay appears and disappears in one frame: the picture changes far more than it usually does
from one frame to the next while the depth, which the overlay does not touch, changes as usual.
Each such *picture step* is a candidate edge; two of them within `overlay_max_span` frames bound
an overlay. A translucent menu that leaves the world's edges visible (so that depth edges still
agree with the picture) is found this way; a lone step (a flash, a HUD pop-up) is not a span.
Scene cuts change the depth as well and are no steps.
"""

from __future__ import annotations

import numpy as np

from curate.config import FrameCheckConfig
from curate.series import around, pad


def picture_steps(depth_dist: np.ndarray, rgb_dist: np.ndarray, cfg: FrameCheckConfig) -> np.ndarray:
    """Frames where the picture jumps while the depth does not (see the module docstring)."""
    m = cfg.rewind_window
    r1, d1 = rgb_dist[:, 0], depth_dist[:, 0]
    usual_r, usual_d = around(r1, m), around(d1, m)
    with np.errstate(invalid="ignore"):
        step = (r1 > cfg.overlay_ratio * usual_r) & (r1 > cfg.overlay_min_step)
        step &= ~(d1 > cfg.overlay_depth_ratio * np.maximum(usual_d, 1e-4))  # NaN depth change: no objection
    return step


def overlay_mask(depth_dist: np.ndarray, rgb_dist: np.ndarray, cfg: FrameCheckConfig,
                 explained: np.ndarray | None = None) -> np.ndarray:
    """Frames between two picture steps at most `overlay_max_span` apart (first step included,
    second excluded: the frame after an overlay is the game again). Steps within 2 frames of an
    `explained` frame (a black loading screen, a fade: found by their own checks) are left out,
    so that they do not pair with an unrelated step and mark the clean frames between."""
    n = len(depth_dist)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    step = picture_steps(depth_dist, rgb_dist, cfg)
    if explained is not None:
        step &= ~pad(explained, 2)
    steps = np.flatnonzero(step)
    i = 0
    while i < len(steps) - 1:
        a, b = int(steps[i]), int(steps[i + 1])
        if b - a <= cfg.overlay_max_span:
            out[a:b] = True
            i += 2
        else:
            i += 1
    return out
