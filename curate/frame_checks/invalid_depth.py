"""Most depth pixels are invalid: no depth buffer was captured for the frame."""

from __future__ import annotations

import numpy as np

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck


class InvalidDepthConfig(CheckConfig):
    # Measured on the edges of 105 faults in 16 recordings (bench/curate_span_edges.py): its span
    # fell at most 0 frames inside the true edge; one more for footage not seen.
    pad_frames: int | None = 1
    max_invalid: float = 0.9  # sky counts as invalid, so open views legitimately have plenty


class InvalidDepth(FrameCheck):
    name = "invalid_depth"
    meaning = "most depth pixels are invalid (no depth captured, or all sky)"
    Config = InvalidDepthConfig
    picture_fault = True  # nothing to compare the picture with

    def evidence(self, ctx: CheckContext) -> Evidence:
        v = ctx.features.invalid_frac
        m = np.nan_to_num(v) > self.config.max_invalid
        return Evidence(m, m.copy(), v)
