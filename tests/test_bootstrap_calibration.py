"""The bootstrap's calibration scores a clean clip exactly as curation scores it (issue 13): same
analysis copy, same model input, same scoring size and resizes, same samples, same median."""

from __future__ import annotations

import math

import numpy as np
import pytest

from common.frames import ScoreSizes, sample_indices
from curate.config import CurateConfig


def _config(*over: str) -> CurateConfig:
    # Frames of 320x180: the analysis copy (256 wide), the model input (128) and the scoring size
    # (192) all differ from each other and from the frame, so a clip scored any other way differs.
    return CurateConfig.load(None, [
        "clips.length=30", "analysis.score_every=1", "frame_checks.bootstrap_input_width=128",
        "scoring.clip_pretrained=null", "scoring.batch_size=8", *over,
    ])


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    from capture.simulate import SimConfig, simulate_recording

    root = tmp_path_factory.mktemp("calib")
    return simulate_recording(root, SimConfig(width=320, height=180, seconds=3, seed=4, faults="none", cuts=0))


def _predictor():
    import torch

    from model.bootstrap import BootstrapConfig, BootstrapNet, BootstrapPredictor

    torch.manual_seed(0)
    return BootstrapPredictor(BootstrapNet(BootstrapConfig(size=32, base_channels=8, levels=3)))


def test_calibration_scores_a_clean_clip_as_curation_does(clean):
    import capture
    from curate.analysis import analyze_chunk, chunks_at
    from curate.pipeline import finish_recording
    from curate.scoring import CurationScorer
    from flows.picks import read_picks
    from model.bootstrap import calibrate, clip_depth_score

    cfg = _config()
    sizes = cfg.score_sizes()
    assert sizes == ScoreSizes(analysis_width=256, pred_width=128, score_width=192, num_samples=10)
    pred = _predictor()
    scorer = CurationScorer(cfg.scoring, predictor=pred)
    scorer.setup()
    rec = capture.open_recording(clean)
    n = len(rec)
    table = analyze_chunk(clean, chunks_at([0], n, 0, 0)[0], cfg, scorer)
    result = finish_recording(clean, table, cfg, scorer)
    assert table.scored.all() and len(result.clips) >= 2

    grid = np.flatnonzero(table.scored)
    windows, curated = [], []
    for clip in result.clips:
        a, b = np.searchsorted(grid, [clip.start_frame, clip.end_frame])
        idx = sample_indices(grid[a:b].tolist(), sizes.num_samples)
        assert len(idx) == sizes.num_samples < clip.end_frame - clip.start_frame
        # the clip's score in curation's output is the median of its sampled frames' table rows
        ar, d1 = float(np.nanmedian(table.abs_rel[idx])), float(np.nanmedian(table.delta1[idx]))
        assert math.isfinite(ar) and math.isfinite(d1)
        assert clip.scores.depth_abs_rel == pytest.approx(ar, rel=1e-6)
        assert clip.scores.depth_delta1 == pytest.approx(d1, rel=1e-6)
        # the clip read as `bootstrap train` reads a pick
        [(rgb, depth)] = read_picks([(str(clean), clip.start_frame, clip.end_frame)], sizes, say=lambda m: None)
        windows.append((rgb, depth))
        curated.append((ar, d1))
        # the calibration's score of the same clip: the same number
        c_ar, c_d1 = clip_depth_score(pred, rgb, depth, sizes)
        assert c_ar == pytest.approx(ar, abs=1e-6)  # the table holds float32 (measured: < 1e-8 apart)
        assert c_d1 == pytest.approx(d1, abs=1e-6)

    # ... and what the checkpoint stores is those scores, with the sizes they were made at
    cal = calibrate(pred, windows, sizes)
    assert cal["abs_rel"] == pytest.approx([a for a, _ in curated], abs=2e-6)  # stored to 6 decimals
    assert cal["delta1"] == pytest.approx([d for _, d in curated], abs=2e-6)
    assert (cal["analysis_width"], cal["pred_width"], cal["score_width"], cal["num_samples"]) == (256, 128, 192, 10)

    # The comparison can fail: the same clips scored the way the calibration used to (no analysis
    # copy, the model given the scoring-size frame) are off by far more than the tolerance.
    for (rgb, depth), (ar, d1) in zip(windows, curated, strict=True):
        old = clip_depth_score(pred, rgb, depth, ScoreSizes(analysis_width=320, pred_width=192, score_width=192))
        assert max(abs(old[0] - ar), abs(old[1] - d1)) > 1e-4


def test_calibration_defaults_are_curations_and_the_cli_passes_the_curation_config(clean, tmp_path):
    from typer.testing import CliRunner

    from flows.cli_bootstrap import app
    from model.bootstrap import load_bootstrap

    # the model layer's default numbers are curation's defaults
    assert CurateConfig().score_sizes() == ScoreSizes()

    picks = tmp_path / "picks.csv"
    picks.write_text(f"manifest,start_frame,end_frame\n{clean},0,40\n{clean},40,80\n")
    out = tmp_path / "boot.safetensors"
    sets = ["scoring.score_width=64", "frame_checks.bootstrap_input_width=96", "scoring.num_samples=4"]
    args = ["--picks", str(picks), "--out", str(out), "--steps", "1", "--size", "32", "--base-channels", "4",
            "--holdout-picks", "1", "--calib-window", "20", "--threads", "1"]
    for s in sets:
        args += ["--set", s]
    r = CliRunner().invoke(app, args)  # `synthdepth bootstrap train` (the group's one command)
    assert r.exit_code == 0, r.output
    cal = load_bootstrap(out).calibration
    want = CurateConfig.load(None, sets).score_sizes()
    assert want.analysis_width == 256  # from curate's config (the largest consumer width), not the model
    assert (cal["analysis_width"], cal["pred_width"], cal["score_width"], cal["num_samples"]) == (256, 96, 64, 4)
    assert cal["clips"] == 2 and cal["held_out"] == "whole clips"

    bad = CliRunner().invoke(app, [*args, "--set", "scoring.score_width=3"])
    assert bad.exit_code == 2 and "score_width" in bad.output
