"""bench/curation_value.py plumbing: the "all" arm really holds every frame curation threw away, fault
frames are counted against ground-truth labels, the epoch cycle outlives one pass, results add up."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "curation_value.py"


@pytest.fixture(scope="module")
def cv():
    spec = importlib.util.spec_from_file_location("curation_value", _PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["curation_value"] = mod
    spec.loader.exec_module(mod)
    return mod


def _recs():
    return {
        "rec-b": {"num_frames": 95, "manifest": "/x/rec-b.json", "fps": 30.0, "status": "ok"},
        "rec-a": {"num_frames": 60, "manifest": "/x/rec-a.json", "fps": 30.0, "status": "ok"},
        "rec-bad": {"num_frames": 90, "manifest": "/x/bad.json", "fps": 30.0, "status": "failed"},
    }


def test_fixed_windows_cover_every_frame_but_the_tail(cv):
    rows = cv.fixed_windows(_recs(), 30)
    by = {}
    for r in rows:
        by.setdefault(r["recording_id"], []).append((r["start_frame"], r["end_frame"]))
        assert r["num_frames"] == 30 and r["end_frame"] - r["start_frame"] == 30 and r["decision"] == "kept"
        assert "." not in r["clip_id"]
    assert by == {"rec-a": [(0, 30), (30, 60)], "rec-b": [(0, 30), (30, 60), (60, 90)]}  # failed one skipped
    assert len({r["clip_id"] for r in rows}) == len(rows)
    # deterministic ids, the same the curation stage would give the same range
    from common.records import clip_id_for

    assert rows[0]["clip_id"] == clip_id_for("rec-a", 0, 30)


def test_fault_frames_counts_only_fault_kinds(cv):
    labels = {"r": [""] * 10 + ["menu"] * 5 + ["hud"] * 5 + ["cut"] * 2 + ["depth_lag,hud"] * 3 + [""] * 5}
    rows = [{"recording_id": "r", "start_frame": 0, "end_frame": 10},  # clean
            {"recording_id": "r", "start_frame": 8, "end_frame": 18},  # 5 menu frames
            {"recording_id": "r", "start_frame": 18, "end_frame": 30}]  # hud/cut clean, 3 lag frames
    assert cv.fault_frames(rows, labels) == (8, 2)
    assert cv.kept_rows([{"decision": "kept"}, {"decision": "dropped"}]) == [{"decision": "kept"}]


def test_summary_and_paired_difference(cv, tmp_path):
    rows = []
    for seed, (a, c) in enumerate([(0.50, 0.40), (0.60, 0.44)]):
        for arm, v in (("all", a), ("curated", c)):
            rows.append({"seed": seed, "arm": arm, "clips": 3, "frames": 90, "fault_frames": 0, "fault_clips": 0,
                         "steps": 5, "loss_first": 1.0, "loss_last": 0.5, "abs_rel": v, "delta1": 1 - v,
                         "tae_x100": 10 * v, "train_s": 1.0})
    summ = {s["arm"]: s for s in cv.summarise(rows)}
    assert summ["all"]["abs_rel"] == pytest.approx(0.55) and summ["curated"]["abs_rel"] == pytest.approx(0.42)
    assert summ["all"]["abs_rel_std"] == pytest.approx(0.0707107, rel=1e-4)  # sample std of 0.5, 0.6
    d = cv.paired(rows)
    assert [x["abs_rel"] for x in d] == pytest.approx([-0.10, -0.16])
    assert [x["delta1"] for x in d] == pytest.approx([0.10, 0.16])
    cv.write_outputs(tmp_path, rows, {"k": 1})
    csv_lines = (tmp_path / "results.csv").read_text().strip().splitlines()
    assert len(csv_lines) == 1 + len(rows)
    md = (tmp_path / "results.md").read_text()
    assert "| 1 | -0.1600 | +0.1600 | -1.600 |" in md  # the paired row of seed 1
