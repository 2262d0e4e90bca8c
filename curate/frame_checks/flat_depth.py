"""The depth buffer is cleared: valid but without structure."""

from __future__ import annotations

import numpy as np

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck


class FlatDepthConfig(CheckConfig):
    min_std: float = 1e-3  # spread of log depth; a real view has orders of magnitude more


class FlatDepth(FrameCheck):
    name = "flat_depth"
    meaning = "the depth buffer is cleared (one value everywhere)"
    Config = FlatDepthConfig
    picture_fault = True

    def evidence(self, ctx: CheckContext) -> Evidence:
        f = ctx.features
        m = (np.nan_to_num(f.depth_std, nan=1.0) < self.config.min_std) & (np.nan_to_num(f.invalid_frac) <= 0.9)
        return Evidence(m, m.copy(), f.depth_std)
