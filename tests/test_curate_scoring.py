"""Model scores: scale-shift-fitted depth metrics, the tiny open_clip model, and the scorer stage."""

from __future__ import annotations

import numpy as np
import pytest

from curate.clip_model import ClipUnavailable, load_clip
from curate.config import ScoringConfig
from curate.scoring import CurationScorer, depth_metrics


def _depth(seed=0):
    rng = np.random.default_rng(seed)
    d = np.full((32, 48), 8.0, np.float32)
    d[8:24, 10:30] = 2.0 + rng.random()
    return d + rng.random(d.shape).astype(np.float32) * 0.1


def test_depth_metrics_are_invariant_to_scale_and_shift():
    d = _depth()
    ar, d1, aligned = depth_metrics(0.5 * d - 1.0, d)
    assert ar < 1e-5 and d1 == 1.0 and np.allclose(aligned, d, atol=1e-4)
    ar2, d12, _ = depth_metrics(np.roll(d, 16, axis=1), d)  # misaligned prediction
    assert ar2 > 0.2 and d12 < 0.8


def test_tiny_clip_similarity_is_one_for_identical_images():
    emb = load_clip("synthdepth-tiny", None, allow_random=True)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (2, 40, 60, 3), dtype=np.uint8)
    e = emb.embed(a)
    assert e.shape == (2, 32)
    assert float((e[0] * e[0]).sum()) == pytest.approx(1.0, abs=1e-5)
    assert float((e[0] * e[1]).sum()) < 0.9999


def test_missing_weights_say_how_to_provide_them(tmp_path):
    with pytest.raises(ClipUnavailable, match="not a local checkpoint"):
        load_clip("synthdepth-tiny", str(tmp_path / "missing.pt"))
    with pytest.raises(ClipUnavailable, match="no CLIP weights"):
        load_clip("synthdepth-tiny", None)


class _Perfect:
    """A predictor that returns an affine copy of a known depth (stands in for a trained model)."""

    def __init__(self, depth):
        self.depth = depth

    def predict(self, frames):
        return np.stack([3.0 * self.depth + 1.0] * len(frames)).astype(np.float32)


def test_scorer_medians_and_unavailable_clip_is_nan():
    d = _depth()
    rgb = np.zeros((4, 32, 48, 3), np.uint8)
    cfg = ScoringConfig(clip_pretrained=None, clip_random_init=False)
    scorer = CurationScorer(cfg, predictor=_Perfect(d))
    scorer.setup()
    assert not scorer.clip.available and any("CLIP UNAVAILABLE" in n for n in scorer.notes)
    s = scorer.score_samples(rgb, np.stack([d] * 4))
    assert max(s.abs_rel) < 1e-4 and min(s.delta1) == 1.0 and s.clip_sim == []
    bad = scorer.score_samples(rgb, np.stack([np.roll(d, 16, axis=1)] * 4))
    assert min(bad.abs_rel) > 0.2

    cfg2 = ScoringConfig(clip_model="synthdepth-tiny", clip_pretrained=None, clip_random_init=True)
    scorer2 = CurationScorer(cfg2, predictor=_Perfect(d))
    scorer2.setup()
    s2 = scorer2.score_samples(rgb, np.stack([d] * 4))
    # captured and (perfectly) predicted depth colourise identically: cosine similarity 1
    assert np.allclose(s2.clip_sim, 1.0, atol=1e-4)


@pytest.mark.parametrize("median, trusted", [(0.45, False), (0.8, True)])
def test_a_checkpoint_votes_only_when_its_calibration_shows_it_can(tmp_path, median, trusted):
    from model.bootstrap import BootstrapConfig, BootstrapNet, save_bootstrap

    cal = {"delta1": [median - 0.05, median, median + 0.05, median], "abs_rel": [0.2] * 4,
           "held_out": "whole clips"}
    path = save_bootstrap(tmp_path / "b.safetensors", BootstrapNet(BootstrapConfig(size=32, base_channels=4,
                                                                                    levels=2)),
                          BootstrapConfig(size=32, base_channels=4, levels=2), calibration=cal)
    s = CurationScorer(ScoringConfig(bootstrap=str(path), clip_pretrained=None, device="cpu"))
    s.setup()
    assert s.bootstrap.available is trusted
    note = " ".join(s.notes)
    assert ("NOT USED" in note) is (not trusted) and f"{median:.2f}" in note
    # the rule can be waived
    s2 = CurationScorer(ScoringConfig(bootstrap=str(path), clip_pretrained=None, device="cpu",
                                      bootstrap_trust="always"))
    s2.setup()
    assert s2.bootstrap.available


def test_unseen_picks_calibrate_by_default():
    from model.bootstrap import holdout_picks_for

    assert holdout_picks_for(6) == 2 and holdout_picks_for(4) == 1
    assert holdout_picks_for(3) == 0  # too few to spare one: windows of every pick
    assert holdout_picks_for(6, 0) == 0 and holdout_picks_for(6, 3) == 3
