"""The keep/drop decision: the paper's alignment rule plus the hard checks.

Paper rule (Depth Any Video §2): drop a clip when BOTH the median semantic (CLIP) score and the
median depth-metric score fall below their thresholds. When one score is unavailable (no CLIP
weights, or no bootstrap model) the rule falls back to the other alone; when both are missing
only the hard checks decide.
"""

from __future__ import annotations

import math

from curate.checks import cheap_filters
from curate.config import DecisionConfig
from curate.filters import BaseFilter, FilterChain
from curate.records import Clip


def _ok(v: float | None) -> bool:
    return v is not None and not math.isnan(v)


class AlignmentRule(BaseFilter):
    name = "alignment"

    def __init__(self, cfg: DecisionConfig, clip_reference: str = "prediction"):
        self.cfg = cfg
        # "prediction": CLIP compares captured vs predicted depth; "rgb": the picture vs captured depth.
        self.clip_min = cfg.clip_similarity_min if clip_reference == "prediction" else cfg.clip_rgb_similarity_min

    def depth_bad(self, clip: Clip) -> bool | None:
        s = clip.scores
        if self.cfg.depth_metric == "delta1":
            return (s.depth_delta1 < self.cfg.delta1_min) if _ok(s.depth_delta1) else None
        return (s.depth_abs_rel > self.cfg.abs_rel_max) if _ok(s.depth_abs_rel) else None

    def semantic_bad(self, clip: Clip) -> bool | None:
        v = clip.scores.clip_similarity
        return (v < self.clip_min) if _ok(v) else None

    def filter(self, clip: Clip) -> bool | tuple[bool, str]:
        d, s = self.depth_bad(clip), self.semantic_bad(clip)
        if d is not None and s is not None:
            return (False, "alignment:depth+semantic") if (d and s) else True
        if d is not None:
            return (False, "alignment:depth_only") if d else True
        if s is not None:
            return (False, "alignment:semantic_only") if s else True
        return True


def decision_chain(cfg: DecisionConfig, clip_reference: str = "prediction") -> FilterChain:
    return FilterChain([*cheap_filters(cfg), AlignmentRule(cfg, clip_reference)])


def decide(clips: list[Clip], cfg: DecisionConfig, clip_reference: str = "prediction") -> FilterChain:
    """Set `decision` and `reasons` on every clip; returns the chain with its drop counts."""
    chain = decision_chain(cfg, clip_reference)
    chain.run(clips)
    return chain
