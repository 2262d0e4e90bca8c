"""The model-free overlay finder (curate/overlay.py): menus drawn over a moving game."""

from __future__ import annotations

import cv2
import numpy as np

from curate.config import FrameCheckConfig
from curate.frame_checks import compute_features, fault_labels
from curate.overlay import overlay_mask, picture_steps
from tests.test_curate_checks import W
from tests.test_curate_checks import scene as noisy_scene

CFG = FrameCheckConfig(work_width=W)


def scene(n: int, speed: float, seed: int = 0):
    """The shared test scene with its pixel noise blurred away: a game picture changes by a few
    percent per frame, not by the noise texture's 3-4%."""
    rgb, dep = noisy_scene(n=n, speed=speed, seed=seed)
    return np.stack([cv2.GaussianBlur(x, (7, 7), 0) for x in rgb]), dep


def translucent_menu(rgb: np.ndarray, a: int, b: int) -> np.ndarray:
    """A dark panel over the middle that lets a quarter of the world through, with bright items."""
    out = rgb.copy()
    panel = out[a:b, 6:30, 10:54].astype(np.float32) * 0.25 + 20
    panel[:, 5:8, 6:38] = 230
    panel[:, 14:17, 6:38] = 230
    out[a:b, 6:30, 10:54] = panel.astype(np.uint8)
    return out


def dists(rgb, dep):
    f = compute_features(rgb, dep, CFG)
    return f.depth_dist, f.rgb_dist


def test_translucent_menu_is_found_between_its_two_steps():
    rgb, dep = scene(n=70, speed=1.0)
    d, r = dists(translucent_menu(rgb, 25, 45), dep)
    assert list(np.flatnonzero(picture_steps(d, r, CFG))) == [25, 45]
    m = overlay_mask(d, r, CFG)
    assert m[25:45].all() and not m[:25].any() and not m[45:].any()
    cfg = FrameCheckConfig(work_width=W, pad_frames=0, merge_gap=0)
    labels = fault_labels(compute_features(translucent_menu(rgb, 25, 45), dep, cfg), cfg)[0]
    assert all(labels[t] for t in range(25, 45)) and not any(labels[:20]) and not any(labels[50:])


def test_clean_scene_a_lone_flash_and_a_cut_are_no_overlays():
    rgb, dep = scene(n=70, speed=1.0)
    assert not picture_steps(*dists(rgb, dep), CFG).any()
    flash = rgb.copy()
    flash[30:] = translucent_menu(rgb, 30, 70)[30:]  # appears and never goes: one step, no span
    d, r = dists(flash, dep)
    assert list(np.flatnonzero(picture_steps(d, r, CFG))) == [30]
    assert not overlay_mask(d, r, CFG).any()
    # A cut changes the depth too: no step.
    rgb2, dep2 = scene(n=70, speed=1.0, seed=7)
    cut_rgb = np.concatenate([rgb[:35], rgb2[35:]])
    cut_dep = np.concatenate([dep[:35], dep2[35:] * 0.5])
    assert not picture_steps(*dists(cut_rgb, cut_dep), CFG).any()


def test_steps_next_to_explained_frames_do_not_pair():
    # The recording opens on a loading screen (its own check finds it), and 25 frames after it a
    # menu opens whose end is not seen: without `explained` the loading screen's end would pair
    # with the menu's start and mark the clean frames between.
    rgb, dep = scene(n=90, speed=1.0)
    x = translucent_menu(rgb, 45, 90)
    x[:20] = translucent_menu(rgb, 0, 20)[:20]
    d, r = dists(x, dep)
    assert list(np.flatnonzero(picture_steps(d, r, CFG))) == [20, 45]
    explained = np.zeros(90, bool)
    explained[:20] = True
    assert overlay_mask(d, r, CFG)[20:45].all()  # the wrong pairing
    assert not overlay_mask(d, r, CFG, explained).any()
