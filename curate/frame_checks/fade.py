"""The picture fades: every region darkens (or brightens) together over several frames.

A fade scales the whole picture: the 4x4 block means change by one common factor frame after
frame. A light switching changes the picture in one frame (one step, not a ramp); a camera turning
towards a brighter place changes some blocks and not others. Evidence: in a window of `window`
frames, all but one frame show a common gain of at least `min_gain` (log) with at least `agree` of
the blocks agreeing, in one direction, adding up to `min_total`. The span grows over the whole ramp
(its first frames change little)."""

from __future__ import annotations

import numpy as np

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck
from curate.series import runs_of


class FadeConfig(CheckConfig):
    window: int = 6
    min_gain: float = 0.02
    agree: float = 0.8
    min_total: float = 0.25
    grow_gain: float = 0.01  # the ramp continues while the common gain keeps its sign and this size


class Fade(FrameCheck):
    name = "fade"
    meaning = "the picture fades (every region darkens or brightens together over several frames)"
    Config = FadeConfig
    picture_fault = True

    def evidence(self, ctx: CheckContext) -> Evidence:
        c, n = self.config, ctx.n
        g = np.nan_to_num(ctx.features.gain)
        good = (np.abs(g) >= c.min_gain) & (np.nan_to_num(ctx.features.gain_agree) >= c.agree)
        ev = np.zeros(n, bool)
        w = c.window
        for t in range(n - w + 1):
            s, e = g[t : t + w], good[t : t + w]
            same = e & (np.sign(s) == np.sign(s.sum()))
            if same.sum() >= w - 1 and abs(s[same].sum()) >= c.min_total:
                ev[t : t + w] = True
        span = ev.copy()
        for a, b in runs_of(ev):
            sign = np.sign(g[a:b].sum())
            while a > 0 and np.sign(g[a - 1]) == sign and abs(g[a - 1]) >= c.grow_gain:
                a -= 1
            while b < n and np.sign(g[b]) == sign and abs(g[b]) >= c.grow_gain:
                b += 1
            span[a:b] = True
        return Evidence(ev, span, g)
