"""DuckDB catalog over the Parquet files of curated dirs and shard dirs.

Root layout: `open(root)` searches everything under `root` (local path or any fsspec URL):
  - curated dirs: any folder holding `clips.parquet` (+ `spans.parquet`, `recordings.parquet`),
    as `synthdepth curate` writes them;
  - shard dirs: any `NAME-NNNNNN.parquet` (the sibling of `NAME-NNNNNN.tar`).
Recommended: ROOT/curated/<run>/{clips,spans,recordings}.parquet and ROOT/shards/<name>-*.{tar,parquet}.

Views:
  recordings         one row per recording (first row wins when several curated runs list it)
  clips              every clip, kept and dropped, with scores, reasons, game/tags/resolution of
                     its recording, and shard/key/tar_path once sharded
  spans              discarded frame ranges
  shard_clips        the raw rows of the shard Parquet files (one per sharded clip)
  shards             one row per shard: clips, frames, bytes, games
  frames_accounting  per recording: num_frames = kept + dropped + discarded? (`balanced`)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb
import fsspec
import pyarrow as pa

from capture.errors import InputError
from common.schema import CLIP_SCHEMA, RECORDING_SCHEMA, SPAN_SCHEMA
from dataset.shard_writer import SHARD_SCHEMA

_SHARD_PQ = re.compile(r".+-\d{6}\.parquet$")

RECORDINGS_SCHEMA = RECORDING_SCHEMA
CLIPS_SCHEMA = CLIP_SCHEMA
SPANS_SCHEMA = SPAN_SCHEMA
_CLIP_COLS = CLIPS_SCHEMA.names


def find_files(root: str | Sequence[str]) -> dict[str, list[str]]:
    """Parquet files of each kind under root(s), as URLs DuckDB can read (sorted: stable views)."""
    found: dict[str, list[str]] = {"clips": [], "spans": [], "recordings": [], "shards": []}
    for r in [root] if isinstance(root, str) else root:
        fs, path = fsspec.core.url_to_fs(str(r))
        if not fs.exists(path):
            raise InputError(r, "catalog root does not exist")
        files = [path] if fs.isfile(path) else fs.find(path)
        local = "file" in _protocols(fs)
        for f in sorted(files):
            name = f.rsplit("/", 1)[-1]
            if "/." in f or name.startswith("."):
                continue  # temp files of a writer still at work
            url = f if local else fs.unstrip_protocol(f)
            if name in ("clips.parquet", "spans.parquet", "recordings.parquet"):
                found[name[: -len(".parquet")]].append(url)
            elif _SHARD_PQ.match(name):
                found["shards"].append(url)
    return found


def open(root: str | Sequence[str], connection: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:  # noqa: A001
    """DuckDB connection (in memory) with the catalog views over the Parquet files under root(s)."""
    con = connection or duckdb.connect(":memory:")
    for r in [root] if isinstance(root, str) else root:
        fs, _ = fsspec.core.url_to_fs(str(r))
        if "file" not in _protocols(fs):
            con.register_filesystem(fs)  # DuckDB reads object stores through fsspec
    files = find_files(root)
    _source(con, "_recordings_raw", files["recordings"], RECORDINGS_SCHEMA)
    _source(con, "_clips_raw", files["clips"], CLIPS_SCHEMA)
    _source(con, "spans", files["spans"], SPANS_SCHEMA)
    _source(con, "_shard_raw", files["shards"], SHARD_SCHEMA, filename=True)
    cols = ", ".join(_CLIP_COLS)
    con.execute(
        """
        CREATE OR REPLACE VIEW recordings AS
          SELECT * FROM _recordings_raw
          QUALIFY row_number() OVER (PARTITION BY recording_id ORDER BY manifest) = 1;
        CREATE OR REPLACE VIEW shard_clips AS
          SELECT * EXCLUDE (filename), filename AS parquet_path,
                 regexp_replace(filename, '\\.parquet$', '.tar') AS tar_path
          FROM _shard_raw;
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE VIEW clips AS
          WITH base AS (
            SELECT {cols} FROM _clips_raw
            UNION ALL BY NAME  -- sharded clips whose curated dir is not under root
            SELECT {cols} FROM shard_clips s0 WHERE NOT EXISTS (SELECT 1 FROM _clips_raw c0 WHERE c0.clip_id = s0.clip_id)
          )
          SELECT b.*, b.num_frames / NULLIF(b.fps, 0) / 3600.0 AS hours,
                 coalesce(r.game, s.game, 'unknown') AS game, coalesce(r.tags, s.tags) AS tags,
                 coalesce(s.width, r.width) AS width, coalesce(s.height, r.height) AS height,
                 coalesce(r.depth_unit, s.depth_unit) AS depth_unit,
                 s.shard, s.key, s.tar_path, s.sample_index, s.sample_bytes, s.rgb_bytes, s.depth_bytes,
                 s.depth_min, s.depth_max, s.depth_mean, s.depth_median, s.valid_fraction, s.depth_encoding
          FROM base b
          LEFT JOIN recordings r USING (recording_id)
          LEFT JOIN shard_clips s USING (clip_id);  -- a clip is in one shard set (rerun = same keys)
        CREATE OR REPLACE VIEW shards AS
          SELECT shard, tar_path, count(*) AS num_clips, sum(num_frames) AS num_frames,
                 sum(num_frames / NULLIF(fps, 0)) / 3600.0 AS hours,
                 any_value(shard_tar_bytes) AS tar_bytes, sum(rgb_bytes) AS rgb_bytes,
                 sum(depth_bytes) AS depth_bytes, list(DISTINCT game ORDER BY game) AS games,
                 any_value(depth_encoding) AS depth_encoding
          FROM shard_clips GROUP BY shard, tar_path ORDER BY tar_path;
        CREATE OR REPLACE VIEW frames_accounting AS
          WITH c AS (
            SELECT recording_id,
                   sum(num_frames) FILTER (WHERE decision = 'kept') AS kept,
                   sum(num_frames) FILTER (WHERE decision <> 'kept') AS dropped
            FROM _clips_raw GROUP BY recording_id
          ), s AS (
            SELECT recording_id, sum(end_frame - start_frame) AS discarded FROM spans GROUP BY recording_id
          )
          SELECT r.recording_id, r.game, r.status, r.num_frames,
                 coalesce(c.kept, 0)::BIGINT AS kept_frames,
                 coalesce(c.dropped, 0)::BIGINT AS dropped_frames,
                 coalesce(s.discarded, 0)::BIGINT AS discarded_frames,
                 (coalesce(c.kept, 0) + coalesce(c.dropped, 0) + coalesce(s.discarded, 0))::BIGINT AS accounted_frames,
                 r.num_frames = (coalesce(c.kept, 0) + coalesce(c.dropped, 0) + coalesce(s.discarded, 0)) AS balanced
          FROM recordings r LEFT JOIN c USING (recording_id) LEFT JOIN s USING (recording_id)
          ORDER BY r.recording_id;
        """
    )
    return con


VIEWS = ("recordings", "clips", "spans", "shard_clips", "shards", "frames_accounting")


def _source(con: duckdb.DuckDBPyConnection, name: str, files: list[str], schema: pa.Schema,
            filename: bool = False) -> None:  # fmt: skip
    if not files:
        empty = schema.empty_table()
        if filename:
            empty = empty.append_column("filename", pa.array([], pa.string()))
        con.register(f"{name}_empty", empty)
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {name}_empty")
        return
    lst = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    opts = ", union_by_name = true" + (", filename = true" if filename else "")
    try:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet([{lst}]{opts})")
        con.execute(f"SELECT * FROM {name} LIMIT 0")
    except duckdb.Error as e:
        raise InputError(files[0] if len(files) == 1 else f"{len(files)} files like {files[0]}",
                         f"cannot read as Parquet: {e}") from None  # fmt: skip


def _protocols(fs) -> tuple[str, ...]:
    p = fs.protocol
    return (p,) if isinstance(p, str) else tuple(p)
