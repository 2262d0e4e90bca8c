"""Buffer-Anytime temporal training: trusted-pixel masks and the stabilisation loss."""

from __future__ import annotations

import numpy as np
import torch

from model.benchmarks.procedural import render_clip
from model.bootstrap import BootstrapConfig, BootstrapNet
from model.losses import flow_stabilisation_loss
from model.temporal_training import compute_flow, cycle_mask, edge_mask, train_temporal


def test_cycle_check_keeps_consistent_and_drops_broken_flow():
    n, h, w = 1, 20, 30
    fw = np.zeros((n, h, w, 2), np.float32)
    fw[..., 0] = 2.0  # everything moves 2 px right
    bw = -fw.copy()
    m = cycle_mask(fw, bw)
    assert m[0, :, :27].all() and not m[0, :, 28:].any()  # targets leaving the image are dropped
    bw[0, 5:10, 10:15] = 5.0  # a wrong backward flow region (e.g. occlusion)
    m = cycle_mask(fw, bw)
    assert not m[0, 5:10, 8:13].any() and m[0, 12:, 8:13].all()


def test_edge_mask_excludes_pixels_near_depth_steps():
    d = np.ones((1, 20, 20))
    d[:, :, 10:] = 5.0
    m = edge_mask(d)
    assert not m[0, 10, 9] and not m[0, 10, 10]
    assert m[0, 10, 2] and m[0, 10, 17]


def test_dis_flow_on_rendered_motion_is_mostly_trusted():
    clip = render_clip(3, 48, 48, seed=4, speed=0.1, pan=0.01)
    fw, bw = compute_flow(clip.frames)
    assert fw.shape == (2, 48, 48, 2)
    assert cycle_mask(fw, bw).mean() > 0.5


def test_stabilisation_loss_zero_for_warp_consistent_depth_and_decreases_in_training():
    d = torch.rand(2, 16, 16)
    flow = torch.zeros(1, 16, 16, 2)
    ones = torch.ones(1, 16, 16, dtype=torch.bool)
    same = torch.stack([d[0], d[0]])
    assert float(flow_stabilisation_loss(same, flow, flow, ones, ones)) < 1e-6
    assert float(flow_stabilisation_loss(d, flow, flow, ones, ones)) > 0.1
    assert float(flow_stabilisation_loss(d, flow, flow, ~ones, ~ones)) == 0.0  # masked out entirely

    torch.manual_seed(0)
    net = BootstrapNet(BootstrapConfig(size=32, base_channels=8, levels=3))
    clips = [render_clip(5, 32, 32, seed=s, speed=0.1, pan=0.01).frames for s in range(2)]
    _, hist = train_temporal(net, clips, steps=25, lr=2e-3, window=3, progress=False)
    first = np.mean([h["stab"] for h in hist[:6]])
    last = np.mean([h["stab"] for h in hist[-6:]])
    assert last < 0.8 * first
    assert 0.2 < np.mean([h["trusted"] for h in hist]) < 1.0
