"""Chunked analysis: chunks split after keyframes, run separately, merge to exactly one pass."""

from __future__ import annotations

import math
import os
import pickle
import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from curate.analysis import analyze_chunk, chunks_at, lookahead_frames, plan_chunks, warmup_frames
from curate.config import CurateConfig, SceneConfig
from curate.pipeline import curate_recording, finish_recording
from curate.scenes import ContentScores, make_detector, replay_cuts
from curate.table import ChunkTable, merge_chunks


def _find_test_video() -> Path | None:
    """PySceneDetect's test video in shared/realdata beside a parent of this checkout (or
    $SYNTHDEPTH_REALDATA); None where it is not there (the test that needs it is skipped)."""
    env = os.environ.get("SYNTHDEPTH_REALDATA")
    roots = [Path(env)] if env else []
    roots += [p / "shared" / "realdata" for p in Path(__file__).resolve().parents]
    for r in roots:
        if (r / "pyscenedetect" / "testvideo.mp4").is_file():
            return r / "pyscenedetect" / "testvideo.mp4"
    return None


REALDATA = _find_test_video()


def _config(**over) -> CurateConfig:
    return CurateConfig.load(None, [
        "clips.length=24", "scoring.clip_model=synthdepth-tiny", "scoring.clip_pretrained=null",
        "scoring.clip_random_init=true", "scoring.score_width=64", "frame_checks.work_width=96",
        "scoring.batch_size=8", "analysis.thumbnails=4", "analysis.thumbnail_width=48",
        # the bootstrap tracker runs for the check that reads it: chunks then read look-ahead frames
        "frame_checks.misaligned.enabled=true",
        *[f"{k}={v}" for k, v in over.items()],
    ])


class _Counting:
    """A bootstrap predictor that counts the frames it is given."""

    def __init__(self, inner):
        self.inner, self.frames = inner, 0
        self.batch_size = inner.batch_size
        self.calibration = None

    def predict(self, frames):
        self.frames += len(frames)
        return self.inner.predict(frames)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    from capture.simulate import SimConfig, simulate_recording

    root = tmp_path_factory.mktemp("chunks")
    return simulate_recording(root, SimConfig(width=96, height=54, seconds=12, seed=11, cuts=2,
                                              faults="menu,depth_lag,frozen_depth,cut"))


def _scorer(cfg):
    import torch

    from curate.scoring import CurationScorer
    from model.bootstrap import BootstrapConfig, BootstrapNet, BootstrapPredictor

    torch.manual_seed(0)
    pred = _Counting(BootstrapPredictor(BootstrapNet(BootstrapConfig(size=32, base_channels=8, levels=3))))
    s = CurationScorer(cfg.scoring, predictor=pred)
    s.setup()
    return s


