"""Scene cuts: PySceneDetect's cuts of the picture count only where the depth cuts too (issue 11:
on outside recordings, flashes, lights switching and fast turns gave more false cuts than true ones,
and each split a clean run into pieces shorter than a clip)."""

from __future__ import annotations

import footage as F
import numpy as np

from curate.config import CurateConfig
from curate.features import compute_features
from curate.pipeline import scene_cuts
from curate.scenes import ContentScores, replay_cuts

CFG = CurateConfig()
RED = np.array([1.0, 0.3, 0.3], np.float32)  # a red alarm light: hue, saturation and value change


def _scores(rgb: np.ndarray) -> np.ndarray:
    s = ContentScores(CFG.scenes, 30.0)
    return np.array([s.push(i, f) for i, f in enumerate(rgb)])


def _two_scenes(lag: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two real captures under a panning camera, a hard cut at frame 80; the depth cuts `lag` frames late."""
    a_rgb, a_d = F.pan(80, src=3, speed=1.0, seed=1)
    b_rgb, b_d = F.pan(80, src=12, speed=1.0, seed=2)
    rgb, depth = np.concatenate([a_rgb, b_rgb]), np.concatenate([a_d, b_d])
    if lag:
        depth[80 : 80 + lag] = a_d[-1]  # the old scene's last depth stays k frames (and then lags on)
    return rgb, depth


def test_light_switching_is_no_cut_while_the_depth_goes_on():
    rgb, depth = _two_scenes()
    F.light(rgb, 25, 55, gain=RED)  # an alarm light on at 25, off at 55: PySceneDetect cuts at both
    s = _scores(rgb)
    assert {25, 55} <= set(replay_cuts(s, 30.0, CFG.scenes))
    assert scene_cuts(s, 30.0, compute_features(rgb, depth, CFG.frame_checks), CFG) == [80]


def test_a_cut_the_depth_follows_late_is_kept():
    rgb, depth = _two_scenes(lag=3)
    s = _scores(rgb)
    assert scene_cuts(s, 30.0, compute_features(rgb, depth, CFG.frame_checks), CFG) == [80]


def test_depth_confirmation_can_be_switched_off():
    rgb, depth = _two_scenes()
    F.light(rgb, 25, 55, gain=RED)
    s = _scores(rgb)
    off = CurateConfig.load(None, ["scenes.depth_confirm=false"])
    assert scene_cuts(s, 30.0, compute_features(rgb, depth, off.frame_checks), off) == replay_cuts(s, 30.0, off.scenes)


def test_a_cut_the_detector_scores_under_its_threshold_is_found_from_the_depth():
    # Two washed-out scenes (half their colour) cut hard at frame 80: PySceneDetect scores the cut
    # 25 (< 27) and misses it, as it missed a teleport (19.7) and a hard cut (22.0) of the external
    # set; the depth jumps ~17 x its usual change and all of the picture's structure changes.
    a_rgb, a_d = F.pan(80, src=16, speed=1.0, seed=4)
    b_rgb, b_d = F.pan(80, src=8, speed=1.0, seed=4)
    rgb = np.concatenate([a_rgb, b_rgb]).astype(np.float32)
    rgb = (0.5 * rgb + 0.5 * rgb.mean(-1, keepdims=True)).astype(np.uint8)
    depth = np.concatenate([a_d, b_d])
    s = _scores(rgb)
    assert replay_cuts(s, 30.0, CFG.scenes) == []
    f = compute_features(rgb, depth, CFG.frame_checks)
    assert scene_cuts(s, 30.0, f, CFG) == [80]
    # A menu opening changes the structure as completely, but the depth goes on: no cut.
    menu = np.concatenate([a_rgb, a_rgb[-2::-1]])  # the same scene, the camera turning back: no cut
    F.opaque_menu(menu, 80, 120)
    s = _scores(menu)
    assert 80 in replay_cuts(s, 30.0, CFG.scenes)
    f = compute_features(menu, np.concatenate([a_d, a_d[-2::-1]]), CFG.frame_checks)
    assert scene_cuts(s, 30.0, f, CFG) == []


def test_a_cut_discards_only_the_frames_whose_picture_and_depth_disagree():
    """Real captures cut hard at 80: with the depth in step nothing around the cut is lost (a clean
    run of exactly one clip beside a cut was lost to a fixed 2-frame margin); a depth that cuts a
    frame late loses that frame; where the depth is not known, the fixed margin is kept."""
    from curate.frame_checks.run import summarise
    from curate.scenes import transition_frames

    def lost(lag: int) -> list[int]:
        rgb, depth = _two_scenes(lag=lag)
        f = compute_features(rgb, depth, CFG.frame_checks)
        cuts = scene_cuts(_scores(rgb), 30.0, f, CFG)
        usual = summarise(f, CFG.frame_checks, cuts).usual_depth_change
        m = transition_frames(cuts, len(f), CFG.scenes.transition_frames, f.depth_dist[:, 0], usual, CFG.scenes)
        return np.flatnonzero(m).tolist()

    assert lost(0) == []
    assert lost(1) == [80]
    assert lost(2) == [80, 81]
    unknown = transition_frames([80], 160, 2, np.full(160, np.nan), 1.0, CFG.scenes)
    assert np.flatnonzero(unknown).tolist() == [78, 79, 80, 81]


def test_a_flash_over_a_view_whose_depth_stands_now_and_then_is_no_cut():
    """A flash (a red alarm light for 3 frames) scores as a cut; the depth moves on without a jump. A slow, far view's depth
    stands still on a frame now and then by itself: that is no standing depth (the simulator kept
    such a flash's false cut); a depth stuck over the frames after a cut (a loading screen) is."""
    rgb, depth = F.pan(160, src=3, speed=0.5, seed=3)
    F.light(rgb, 80, 83, gain=RED)
    for t in (86, 88):
        depth[t] = depth[t - 1]
    s = _scores(rgb)
    assert 80 in replay_cuts(s, 30.0, CFG.scenes)
    assert 80 not in scene_cuts(s, 30.0, compute_features(rgb, depth, CFG.frame_checks), CFG)
    b_rgb, _ = F.pan(80, src=12, speed=0.5, seed=2)
    rgb[80:], depth[80:] = b_rgb, depth[79]  # a cut to another place whose depth never came
    s = _scores(rgb)
    assert 80 in scene_cuts(s, 30.0, compute_features(rgb, depth, CFG.frame_checks), CFG)


def test_a_cut_into_a_loading_screen_keeps_the_frames_before_it():
    """A loading screen opens at a cut and keeps the last depth: the depth moved on up to the cut
    and stands from it, so its timeline stopped with the old scene's picture, and the frames before
    the cut are the old scene's (measured on a held-out real-game seed: two clean runs of exactly
    one clip, each ending at a cut into a loading screen, were lost to a fixed 2-frame margin)."""
    from curate.frame_checks.run import summarise
    from curate.scenes import transition_frames

    rgb, depth = _two_scenes()
    F.loading(rgb, depth, 80, 110)
    f = compute_features(rgb, depth, CFG.frame_checks)
    cuts = scene_cuts(_scores(rgb), 30.0, f, CFG)
    assert 80 in cuts
    m = summarise(f, CFG.frame_checks, cuts)
    args = (cuts, len(f), CFG.scenes.transition_frames, f.depth_dist[:, 0], m.usual_depth_change, CFG.scenes)
    lost = np.flatnonzero(transition_frames(*args, m.repeat)).tolist()
    assert [i for i in np.flatnonzero(transition_frames(*args)) if i < 80] == [78, 79]  # without the depth's stand
    assert not [i for i in lost if i < 80]
    assert {80, 81} <= set(lost)
