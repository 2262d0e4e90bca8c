"""Depth thresholds calibrated from the bootstrap checkpoint ("auto") vs absolute ones."""

from __future__ import annotations

import numpy as np
import pytest

from common.records import Clip, ClipScores
from curate.config import DecisionConfig
from curate.decision import AlignmentRule, decide, resolve_thresholds


def _calibration(d1_mean: float, ar_mean: float, n: int = 40, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"clips": n, "delta1": list(rng.normal(d1_mean, 0.03, n)), "abs_rel": list(rng.normal(ar_mean, 0.02, n))}


def _clip(**scores) -> Clip:
    return Clip("rec", 0, 30, scores=ClipScores(**scores))


def test_auto_thresholds_follow_a_weak_bootstraps_clean_distribution():
    # A weak bootstrap: clean clips score delta1 ~0.45, far below the absolute 0.7.
    cfg = DecisionConfig()
    t = resolve_thresholds(cfg, _calibration(0.45, 0.35))
    assert t.source == "auto" and "auto from 40 held-out clean clips" in t.note
    assert 0.17 < t.delta1_min < 0.23  # p5 (~0.40) x 0.5
    inside, far = _clip(depth_delta1=0.42), _clip(depth_delta1=0.08)
    rule = AlignmentRule(cfg, thresholds=t)
    assert rule(inside) == (True, None)
    assert rule(far) == (False, "alignment:depth_only")
    # the absolute threshold would have dropped the clean clip: the failure auto thresholds fix
    assert AlignmentRule(cfg)(inside) == (False, "alignment:depth_only")


def test_auto_thresholds_tighten_for_a_strong_bootstrap_and_work_for_abs_rel():
    cfg = DecisionConfig(depth_metric="abs_rel")
    t = resolve_thresholds(cfg, _calibration(0.97, 0.05))
    assert t.delta1_min > 0.42 and 0.13 < t.abs_rel_max < 0.22  # p5 (~0.92) x 0.5; p95 (~0.083) x 2
    clips = [_clip(depth_abs_rel=0.06), _clip(depth_abs_rel=0.28), _clip(depth_abs_rel=0.28, clip_similarity=0.95)]
    decide(clips, cfg, thresholds=t)
    # 0.28 passes the absolute 0.3 but is far outside this model's clean distribution
    assert [c.decision for c in clips] == ["kept", "dropped", "kept"]  # paper rule: good CLIP score rescues
    assert clips[1].reasons == ["alignment:depth_only"]


def test_missing_or_tiny_calibration_falls_back_to_absolute_with_a_message():
    cfg = DecisionConfig(delta1_min=0.6, abs_rel_max=0.25)
    old = resolve_thresholds(cfg, None)
    assert (old.delta1_min, old.abs_rel_max, old.source) == (0.6, 0.25, "absolute")
    assert "no calibration" in old.note and "absolute" in old.note
    tiny = resolve_thresholds(cfg, {"delta1": [0.5], "abs_rel": [0.3]})
    assert tiny.source == "absolute" and "1 clips" in tiny.note
    forced = resolve_thresholds(DecisionConfig(depth_thresholds="absolute"), _calibration(0.45, 0.35))
    assert forced.source == "absolute" and forced.delta1_min == pytest.approx(0.7)
