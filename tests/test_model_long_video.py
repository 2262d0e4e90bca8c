"""Long-video strategies on 300 frames with a 16-frame window: coverage, bounded windows, seams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.config import ModelConfig
from model.data import render_clip

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def video():
    rgb, depth = render_clip(11, 300, 16, 16)
    return rgb, depth


@pytest.fixture(scope="module")
def pipes():
    from model.pipeline import DepthPipeline

    torch.manual_seed(0)
    depth = DepthPipeline.from_config(ModelConfig.tiny())
    interp = DepthPipeline.from_config(ModelConfig.tiny())
    interp.denoiser.load_state_dict(depth.denoiser.state_dict())
    interp.to_mode("interp")
    return depth, interp


@pytest.mark.parametrize("strategy", ["keyframes", "depthcrafter", "vda"])
def test_strategy_covers_300_frames_and_reports_seams(strategy, video, pipes):
    from model.long_video import infer_long_video

    rgb, gt = video
    depth_pipe, interp_pipe = pipes
    res = infer_long_video(depth_pipe, rgb, strategy, window=16, num_steps=1, interp_pipe=interp_pipe, gt=gt)
    assert res.depth.shape == (300, 16, 16) and np.isfinite(res.depth).all()
    assert (res.owner >= 0).all()  # every frame finalised by some window
    assert max(len(w) for w in res.windows) <= 16  # model memory bounded by the window
    covered = np.zeros(300, bool)
    for w in res.windows:
        covered[w] = True
    assert covered.all()
    s = res.seams
    assert len(s.boundaries) >= 300 // 16
    assert np.all(np.diff(res.owner)[s.boundaries] != 0)
    for v in (s.jump_boundary, s.jump_interior, s.absrel_boundary, s.absrel_interior,
              s.flicker_boundary, s.flicker_interior):
        assert v is not None and np.isfinite(v) and v >= 0
    if strategy == "keyframes":
        # key frames were predicted jointly with their original indices, spread over the video
        assert res.windows[0][0] == 0 and res.windows[0][-1] == 299 and len(res.windows[0]) == 16


def test_seam_report_sees_a_step_at_a_boundary():
    from model.long_video import seam_report

    gt = np.tile(np.linspace(1, 2, 20)[:, None, None], (1, 4, 4))
    pred = gt.copy()
    pred[10:] += 0.5  # a window that came out with a different shift
    owner = np.repeat([0, 1], 10)
    rep = seam_report(pred, owner, gt)
    assert rep.boundaries == [9]
    assert rep.jump_boundary > 5 * rep.jump_interior
    assert rep.flicker_boundary > 5 * rep.flicker_interior  # after one global scale-shift fit
    assert rep.absrel_boundary > rep.absrel_interior
