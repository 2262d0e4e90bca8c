"""Catalog latency at 1,000,000 and 10,000,000 clips in the flows' layout, through dataset.catalog.open.

    python bench/catalog_query.py [--sizes 1000000 10000000] [--clips-per-recording 1000] [--repeat 7]

Layout (as the flows write it): ROOT/curated/<recording_id>/{clips,spans,recordings}.parquet, one
folder per recording, and ROOT/shards/shard-NNNNNN.parquet for the kept clips (~2,100 per shard;
tars are not written, the catalog reads only Parquet). Rows are synthetic, columns are exactly
common.schema's (so a column added there is generated too).

A query's time is until its result is an Arrow table (as dataset.query.run_query, `synthdepth
query` and the loader's --where fetch it). Each step runs in its own process, so its peak RSS is
its own:
  build    first catalog.open(root): reads every file into ROOT/catalog.duckdb
  query    catalog.open(root) of the fresh file, then the typical queries (median of --repeat)
  refresh  one new recording folder and one new shard appear (a curate and a shard stage ran):
           catalog.open(root) refreshes incrementally; the queries see them
  live     (sizes <= --live-max) the same queries over the live Parquet views (open_parquet),
           the baseline the file replaces
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.schema import CLIP_SCHEMA, RECORDING_SCHEMA, SPAN_SCHEMA  # noqa: E402
from dataset.shard_schema import SHARD_SCHEMA  # noqa: E402

GAMES = ["GTA V", "Cyberpunk 2077", "Red Dead Redemption 2", "The Witcher 3", "Forza Horizon 5", "Skyrim"]
REASONS = ["low_alignment", "menu", "loading", "frozen_depth", "depth_lag", "black"]
CLIP_LEN = 150
EXTRA_REC, EXTRA_SHARD = 90_000_000, 900_000  # the recording and shard the refresh step adds
RECS_PER_SHARD = 3

# The questions users ask; the loader's filter is exactly what dataset.loader.select_by_query runs.
QUERIES = {
    "hours by game": "SELECT game, sum(hours) AS hours, count(*) AS clips FROM clips WHERE decision = 'kept' "
    "GROUP BY game ORDER BY hours DESC",
    "loader --where (game + similarity)": "SELECT tar_path, key FROM clips WHERE key IS NOT NULL AND "
    "decision = 'kept' AND (game = 'GTA V' AND clip_similarity > 0.8)",
    "drop reasons": "SELECT r AS reason, count(*) AS n FROM (SELECT unnest(reasons) AS r FROM clips "
    "WHERE decision <> 'kept') GROUP BY r ORDER BY n DESC",
    "clip by id": "SELECT * FROM clips WHERE clip_id = '{cid}'",
    "recording's clips": "SELECT start_frame, decision, reasons FROM clips WHERE recording_id = '{rid}' ORDER BY 1",
    "unbalanced recordings": "SELECT count(*) FROM frames_accounting WHERE NOT balanced",
    "shards summary": "SELECT count(*), sum(num_clips), sum(tar_bytes) FROM shards",
    "AbsRel quantiles by game": "SELECT game, quantile_cont(depth_abs_rel, [0.1, 0.5, 0.9]) FROM clips GROUP BY game",
}
TYPICAL = ("hours by game", "loader --where (game + similarity)", "drop reasons", "clip by id")


# ---- synthetic data ------------------------------------------------------------------------------


def _fill(schema: pa.Schema, n: int, given: dict, rng: np.random.Generator) -> pa.Table:
    """A table of `schema`: the `given` columns, others made up by type (floats random in [0, 1))."""
    cols = []
    for f in schema:
        if f.name in given:
            v = given[f.name]
        elif pa.types.is_floating(f.type):
            v = rng.random(n)
        elif pa.types.is_integer(f.type):
            v = np.zeros(n, np.int64)
        elif pa.types.is_boolean(f.type):
            v = np.ones(n, bool)
        elif pa.types.is_list(f.type):
            v = pa.array([[]] * n, f.type)
        elif pa.types.is_map(f.type):
            v = pa.array([[("map", "city")]] * n, f.type)
        else:
            v = pa.array([f.name[:8]] * n, f.type)
        cols.append(v if isinstance(v, pa.Array | pa.ChunkedArray) else pa.array(v, f.type))
    return pa.table(cols, schema=schema)


def _hex_ids(rng: np.random.Generator, n: int) -> pa.Array:
    raw = rng.bytes(16 * n).hex().encode()
    return pa.array(np.frombuffer(raw, dtype="S32")).cast(pa.string())


def _recording(root: Path, r: int, per_rec: int) -> pa.Table:
    """Write one curated folder; returns its kept clip rows (for the shard files)."""
    rng = np.random.default_rng(r)
    rid = f"rec{r:07d}"
    start = np.arange(per_rec, dtype=np.int64) * CLIP_LEN
    kept = rng.random(per_rec) < 0.7
    why = rng.integers(0, len(REASONS), per_rec)
    reasons = pa.array([[] if k else [REASONS[i]] for k, i in zip(kept, why, strict=True)], pa.list_(pa.string()))
    clips = _fill(CLIP_SCHEMA, per_rec, {
        "clip_id": _hex_ids(rng, per_rec), "recording_id": pa.array([rid] * per_rec), "start_frame": start,
        "end_frame": start + CLIP_LEN, "num_frames": np.full(per_rec, CLIP_LEN), "manifest": pa.array([f"{rid}.json"] * per_rec),
        "fps": np.full(per_rec, 30.0), "decision": pa.array(np.where(kept, "kept", "dropped")), "reasons": reasons,
        "depth_threshold_source": pa.array(["auto"] * per_rec)}, rng)  # fmt: skip
    frames = per_rec * CLIP_LEN + 10
    rec = _fill(RECORDING_SCHEMA, 1, {"recording_id": pa.array([rid]), "manifest": pa.array([f"{rid}.json"]),
                                      "game": pa.array([GAMES[r % len(GAMES)]]), "num_frames": np.array([frames]),
                                      "fps": np.array([30.0]), "width": np.array([1920]), "height": np.array([1080]),
                                      "depth_unit": pa.array(["metres"]), "status": pa.array(["ok"])}, rng)  # fmt: skip
    spans = _fill(SPAN_SCHEMA, 1, {"recording_id": pa.array([rid]), "start_frame": np.array([frames - 10]),
                                   "end_frame": np.array([frames]), "reason": pa.array(["transition"])}, rng)  # fmt: skip
    d = root / "curated" / rid
    d.mkdir(parents=True, exist_ok=True)
    for name, t in (("clips", clips), ("recordings", rec), ("spans", spans)):
        pq.write_table(t, d / f"{name}.parquet")
    return clips.filter(pa.array(kept))


def _shard(job: tuple[str, int, int, int, int]) -> int:
    """Curated folders of recordings [lo, hi) and the shard file of their kept clips."""
    root, index, lo, hi, per_rec = job
    root = Path(root)
    kept = pa.concat_tables([_recording(root, r, per_rec) for r in range(lo, hi)])
    n = kept.num_rows
    rng = np.random.default_rng(10**9 + index)
    rid = kept.column("recording_id").to_pylist()
    given = {c: kept.column(c) for c in CLIP_SCHEMA.names}
    given.update({
        "game": pa.array([GAMES[int(x[3:]) % len(GAMES)] for x in rid]), "depth_unit": pa.array(["metres"] * n),
        "width": np.full(n, 1920), "height": np.full(n, 1080), "shard": pa.array([f"shard-{index:06d}.tar"] * n),
        "key": kept.column("clip_id"), "sample_index": np.arange(n), "rgb_bytes": rng.integers(2e6, 6e6, n),
        "depth_bytes": rng.integers(1e6, 3e6, n), "sample_bytes": np.full(n, 5_000_000), "shard_tar_bytes": np.full(n, 10**10),
        "depth_encoding": pa.array(["ffv1_f16"] * n), "rgb_codec": pa.array(["h264"] * n), "rgb_crf": np.full(n, 18)})  # fmt: skip
    (root / "shards").mkdir(exist_ok=True)
    pq.write_table(_fill(SHARD_SCHEMA, n, given, rng), root / "shards" / f"shard-{index:06d}.parquet", compression="zstd")
    return n


def generate(root: Path, clips: int, per_rec: int, first_rec: int = 0, first_shard: int = 0) -> int:
    """ROOT/curated/<rid>/ for clips // per_rec recordings and their shard files; returns #shards."""
    n_rec = max(1, clips // per_rec)
    jobs = [(str(root), first_shard + i, first_rec + lo, first_rec + min(n_rec, lo + RECS_PER_SHARD), per_rec)
            for i, lo in enumerate(range(0, n_rec, RECS_PER_SHARD))]  # fmt: skip
    with mp.get_context("fork").Pool(min(os.cpu_count() or 1, 4)) as pool:
        for _ in pool.imap_unordered(_shard, jobs, chunksize=8):
            pass
    return len(jobs)


# ---- measurement steps (each in its own process) -------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _queries(con, cid: str, rid: str, repeat: int) -> dict[str, tuple[float, int]]:
    out = {}
    for name, sql in QUERIES.items():
        sql = sql.format(cid=cid, rid=rid)
        times, n = [], 0
        for _ in range(repeat):
            t = time.perf_counter()
            n = con.sql(sql).to_arrow_table().num_rows  # as run_query / `synthdepth query` / the loader fetch
            times.append(time.perf_counter() - t)
        out[name] = (1000 * statistics.median(times), n)
    return out


def step(which: str, root: str, repeat: int) -> dict:
    from dataset import catalog

    probe = pq.read_table(Path(root) / "curated" / "rec0000001" / "clips.parquet", columns=["clip_id"])
    cid, rid = probe.column("clip_id")[7].as_py(), "rec0000001"
    t = time.perf_counter()
    con = catalog.open_parquet(root) if which == "live" else catalog.open(root)
    opened = time.perf_counter() - t
    out = {"step": which, "open_s": opened, "rss_after_open_mb": _rss_mb()}
    if which != "build":
        out["queries"] = _queries(con, cid, rid, repeat)
        out["clips"] = con.execute("SELECT count(*) FROM clips").fetchone()[0]
        out["shards"] = con.execute("SELECT count(*) FROM shards").fetchone()[0]
    out["peak_rss_mb"] = _rss_mb()
    return out


def _run_step(which: str, root: Path, repeat: int) -> dict:
    r = subprocess.run([sys.executable, __file__, "--step", which, "--root", str(root), "--repeat", str(repeat)],
                       capture_output=True, text=True, check=False)  # fmt: skip
    if r.returncode != 0:
        raise SystemExit(f"step {which} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _print_queries(label: str, res: dict, base: dict | None = None) -> None:
    print(f"  {label}: open {res['open_s'] * 1000:.0f} ms, peak RSS {res['peak_rss_mb']:.0f} MB"
          + (f", {res['clips']:,} clips, {res['shards']:,} shards" if "clips" in res else ""))  # fmt: skip
    if "queries" not in res:
        return
    print(f"    {'query':36s} {'median ms':>10s} {'rows':>8s}" + (f" {'live ms':>9s} {'x faster':>8s}" if base else ""))
    for name, (ms, n) in res["queries"].items():
        line = f"    {name:36s} {ms:10.1f} {n:8d}"
        if base:
            b = base["queries"][name][0]
            line += f" {b:9.0f} {b / ms:8.1f}"
        print(line)
    typical = [res["queries"][q][0] for q in TYPICAL]
    print(f"    median of the typical queries ({', '.join(TYPICAL)}): {statistics.median(typical):.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--clips-per-recording", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--live-max", type=int, default=1_000_000, help="Largest size also timed on the live Parquet views.")
    ap.add_argument("--keep", type=Path, default=None, help="Build under this folder and keep it (reused if there).")
    ap.add_argument("--step", choices=["build", "query", "refresh", "live"], help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        print(json.dumps(step(args.step, args.root, args.repeat)))
        return
    for size in args.sizes:
        tmp = None if args.keep else tempfile.mkdtemp(prefix="catalog-bench-")
        root = (args.keep / f"clips-{size}") if args.keep else Path(tmp)
        try:
            per = args.clips_per_recording
            n_rec = max(1, size // per)
            print(f"{size:,} clips in {n_rec:,} recording folders ({per} clips each):")
            if not (root / "curated").exists():
                t = time.perf_counter()
                n_shards = generate(root, size, per)
                print(f"  generated in {time.perf_counter() - t:.0f} s: {3 * n_rec:,} curated files + {n_shards:,} "
                      f"shard files, {sum(p.stat().st_size for p in root.rglob('*.parquet')) / 1e9:.2f} GB of Parquet")  # fmt: skip
            for p in [*root.glob(f"curated/rec{EXTRA_REC}*"), *root.glob(f"shards/shard-{EXTRA_SHARD}*"),
                      *root.glob("*catalog.duckdb*")]:  # what an earlier run added (--keep)
                shutil.rmtree(p) if p.is_dir() else p.unlink()
            build = _run_step("build", root, args.repeat)
            db = (root / "catalog.duckdb").stat().st_size
            print(f"  first open (build ROOT/catalog.duckdb): {build['open_s']:.1f} s, peak RSS "
                  f"{build['peak_rss_mb']:.0f} MB, file {db / 1e9:.2f} GB")  # fmt: skip
            query = _run_step("query", root, args.repeat)
            live = _run_step("live", root, max(1, args.repeat // 3)) if size <= args.live_max else None
            _print_queries("catalog.open (file up to date)", query, live)
            if live:
                _print_queries("open_parquet (live Parquet views, the old path)", live)
            # A curate and a shard stage add one recording and one shard: an incremental refresh.
            generate(root, per, per, first_rec=EXTRA_REC, first_shard=EXTRA_SHARD)
            refresh = _run_step("refresh", root, args.repeat)
            _print_queries("catalog.open after one new recording + shard (incremental refresh)", refresh)
        finally:
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
