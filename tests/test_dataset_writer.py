"""Shard writer: round trip, determinism, resume after a real SIGKILL, bad shards."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from capture.errors import InputError
from common.records import Clip, ClipScores, RecordingInfo, Span
from dataset.config import ShardConfig
from dataset.depth_store import decode_depth, stored_precision
from dataset.rgb_store import RGB_TOLERANCE, decode_rgb, psnr
from dataset.shard_writer import iter_tar_samples, verify_shard, write_arrays

REPO = Path(__file__).resolve().parents[1]


def synthetic_clip(t: int, h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth moving picture (codec-friendly like game frames) and depth with a NaN sky."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = rng.uniform(0, 6.28, 3)
    rgb = np.empty((t, h, w, 3), np.uint8)
    depth = np.empty((t, h, w), np.float32)
    for i in range(t):
        # Luma detail with gentle colour, like rendered game frames (4:2:0 keeps luma at full size).
        luma = 120 + 80 * np.sin(xx / 9 + yy / 13 + phase[0] + 0.2 * i)
        for c in range(3):
            rgb[i, ..., c] = np.clip(luma + 25 * np.sin(yy / 20 + phase[c]), 0, 255).astype(np.uint8)
        ground = 2.0 + 40.0 * (yy / h) ** 2 + 0.05 * i  # perspective-like ramp
        depth[i] = ground + 0.5 * np.sin(xx / 7 + i * 0.1)
        depth[i, : h // 6] = np.nan  # sky: invalid
    return rgb, depth


def make_items(n_rec: int = 2, clips_per_rec: int = 4, t: int = 8, h: int = 48, w: int = 64, seed: int = 0):
    """(items for write_arrays, clip rows incl. dropped, recordings rows, spans rows)."""
    items, rows, recs, spans = [], [], [], []
    for r in range(n_rec):
        rid = f"rec{r}"
        frame = 0
        for k in range(clips_per_rec):
            kept = k != 1
            clip = Clip(rid, frame, frame + t, manifest=f"/data/{rid}/manifest.json", fps=30.0,
                        decision="kept" if kept else "dropped", reasons=[] if kept else ["menu"],
                        scores=ClipScores(clip_similarity=0.7 + 0.05 * k + 0.02 * r, depth_abs_rel=0.1))  # fmt: skip
            rows.append(clip.to_row())
            if kept:
                rgb, depth = synthetic_clip(t, h, w, seed + 100 * r + k)
                items.append((clip.to_row(), rgb, depth))
            frame += t
        spans.append(Span(rid, frame, frame + 3, "transition").to_row())
        recs.append(RecordingInfo(rid, f"/data/{rid}/manifest.json", game="GTA V" if r == 0 else "Cyberpunk 2077",
                                  tags={"weather": "rain" if r else "sun"}, num_frames=frame + 3, fps=30.0,
                                  width=w, height=h, depth_unit="metres").to_row())  # fmt: skip
    return items, rows, recs, spans


def write_curated(d: Path, rows, recs, spans) -> None:
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), d / "clips.parquet")
    recs = [{**r, "tags": list(r["tags"].items())} for r in recs]
    schema = pa.schema([("recording_id", pa.string()), ("manifest", pa.string()), ("game", pa.string()),
                        ("tags", pa.map_(pa.string(), pa.string())), ("num_frames", pa.int64()),
                        ("fps", pa.float64()), ("width", pa.int64()), ("height", pa.int64()),
                        ("depth_unit", pa.string()), ("status", pa.string()), ("errors", pa.list_(pa.string()))])  # fmt: skip
    pq.write_table(pa.Table.from_pylist(recs, schema=schema), d / "recordings.parquet")
    span_schema = pa.schema([("recording_id", pa.string()), ("start_frame", pa.int64()),
                             ("end_frame", pa.int64()), ("reason", pa.string())])  # fmt: skip
    pq.write_table(pa.Table.from_pylist(spans, schema=span_schema), d / "spans.parquet")


def dir_digest(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir()) if p.is_file()}


def test_round_trip_rgb_within_tolerance_and_depth_bit_exact(tmp_path):
    items, _, recs, _ = make_items(n_rec=1, clips_per_rec=2)
    res = write_arrays(items, tmp_path, ShardConfig(), {r["recording_id"]: r for r in recs})
    samples = {s["__key__"]: s for s in iter_tar_samples(res.shards[0])}
    assert len(samples) == 1  # the dropped clip is not sharded
    row, rgb, depth = items[0]
    s = samples[row["clip_id"]]
    back_depth = decode_depth(s["depth.mkv"], "ffv1_f16")
    ref = stored_precision(depth, "ffv1_f16")
    assert np.array_equal(np.isnan(back_depth), np.isnan(depth))  # invalid pixels survive
    assert np.array_equal(back_depth.view(np.uint32), ref.view(np.uint32))  # bit-exact at float16
    assert np.nanmax(np.abs(back_depth - depth) / depth) <= 2.0**-11  # float16 relative step
    back_rgb = decode_rgb(s["mp4"])
    assert back_rgb.shape == rgb.shape
    assert np.abs(back_rgb.astype(int) - rgb).mean() <= RGB_TOLERANCE["max_mean_abs_error"]
    assert psnr(back_rgb, rgb) >= RGB_TOLERANCE["min_psnr_db"]
    rec = json.loads(s["json"])
    assert rec["game"] == "GTA V" and rec["num_frames"] == 8 and rec["clip_id"] == row["clip_id"]
    table = pq.read_table(tmp_path / "shard-000000.parquet").to_pylist()
    assert table[0]["valid_fraction"] == pytest.approx(np.isfinite(depth).mean())
    assert table[0]["depth_min"] == pytest.approx(np.nanmin(depth))
    assert verify_shard(res.shards[0]) == 1


@pytest.mark.parametrize("encoding", ["npz_f16", "npz_f32"])
def test_other_depth_encodings_are_exact(tmp_path, encoding):
    from dataset.depth_store import encode_depth

    _, depth = synthetic_clip(4, 16, 24, 1)
    back = decode_depth(encode_depth(depth, encoding), encoding, indices=[3, 1])
    ref = stored_precision(depth, encoding)[[3, 1]]
    assert np.array_equal(back, ref, equal_nan=True)
    if encoding == "npz_f32":
        assert np.array_equal(back, depth[[3, 1]], equal_nan=True)


def test_rollover_by_count_and_size_and_rerun_is_identical(tmp_path):
    items, *_ = make_items(n_rec=2, clips_per_rec=4)  # 6 kept clips
    a = write_arrays(items, tmp_path / "a", ShardConfig(max_shard_samples=4))
    assert [len(list(iter_tar_samples(s))) for s in a.shards] == [4, 2]
    # Input order must not matter: clips are sorted before they are assigned to shards.
    b = write_arrays(list(reversed(items)), tmp_path / "b", ShardConfig(max_shard_samples=4))
    assert dir_digest(tmp_path / "a") == dir_digest(tmp_path / "b")
    # Rerun into the same dir: nothing to write, nothing changes.
    before = dir_digest(tmp_path / "a")
    again = write_arrays(items, tmp_path / "a", ShardConfig(max_shard_samples=4))
    assert again.written == [] and dir_digest(tmp_path / "a") == before
    one = sum(p.stat().st_size for p in [Path(a.shards[0])]) // 4  # ~ one sample
    c = write_arrays(items, tmp_path / "c", ShardConfig(max_shard_bytes=int(one * 2.5)))
    sizes = [Path(s).stat().st_size for s in c.shards]
    assert len(c.shards) >= 3 and max(sizes) <= one * 2.5 + 4096
    assert b.num_clips == 6


def test_changed_config_or_input_is_refused_on_rerun(tmp_path):
    items, *_ = make_items(n_rec=1, clips_per_rec=3)
    write_arrays(items, tmp_path, ShardConfig(max_shard_samples=1))
    with pytest.raises(InputError, match="another shard config"):
        write_arrays(items, tmp_path, ShardConfig(max_shard_samples=1, rgb_crf=23))
    with pytest.raises(InputError, match="other clips"):
        write_arrays(items[1:], tmp_path, ShardConfig(max_shard_samples=1))


_KILL_SCRIPT = """
import pickle, sys, time
sys.path.insert(0, {repo!r})
from dataset.shard_writer import write_arrays
from dataset.config import ShardConfig
import dataset.shard_writer as sw
with open({items_path!r}, "rb") as f:
    items = pickle.load(f)
