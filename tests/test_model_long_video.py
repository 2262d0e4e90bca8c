"""Long-video strategies on 300 frames with a 16-frame window: coverage, bounded windows, seams."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_micro import micro_config

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
    depth = DepthPipeline.from_config(micro_config())
    interp = DepthPipeline.from_config(micro_config())
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


@pytest.mark.parametrize("strategy", ["keyframes", "depthcrafter", "vda"])
def test_sink_streams_the_same_frames_in_order_holding_few(strategy, video, pipes):
    """With a sink every frame comes out once, in order, equal to the in-memory result, and the
    strategy never holds more than about two windows of finished frames (memory does not grow
    with the video)."""
    from model import long_video
    from model.long_video import infer_long_video

    rgb, _ = video
    frames = rgb[:120]
    depth_pipe, interp_pipe = pipes
    ref = infer_long_video(depth_pipe, frames, strategy, window=16, num_steps=1, interp_pipe=interp_pipe)
    got, held = [], []
    orig_release = long_video._Output.release

    def spy(self, upto, keep=0):
        orig_release(self, upto, keep)
        held.append(len(self.held))

    long_video._Output.release = spy
    try:
        res = infer_long_video(depth_pipe, frames, strategy, window=16, num_steps=1, interp_pipe=interp_pipe,
                               sink=lambda i, d: got.append((i, d.copy())))
    finally:
        long_video._Output.release = orig_release
    assert res.depth is None and [i for i, _ in got] == list(range(120))
    np.testing.assert_allclose(np.stack([d for _, d in got]), ref.depth, atol=1e-6)
    assert max(held) <= 2 * 16 + 16  # a window of keys + the window in flight (+ vda's key frames)
    assert res.seams.boundaries == ref.seams.boundaries
    assert res.seams.jump_boundary == pytest.approx(ref.seams.jump_boundary, rel=1e-5)


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


@pytest.mark.parametrize("use_sink", [False, True])
def test_keyframes_splits_gaps_twice_on_a_long_video(use_sink, pipes):
    """A gap much longer than the window is split, and its first sub-gap starts at the same key
    frame (60 frames, window 4: keys 0, 20, 39, 59; gap 0-20 -> 0, 7, 13, 20; gap 0-7 -> 0, 2, 5, 7):
    that key's latent must still be there, and every frame must come out."""
    from model.long_video import infer_long_video

    rgb, _ = render_clip(12, 60, 16, 16)
    depth_pipe, interp_pipe = pipes
    got = []
    res = infer_long_video(depth_pipe, rgb, "keyframes", window=4, num_steps=1, interp_pipe=interp_pipe,
                           sink=(lambda i, d: got.append(i)) if use_sink else None)
    assert (res.owner >= 0).all() and max(len(w) for w in res.windows) <= 4
    assert [0, 2, 5, 7] in res.windows  # the twice-split gap was filled from key frame 0
    if use_sink:
        assert got == list(range(60))
    else:
        assert res.depth.shape == (60, 16, 16) and np.isfinite(res.depth).all()
