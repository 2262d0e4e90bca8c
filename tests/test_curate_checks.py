"""Per-frame and clip-level checks and the decision rule, on small synthetic arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from common.records import Clip, ClipScores
from curate.checks import cheap_scores
from curate.config import DecisionConfig, FrameCheckConfig
from curate.decision import AlignmentRule, decide
from curate.frame_checks import check_masks, compute_features, fault_labels

H, W = 36, 64


def scene(n: int = 40, speed: float = 1.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A panning view of a textured wall with three boxes in front; depth matches the picture."""
    rng = np.random.default_rng(seed)
    big_w = W + int(speed * n) + 8
    tex = (rng.random((H, big_w)) * 60 + 80).astype(np.float32)
    depth = np.full((H, big_w), 10.0, np.float32)
    for x0 in range(6, big_w - 14, 22):
        y0 = int(rng.integers(4, 14))
        tex[y0 : y0 + 16, x0 : x0 + 10] = rng.random() * 80 + 150
        depth[y0 : y0 + 16, x0 : x0 + 10] = 2.0 + rng.random()
    rgb = np.empty((n, H, W, 3), np.uint8)
    dep = np.empty((n, H, W), np.float32)
    for t in range(n):
        x = int(round(speed * t))
        img = tex[:, x : x + W]
        rgb[t] = np.clip(img[..., None] + rng.normal(0, 2, (H, W, 1)), 0, 255).astype(np.uint8)
        dep[t] = depth[:, x : x + W]
    return rgb, dep


def labels_of(rgb, dep, cfg=None):
    cfg = cfg or FrameCheckConfig(work_width=W, pad_frames=0, merge_gap=0)
    return fault_labels(compute_features(rgb, dep, cfg), cfg)[0]


def test_clean_moving_sequence_has_no_faults():
    rgb, dep = scene()
    assert labels_of(rgb, dep) == [""] * len(rgb)


def test_frozen_depth_is_flagged_and_moving_depth_is_not():
    rgb, dep = scene(n=50)
    dep[20:35] = dep[20]  # depth stuck while the picture pans
    lab = labels_of(rgb, dep)
    frozen = [i for i, v in enumerate(lab) if v]
    assert set(range(24, 35)) <= set(frozen), lab
    assert all(v == "" for v in lab[:12]) and all(v == "" for v in lab[44:])


def test_black_frames_and_cleared_depth():
    rgb, dep = scene()
    rgb[10:15] = 3  # black
    dep[25:30] = np.nan  # cleared / invalid buffer
    lab = labels_of(rgb, dep)
    assert all(lab[i] == "fault:black" for i in range(10, 15))
    assert all(lab[i] == "fault:invalid_depth" for i in range(25, 30))
    assert lab[20] == "" and lab[35] == ""


def test_fade_is_found_over_its_whole_ramp():
    rgb, dep = scene(n=60)
    gain = np.ones(60)
    gain[20:40] = np.abs(np.linspace(-1, 1, 20))  # 1 -> 0 -> 1
    rgb = (rgb * gain[:, None, None, None]).astype(np.uint8)
    lab = labels_of(rgb, dep)
    assert all(lab[i] for i in range(22, 38)), lab[18:42]
    assert all(v == "" for v in lab[:15]) and all(v == "" for v in lab[46:])


def test_depth_lag_between_a_back_jump_and_a_forward_jump():
    rgb, dep = scene(n=60, speed=2.0)
    lagged = dep.copy()
    lagged[20:40] = dep[14:34]  # depth six frames behind the picture
    lab = labels_of(rgb, lagged)
    assert all(lab[i] for i in range(20, 40)), lab[18:42]
    assert labels_of(rgb, dep) == [""] * 60


def test_picture_frozen_while_depth_moves():
    rgb, dep = scene(n=50)
    rgb[20:35] = rgb[20]  # a static menu-like picture, the world keeps moving underneath
    m = check_masks(compute_features(rgb, dep, FrameCheckConfig(work_width=W)), FrameCheckConfig(work_width=W))
    assert m["frozen_rgb"][26:35].all()
    assert not m["frozen_rgb"][:18].any()


def test_edge_mismatch_for_unrelated_depth():
    rgb, dep = scene(n=40)
    _, other = scene(n=40, seed=5)
    dep[15:30] = np.roll(other[15:30], 17, axis=2)  # depth of another place: edges do not match
    cfg = FrameCheckConfig(work_width=W, pad_frames=0, merge_gap=0)
    lab = labels_of(rgb, dep, cfg)
    assert sum(bool(v) for v in lab[16:29]) >= 10, lab
    assert all(v == "" for v in lab[:12])


def test_clip_scores_see_frozen_depth_and_black_frames():
    rgb, dep = scene(n=40)
    cfg = FrameCheckConfig(work_width=W)
    clean = cheap_scores(compute_features(rgb, dep, cfg), 0, 40, cfg)
    dep2 = dep.copy()
    dep2[10:40] = dep[10]
    rgb2 = rgb.copy()
    rgb2[30:40] = 0
    bad = cheap_scores(compute_features(rgb2, dep2, cfg), 0, 40, cfg)
    assert clean.frozen_depth == 0.0 and clean.black_fraction == 0.0
    assert bad.frozen_depth > 0.3 and bad.black_fraction == pytest.approx(0.25)
    assert clean.edge_agreement > 0.7


def _clip(**scores) -> Clip:
    return Clip("rec", 0, 30, scores=ClipScores(**scores))


def test_paper_rule_needs_both_scores_low():
    cfg = DecisionConfig(delta1_min=0.7, clip_similarity_min=0.85)
    rule = AlignmentRule(cfg)
    assert rule(_clip(depth_delta1=0.5, clip_similarity=0.5)) == (False, "alignment:depth+semantic")
    assert rule(_clip(depth_delta1=0.5, clip_similarity=0.9)) == (True, None)  # CLIP rescues it
    assert rule(_clip(depth_delta1=0.9, clip_similarity=0.5)) == (True, None)  # depth rescues it
    # fall-backs when one score is unavailable
    assert rule(_clip(depth_delta1=0.5)) == (False, "alignment:depth_only")
    assert rule(_clip(clip_similarity=0.5)) == (False, "alignment:semantic_only")
    assert rule(_clip()) == (True, None)


def test_decision_collects_every_reason_and_counts_them():
    cfg = DecisionConfig()
    clips = [
        _clip(frozen_depth=0.5, black_fraction=0.5, depth_delta1=0.9),
        _clip(frozen_depth=0.0, black_fraction=0.0, depth_delta1=0.9, clip_similarity=0.9),
        _clip(depth_delta1=0.1, clip_similarity=0.1),
    ]
    chain = decide(clips, cfg)
    assert [c.decision for c in clips] == ["dropped", "kept", "dropped"]
    assert clips[0].reasons == ["frozen_depth", "black_frames"]
    assert clips[2].reasons == ["alignment:depth+semantic"]
    assert chain.stats["frozen_depth"] == 1 and chain.stats["kept"] == 1 and chain.stats["dropped"] == 2
    assert math.isnan(clips[1].scores.depth_abs_rel)
