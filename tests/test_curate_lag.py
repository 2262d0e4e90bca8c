"""Bootstrap-based per-frame checks: depth lag and misalignment (curate/bootstrap_checks.py).

The detector logic is tested with a deterministic stand-in predictor that follows the
`DepthPredictor` protocol: it returns the true depth of the picture it is given (looked up by
nearest picture, times a little multiplicative noise so fits are never exact). The real
bootstrap model runs in bench/curate_accuracy.py.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_curate_checks import H, W, scene

from curate.bootstrap_checks import (
    BootstrapTracker,
    lag_mask,
    lag_model_usable,
    lag_sample_rate,
    misaligned_mask,
    robust_threshold,
    track_sequence,
)
from curate.config import FrameCheckConfig
from curate.frame_checks import compute_features, fault_labels
from model.predictor import DepthPredictor


class TrueDepthPredictor:
    """Depth of the known picture closest to the input frame, with 3% multiplicative noise."""

    def __init__(self, pictures: np.ndarray, depths: np.ndarray, noise: float = 0.03, seed: int = 0,
                 jitter: int = 0):
        self.jitter = jitter  # > 0: answer with the depth of a random neighbour (a model that mixes frames up)
        self.pictures = pictures.astype(np.float32)
        self.depths = depths
        self.noise = noise
        self.rng = np.random.default_rng(seed)

    def predict(self, frames: np.ndarray) -> np.ndarray:
        out = []
        for f in np.asarray(frames):
            h, w = f.shape[:2]
            small = cv2.resize(f, (W, H), interpolation=cv2.INTER_AREA).astype(np.float32)
            i = int(np.argmin(np.abs(self.pictures - small).mean(axis=(1, 2, 3))))
            if self.jitter:
                i = int(np.clip(i + self.rng.integers(-self.jitter, self.jitter + 1), 0, len(self.depths) - 1))
            d = cv2.resize(self.depths[i], (w, h), interpolation=cv2.INTER_NEAREST)
            out.append(d * (1 + self.noise * self.rng.standard_normal(d.shape)))
        return np.stack(out).astype(np.float32)


# The model-based lag finder alone (no heuristic finders, no self-check: lag is a third of these clips).
CFG = FrameCheckConfig(work_width=W, lag_compare_width=W, pad_frames=0, merge_gap=0, lag_model_max_rate=1.0,
                       jump_lag_with_bootstrap=False)


def _labels(rgb, dep, predictor, cfg=CFG):
    f = compute_features(rgb, dep, cfg)
    f.bootstrap = track_sequence(predictor, rgb, dep, cfg)
    return fault_labels(f, cfg)[0]


def test_stand_in_follows_the_predictor_protocol():
    rgb, dep = scene(n=5)
    p = TrueDepthPredictor(rgb, dep, noise=0.0)
    assert isinstance(p, DepthPredictor)
    np.testing.assert_allclose(p.predict(rgb[2:3])[0], dep[2])


def test_clean_sequence_has_no_lag_and_no_misalignment():
    rgb, dep = scene(n=70, speed=2.0)
    lab = _labels(rgb, dep, TrueDepthPredictor(rgb, dep))
    assert lab == [""] * 70


@pytest.mark.parametrize("k", [3, 6, 9])
def test_depth_lagging_by_k_frames_is_flagged_on_its_span_only(k):
    rgb, dep = scene(n=90, speed=2.0)
    lagged = dep.copy()
    a, b = 30, 60
    lagged[a:b] = dep[a - k : b - k]  # depth k frames behind the picture on [30, 60)
    track = track_sequence(TrueDepthPredictor(rgb, dep), rgb, lagged, CFG)
    # Samples inside the span find the lag itself (depth t + k fits the prediction of picture t).
    inside = [t for t in range(a + 2, b - k - 2) if track.sampled[t]]
    assert all(track.best_offset[t] == k for t in inside), [track.best_offset[t] for t in inside]
    m = lag_mask(track, CFG)
    assert m[a : b].all(), np.flatnonzero(~m[a:b]) + a
    assert not m[: a - 2].any() and not m[b + 2 :].any(), np.flatnonzero(m)
    # Through fault_labels (other checks may name some frames first; none is missed or added).
    f = compute_features(rgb, lagged, CFG)
    f.bootstrap = track
    lab, shaped = fault_labels(f, CFG)
    assert shaped["depth_lag"][a:b].all() and not shaped["depth_lag"][: a - 2].any()
    assert not shaped["depth_lag"][b + 2 :].any()
    assert all(lab[i] for i in range(a, b)), lab[a - 3 : b + 3]
    # (the heuristic frozen-depth check sees a 6-frame jump back as a stall and reaches 6 frames back)
    assert all(v == "" for v in lab[: a - 7]) and all(v == "" for v in lab[b + 5 :]), lab


def test_a_model_that_cannot_tell_frames_apart_is_not_trusted_for_lag():
    rgb, dep = scene(n=90, speed=2.0)
    cfg = FrameCheckConfig(work_width=W, lag_compare_width=W)
    good = track_sequence(TrueDepthPredictor(rgb, dep), rgb, dep, cfg)
    assert lag_sample_rate(good, cfg) == 0.0 and lag_model_usable(good, cfg)
    # A model that mixes up neighbouring frames: many clean samples "look lagged".
    weak = track_sequence(TrueDepthPredictor(rgb, dep, jitter=6), rgb, dep, cfg)
    assert lag_sample_rate(weak, cfg) > cfg.lag_model_max_rate and not lag_model_usable(weak, cfg)


def test_lag_shorter_than_the_minimum_run_is_ignored():
    rgb, dep = scene(n=70, speed=2.0)
    lagged = dep.copy()
    lagged[30:32] = dep[25:27]  # two stale frames: one lag sample at most
    cfg = FrameCheckConfig(work_width=W, lag_compare_width=W, lag_min_run=4)
    track = track_sequence(TrueDepthPredictor(rgb, dep), rgb, lagged, cfg)
    assert not lag_mask(track, cfg).any()


def test_depth_that_does_not_fit_the_picture_is_misaligned():
    rgb, dep = scene(n=70, speed=2.0)
    menu, menu_depth = scene(n=70, speed=2.0, seed=7)  # a different picture over the same depth
    shown = rgb.copy()
    shown[30:45] = menu[30:45]
    known = TrueDepthPredictor(np.concatenate([rgb, menu]), np.concatenate([dep, menu_depth]))
    track = track_sequence(known, shown, dep, CFG)
    m = misaligned_mask(track, CFG)
    assert m[31:44].all() and not m[:28].any() and not m[47:].any(), np.flatnonzero(m)
    lab = _labels(shown, dep, known)
    assert all(lab[i] for i in range(31, 44)) and all(v == "" for v in lab[:25]), lab


def test_robust_threshold_uses_median_mad_and_floors():
    v = np.array([0.10, 0.11, 0.09, 0.10, 0.12, 0.08, np.nan, 0.9])
    thr = robust_threshold(v, k=5, floor=0.0, mad_floor=0.0)
    med, mad = 0.10, 1.4826 * 0.01
    assert thr == pytest.approx(med + 5 * mad, rel=1e-6)
    assert robust_threshold(v, k=5, floor=0.5, mad_floor=0.0) == 0.5  # floor wins
    assert robust_threshold(np.full(5, 0.1), k=5, floor=0.0, mad_floor=0.02) == pytest.approx(0.2)
    assert robust_threshold(np.array([np.nan]), 5, 0.1, 0.01) == np.inf


def test_tracker_memory_stays_bounded_and_every_sample_is_scored():
    rgb, dep = scene(n=120, speed=1.0)
    cfg = FrameCheckConfig(work_width=W, lag_compare_width=32, bootstrap_every=3, lag_max_frames=5)
    tr = BootstrapTracker(TrueDepthPredictor(rgb, dep), cfg, batch_size=4)
    peak = 0
    for i in range(len(rgb)):
        tr.push(i, rgb[i], dep[i])
        peak = max(peak, len(tr._depth))
    track = tr.result(len(rgb))
    assert peak <= cfg.lag_max_frames + 4 * cfg.bootstrap_every + 1
    assert np.flatnonzero(track.sampled).tolist() == list(range(0, 120, 3))
    assert np.isfinite(track.abs_rel[track.sampled]).all()
    assert (track.best_offset[track.sampled][:-1] > 0).all()  # the last sample has no later frame
