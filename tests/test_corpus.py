"""The evaluation corpus: recordings from real captures, faults injected from outside, the
player-setup writer, the truth sidecar, and the accuracy metrics every curation bench uses."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from capture.simulate.corpus import FaultPlan, inject, make_recording, plan_faults
from capture.simulate.player_setup import linearized
from capture.simulate.real_footage import RealFootageConfig, find_realdata, load_captures, real_footage_source
from capture.simulate.truth import GroundTruth, labels_from_events, load_truth
from common.records import Clip, Span
from curate.accuracy import evaluate, ideal_frames

REAL = find_realdata()
needs_real = pytest.mark.skipif(REAL is None, reason="shared/realdata/re2-757459012 not found")
SMALL = dict(width=96, height=54, fps=15.0, seconds=20.0, scene_seconds=(3.0, 5.0), frames=[3, 8, 12, 15])


@pytest.fixture(scope="module")
def real():
    src = real_footage_source(RealFootageConfig(**SMALL, clean_event_rate=6.0, seed=4))
    frames = list(src.frames())
    return src, np.stack([f[0] for f in frames]), np.stack([f[1] for f in frames])


@needs_real
def test_real_footage_crops_the_captures_depth_without_inventing_values(real):
    src, rgb, depth = real
    assert rgb.shape == (300, 54, 96, 3) and depth.shape == (300, 54, 96)
    caps = {i: d for i, _, d in load_captures(REAL, SMALL["frames"])}
    for s in src.info["scenes"]:
        i = (s["start_frame"] + s["end_frame"]) // 2
        d = depth[i]
        # Nearest-neighbour: every output depth is one the game wrote in that capture.
        assert np.isin(d[np.isfinite(d)], caps[s["capture"]]).all()
        assert np.isinf(d).mean() == pytest.approx(np.isinf(caps[s["capture"]]).mean(), abs=0.25)
    cuts = [e["start_frame"] for e in src.events if e["class"] == "cut"]
    assert cuts == [s["start_frame"] for s in src.info["scenes"][1:]]
    step = np.abs(np.diff(np.log(np.where(np.isfinite(depth), depth, 1e4)), axis=0)).mean(axis=(1, 2))
    within = np.delete(step, [c - 1 for c in cuts])
    assert min(step[c - 1] for c in cuts) > 3 * np.median(within)  # a hard cut at every scene start


@needs_real
def test_real_footage_stills_stop_the_camera_and_flashes_light_the_picture(real):
    src, rgb, depth = real
    kinds = {e["kind"] for e in src.events if e["class"] == "clean"}
    assert {"still", "flash", "light_switch"} <= kinds
    for e in src.events:
        a, b = e["start_frame"], e["end_frame"]
        if e["kind"] == "still":
            assert (rgb[a:b] == rgb[a]).all() and (depth[a:b] == depth[a]).all()
            assert not np.array_equal(rgb[a - 2], rgb[a - 1])  # the camera moved before
        elif e["kind"] == "flash":
            assert rgb[a].astype(float).mean() > rgb[a - 1].astype(float).mean() + 1
            # Picture only: the depth moves on as smoothly as before the flash.
            ld = np.log(np.where(np.isfinite(depth), depth, 1e4))
            assert np.abs(ld[a] - ld[a - 1]).mean() < 3 * np.abs(ld[a - 1] - ld[a - 2]).mean() + 1e-3


@needs_real
def test_injected_faults_do_what_they_say_and_stay_apart(real):
    src, rgb, depth = real
    plan = FaultPlan(per_kind=1, margin=20, keep_clear=6, seed=2)  # frames at 30 fps: 10 and 3 here
    idx, events = plan_faults(src, plan)
    faults = [e for e in events if e["class"] == "fault"]
    assert sorted(e["kind"] for e in faults) == sorted(plan.kinds)
    spans = sorted((e["start_frame"], e["end_frame"]) for e in faults)
    assert all(b1 + 10 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False))
    cuts = [e["start_frame"] for e in events if e["class"] == "cut"]
    assert not any(a - 3 <= c < b + 3 for a, b in spans for c in cuts)
    out = list(inject(iter(zip(rgb, depth, strict=True)), idx, events))
    orgb, odep = np.stack([o[0] for o in out]), np.stack([o[1] for o in out])
    fault_frames = np.zeros(len(out), bool)
    for e in faults:
        a, b = e["start_frame"], e["end_frame"]
        fault_frames[a:b] = True
        if e["kind"] == "depth_lag":
            k = e["lag_frames"]
            assert 1 <= k <= 8 and all(np.array_equal(odep[t], depth[t - k]) for t in range(a, b))
            assert np.array_equal(orgb[a:b], rgb[a:b])
        elif e["kind"] == "frozen_depth":
            assert (odep[a:b] == depth[a]).all() and np.array_equal(orgb[a:b], rgb[a:b])
        elif e["kind"] == "menu":
            assert np.array_equal(odep[a:b], depth[a:b]) and (orgb[a:b] != rgb[a:b]).any(axis=-1).mean() > 0.2
        elif e["kind"] == "loading":
            assert (odep[a:b] == depth[a - 1]).all() and orgb[a:b].mean() < 20
        elif e["kind"] == "fade":
            mid = (a + b) // 2
            assert orgb[mid].mean() < 0.15 * rgb[mid].mean() and np.array_equal(odep[a:b], depth[a:b])
    assert np.array_equal(orgb[~fault_frames], rgb[~fault_frames])
    assert np.array_equal(odep[~fault_frames], depth[~fault_frames])


@needs_real
def test_teleports_skip_ahead_and_are_labelled_cuts(real):
    src, rgb, depth = real
    idx, events = plan_faults(src, FaultPlan(kinds=[], teleports=1, teleport_seconds=(1.0, 1.5), margin=10, seed=1))
    (tp,) = [e for e in events if e.get("teleport")]
    c, j = tp["start_frame"], tp["skip_frames"]
    assert len(idx) == len(rgb) - j and idx[c] == c + j and idx[c - 1] == c - 1
    out = list(inject(iter(zip(rgb, depth, strict=True)), idx, events))
    assert np.array_equal(out[c][0], rgb[c + j]) and np.array_equal(out[c - 1][1], depth[c - 1])
    _, _, cuts = labels_from_events(len(idx), events)
    assert c in cuts
    # The jump skips none of the source's clean events or cuts: they all stay in the recording.
    kept = [(e["kind"], e["end_frame"] - e["start_frame"]) for e in events if e["class"] != "fault" and not e.get("teleport")]
    assert sorted(kept) == sorted((e["kind"], e["end_frame"] - e["start_frame"]) for e in src.events)


@needs_real
@pytest.mark.parametrize("fmt", ["obs_sbs_gray8", "float"])
def test_written_recording_reads_back_to_its_depth_and_truth(tmp_path, fmt):
    import capture

    cfg = RealFootageConfig(**{**SMALL, "seconds": 6.0}, seed=7)
    src = real_footage_source(cfg)
    manifest = make_recording(tmp_path, src, FaultPlan(kinds=["menu", "depth_lag"], margin=10, seed=3), fmt, crf=18)
    truth = load_truth(manifest)
    assert truth.footage == "real" and truth.n_frames == 90
    assert "truth" not in manifest.read_text() and "label" not in manifest.read_text()  # curation sees media only
    assert json.loads(manifest.read_text())["layout"] == ("side_by_side" if fmt == "obs_sbs_gray8" else "separate_files")
    for e in truth.fault_events():
        assert all(e["kind"] in truth.labels[i].split(",") for i in range(e["start_frame"], e["end_frame"]))
    with capture.open_recording(manifest) as rec:
        got = [p.depth for p in rec]
    assert len(got) == 90
    frames = list(inject(src.frames(), np.arange(90), [e for e in truth.events if e["class"] == "fault"]))
    for i in (5, 40, 80):
        z = frames[i][1]
        ok = np.isfinite(z) & (z < 500)
        rel = np.abs(got[i][ok] - z[ok]) / z[ok]
        if fmt == "float":
            assert np.median(rel) < 1e-3
        else:  # gray8 through yuv420p: ~1 grey level of L = z / (z + 100)
            assert np.median(rel) < 0.05
        sky = got[i][np.isinf(z)]
        assert np.isnan(sky).mean() > 0.8  # no surface reads as invalid ...
        # ... or, a few codes below white after H.264, very far
        assert not np.isfinite(sky).any() or np.median(sky[np.isfinite(sky)]) > 1000


def test_linearized_depth_is_reshades_formula():
    z = np.array([0.1, 1.0, 14.0, 50.0, 1e4, np.inf], np.float32)
    L = linearized(z, 0.1, 1000.0)
    raw = 0.1 / z
    d = 1 - raw
    np.testing.assert_allclose(L[:5], (d / (1000 - d * 999))[:5], rtol=1e-5)
    assert L[0] == 0.0 and L[-1] == 1.0
    assert np.all(np.diff(L) > 0)


# ---- the metrics --------------------------------------------------------------------------------


def _truth(n=100):
    events = [{"kind": "menu", "class": "fault", "start_frame": 20, "end_frame": 30},
              {"kind": "depth_lag", "class": "fault", "start_frame": 70, "end_frame": 75, "lag_frames": 3},
              {"kind": "cut", "class": "cut", "start_frame": 50, "end_frame": 51},
              {"kind": "flash", "class": "clean", "start_frame": 40, "end_frame": 42}]
    labels, clean, cuts = labels_from_events(n, events)
    return GroundTruth("r", n, 30.0, labels, clean, cuts, events)


def test_ideal_curator_keeps_whole_windows_between_faults_and_cuts():
    t = _truth()
    # clean runs: [0,20) [30,50) [50,70) [75,100) -> with L = 8: 16 + 16 + 16 + 24
    assert ideal_frames(t.clean_mask(), t.cuts, 8) == 72
    assert ideal_frames(t.clean_mask(), t.cuts, 25) == 25
    assert ideal_frames(np.ones(10, bool), [], 5) == 10


def test_evaluate_counts_faults_kept_out_retention_and_false_marks_by_check_and_event():
    t = _truth()
    clips = [Clip("r", 0, 8, decision="kept"), Clip("r", 8, 16, decision="dropped"),
             Clip("r", 30, 38, decision="kept"), Clip("r", 62, 70, decision="kept"),
             Clip("r", 70, 78, decision="kept"),  # holds the lag: the lag is not kept out
             Clip("r", 80, 88, decision="kept")]
    masks = {"overlay": np.zeros(100, bool), "edge_mismatch": np.zeros(100, bool)}
    masks["overlay"][18:32] = True  # the menu and 4 clean frames around it
    masks["edge_mismatch"][38:46] = True  # fired on the flash
    spans = [Span("r", 48, 52, "transition"), Span("r", 90, 94, "transition")]  # 90-94: no cut there
    result = SimpleNamespace(clips=clips, spans=spans, check_masks=masks)
    a = evaluate(result, t, 8)
    assert a.kinds["menu"].events_excluded == 1 and a.kinds["depth_lag"].events_excluded == 0
    assert a.caught_by["menu"]["overlay"] == 10
    assert a.clean_clips == 5 and a.clean_clips_kept == 4  # 70-78 holds a fault frame
    assert a.fault_clips == 1 and a.fault_clips_kept == 1
    assert a.clean_frames == 85 and a.ideal == 72
    assert a.clean_frames_kept == 8 + 8 + 8 + 3 + 8  # the lag clip keeps its 3 clean frames
    assert a.retention == pytest.approx(35 / 72)
    assert a.marked == {"overlay": 4, "edge_mismatch": 8, "scene_cut": 4}
    assert a.marked_near["overlay"] == 4 and a.marked_any == 16
    # every clean frame no kept clip holds is accounted for, by where it went
    assert sum(a.lost.values()) == a.clean_frames - a.clean_frames_kept
    assert a.lost["dropped:?"] == 8  # the dropped clip 8-16 (no reason given)
    assert a.lost["transition"] == sum(t.clean_mask()[48:52]) + sum(t.clean_mask()[90:94])
    assert a.event_frames["flash"] == 18  # [32, 50) clean frames within 8 of the flash
    assert a.event_marked["flash"]["edge_mismatch"] == 8 and a.event_marked["flash"]["overlay"] == 0
    assert a.event_marked["plain"]["scene_cut"] == 4
    b = evaluate(result, t, 8)
    a.add(b)
    assert a.recordings == 2 and a.retention == pytest.approx(35 / 72) and a.marked["overlay"] == 8


def test_procedural_source_is_the_clean_simulation_with_its_hard_negatives():
    from capture.errors import InputError
    from capture.simulate import SimConfig, simulate_sequence
    from capture.simulate.corpus import procedural_source

    cfg = SimConfig(width=64, height=36, fps=15, seconds=3.0, faults="cut", cuts=1, clean_events="flash",
                    clean_event_rate=20.0, seed=8)
    src = procedural_source(cfg)
    seq = simulate_sequence(cfg)
    frames = list(src.frames())
    assert len(frames) == src.n_frames == 45
    assert all(np.array_equal(f[0], seq.rgb[i]) and np.array_equal(f[1], seq.depth_m[i]) for i, f in enumerate(frames))
    assert {e["class"] for e in src.events} == {"clean", "cut"}
    assert [e["start_frame"] for e in src.events if e["class"] == "cut"] == [
        e["start_frame"] for e in seq.faults if e["kind"] == "cut"]
    with pytest.raises(InputError, match="clean footage"):
        procedural_source(cfg.model_copy(update={"faults": ["menu"]}))


def test_player_setup_video_decodes_the_same_every_time(tmp_path):
    # libx264's macroblock tree made the same frames decode differently from run to run: a seed's
    # corpus, and every bench figure measured on it, moved with the encoder's luck.
    import av

    from capture.simulate import SimConfig, simulate_sequence
    from capture.simulate.player_setup import PlayerSetupWriter

    seq = simulate_sequence(SimConfig(width=192, height=108, fps=30, seconds=4.0, seed=5))

    def decoded(i: int) -> np.ndarray:
        w = PlayerSetupWriter(tmp_path / str(i), "det", "png16", 192, 108, 30.0, 0.1, 100.0)
        for rgb, z in zip(seq.rgb, seq.depth_m, strict=True):
            w.add(rgb, z)
        w.close()
        with av.open(str(tmp_path / str(i) / "det_rgb.mp4")) as c:
            return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])

    first = decoded(0)
    assert all(np.array_equal(first, decoded(i)) for i in (1, 2))


@pytest.mark.parametrize("fmt,exact", [("obs_sbs_gray8", False), ("png16", True), ("float", True)])
def test_a_recording_says_whether_its_depth_reads_back_bit_for_bit(tmp_path, fmt, exact):
    # The depth-lag check asks a rewind of a bit-exact depth to return exactly (a lagging buffer
    # replays its frames); 8-bit grey through H.264 re-encodes them.
    from capture.recording import open_recording
    from capture.simulate import SimConfig, simulate_sequence
    from capture.simulate.player_setup import PlayerSetupWriter

    seq = simulate_sequence(SimConfig(width=64, height=36, fps=15, seconds=1.0, seed=5))
    w = PlayerSetupWriter(tmp_path, "r", fmt, 64, 36, 15.0, 0.1, 100.0)
    for rgb, z in zip(seq.rgb, seq.depth_m, strict=True):
        w.add(rgb, z)
    with open_recording(w.close()) as rec:
        assert rec.depth_exact is exact


@needs_real
def test_a_cached_recording_is_rebuilt_when_the_encoder_settings_changed(tmp_path):
    # Bench corpora are cached across runs; one written by another encoder setup decodes to
    # other pixels, so every figure measured on it would silently differ.
    src = real_footage_source(RealFootageConfig(**{**SMALL, "seconds": 2.0}, seed=7))
    manifest = make_recording(tmp_path, src, None, "float", crf=18)
    truth_path = manifest.parent / "truth.json"
    t = json.loads(truth_path.read_text())
    assert t["source"]["encoder"]
    mtime = manifest.stat().st_mtime_ns
    assert make_recording(tmp_path, src, None, "float", crf=18) == manifest
    assert manifest.stat().st_mtime_ns == mtime  # same settings: reused
    t["source"]["encoder"] = "libx264 with some other settings"
    truth_path.write_text(json.dumps(t))
    make_recording(tmp_path, src, None, "float", crf=18)
    assert json.loads(truth_path.read_text())["source"]["encoder"] != t["source"]["encoder"]  # rebuilt
