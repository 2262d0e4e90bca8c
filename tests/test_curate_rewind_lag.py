"""The model-free lag finder (curate/rewind_lag.py) and the span-based freeze test, on small
synthetic sequences where the lag, its length and its end are known exactly."""

from __future__ import annotations

import numpy as np

from curate.config import FrameCheckConfig
from curate.frame_checks import compute_features, depth_still_over_span
from curate.rewind_lag import lag_end, rewind_lag_mask, rewind_onsets
from tests.test_curate_checks import W, scene

CFG = FrameCheckConfig(work_width=W)


def features(rgb, dep):
    f = compute_features(rgb, dep, CFG)
    return f.depth_dist, f.rgb_dist


def lagged(n: int = 80, a: int = 30, b: int = 55, k: int = 4, speed: float = 1.0):
    rgb, dep = scene(n=n, speed=speed)
    out = dep.copy()
    out[a:b] = dep[a - k : b - k]  # depth of frame t - k while the picture shows frame t
    return rgb, dep, out


def test_onset_lag_length_and_end_are_found():
    rgb, _, dep = lagged(a=30, b=55, k=4)
    d, r = features(rgb, dep)
    onsets = rewind_onsets(d, r, CFG)
    assert [(a, k) for a, k, _ in onsets][:1] == [(30, 4)], onsets
    assert lag_end(d, r, 30, 4, CFG) == 55
    m = rewind_lag_mask(d, r, CFG)
    assert m[30:55].all() and not m[:30].any() and not m[55:].any()


def test_longer_lag_slow_pan():
    rgb, _, dep = lagged(n=90, a=25, b=60, k=7, speed=0.8)
    m = rewind_lag_mask(*features(rgb, dep), CFG)
    assert m[25:60].all() and not m[:25].any() and not m[61:].any()


def test_clean_sequences_have_no_lag():
    for speed in (0.6, 1.0, 2.0):
        rgb, dep = scene(n=80, speed=speed)
        d, r = features(rgb, dep)
        assert rewind_onsets(d, r, CFG) == []
        assert not rewind_lag_mask(d, r, CFG).any()


def test_picture_and_depth_rewinding_together_is_not_a_lag():
    # The camera jumps back (a respawn): picture and depth both show earlier frames.
    rgb, dep = scene(n=80)
    rgb2, dep2 = rgb.copy(), dep.copy()
    rgb2[30:55], dep2[30:55] = rgb[26:51], dep[26:51]
    d, r = features(rgb2, dep2)
    assert not rewind_lag_mask(d, r, CFG).any()
    assert rewind_lag_mask(d, r, CFG.model_copy(update={"rewind_rgb_keep": 0.0})).any()  # the guard matters


def test_quantised_depth_staircase_is_not_a_lag():
    # A coarse depth buffer of a slow forward move stands still for a few frames, then steps: each
    # step is a one-frame jump and each plateau repeats the depth, yet nothing lags.
    rgb, dep = scene(n=80, speed=1.0)
    n = len(dep)
    layout = np.where(dep[0] < 5, 10 * np.exp(-0.37), 10.0)  # wall and boxes step at different frames
    for rate in (0.006, 0.01, 0.015):
        drift = np.exp(-rate * np.arange(n))[:, None, None]  # moving closer
        q = 0.05  # step of log depth
        stair = np.exp(np.round(np.log(layout * drift) / q) * q).astype(np.float32)
        still = np.abs(np.diff(np.log(stair), axis=0)).mean(axis=(1, 2)) < 1e-6
        assert still.sum() > 20 and (~still).sum() > 10  # plateaus and steps
        d, r = features(rgb, stair)
        assert not rewind_lag_mask(d, r, CFG).any()
        # Without the back-jump conditions the plateaus would pass for rewinds.
        loose = CFG.model_copy(update={"rewind_backjump": 0.0, "rewind_onset_jump": 0.0})
        assert rewind_lag_mask(d, r, loose).any()


def test_lag_without_a_visible_end_runs_to_the_next_stop():
    rgb, _, dep = lagged(n=80, a=20, b=80, k=4)  # the lag runs past the end of the sequence
    d, r = features(rgb, dep)
    stop = np.zeros(len(d), bool)
    stop[60] = True  # e.g. a scene cut or another fault
    assert lag_end(d, r, 20, 4, CFG, stop) is None
    m = rewind_lag_mask(d, r, CFG, stop)
    assert m[20:60].all() and not m[61:].any()


def test_freeze_of_a_noiseless_depth_is_found_over_the_span():
    rgb, dep = scene(n=70, speed=1.5)
    frozen = dep.copy()
    rng = np.random.default_rng(1)
    frozen[25:55] = dep[25] * (1 + rng.normal(0, 1e-6, dep[25:55].shape)).astype(np.float32)
    cfg = FrameCheckConfig(work_width=W)
    hit = depth_still_over_span(compute_features(rgb, frozen, cfg), cfg)
    assert hit[35:55].all(), np.flatnonzero(hit)
    assert not hit[:24].any() and not hit[56:].any()
    assert not depth_still_over_span(compute_features(rgb, dep, cfg), cfg).any()


def test_end_of_a_later_freeze_is_not_taken_for_the_lag_end():
    # A freeze after the lag ends with a bigger forward jump than the lag's own end; with the
    # freeze marked as `not_end` the lag ends where it really does.
    rgb, dep = scene(n=120, speed=1.0)
    out = dep.copy()
    out[20:45] = dep[16:41]  # 4-frame lag
    out[70:100] = dep[70]  # then a 30-frame freeze
    d, r = features(rgb, out)
    frozen = np.zeros(len(d), bool)
    frozen[70:100] = True
    not_end = frozen.copy()
    not_end[1:] |= frozen[:-1]
    not_end[2:] |= frozen[:-2]
    assert lag_end(d, r, 20, 4, CFG, not_end=not_end) == 45
    assert lag_end(d, r, 20, 4, CFG) == 100  # without it the freeze's jump wins
