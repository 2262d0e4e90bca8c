"""Evaluation metrics: known answers, the published protocol, TAE, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from capture.errors import InputError
from model.benchmarks.procedural import render_clip
from model.evaluate import align_prediction, depth_metrics, tae


def _published_protocol(infs: np.ndarray, gts: np.ndarray, max_depth: float) -> list[float]:
    """Independent transcription of VDA/DepthCrafter `eval_depthcrafter` + metric.py (torch)."""
    valid_mask = np.logical_and((gts > 1e-3), (gts < max_depth))
    gt_disp_masked = 1.0 / (gts[valid_mask].reshape((-1, 1)).astype(np.float64) + 1e-8)
    infs = np.clip(infs, a_min=1e-3, a_max=None)
    pred_disp_masked = infs[valid_mask].reshape((-1, 1)).astype(np.float64)
    A = np.concatenate([pred_disp_masked, np.ones_like(pred_disp_masked)], axis=-1)
    scale, shift = np.linalg.lstsq(A, gt_disp_masked, rcond=None)[0]
    aligned = np.clip(scale * infs + shift, a_min=1e-3, a_max=None)
    pred_depth = np.zeros_like(aligned)
    pos = aligned > 0
    pred_depth[pos] = 1.0 / aligned[pos]
    pred_depth = np.clip(pred_depth, a_min=1e-3, a_max=max_depth)
    p, g, v = torch.from_numpy(pred_depth), torch.from_numpy(gts), torch.from_numpy(valid_mask)
    keep = v.sum((-1, -2)) > 0
    p, g, v = p[keep], g[keep], v[keep]
    n = v.sum((-1, -2))
    rel = torch.abs(p - g) / g
    rel[~v] = 0
    absrel = (rel.sum((-1, -2)) / n).mean().item()
    diff = p - g
    diff[~v] = 0
    rmse = torch.sqrt((diff**2).sum((-1, -2)) / n).mean().item()
    bit = (torch.max(p / g, g / p) < 1.25).float()
    bit[~v] = 0
    d1 = (bit.sum((-1, -2)) / n).mean().item()
    return [absrel, rmse, d1]


def test_matches_published_protocol_on_random_arrays():
    rng = np.random.default_rng(3)
    for trial in range(4):
        gt = rng.uniform(0.2, 12.0, (5, 20, 24))
        gt[rng.random(gt.shape) < 0.1] = 0.0  # holes
        if trial == 1:
            gt[2] = 0.0  # a frame without valid pixels is dropped
        pred = (1.0 / gt.clip(0.3)) * rng.uniform(0.5, 2.0) + rng.normal(0, 0.3, gt.shape)
        pred = pred.astype(np.float32)
        ref = _published_protocol(pred.copy(), gt.copy(), 10.0)
        got = depth_metrics(pred, np.where(gt == 0, np.nan, gt), max_depth=10.0)
        assert got["abs_rel"] == pytest.approx(ref[0], abs=1e-6)
        assert got["rmse"] == pytest.approx(ref[1], abs=1e-6)
        assert got["delta1"] == pytest.approx(ref[2], abs=1e-6)
        assert got["frames"] == (4 if trial == 1 else 5)


def test_perfect_and_affine_disparity_give_zero_error():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0.5, 8.0, (4, 16, 16))
    m = depth_metrics(1.0 / gt, gt, max_depth=10.0)
    assert m["abs_rel"] < 1e-7 and m["delta1"] == 1.0 and m["rmse"] < 1e-6
    m = depth_metrics(3.7 / gt + 0.25, gt, max_depth=10.0)  # positive affine of true disparity
    assert m["abs_rel"] < 1e-7 and m["delta1"] == 1.0
    m = depth_metrics(2.0 * gt - 0.3, gt, space="depth")  # affine of depth, depth space
    assert m["abs_rel"] < 1e-9 and m["scale"] == pytest.approx(0.5)
    m = depth_metrics(gt, gt, space="depth", align="none")
    assert m["abs_rel"] == 0.0 and m["delta3"] == 1.0


def test_scale_jitter_punished_by_video_forgiven_by_frame_alignment():
    rng = np.random.default_rng(1)
    gt = rng.uniform(1.0, 9.0, (6, 12, 12))
    jitter = np.array([1.0, 1.6, 0.7, 1.3, 0.8, 1.5])[:, None, None]
    pred = jitter / gt
    video = depth_metrics(pred, gt, max_depth=10.0, align="video")
    frame = depth_metrics(pred, gt, max_depth=10.0, align="frame")
    assert frame["abs_rel"] < 1e-7
    assert video["abs_rel"] > 0.15 and video["delta1"] < 0.9


def test_tae_zero_for_consistent_depth_and_positive_for_flicker():
    clip = render_clip(6, 48, 48, seed=2, speed=0.2, pan=0.02)
    t0 = tae(clip.depth, clip.poses, clip.K)
    assert t0 < 0.03  # exact geometry; only nearest-pixel rounding at depth edges remains
    # fronto-parallel wall, camera moving along z: exact zero
    wall = np.full((3, 10, 10), 5.0)
    poses = np.stack([np.eye(4)] * 3)
    poses[:, 2, 3] = [0.0, 0.5, 1.0]
    wall = wall - poses[:, 2, 3][:, None, None]
    K = np.array([[8.0, 0, 4.5], [0, 8.0, 4.5], [0, 0, 1]])
    assert tae(wall, poses, K) == pytest.approx(0.0, abs=1e-12)
    flick = clip.depth * np.array([1.0, 1.1, 0.95, 1.1, 0.9, 1.05])[:, None, None]
    assert tae(flick, clip.poses, clip.K) > 3 * t0


def test_bad_inputs_raise():
    gt = np.ones((2, 4, 4))
    with pytest.raises(InputError, match="shape"):
        depth_metrics(np.ones((2, 4, 5)), gt)
    with pytest.raises(InputError, match="NaN"):
        depth_metrics(np.full((2, 4, 4), np.nan), gt)
    with pytest.raises(InputError, match="no valid"):
        depth_metrics(np.ones((2, 4, 4)), np.zeros((2, 4, 4)))
    with pytest.raises(InputError, match="align"):
        align_prediction(gt, gt, align="median")
    with pytest.raises(InputError, match="poses"):
        tae(gt, np.eye(4)[None], np.eye(3))
    with pytest.raises(InputError, match="> 0"):
        tae(np.zeros((2, 4, 4)), np.stack([np.eye(4)] * 2), np.eye(3))