def _same_array(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def _table_diff(a: ChunkTable, b: ChunkTable) -> list[str]:
    out = [k for k in ("readable", "duplicated", "scene_score", "scored", "abs_rel", "delta1", "clip_sim",
                       "boot_sampled", "boot_errors") if not _same_array(getattr(a, k), getattr(b, k))]
    out += [f"features.{k}" for k in a.features if not _same_array(a.features[k], b.features[k])]
    ta, tb = a.thumbs.all(), b.thumbs.all()
    if [t.index for t in ta] != [t.index for t in tb] or not all(_same_array(x.rgb, y.rgb) for x, y in zip(ta, tb, strict=True)):
        out.append("thumbs")
    return out


def _clip_rows(result):
    def norm(v):
        return "nan" if isinstance(v, float) and math.isnan(v) else v
    return [{k: norm(v) for k, v in c.to_row().items()} for c in result.clips]


@pytest.fixture(scope="module")
def one_pass(recording):
    """(config, scorer, the one-pass table, frames the bootstrap was given for it)."""
    import capture

    cfg = _config()
    scorer = _scorer(cfg)
    n = len(capture.open_recording(recording))
    whole = analyze_chunk(recording, chunks_at([0], n, 0, 0)[0], cfg, scorer)
    return cfg, scorer, whole, scorer.bootstrap.predictor.frames


def test_chunked_analysis_merges_to_exactly_one_pass(recording, one_pass, tmp_path):
    cfg, scorer, whole, _ = one_pass
    n = whole.info.num_frames
    first = finish_recording(recording, whole, cfg, scorer)
    # Decisions need only the table: take them again with a depth threshold that drops about half
    # the clips (the models here are random), so decisions and reasons are compared below.
    d1 = float(np.median([c.scores.depth_delta1 for c in first.clips]))
    cfg = _config(**{"decision.depth_thresholds": "absolute", "decision.delta1_min": d1,
                     "decision.clip_similarity_min": 1.01})
    one = finish_recording(recording, whole, cfg, scorer)
    assert one.cuts and len(one.clips) >= 4 and one.info.errors == []
    assert {c.decision for c in one.clips} == {"kept", "dropped"}
    faults = [s for s in one.spans if s.reason.startswith("fault:")]
    assert faults

    # Awkward boundaries: either side of a cut, inside a fault span, on and off the bootstrap's
    # samples and the score grid (every 2nd frame here), near the end.
    c, f = one.cuts[0], faults[len(faults) // 2]
    starts = [c - 1, c + 1, (f.start_frame + f.end_frame) // 2, 2 * (n // 6) + 1, n - 7]
    warm, look = warmup_frames(cfg), lookahead_frames(cfg)
    chunks = chunks_at(starts, n, warm, look)
    assert len(chunks) >= 5 and any(ch.start == c - 1 and ch.read_start == c - 1 - warm for ch in chunks)
    tables = [pickle.loads(pickle.dumps(analyze_chunk(recording, ch, cfg, scorer))) for ch in pickle.loads(pickle.dumps(chunks))]
    tables[2] = ChunkTable.load(tables[2].save(tmp_path / "chunk-2.npz"))  # a flow writes one file per chunk
    random.Random(0).shuffle(tables)
    merged = merge_chunks(tables)
    assert _table_diff(merged, whole) == []
    # no frame is kept: the table is a few hundred bytes per frame (thumbnails bounded apart)
    per_frame = sum(v.nbytes for v in [merged.readable, merged.scene_score, merged.abs_rel, merged.boot_errors,
                                       *merged.features.values()]) / n
    assert per_frame < 400 and len(merged.thumbs.all()) <= 2 * cfg.analysis.thumbnails

    chunked = finish_recording(recording, merged, cfg, scorer)
    assert chunked.cuts == one.cuts
    assert _clip_rows(chunked) == _clip_rows(one)
    assert [s.to_row() for s in chunked.spans] == [s.to_row() for s in one.spans]
    assert chunked.check_masks.keys() == one.check_masks.keys()
    assert all(np.array_equal(chunked.check_masks[k], one.check_masks[k]) for k in one.check_masks)
    assert chunked.previews.keys() == one.previews.keys() and one.previews

    # The comparison can fail: chunks that skip the warm-up and the look-ahead differ from one pass.
    bare = merge_chunks([analyze_chunk(recording, ch, cfg, scorer) for ch in chunks_at(starts, n, 0, 0)])
    diff = _table_diff(bare, whole)
    assert "boot_errors" in diff and "features.rgb_dist" in diff and "features.after_before" in diff


def test_curate_recording_plans_chunks_after_keyframes_and_agrees(recording, one_pass):
    import capture
    from curate.frames import keyframes

    cfg, scorer, whole, _ = one_pass
    rec = capture.open_recording(recording)
    n, keys = len(rec), keyframes(rec)
    chunks = plan_chunks(recording, cfg, chunk_frames=100)
    assert len(chunks) >= 3
    assert chunks[0].start == 0 and chunks[-1].stop == n
    assert all(a.stop == b.start for a, b in zip(chunks, chunks[1:], strict=False))
    warm = warmup_frames(cfg)
    for ch in chunks[1:]:
        assert ch.read_start == ch.start - warm and ch.read_start - 1 in keys  # decoding starts at the keyframe
        assert ch.read_stop == min(n, ch.stop + cfg.frame_checks.lag_max_frames)
    one = finish_recording(recording, whole, cfg, scorer)
    chunked = curate_recording(recording, cfg, scorer, progress=False, chunk_frames=100)
    assert _clip_rows(chunked) == _clip_rows(one)
    assert [s.to_row() for s in chunked.spans] == [s.to_row() for s in one.spans]


def test_bootstrap_predictions_are_shared_with_the_clip_scores(one_pass):
    """The model runs once per sampled frame: the score grid (every 2nd frame here) is a subset of
    the bootstrap tracker's samples, whose predictions the scores reuse."""
    cfg, _, whole, predicted = one_pass
    n = len(whole)
    samples = len(range(0, n, cfg.frame_checks.bootstrap_every))
    batch = cfg.scoring.batch_size
    assert cfg.score_stride() % cfg.frame_checks.bootstrap_every == 0
    assert predicted == -(-samples // batch) * batch  # every model call gets a full batch: the last is padded
    assert whole.scored.sum() == len(range(0, n, cfg.score_stride()))
    assert np.isfinite(whole.abs_rel[whole.scored]).mean() > 0.8 and np.isfinite(whole.clip_sim[whole.scored]).all()


def test_without_a_check_that_reads_it_the_model_runs_only_on_the_score_grid(recording):
    """`misaligned` (the only check that reads the bootstrap's track) is off by default: then no
    tracker runs, chunks read no look-ahead, and the model predicts just the score grid's frames."""
    import capture

    cfg = _config(**{"frame_checks.misaligned.enabled": "false"})
    assert not cfg.frame_checks.tracks_bootstrap() and lookahead_frames(cfg) == 0
    on = _config()
    assert on.frame_checks.tracks_bootstrap() and lookahead_frames(on) == on.frame_checks.lag_max_frames
    scorer = _scorer(cfg)
    n = len(capture.open_recording(recording))
    table = analyze_chunk(recording, chunks_at([0], n, 0, 0)[0], cfg, scorer)
    assert table.boot_errors is None
    grid = len(range(0, n, cfg.score_stride()))
    assert table.scored.sum() == grid and np.isfinite(table.abs_rel[table.scored]).mean() > 0.8
    batch = cfg.scoring.batch_size
    assert scorer.bootstrap.predictor.frames == -(-grid // batch) * batch  # the grid's frames, in full batches


def _piece(whole: ChunkTable, a: int, b: int) -> ChunkTable:
    cut = lambda x: None if x is None else x[a:b]  # noqa: E731
    return ChunkTable(info=whole.info, start=a, stop=b, **{k: cut(getattr(whole, k)) for k in (
        "readable", "duplicated", "scene_score", "scored", "abs_rel", "delta1", "clip_sim", "boot_sampled",
        "boot_errors")}, features={k: v[a:b] for k, v in whole.features.items()})


def test_merge_refuses_gaps_overlaps_and_other_recordings(one_pass):
    whole = one_pass[2]
    n = len(whole)
    a, b, c = _piece(whole, 0, 50), _piece(whole, 50, 120), _piece(whole, 120, n)
    assert _table_diff(merge_chunks([c, a, b]), whole) == ["thumbs"]  # (the pieces carry no thumbnails)
    with pytest.raises(ValueError, match="gap at frame 50"):
        merge_chunks([a, c])
    with pytest.raises(ValueError, match="chunks end at frame 120"):
        merge_chunks([a, b])
    with pytest.raises(ValueError, match="overlap"):
        merge_chunks([a, _piece(whole, 40, 120), c])
    other = _piece(whole, 50, 120)
    other.info = type(whole.info)(**{**whole.info.to_row(), "recording_id": "other"})
    with pytest.raises(ValueError, match="different recordings"):
        merge_chunks([a, other, c])


def _frames(path: str, stop: int, width: int = 256) -> list[np.ndarray]:
    import av

    out = []
    with av.open(path) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= stop:
                break
            a = f.to_ndarray(format="rgb24")
            out.append(cv2.resize(a, (width, round(a.shape[0] * width / a.shape[1])), interpolation=cv2.INTER_AREA))
    return out


@pytest.mark.parametrize("detector", ["content", "adaptive"])
def test_replayed_scores_cut_where_pyscenedetect_cuts(detector):
    """Cuts from stored per-frame scores (computed in chunks) equal the live PySceneDetect detector's."""
    from scenedetect import FrameTimecode

    pytest.importorskip("av")
    if REALDATA is None:
        pytest.skip("shared/realdata/pyscenedetect/testvideo.mp4 not found")
    frames = _frames(REALDATA, 420)
    fps = 29.97
    cfg = SceneConfig(detector=detector)
    live = make_detector(cfg)
    found: list[int] = []
    for i, f in enumerate(frames):
        found += [t.frame_num for t in live.process_frame(FrameTimecode(i, fps=fps), np.ascontiguousarray(f[..., ::-1]))]
    found += [t.frame_num for t in live.post_process(FrameTimecode(len(frames) - 1, fps=fps))]
    expected = sorted({c for c in found if c > 0})
    assert expected[:3] == [30, 180, 394]  # the video's hard cuts (PySceneDetect's goldens)

    # scores in three chunks, each reading one frame before its first row
    scores = np.full(len(frames), np.nan)
    for a, b in [(0, 181), (181, 393), (393, len(frames))]:
        sc = ContentScores(cfg, fps)
        for i in range(max(0, a - 1), b):
            s = sc.push(i, frames[i])
            if i >= a:
                scores[i] = s
    assert replay_cuts(scores, fps, cfg) == expected


def test_a_decode_error_makes_the_rest_of_its_chunk_unreadable(recording, one_pass):
    """A reader that gives up mid-file (an error other than a damaged frame, which costs only that
    frame: see the next test): the rest of its chunk becomes an "unreadable" span; the next chunk
    reads again, and every frame is still accounted for."""
    import capture
    from capture.errors import CaptureError
    from curate.clips import check_accounting

    cfg, scorer, whole, _ = one_pass

    class Failing(type(capture.open_recording(recording))):
        def stream(self, start=0, stop=None, **kw):
            for p in super().stream(start, stop, **kw):
                if p.index == 100:
                    raise CaptureError(self.path, "frame 100 cannot be decoded (injected)")
                yield p

    rec = Failing(recording)
    n = len(rec)
    chunks = chunks_at([0, 180], n, warmup_frames(cfg), lookahead_frames(cfg))
    t = merge_chunks([analyze_chunk(recording, ch, cfg, scorer, recording=rec) for ch in chunks])
    assert t.readable[:100].all() and not t.readable[100:180].any() and t.readable[180:].all()
    assert np.isnan(t.scene_score[100:180]).all()
    assert np.array_equal(t.features["luma_mean"][:100], whole.features["luma_mean"][:100])
    r = finish_recording(recording, t, cfg, scorer)
    assert [(s.start_frame, s.end_frame) for s in r.spans if s.reason == "unreadable"] == [(100, 180)]
    assert any("frame 100" in e and "injected" in e for e in r.info.errors)
    assert any(f"only {n - 80} of {n} frames" in e for e in r.info.errors)
    assert check_accounting(n, r.clips, r.spans) == []
    assert r.clips and all(c.end_frame <= 100 or c.start_frame >= 180 for c in r.clips)


def test_analysis_size_takes_a_whole_number_factor_near_the_target():
    from curate.frames import analysis_size

    assert analysis_size(1920, 1080, 256) == (240, 135)  # 8x: OpenCV's fast area path
    assert analysis_size(1280, 720, 256) == (256, 144)
    assert analysis_size(640, 360, 256) == (320, 180)
    assert analysis_size(1366, 768, 256) == (256, 144)  # no whole factor within 25%: the exact width
    assert analysis_size(200, 100, 256) == (200, 100)  # never upscaled


def test_chunk_length_is_not_hashed_but_analysis_settings_are():
    base = _config()
    assert _config(**{"analysis.chunk_seconds": 7}).config_hash() == base.config_hash()
    assert _config(**{"analysis.width": 200}).config_hash() != base.config_hash()
    assert _config(**{"analysis.score_every": 4}).config_hash() != base.config_hash()


def test_a_corrupt_frame_file_costs_curation_that_frame_only(tmp_path):
    """Curation reads on after a damaged frame: one corrupt PNG in a 150-frame image sequence is one
    unreadable frame, not the rest of the recording."""
    from capture.writer import write_recording

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:54, 0:96].astype(np.float64)
    frames = [(rng.integers(0, 256, (54, 96, 3), dtype=np.uint8), 0.1 + 0.6 * xx / 96 + 0.2 * yy / 54 + 0.001 * i)
              for i in range(150)]
    mp = write_recording(tmp_path, "seq", frames, layout="image_sequence", encoding="gray8", fps=30.0)
    bad = tmp_path / "seq_rgb/000075.png"
    data = bad.read_bytes()
    bad.write_bytes(data[:20] + bytes(rng.integers(0, 256, len(data) - 20, dtype=np.uint8)))
    cfg = _config(**{"scoring.clip_pretrained": "null", "scoring.clip_random_init": "false"})
    r = curate_recording(mp, cfg, progress=False)
    unreadable = [s for s in r.spans if s.reason == "unreadable"]
    assert sum(s.end_frame - s.start_frame for s in unreadable) == 1 and unreadable[0].start_frame == 75
    assert any("000075.png" in e for e in r.info.errors)
    assert r.info.status == "ok"