orig = sw._encode_sample
def slow(*a, **k):
    time.sleep(0.15)  # widen the window so the kill lands mid-shard
    return orig(*a, **k)
sw._encode_sample = slow
write_arrays(items, {out!r}, ShardConfig(max_shard_samples=3))
"""


def test_sigkill_mid_write_then_rerun_gives_identical_dataset(tmp_path):
    items, *_ = make_items(n_rec=3, clips_per_rec=4)  # 9 kept clips -> 3 shards of 3
    ref = write_arrays(items, tmp_path / "ref", ShardConfig(max_shard_samples=3))
    out = tmp_path / "killed"
    # The writer gets the very same arrays: regenerating them in the child can differ in the last
    # bit (numpy's SIMD float32 sin depends on memory alignment), which is not what is under test.
    items_path = tmp_path / "items.pkl"
    items_path.write_bytes(pickle.dumps(items))
    script = _KILL_SCRIPT.format(repo=str(REPO), out=str(out), items_path=str(items_path))
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    # Kill once the first shard is committed and the second is a temp file in progress.
    while time.time() < deadline:
        names = os.listdir(out) if out.exists() else []
        if "shard-000000.parquet" in names and any(n.endswith(".tmp") for n in names):
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    names = os.listdir(out)
    assert "shard-000000.parquet" in names and "_dataset.json" not in names  # really killed mid-way
    assert "shard-000002.parquet" not in names
    res = write_arrays(items, out, ShardConfig(max_shard_samples=3))
    assert "shard-000000.tar" not in [Path(s).name for s in res.written]  # finished shard skipped
    assert dir_digest(out) == dir_digest(tmp_path / "ref")  # byte-identical tars, parquet, stats
    assert not any(n.endswith(".tmp") for n in os.listdir(out))
    assert [verify_shard(s) for s in ref.shards] == [3, 3, 3]


def test_corrupt_truncated_and_mismatched_shards_are_reported(tmp_path):
    items, *_ = make_items(n_rec=3, clips_per_rec=3)
    res = write_arrays(items, tmp_path, ShardConfig(max_shard_samples=2))
    tar0, tar1 = Path(res.shards[0]), Path(res.shards[1])
    data = tar0.read_bytes()
    tar0.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(InputError, match="tar is .* bytes|truncated|corrupt"):
        verify_shard(tar0)
    with pytest.raises(InputError, match="corrupt or truncated"):
        list(iter_tar_samples(tar0))
    # Parquet of another shard next to this tar: keys do not match.
    (tmp_path / "shard-000001.parquet").write_bytes((tmp_path / "shard-000002.parquet").read_bytes())
    with pytest.raises(InputError, match="does not match|bytes but its Parquet|lists"):
        verify_shard(tar1)
