"""The depth stood still while the picture moved.

Evidence: for at least `min_run` frames in a row the depth repeats the previous frame (its pooled
change is at the repeat floor, or every tracked depth corner stayed put) while the picture moves
as a whole (tracked, not a static layer). A camera standing still shows nothing (picture and
depth both still, and a still depth is then right), a muzzle flash or a light switching does not
move the picture's tracks, and a character walking in a still picture moves too few of them.
An 8-bit depth of far, slowly moving content repeats by itself now and then; there only a long
run counts. The span covers the whole run of repeated depth around the evidence, still parts included, and the
frame before it (whose depth is the one that stuck)."""

from __future__ import annotations

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck
from curate.series import keep_runs, runs_of


class FrozenDepthConfig(CheckConfig):
    min_run: int = 3  # shorter repeats are how a depth lag starts (curate/frame_checks/depth_lag.py)
    # Where the depth repeats by itself now and then (8-bit depth of slow, far content) a run counts
    # only when it is this long, or when at most `max_background` of the frames around it repeat.
    long_run: int = 15
    max_background: float = 0.1


class FrozenDepth(FrameCheck):
    name = "frozen_depth"
    meaning = "the depth stood still while the picture moved"
    Config = FrozenDepthConfig

    def evidence(self, ctx: CheckContext) -> Evidence:
        m, n = ctx.motion, ctx.n
        c = self.config
        repeat = m.repeat
        ev = keep_runs(repeat & m.moving, c.min_run)
        for a, b in runs_of(ev):
            if b - a < c.long_run and m.background_repeats(a, b) > c.max_background:
                ev[a:b] = False
        span = ev.copy()
        for a, b in runs_of(ev):
            while a > 0 and repeat[a - 1]:
                a -= 1
            while b < n and repeat[b]:
                b += 1
            span[max(0, a - 1) : b] = True
        return Evidence(ev, span)
