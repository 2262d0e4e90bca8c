"""The picture stood still while the depth moved: a still menu, map or loading screen drawn over a
world that goes on (the depth buffer still shows it).

Evidence: for at least `min_run` frames the picture's tracks stand still while the depth changes
at least `depth_ratio` x as much as it usually does when the picture moves. A still camera stills
both; a third-person character that stays in place moves neither."""

from __future__ import annotations

import numpy as np

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck
from curate.series import keep_runs


class FrozenRgbConfig(CheckConfig):
    min_run: int = 3
    depth_ratio: float = 0.5


class FrozenRgb(FrameCheck):
    name = "frozen_rgb"
    meaning = "the picture stood still while the depth moved (a still menu or screen over a moving world)"
    Config = FrozenRgbConfig

    def evidence(self, ctx: CheckContext) -> Evidence:
        m = ctx.motion
        d1 = np.nan_to_num(ctx.features.depth_dist[:, 0])
        ev = keep_runs(m.still & (d1 >= self.config.depth_ratio * m.usual_depth_change), self.config.min_run)
        return Evidence(ev, ev.copy())
