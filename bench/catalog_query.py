"""DuckDB catalog query latency over generated clip rows (default 1,000,000 clips).

    python bench/catalog_query.py [--rows 1000000] [--repeat 3]
Prints generation time, Parquet size, and median latency of typical filters through dataset.catalog.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.records import clip_id_for  # noqa: E402
from dataset import catalog  # noqa: E402
from dataset.shard_writer import SCORE_COLUMNS, SHARD_SCHEMA  # noqa: E402

GAMES = ["GTA V", "Cyberpunk 2077", "Red Dead Redemption 2", "The Witcher 3", "Forza Horizon 5", "Skyrim"]
REASONS = ["low_alignment", "menu", "loading", "frozen_depth", "depth_lag", "black"]

QUERIES = {
    "count kept by game": "SELECT game, count(*), sum(hours) FROM clips WHERE decision = 'kept' GROUP BY game",
    "loader filter (game + similarity)": "SELECT tar_path, key FROM clips WHERE decision = 'kept' AND "
    "game = 'GTA V' AND clip_similarity > 0.8",
    "drop reasons (unnest)": "SELECT r, count(*) FROM (SELECT unnest(reasons) r FROM clips) GROUP BY r",
    "point lookup by clip_id": "SELECT * FROM clips WHERE clip_id = '{cid}'",
    "frames_accounting unbalanced": "SELECT count(*) FROM frames_accounting WHERE NOT balanced",
    "shards summary": "SELECT count(*), sum(tar_bytes) FROM shards",
    "score quantiles by game": "SELECT game, quantile_cont(depth_abs_rel, [0.1, 0.5, 0.9]) FROM clips GROUP BY game",
}


def generate(root: Path, rows: int, clips_per_rec: int = 100, per_shard: int = 2000) -> str:
    rng = np.random.default_rng(0)
    n_rec = max(1, rows // clips_per_rec)
    rec_idx = np.arange(rows) // clips_per_rec
    start = (np.arange(rows) % clips_per_rec) * 150
    rids = np.array([f"rec{i:07d}" for i in range(n_rec)])
    cids = [clip_id_for(rids[r], int(s), int(s) + 150) for r, s in zip(rec_idx, start, strict=True)]
    kept = rng.random(rows) < 0.7
    reasons = pa.array([[] if k else [REASONS[i % 6]] for k, i in zip(kept, rng.integers(0, 6, rows), strict=True)],
                       pa.list_(pa.string()))  # fmt: skip
    cols = {
        "clip_id": pa.array(cids), "recording_id": pa.array(rids[rec_idx]), "start_frame": start,
        "end_frame": start + 150, "num_frames": np.full(rows, 150), "manifest": pa.array(["m.json"] * rows),
        "fps": np.full(rows, 30.0), "decision": pa.array(np.where(kept, "kept", "dropped")), "reasons": reasons,
        "errors": pa.array([[]] * rows, pa.list_(pa.string())), "config_hash": pa.array(["abc"] * rows),
    }  # fmt: skip
    for c in SCORE_COLUMNS:
        cols[c] = rng.random(rows)
    clips = pa.table(cols)
    (root / "curated").mkdir(parents=True)
    pq.write_table(clips, root / "curated" / "clips.parquet")
    rec = pa.table({"recording_id": rids, "manifest": ["m.json"] * n_rec,
                    "game": [GAMES[i % len(GAMES)] for i in range(n_rec)],
                    "tags": pa.array([[("map", "x")]] * n_rec, pa.map_(pa.string(), pa.string())),
                    "num_frames": np.full(n_rec, clips_per_rec * 150 + 10), "fps": np.full(n_rec, 30.0),
                    "width": np.full(n_rec, 1920), "height": np.full(n_rec, 1080), "depth_unit": ["metres"] * n_rec,
                    "status": ["ok"] * n_rec, "errors": pa.array([[]] * n_rec, pa.list_(pa.string()))})  # fmt: skip
    pq.write_table(rec, root / "curated" / "recordings.parquet")
    pq.write_table(pa.table({"recording_id": rids, "start_frame": np.full(n_rec, clips_per_rec * 150),
                             "end_frame": np.full(n_rec, clips_per_rec * 150 + 10),
                             "reason": ["transition"] * n_rec}), root / "curated" / "spans.parquet")  # fmt: skip
    # Shard Parquet files for the kept clips.
    (root / "shards").mkdir()
    kept_tab = clips.filter(pa.array(kept))
    n = kept_tab.num_rows
    extra = {
        "game": pa.array([GAMES[(int(r[3:])) % len(GAMES)] for r in kept_tab.column("recording_id").to_pylist()]),
        "tags": pa.array([[("map", "x")]] * n, pa.map_(pa.string(), pa.string())), "depth_unit": pa.array(["metres"] * n),
        "width": np.full(n, 1920), "height": np.full(n, 1080), "key": kept_tab.column("clip_id"),
        "sample_index": np.arange(n) % per_shard, "rgb_bytes": rng.integers(2e6, 6e6, n),
        "depth_bytes": rng.integers(1e6, 3e6, n), "json_bytes": np.full(n, 900), "sample_bytes": np.full(n, 5e6).astype(int),
        "sample_sha256": pa.array(["0" * 64] * n), "shard_tar_bytes": np.full(n, 10**9), "depth_encoding": pa.array(["ffv1_f16"] * n),
        "rgb_codec": pa.array(["h264"] * n), "rgb_crf": np.full(n, 18), "depth_min": rng.random(n), "depth_max": rng.random(n) * 100,
        "depth_mean": rng.random(n) * 10, "depth_median": rng.random(n) * 10, "valid_fraction": rng.random(n),
        "shard_config_hash": pa.array(["def"] * n),
    }  # fmt: skip
    shard_no = np.arange(n) // per_shard
    extra["shard"] = pa.array([f"shard-{s:06d}.tar" for s in shard_no])
    full = pa.table({name: (kept_tab.column(name) if name in kept_tab.column_names else extra[name])
                     for name in SHARD_SCHEMA.names}).cast(SHARD_SCHEMA)  # fmt: skip
    for s in range(int(shard_no.max()) + 1):
        lo, hi = s * per_shard, min(n, (s + 1) * per_shard)
        pq.write_table(full.slice(lo, hi - lo), root / "shards" / f"shard-{s:06d}.parquet")
    return cids[rows // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        cid = generate(root, args.rows)
        gen = time.perf_counter() - t
        size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
        nfiles = len(list(root.rglob("*.parquet")))
        print(f"generated {args.rows:,} clip rows in {gen:.1f} s: {nfiles} Parquet files, {size / 1e6:.1f} MB")
        t = time.perf_counter()
        con = catalog.open(str(root))
        print(f"catalog.open: {1000 * (time.perf_counter() - t):.0f} ms")
        print(f"{'query':40s} {'median ms':>10s} {'rows':>8s}")
        for name, sql in QUERIES.items():
            sql = sql.format(cid=cid)
            times, n = [], 0
            for _ in range(args.repeat):
                t = time.perf_counter()
                n = len(con.execute(sql).fetchall())
                times.append(time.perf_counter() - t)
            print(f"{name:40s} {1000 * statistics.median(times):10.1f} {n:8d}")


if __name__ == "__main__":
    main()
