"""The picture shows nothing: black, one flat colour, or a dark screen with a few small elements.

A black picture is discarded whatever the depth does. A flat picture that is not black is a
loading screen only while the depth stands still (stuck at the last world frame, or cleared) for
`still_run` frames in a row: where the depth goes on changing as it usually does, the camera is
looking at a plain wall, and a camera turning over a plain wall slows down now and then (one
frame of nearly still depth), while a loading screen holds the depth for its whole length."""

from __future__ import annotations

import numpy as np

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck
from curate.series import keep_runs


class BlackConfig(CheckConfig):
    # Measured on the edges of 105 faults in 16 recordings (bench/curate_span_edges.py): its span
    # fell at most 0 frames inside the true edge; one more for footage not seen.
    pad_frames: int | None = 1
    # Flat blocks (luma std under 2 of 255 levels) covering this share of the picture: a loading
    # screen with a logo and a line of text is still 0.95+ flat; the darkest clean game footage
    # measured (Resident Evil 2 at night, simulated dark scenes) stays under 0.6.
    flat_share: float = 0.85
    dark_luma: float = 0.02  # or a mean luma (0..1) below this: black whatever the noise
    still_run: int = 4  # a flat, non-black picture counts where the depth stood still this many frames in a row


class Black(FrameCheck):
    name = "black"
    meaning = "the picture shows nothing (black, one flat colour, or a loading screen with a few small elements)"
    Config = BlackConfig
    picture_fault = True

    def evidence(self, ctx: CheckContext) -> Evidence:
        m = self.frames(ctx.features, ctx.motion, self.config)
        return Evidence(m, m.copy(), ctx.features.flat_frac)

    @staticmethod
    def frames(f, mo, c: BlackConfig) -> np.ndarray:
        """Frames that show nothing (also the clip-level black share, curate/checks.py)."""
        black = np.nan_to_num(f.luma_mean, nan=1.0) < c.dark_luma
        flat = np.nan_to_num(f.flat_frac) >= c.flat_share
        d1 = f.depth_dist[:, 0] if f.depth_dist.size else np.full(len(f), np.nan)
        depth_goes_on = np.isfinite(d1) & ~mo.repeat & ~mo.nearly_still
        return black | keep_runs(flat & ~depth_goes_on, c.still_run)
