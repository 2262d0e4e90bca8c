"""The picture stood still while the depth moved: a still menu, map or loading screen drawn over a
world that goes on (the depth buffer still shows it).

Evidence: for at least `min_run` frames the picture's tracks stand still while the depth changes
at least `depth_ratio` x as much as it usually does when the picture moves, and moves as a whole:
its own tracks move (a world turning under the menu), not only a few of them. A still camera
stills both; a third-person character that stays in place moves neither; characters walking
through a still view change the depth where they walk (often as much as a slow camera changes
all of it) but leave most of its tracks standing, and move some of the picture's off its standing
fit (`moving_tracks`), which a still screen never does. Where the depth has too little structure to be
tracked, its change decides unless the few tracks it has mostly stand (`still_static`: measured on
the simulator, two characters walking through a still view whose depth had 0.64-0.89 of its few
tracks standing marked 13 clean frames)."""

from __future__ import annotations

import numpy as np

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck
from curate.series import keep_runs


class FrozenRgbConfig(CheckConfig):
    min_run: int = 3
    depth_ratio: float = 0.5
    # Something moves in the picture: at least this many of its tracks (and `moving_share` of them)
    # leave the standing picture's fit, as walkers in a still view do; a still menu or screen has
    # none to speak of. Measured on 139 saved recordings: frames this check took were 0-2 such
    # tracks on 191 of 200 menu frames (8 once), 7-12 on 40 of 56 clean ones (walkers whose depth
    # was the only structure tracked, 5 false spans on held-out procedural seeds).
    moving_tracks: int = 6
    moving_share: float = 0.1


class FrozenRgb(FrameCheck):
    name = "frozen_rgb"
    meaning = "the picture stood still while the depth moved (a still menu or screen over a moving world)"
    Config = FrozenRgbConfig

    def evidence(self, ctx: CheckContext) -> Evidence:
        ev = keep_runs(self.frames(ctx.features, ctx.motion, ctx.config), self.config.min_run)
        return Evidence(ev, ev.copy())

    @staticmethod
    def frames(f, m, cfg) -> np.ndarray:
        """Frames where the picture stands still and the depth moves as a whole (before the run
        length); `cfg` is the frame-check config (shared settings and this check's section)."""
        d1 = np.nan_to_num(f.depth_dist[:, 0])
        changes = d1 >= cfg.frozen_rgb.depth_ratio * m.usual_depth_change
        # Moves as a whole: tracked, moving, few static tracks (as `moving` is for the picture).
        whole = (np.nan_to_num(m.depth) > cfg.motion_px) & (np.nan_to_num(f.dep_static, nan=1.0) <= cfg.layer_static)
        stands = np.nan_to_num(f.dep_static, nan=0.0) >= cfg.still_static
        c = cfg.frozen_rgb
        departing = np.nan_to_num(f.pic_tracks - f.pic_inliers)
        moves_in = (departing >= c.moving_tracks) & (departing >= c.moving_share * np.nan_to_num(f.pic_tracks))
        return m.still & changes & (whole | (~m.depth_tracked & ~stands)) & ~moves_in
