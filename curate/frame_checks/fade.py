"""The picture fades: every region darkens (or brightens) together over several frames.

A fade scales the whole picture: the 4x4 block means change by one common factor frame after
frame. A light switching changes the picture in one frame (one step, not a ramp); a camera turning
towards a brighter place changes some blocks and not others. Evidence: in a window of `window`
frames, all but one frame show a common gain of at least `min_gain` (log) with at least `agree` of
the blocks agreeing, in one direction, adding up to `min_total`. The span grows over the whole ramp
(its first frames change little), and across a turn of at most `turn` frames over the ramp the
other way when that adds up to `min_total` too: a fade to black and back is one event, and the
half whose blocks agree less (the picture moving under it) was left out (measured: 11 frames of a
24-frame fade outside its span, bench/curate_span_edges.py)."""

from __future__ import annotations

import numpy as np

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck
from curate.series import runs_of


class FadeConfig(CheckConfig):
    # Measured on the edges of 272 fades in 193 recordings: its span fell inside neither true edge
    # and reached past none (bench/curate_span_edges.py). Once a fade's last 2 frames, nearly at
    # full brightness, were left out (curate_external --seed 7301, an older span): 2, so that a
    # fade easing in or out by steps under `grow_gain` stays out.
    pad_frames: int | None = 2
    window: int = 6
    min_gain: float = 0.02
    agree: float = 0.8
    min_total: float = 0.25
    grow_gain: float = 0.01  # the ramp continues while the common gain keeps its sign and this size
    turn: int = 2  # frames of small change between a fade's two ramps (at black)


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
                # The frames that agree, not the one the window lets disagree at either end.
                on = np.flatnonzero(same)
                ev[t + on[0] : t + on[-1] + 1] = True
        span = np.zeros(n, bool)
        for a, b in runs_of(ev):
            # Each end grows with its own ramp: a fade down and back up is one run.
            first, last = np.sign(g[a]), np.sign(g[b - 1])
            a, b = self._ramp_back(g, a, first), self._ramp_on(g, b, last)
            a, b = self._turn_back(g, a, first), self._turn_on(g, b, last)
            # A frame's gain is its change from the frame before: the frame of a brightening
            # ramp's last clear step is the first one back at the level (as the first dimming
            # step's frame is the first one dimmed). A ramp that tapers off ends in a faint step
            # and keeps it.
            span[a : b - int(b - a > 1 and g[b - 1] >= c.min_gain)] = True
        return Evidence(ev, span, g)

    def _ramp_back(self, g: np.ndarray, a: int, sign: float) -> int:
        while a > 0 and np.sign(g[a - 1]) == sign and abs(g[a - 1]) >= self.config.grow_gain:
            a -= 1
        return a

    def _ramp_on(self, g: np.ndarray, b: int, sign: float) -> int:
        return len(g) - self._ramp_back(g[::-1], len(g) - b, sign)

    def _turn_back(self, g: np.ndarray, a: int, sign: float) -> int:
        """Start of the ramp the other way that ends within `turn` frames before a (else a)."""
        c = self.config
        t = a
        while t > 0 and a - t < c.turn and abs(g[t - 1]) < c.min_gain:
            t -= 1
        s = self._ramp_back(g, t, -sign)
        return s if s < t and abs(g[s:t].sum()) >= c.min_total else a

    def _turn_on(self, g: np.ndarray, b: int, sign: float) -> int:
        """End of the ramp the other way that starts within `turn` frames after b (else b)."""
        return len(g) - self._turn_back(g[::-1], len(g) - b, sign)
