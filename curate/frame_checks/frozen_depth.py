"""The depth stood still while the picture moved.

Evidence: for at least `min_run` frames in a row the depth repeats the previous frame (its pooled
change is at the repeat floor, or every tracked depth corner stayed put) or has settled (hardly
changed over the last `settle_frames`, where moving depth changes a lot) while the picture moves
as a whole (tracked, not a static layer). A camera standing still shows nothing (picture and
depth both still, and a still depth is then right), a muzzle flash or a light switching does not
move the picture's tracks, and a character walking in a still picture moves too few of them.
An 8-bit depth of far, slowly moving content repeats by itself now and then; there only a long
run counts. The span covers the whole run of repeated depth around the evidence, still parts included, and the
frame before it (whose depth is the one that stuck)."""

from __future__ import annotations

import numpy as np

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck
from curate.series import keep_runs, runs_of


class FrozenDepthConfig(CheckConfig):
    min_run: int = 3  # shorter repeats are how a depth lag starts (curate/frame_checks/depth_lag.py)
    # Where the depth repeats by itself now and then (8-bit depth of slow, far content) a run counts
    # only when it is this long, or when at most `max_background` of the frames around it repeat.
    long_run: int = 15
    max_background: float = 0.05
    # A settled depth (hardly changed over several frames: a lossy codec keeps re-encoding a frozen
    # 8-bit depth beside a moving picture) counts from this many frames on: a camera turning back
    # over open ground settles the depth for up to ~10 frames by itself.
    settled_run: int = 12


class FrozenDepth(FrameCheck):
    name = "frozen_depth"
    meaning = "the depth stood still while the picture moved"
    Config = FrozenDepthConfig

    def evidence(self, ctx: CheckContext) -> Evidence:
        m, n = ctx.motion, ctx.n
        c = self.config
        repeat = m.repeat | m.settled
        ev = keep_runs(m.repeat & m.moving, c.min_run) | keep_runs(m.settled & m.moving, c.settled_run)
        for a, b in runs_of(ev):
            if b - a < c.long_run and m.background_repeats(a, b) > c.max_background:
                ev[a:b] = False
        span = ev.copy()
        for a, b in runs_of(ev):
            # The first settled frame is `settle_frames` after the freeze began: look back over the
            # frames whose own change was already small.
            back = 0
            small = np.nan_to_num(ctx.features.depth_dist[:, 0], nan=np.inf) <= 0.3 * m.usual_depth_change
            while a > 0 and (repeat[a - 1] or (back < ctx.config.settle_frames and small[a - 1])):
                a -= 1
                back += 1
            while b < n and repeat[b]:
                b += 1
            span[max(0, a - 1) : b] = True
        return Evidence(ev, span)
