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
from curate.filters import BaseFilter
from curate.frame_checks import FrameFeatures, _keep_runs, depth_frozen_steps, is_black, rgb_frozen_steps


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
) -> ClipScores:
    """Fill the model-free fields of `ClipScores` for frames [start, end)."""
    f = features.slice(start, end)
    steps = slice(1, None)  # the first frame's diff looks outside the clip
    dup = np.array([i in duplicated for i in range(start, end)]) if duplicated else np.zeros(end - start, bool)
    # A frame that repeats the previous one exactly in picture and depth is a duplicate too.
    dup |= (np.nan_to_num(f.rgb_diff, nan=1.0) == 0) & (np.nan_to_num(f.depth_diff, nan=1.0) == 0)
    edge = f.edge_agree[np.isfinite(f.edge_agree)]
    return ClipScores(
        # Runs of at least `frozen_run` steps, as the frame checks count them: one still step is
        # codec noise or a slow camera (it dropped clean 30-frame clips in the demo), not a freeze.
        frozen_depth=float(_keep_runs(depth_frozen_steps(f, cfg), cfg.frozen_run)[steps].mean())
        if end - start > 1 else 0.0,
        frozen_rgb=float(_keep_runs(rgb_frozen_steps(f, cfg, depth_scale), cfg.frozen_run)[steps].mean())
        if end - start > 1 else 0.0,
        invalid_fraction=_finite_mean(f.invalid_frac),
        black_fraction=float(is_black(f, cfg).mean()),
        duplicate_fraction=float(dup.mean()),
        edge_agreement=float(np.median(edge)) if edge.size else float("nan"),
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


class FrozenRgbFilter(_ScoreFilter):
    name, field = "frozen_rgb", "frozen_rgb"


class InvalidDepthFilter(_ScoreFilter):
    name, field = "invalid_depth", "invalid_fraction"


class BlackFramesFilter(_ScoreFilter):
    name, field = "black_frames", "black_fraction"


class DuplicateFramesFilter(_ScoreFilter):
    name, field = "duplicate_frames", "duplicate_fraction"


class EdgeAgreementFilter(_ScoreFilter):
    name, field, above = "edge_mismatch", "edge_agreement", False


def cheap_filters(cfg: DecisionConfig) -> list[BaseFilter]:
    return [
        FrozenDepthFilter(cfg.frozen_depth_max),
        FrozenRgbFilter(cfg.frozen_rgb_max),
        InvalidDepthFilter(cfg.invalid_fraction_max),
        BlackFramesFilter(cfg.black_fraction_max),
        DuplicateFramesFilter(cfg.duplicate_fraction_max),
        EdgeAgreementFilter(cfg.edge_agreement_min),
    ]
