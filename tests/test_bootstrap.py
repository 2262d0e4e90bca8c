"""Bootstrap depth model: losses, training, checkpoints, picks CSV."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from capture.errors import InputError
from model.benchmarks.procedural import render_clip
from model.bootstrap import (
    BootstrapConfig,
    BootstrapNet,
    BootstrapPredictor,
    load_bootstrap,
    load_picks_csv,
    save_bootstrap,
    train_bootstrap,
)
from model.losses import ssi_loss, tgm_loss
from model.predictor import DepthPredictor, fit_scale_shift

TINY = BootstrapConfig(size=32, base_channels=8, levels=3, batch_size=2, train_frames=3)


def test_fit_scale_shift_recovers_affine_and_ignores_invalid():
    rng = np.random.default_rng(0)
    pred = rng.uniform(1, 5, (3, 8, 8))
    target = 2.5 * pred - 0.7
    target[0, 0, 0] = np.nan  # ignored
    valid = np.ones_like(pred, bool)
    valid[1, :2] = False
    target[1, :2] = 1e6  # outliers outside the mask must not matter
    s, b = fit_scale_shift(pred, target, valid)
    assert s == pytest.approx(2.5, abs=1e-9) and b == pytest.approx(-0.7, abs=1e-9)
    with pytest.raises(ValueError, match="constant"):
        fit_scale_shift(np.ones((4, 4)), np.arange(16.0).reshape(4, 4))
    with pytest.raises(ValueError, match="valid pixels"):
        fit_scale_shift(pred, np.full_like(pred, np.nan))


def test_ssi_loss_is_affine_invariant_but_not_sign_invariant():
    g = torch.rand(2, 16, 16) + 0.5
    assert float(ssi_loss(3.0 * g + 7.0, g)) < 1e-5
    assert float(ssi_loss(-g, g)) > 1.0  # inverted depth is punished (positive scale only)
    noisy = g + 0.3 * torch.rand_like(g)
    valid = torch.ones_like(g, dtype=torch.bool)
    valid[:, :, :8] = False
    bad = g.clone()
    bad[:, :, :8] = 100.0  # garbage outside the mask is ignored
    assert float(ssi_loss(bad, g, valid)) < 1e-5
    assert float(ssi_loss(noisy, g)) > 0.05


def test_tgm_loss_sees_flicker_not_offsets():
    g = torch.rand(1, 4, 8, 8) * 0.01 + torch.linspace(0, 1, 8)[None, None, None, :]
    assert float(tgm_loss(2.0 * g + 1.0, g)) < 1e-4
    flick = g.clone()
    flick[:, 1::2] += 0.03  # small per-frame flicker, below the 0.05 threshold on the target
    assert float(tgm_loss(flick, g)) > 0.01


def test_training_lowers_loss_and_predictor_follows_protocol():
    clips = [render_clip(6, 32, 32, seed=s) for s in range(3)]
    net, hist = train_bootstrap([(c.frames, c.depth) for c in clips], TINY, steps=60, lr=3e-3, progress=False)
    first = np.mean([h["loss"] for h in hist[:10]])
    last = np.mean([h["loss"] for h in hist[-10:]])
    assert last < 0.7 * first
    pred = BootstrapPredictor(net).predict(clips[0].frames[:, :30, :])  # non-square input size
    assert isinstance(BootstrapPredictor(net), DepthPredictor)
    assert pred.shape == (6, 30, 32) and pred.dtype == np.float32 and np.isfinite(pred).all()
    assert BootstrapPredictor(net).predict(clips[0].frames[0]).shape == (32, 32)
    with pytest.raises(InputError):
        BootstrapPredictor(net).predict(clips[0].frames.astype(np.float32))


def test_checkpoint_roundtrip_and_errors(tmp_path):
    net = BootstrapNet(TINY)
    path = save_bootstrap(tmp_path / "b.safetensors", net)
    frames = render_clip(2, 32, 32).frames
    loaded = load_bootstrap(path)
    assert loaded.config == TINY
    np.testing.assert_allclose(loaded.predict(frames), BootstrapPredictor(net).predict(frames), atol=1e-6)
    with pytest.raises(InputError, match="not found") as e:
        load_bootstrap(tmp_path / "missing.safetensors")
    assert "missing.safetensors" in str(e.value)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.safetensors"):
        load_bootstrap(junk)
    from safetensors.torch import save_file

    other = BootstrapConfig(size=32, base_channels=4, levels=3)
    sd = {k: v.contiguous() for k, v in BootstrapNet(other).state_dict().items()}
    save_file(sd, str(tmp_path / "mm.safetensors"), metadata={"format": "synthdepth-bootstrap", "config": TINY.to_json()})
    with pytest.raises(InputError, match="wrong shape"):
        load_bootstrap(tmp_path / "mm.safetensors")


def test_picks_csv(tmp_path):
    p = tmp_path / "picks.csv"
    p.write_text("manifest,start_frame,end_frame\nrec/a.json,0,30\n/abs/b.json,10,20\n")
    rows = load_picks_csv(p)
    assert rows == [(str(tmp_path / "rec/a.json"), 0, 30), ("/abs/b.json", 10, 20)]
    p.write_text("manifest,start_frame,end_frame\na.json,0,30\nb.json,20,10\n")
    with pytest.raises(InputError, match=r"picks.csv.*line 3"):
        load_picks_csv(p)
    p.write_text("manifest,start_frame,end_frame\na.json,zero,30\n")
    with pytest.raises(InputError, match="line 2.*integers"):
        load_picks_csv(p)
    p.write_text("recording,start,end\na.json,0,30\n")
    with pytest.raises(InputError, match="header"):
        load_picks_csv(p)


def _labelled_clips(n_clips: int, frames: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Frames whose pixel value is their global index, so a split can be checked exactly."""
    out, k = [], 0
    for _ in range(n_clips):
        rgb = np.zeros((frames, 8, 8, 3), np.uint8)
        dep = np.zeros((frames, 8, 8), np.float32)
        for i in range(frames):
            rgb[i] = k % 256
            dep[i] = 1.0 + k
            k += 1
        out.append((rgb, dep))
    return out


