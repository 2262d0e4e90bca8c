"""The keep/drop decision: the paper's alignment rule plus the hard checks.

Paper rule (Depth Any Video §2): drop a clip when BOTH the median semantic (CLIP) score and the
median depth-metric score fall below their thresholds. When one score is unavailable (no CLIP
weights, or no bootstrap model) the rule falls back to the other alone; when both are missing
only the hard checks decide.

Depth thresholds are "auto" by default: taken from the distribution of clean held-out clip scores
stored in the bootstrap checkpoint (`resolve_thresholds`), because an absolute delta1 threshold is
wrong whenever the bootstrap is weaker or stronger than the threshold assumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from common.records import Clip
from curate.checks import cheap_filters
from curate.config import DecisionConfig
from curate.filters import BaseFilter, FilterChain


def _ok(v: float | None) -> bool:
    return v is not None and not math.isnan(v)


@dataclass(frozen=True)
class DepthThresholds:
    delta1_min: float
    abs_rel_max: float
    source: str  # "auto" (from the checkpoint's calibration) or "absolute"
    note: str = ""

    def to_dict(self) -> dict:
        return {"delta1_min": self.delta1_min, "abs_rel_max": self.abs_rel_max, "source": self.source}


def resolve_thresholds(cfg: DecisionConfig, calibration: dict | None) -> DepthThresholds:
    """The depth thresholds curation uses: from the bootstrap's calibration in "auto" mode, the
    config's absolute ones otherwise (or when the checkpoint has no usable calibration, with a note)."""
    absolute = DepthThresholds(cfg.delta1_min, cfg.abs_rel_max, "absolute")
    if cfg.depth_thresholds == "absolute":
        return absolute
    d1 = np.asarray((calibration or {}).get("delta1") or [], dtype=np.float64)
    ar = np.asarray((calibration or {}).get("abs_rel") or [], dtype=np.float64)
    d1, ar = d1[np.isfinite(d1)], ar[np.isfinite(ar)]
    if min(d1.size, ar.size) < cfg.auto_min_clips:
        why = ("the bootstrap checkpoint has no calibration (trained before calibration was stored, or on picks "
               "too short to hold out)" if calibration is None else
               f"the checkpoint's calibration has {min(d1.size, ar.size)} clips (< {cfg.auto_min_clips})")
        return DepthThresholds(cfg.delta1_min, cfg.abs_rel_max, "absolute",
                               f"depth thresholds: AUTO unavailable, {why}; using the absolute ones "
                               f"(delta1 >= {cfg.delta1_min:g}, AbsRel <= {cfg.abs_rel_max:g}); retrain the "
                               "bootstrap with `synthdepth bootstrap train` to calibrate")
    q = cfg.auto_quantile
    t = DepthThresholds(
        delta1_min=round(float(np.quantile(d1, q)) * cfg.auto_delta1_factor, 4),
        abs_rel_max=round(float(np.quantile(ar, 1 - q)) * cfg.auto_abs_rel_factor, 4),
        source="auto",
    )
    unseen = (calibration or {}).get("held_out") == "whole clips"
    note = (f"depth thresholds: auto from {d1.size} held-out clean clips "
            f"({'of unseen picks' if unseen else 'windows of the trained-on picks: optimistic for new recordings'}) "
            "of the bootstrap checkpoint: "
            f"delta1 >= {t.delta1_min:.3f} (p{100 * q:g} {np.quantile(d1, q):.3f} x {cfg.auto_delta1_factor:g}), "
            f"AbsRel <= {t.abs_rel_max:.3f} (p{100 * (1 - q):g} {np.quantile(ar, 1 - q):.3f} x "
            f"{cfg.auto_abs_rel_factor:g})")
    return DepthThresholds(t.delta1_min, t.abs_rel_max, "auto", note)


class AlignmentRule(BaseFilter):
    name = "alignment"

    def reasons(self) -> dict[str, str]:
        return {
            "alignment:depth+semantic": "paper rule: median bootstrap depth score AND median CLIP score below threshold",
            "alignment:depth_only": "paper rule without CLIP: median bootstrap depth score below threshold",
            "alignment:semantic_only": "paper rule without bootstrap: median CLIP score below threshold",
        }

    def __init__(self, cfg: DecisionConfig, clip_reference: str = "prediction",
                 thresholds: DepthThresholds | None = None):
        self.cfg = cfg
        self.thresholds = thresholds or DepthThresholds(cfg.delta1_min, cfg.abs_rel_max, "absolute")
        # "prediction": CLIP compares captured vs predicted depth; "rgb": the picture vs captured depth.
        self.clip_min = cfg.clip_similarity_min if clip_reference == "prediction" else cfg.clip_rgb_similarity_min

    def depth_bad(self, clip: Clip) -> bool | None:
        s = clip.scores
        if self.cfg.depth_metric == "delta1":
            return (s.depth_delta1 < self.thresholds.delta1_min) if _ok(s.depth_delta1) else None
        return (s.depth_abs_rel > self.thresholds.abs_rel_max) if _ok(s.depth_abs_rel) else None

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


def decision_chain(cfg: DecisionConfig, clip_reference: str = "prediction",
                   thresholds: DepthThresholds | None = None) -> FilterChain:
    return FilterChain([*cheap_filters(cfg), AlignmentRule(cfg, clip_reference, thresholds)])


def decide(clips: list[Clip], cfg: DecisionConfig, clip_reference: str = "prediction",
           thresholds: DepthThresholds | None = None) -> FilterChain:
    """Set `decision` and `reasons` on every clip; returns the chain with its drop counts.
    `thresholds`: the resolved depth thresholds (default: the config's absolute ones)."""
    chain = decision_chain(cfg, clip_reference, thresholds)
    chain.run(clips)
    return chain
