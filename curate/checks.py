"""Clip-level cheap checks (no model): scores from the per-frame features, and one filter per check.

The scores use every frame of the clip (the per-frame features are already there, so this
costs nothing); each filter compares one score with its threshold from `DecisionConfig`.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np

from common.records import Clip, ClipScores
from curate.config import DecisionConfig, FrameCheckConfig
from curate.features import FrameFeatures
from curate.filters import BaseFilter
from curate.frame_checks.base import MotionSummary
from curate.series import keep_runs


def _finite_mean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


def cheap_scores(
    features: FrameFeatures,
    start: int,
    end: int,
    cfg: FrameCheckConfig,
    duplicated: Collection[int] = (),
    depth_scale: float | None = None,
    motion: MotionSummary | None = None,
) -> ClipScores:
    """Fill the model-free fields of `ClipScores` for frames [start, end). The frame checks have
    already cut out the spans they found; these shares catch what is left below their run lengths.
    `motion`: the whole recording's (`summarise`), so that a frozen picture is judged by its
    scene's usual depth change: a clip of a camera standing still throughout has none of its own,
    and its codec noise then passed for a depth that moves (a clean still clip dropped as
    `frozen_rgb`)."""
    from curate.frame_checks.black import Black
    from curate.frame_checks.frozen_rgb import FrozenRgb
    from curate.frame_checks.run import summarise

    f = features.slice(start, end)
    n = end - start
    m = summarise(f, cfg)
    # A frozen picture is judged against the recording's usual depth change (see `motion`); a
    # repeat of the depth against the clip's own, as the frame check leaves an 8-bit staircase's
    # repeats alone only when seen around them.
    m_rec = motion.slice(start, end) if motion is not None else m
    dup = np.array([i in duplicated for i in range(start, end)]) if duplicated else np.zeros(n, bool)
    # A frame that repeats the previous one exactly in picture and depth is a duplicate too.
    dup |= (np.nan_to_num(f.rgb_dist[:, 0], nan=1.0) == 0) & (np.nan_to_num(f.depth_dist[:, 0], nan=1.0) == 0)
    steps = slice(1, None)  # the first frame's change looks outside the clip
    # The frame check's own test: a flat picture over a depth that goes on is a plain wall in view.
    black = Black.frames(f, m, cfg.black)
    return ClipScores(
        frozen_depth=float(keep_runs(m.repeat & m.moving, cfg.frozen_depth.min_run)[steps].mean()) if n > 1 else 0.0,
        frozen_rgb=float(keep_runs(FrozenRgb.frames(f, m_rec, cfg), cfg.frozen_rgb.min_run)[steps].mean())
        if n > 1 else 0.0,
        invalid_fraction=_finite_mean(f.invalid_frac),
        black_fraction=float(black.mean()) if n else float("nan"),
        duplicate_fraction=float(dup.mean()) if n else float("nan"),
    )


class _ScoreFilter(BaseFilter):
    """Drops a clip when `scores.<field>` is on the wrong side of its threshold; NaN keeps."""

    field: str
    above: bool = True  # True: drop when score > threshold; False: drop when score < threshold

    def __init__(self, threshold: float):
        self.threshold = threshold

    def filter(self, clip: Clip) -> bool | tuple[bool, str]:
        v = getattr(clip.scores, self.field)
        if v is None or math.isnan(v):
            return True
        bad = v > self.threshold if self.above else v < self.threshold
        return (False, self.name) if bad else True


class FrozenDepthFilter(_ScoreFilter):
    name, field = "frozen_depth", "frozen_depth"
    meaning = "clip: depth frozen on too many frames"


class FrozenRgbFilter(_ScoreFilter):
    name, field = "frozen_rgb", "frozen_rgb"
    meaning = "clip: picture frozen on too many frames"


class InvalidDepthFilter(_ScoreFilter):
    name, field = "invalid_depth", "invalid_fraction"
    meaning = "clip: too many invalid depth pixels (mostly sky)"


class BlackFramesFilter(_ScoreFilter):
    name, field = "black_frames", "black_fraction"
    meaning = "clip: too many frames with nothing to see"


class DuplicateFramesFilter(_ScoreFilter):
    name, field = "duplicate_frames", "duplicate_fraction"
    meaning = "clip: too many duplicated frames"


def cheap_filters(cfg: DecisionConfig) -> list[BaseFilter]:
    return [
        FrozenDepthFilter(cfg.frozen_depth_max),
        FrozenRgbFilter(cfg.frozen_rgb_max),
        InvalidDepthFilter(cfg.invalid_fraction_max),
        BlackFramesFilter(cfg.black_fraction_max),
        DuplicateFramesFilter(cfg.duplicate_fraction_max),
    ]
