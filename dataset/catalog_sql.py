"""The catalog's SQL, written once for both catalogs: the DuckDB file (ROOT/catalog.duckdb, where
the derived relations are tables kept up to date) and the live Parquet views (where they are views).

Raw relations, one row per Parquet row, every column the files hold (old files lacking a newer
column read as NULL), plus `_file` (the file the row came from):
    _recordings_raw, _clips_raw, _spans_raw, _shard_raw (+ tar_path)
Derived relations, each keyed so that a changed file recomputes only its own rows:
    clips          by clip_id / recording_id
    _shards        by tar_path
    _frame_counts  by recording_id
Views over them, the same in both catalogs: recordings, spans, shard_clips, shards, frames_accounting.
Columns are chosen by name from what the relations hold, never by position, so a column added to
`common.records` reaches the views without edits here.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from common.schema import CLIP_SCHEMA, RECORDING_SCHEMA, SPAN_SCHEMA
from dataset.shard_schema import SHARD_SCHEMA

KINDS = ("recordings", "clips", "spans", "shards")
RAW = {"recordings": "_recordings_raw", "clips": "_clips_raw", "spans": "_spans_raw", "shards": "_shard_raw"}
SCHEMAS = {"recordings": RECORDING_SCHEMA, "clips": CLIP_SCHEMA, "spans": SPAN_SCHEMA, "shards": SHARD_SCHEMA}
# Recording facts a clip row takes from its recording (or, for a clip sharded from a curated dir
# that is not under the root, from its shard row).
REC_FACTS = ("game", "tags", "width", "height", "depth_unit")
VIEWS = ("recordings", "clips", "spans", "shard_clips", "shards", "frames_accounting")


def raw_schema(kind: str) -> pa.Schema:
    """The Arrow schema of a raw relation: the row schema plus `_file` (and `tar_path` for shards)."""
    s = SCHEMAS[kind].append(pa.field("_file", pa.string()))
    return s.append(pa.field("tar_path", pa.string())) if kind == "shards" else s


def read_files_sql(kind: str, urls: list[str]) -> str:
    """SELECT of the rows of `urls` (Parquet files of one kind) with `_file` (and `tar_path`)."""
    lst = ", ".join(literal(u) for u in urls)
    extra = ", regexp_replace(filename, '\\.parquet$', '.tar') AS tar_path" if kind == "shards" else ""
    return (f"SELECT * EXCLUDE (filename), filename AS _file{extra} "
            f"FROM read_parquet([{lst}], union_by_name = true, filename = true)")  # fmt: skip


def columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE {relation})").fetchall()]


def clips_sql(con: duckdb.DuckDBPyConnection, where: str = "") -> str:
    """Every clip (kept and dropped, plus sharded clips whose curated dir is not under the root),
    with hours, its recording's facts and its shard's columns. `where` (on the raw rows, e.g. some
    recording_id) limits it: an incremental refresh recomputes only the rows it touched."""
    clip_cols = [c for c in columns(con, "_clips_raw") if c != "_file"]
    shard_cols = [c for c in columns(con, "_shard_raw") if c != "_file"]
    from_shard = ", ".join(ident(c) for c in clip_cols if c in shard_cols)
    shard_only = [c for c in shard_cols if c not in clip_cols and c not in REC_FACTS]  # incl. tar_path
    only = f" WHERE {where}" if where else ""
    curated, sharded = f"(SELECT * FROM _clips_raw{only})", f"(SELECT * FROM _shard_raw{only})"
    return f"""
        WITH c AS {curated}, s AS {sharded}, base AS (
          SELECT * EXCLUDE (_file) FROM c
          UNION ALL BY NAME  -- sharded clips whose curated dir is not under root
          SELECT {from_shard} FROM s WHERE NOT EXISTS (SELECT 1 FROM c WHERE c.clip_id = s.clip_id)
        )
        SELECT b.*, b.num_frames / NULLIF(b.fps, 0) / 3600.0 AS hours,
               coalesce(r.game, s.game, 'unknown') AS game, coalesce(r.tags, s.tags) AS tags,
               coalesce(s.width, r.width) AS width, coalesce(s.height, r.height) AS height,
               coalesce(r.depth_unit, s.depth_unit) AS depth_unit,
               {", ".join(f"s.{ident(c)}" for c in shard_only)}
        FROM base b
        LEFT JOIN recordings r USING (recording_id)
        LEFT JOIN s USING (clip_id)  -- a clip is in one shard set (rerun = same keys)
    """


def shards_sql(where: str = "") -> str:
    """One row per shard file (`where` limits it to some tar_path)."""
    return f"""
        SELECT shard, tar_path, count(*) AS num_clips, sum(num_frames) AS num_frames,
               sum(num_frames / NULLIF(fps, 0)) / 3600.0 AS hours,
               any_value(shard_tar_bytes) AS tar_bytes, sum(rgb_bytes) AS rgb_bytes,
               sum(depth_bytes) AS depth_bytes, list(DISTINCT game ORDER BY game) AS games,
               any_value(depth_encoding) AS depth_encoding
        FROM _shard_raw {f"WHERE ({where})" if where else ""} GROUP BY shard, tar_path
    """


def frame_counts_sql(where: str = "") -> str:
    """Kept, dropped and discarded frames per recording (`where` limits it to some recording_id)."""
    w = f"WHERE ({where})" if where else ""
    return f"""
        WITH c AS (
          SELECT recording_id,
                 sum(num_frames) FILTER (WHERE decision = 'kept') AS kept,
                 sum(num_frames) FILTER (WHERE decision <> 'kept') AS dropped
          FROM _clips_raw {w} GROUP BY recording_id
        ), s AS (
          SELECT recording_id, sum(end_frame - start_frame) AS discarded FROM _spans_raw {w} GROUP BY recording_id
        )
        SELECT recording_id, coalesce(c.kept, 0)::BIGINT AS kept, coalesce(c.dropped, 0)::BIGINT AS dropped,
               coalesce(s.discarded, 0)::BIGINT AS discarded
        FROM c FULL OUTER JOIN s USING (recording_id)
    """


# Views over the raw relations (the derived ones use `recordings`) ...
RAW_VIEWS_SQL = """
    CREATE OR REPLACE VIEW recordings AS  -- first row wins when several curated dirs list a recording
      SELECT * EXCLUDE (_file) FROM _recordings_raw
      QUALIFY row_number() OVER (PARTITION BY recording_id ORDER BY manifest, _file) = 1;
    CREATE OR REPLACE VIEW spans AS SELECT * EXCLUDE (_file) FROM _spans_raw;
    CREATE OR REPLACE VIEW shard_clips AS SELECT * EXCLUDE (_file), _file AS parquet_path FROM _shard_raw;
"""
# ... and over the derived ones.
DERIVED_VIEWS_SQL = """
    CREATE OR REPLACE VIEW shards AS SELECT * FROM _shards ORDER BY tar_path;
    CREATE OR REPLACE VIEW frames_accounting AS
      SELECT r.recording_id, r.game, r.status, r.num_frames,
             coalesce(f.kept, 0)::BIGINT AS kept_frames,
             coalesce(f.dropped, 0)::BIGINT AS dropped_frames,
             coalesce(f.discarded, 0)::BIGINT AS discarded_frames,
             (coalesce(f.kept, 0) + coalesce(f.dropped, 0) + coalesce(f.discarded, 0))::BIGINT AS accounted_frames,
             r.num_frames = (coalesce(f.kept, 0) + coalesce(f.dropped, 0) + coalesce(f.discarded, 0)) AS balanced
      FROM recordings r LEFT JOIN _frame_counts f USING (recording_id)
      ORDER BY r.recording_id;
"""


def literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