def test_holdout_windows_are_never_trained_on():
    from model.bootstrap import split_holdout

    clips = _labelled_clips(2, 130)
    train, held = split_holdout(clips, 0.25, 30, seed=3, gap=5, min_windows=2)
    assert len(held) == 2 and all(len(r) >= 30 for r, _ in held)
    trained = {int(d[0, 0]) for _, dd in train for d in dd}
    for _, dd in held:
        ids = {int(d[0, 0]) for d in dd}
        near = set(range(min(ids) - 5, max(ids) + 6))
        assert not (near & trained)  # window and its gap are out of training
    assert len(trained) + sum(len(r) for r, _ in held) >= 260 - 2 * 2 * 5 - 2
    assert split_holdout(clips, 0.0, 30) == (clips, [])  # no holdout: everything trains
    # few frames for 60-frame windows: the windows shrink so there are still ~5 held-out clips
    _, held = split_holdout(clips, 0.25, 60)
    assert len(held) >= 5 and all(10 <= len(r) < 60 for r, _ in held)


def test_calibration_is_stored_in_the_checkpoint_and_old_checkpoints_have_none(tmp_path):
    from curate.config import DecisionConfig
    from curate.decision import resolve_thresholds

    c = render_clip(48, 24, 32, seed=1)
    net, _ = train_bootstrap([(c.frames, c.depth)], TINY, steps=2, progress=False, holdout=0.3, calib_window=12,
                             threads=1)
    cal = net.calibration
    assert cal is not None and cal["clips"] == 1 and cal["num_samples"] == 10
    assert cal["held_out_frames"] >= 12 and cal["train_frames"] <= 48 - 12
    assert 0.0 <= cal["delta1"][0] <= 1.0 and cal["abs_rel"][0] > 0
    assert np.all(np.diff(cal["quantiles"]["delta1"]) >= 0)
    p = load_bootstrap(save_bootstrap(tmp_path / "cal.safetensors", net))
    assert p.calibration == cal
    # an old checkpoint (no calibration in the metadata) loads; curation falls back to absolute thresholds
    net.calibration = None
    old = load_bootstrap(save_bootstrap(tmp_path / "old.safetensors", net))
    assert old.calibration is None
    t = resolve_thresholds(DecisionConfig(), old.calibration)
    assert t.source == "absolute" and "no calibration" in t.note


def test_whole_clips_held_out_calibrate_and_are_never_trained_on():
    from curate.config import DecisionConfig
    from curate.decision import resolve_thresholds

    clips = [(c.frames, c.depth) for c in (render_clip(24, 24, 32, seed=s) for s in (1, 2, 3))]
    net, _ = train_bootstrap(clips, TINY, steps=2, progress=False, calib_window=12, threads=1, holdout_clips=1)
    cal = net.calibration
    # the last clip, whole, in 12-frame windows; the first two, whole, for training
    assert cal["held_out"] == "whole clips" and cal["clips"] == 2 and cal["held_out_frames"] == 24
    assert cal["train_frames"] == 48
    t = resolve_thresholds(DecisionConfig(auto_min_clips=2), cal)
    assert t.source == "auto" and "unseen picks" in t.note
    with pytest.raises(ValueError, match="leaves no clip"):
        train_bootstrap(clips, TINY, steps=1, progress=False, threads=1, holdout_clips=3)
