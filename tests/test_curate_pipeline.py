"""Scenes, clip planning, frame accounting and the whole curation run on tiny simulated recordings."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from common.records import clip_id_for
from curate.clips import check_accounting, plan_clips
from curate.config import ClipConfig, CurateConfig, SceneConfig
from curate.scenes import detect_cuts


def _config(**over) -> CurateConfig:
    cfg = CurateConfig.load(None, [
        "clips.length=30", "scoring.clip_model=synthdepth-tiny", "scoring.clip_pretrained=null",
        "scoring.clip_random_init=true", "scoring.score_width=64",
        *[f"{k}={v}" for k, v in over.items()],
    ])
    return cfg


def test_scene_cut_found_between_two_different_pictures():
    rng = np.random.default_rng(0)
    a = (rng.random((1, 36, 64, 3)) * 80).astype(np.uint8).repeat(20, 0)
    b = (rng.random((1, 36, 64, 3)) * 80 + 170).astype(np.uint8).repeat(20, 0)
    assert detect_cuts(np.concatenate([a, b]), 30.0, SceneConfig(min_scene_len=5)) == [20]
    assert detect_cuts(np.concatenate([a, a]), 30.0) == []
    assert detect_cuts(np.concatenate([a, b]), 30.0, SceneConfig(detector="adaptive", min_scene_len=5)) == [20]


def test_plan_clips_accounts_for_every_frame():
    labels = [""] * 100
    labels[40:46] = ["fault:black"] * 6
    cfg = ClipConfig(length=15, stride=20)
    segs, clips, spans = plan_clips("r", labels, cuts=[70], config=cfg)
    assert check_accounting(100, clips, spans) == []
    assert [(c.start_frame, c.end_frame) for c in clips] == [(0, 15), (20, 35), (46, 61), (70, 85)]
    reasons = {(s.start_frame, s.end_frame): s.reason for s in spans}
    assert reasons[(40, 46)] == "fault:black"
    assert reasons[(15, 20)] == "remainder" and reasons[(61, 70)] == "remainder"
    assert [len(s) for s in segs] == [40, 24, 30]
    # clip ids are deterministic
    assert clips[0].clip_id == clip_id_for("r", 0, 15) == plan_clips("r", labels, [70], cfg)[1][0].clip_id


def test_short_segment_is_too_short_and_min_length_keeps_a_shorter_clip():
    _, clips, spans = plan_clips("r", [""] * 10, [], ClipConfig(length=30))
    assert clips == [] and [(s.start_frame, s.end_frame, s.reason) for s in spans] == [(0, 10, "too_short")]
    _, clips, spans = plan_clips("r", [""] * 50, [], ClipConfig(length=30, min_length=15))
    assert [(c.start_frame, c.end_frame) for c in clips] == [(0, 30), (30, 50)] and spans == []


def test_overlapping_clips_are_refused():
    with pytest.raises(ValueError):
        ClipConfig(length=30, stride=10)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    from capture.simulate import SimConfig, simulate_recording

    root = tmp_path_factory.mktemp("sim")
    # 160 x 90 is the frame checks' working size; every fault kind is in it, 17 frames each.
    good = simulate_recording(root / "a", SimConfig(width=160, height=90, seconds=6, seed=5))
    broken = root / "broken.json"
    broken.write_text(json.dumps({"id": "broken", "layout": "side_by_side", "media": {"video": "nope.mkv"},
                                  "fps": 30, "depth": {"encoding": "gray8"}}))
    return good, broken


def test_run_curation_writes_files_and_frames_add_up(recordings, tmp_path):
    from capture.simulate import load_ground_truth
    from curate.pipeline import run_curation

    good, broken = recordings
    out = tmp_path / "out"
    summary = run_curation([good, broken], out, _config(), progress=False)
    assert summary.recordings == 2 and summary.failed == 1
    recs = pq.read_table(out / "recordings.parquet").to_pylist()
    bad = next(r for r in recs if r["status"] == "failed")
    assert "nope.mkv" in " ".join(bad["errors"]) or "broken" in bad["manifest"]
    clips = pq.read_table(out / "clips.parquet").to_pylist()
    spans = pq.read_table(out / "spans.parquet").to_pylist()
    n = next(r for r in recs if r["status"] == "ok")["num_frames"]
    assert n == len(load_ground_truth(good)["labels"])
    covered = np.zeros(n, int)
    for r in clips + spans:
        covered[r["start_frame"] : r["end_frame"]] += 1
    assert (covered == 1).all()  # every frame in exactly one clip or span
    assert all(c["config_hash"] == _config().config_hash() for c in clips)
    assert all(c["decision"] in ("kept", "dropped") for c in clips)
    # the thresholds used are recorded with every clip (no bootstrap: the absolute ones)
    assert all(c["depth_threshold_source"] == "absolute" and c["delta1_min"] == 0.7 for c in clips)
    assert all(c["reasons"] for c in clips if c["decision"] == "dropped")
    # the faults of the simulated recording are never inside a kept clip
    labels = load_ground_truth(good)["labels"]
    drop = {"menu", "depth_lag", "frozen_depth", "loading", "fade"}
    for c in clips:
        if c["decision"] == "kept":
            assert not any(set(labels[i].split(",")) & drop for i in range(c["start_frame"], c["end_frame"]))
    html = (out / "report.html").read_text()
    assert "Clip drop reasons" in html and "Where every frame went" in html and "NO BOOTSTRAP" in html
    assert html.count("data:image/png;base64") >= 2  # timeline strip + histograms (+ contact sheets)


def test_bootstrap_checks_run_inside_the_recording_pass(recordings):
    """With a bootstrap model the tracker predicts every `bootstrap_every`-th frame during the one
    decode pass, and its results reach the per-frame labels without breaking the accounting."""
    from curate.clips import check_accounting
    from curate.pipeline import curate_recording
    from curate.scoring import CurationScorer
    from model.bootstrap import BootstrapConfig, BootstrapNet, BootstrapPredictor

    good, _ = recordings
    cfg = _config(**{"frame_checks.bootstrap_every": 3, "frame_checks.misaligned.enabled": "true"})
    net = BootstrapNet(BootstrapConfig(size=32, base_channels=8, levels=3))
    calls = []

    class Counting(BootstrapPredictor):
        def predict(self, frames):
            calls.append(len(frames))
            return super().predict(frames)

    scorer = CurationScorer(cfg.scoring, predictor=Counting(net))
    r = curate_recording(good, cfg, scorer, progress=False)
    n = r.info.num_frames
    track = r.features.bootstrap
    assert track is not None and len(track) == n
    assert np.flatnonzero(track.sampled).tolist() == list(range(0, n, 3))
    assert np.isfinite(track.abs_rel[track.sampled]).mean() > 0.8  # loading screens may clear the depth
    # one call per batch of sampled frames during the pass, plus the clip scoring calls
    assert sum(calls) >= len(range(0, n, 3))
    assert check_accounting(n, r.clips, r.spans) == []
    # an uncalibrated checkpoint: absolute depth thresholds, and the notes say why
    assert r.thresholds["source"] == "absolute" and any("no calibration" in x for x in r.notes)
