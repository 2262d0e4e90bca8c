"""ROOT/catalog.duckdb: every curated column reaches it, old files still read, incremental refresh
equals a full build and the live Parquet views, readers never see half a refresh (also across
processes and after a SIGKILL), unreadable files are skipped and listed."""

from __future__ import annotations

import importlib
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_dataset_writer import make_items  # noqa: E402

import common.schema  # noqa: E402
from common.records import Clip  # noqa: E402
from dataset import catalog  # noqa: E402
from dataset import catalog_db as D  # noqa: E402
from dataset.config import ShardConfig  # noqa: E402
from dataset.shard_writer import write_arrays  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
THRESHOLDS = {"depth_threshold_source": "auto", "delta1_min": 0.8125, "abs_rel_max": 0.1875}


def write_folder(d: Path, clips: list[dict], recs: list[dict], spans: list[dict]) -> None:
    """One curated folder, written as curation writes it (rows through common.schema's schemas)."""
    d.mkdir(parents=True, exist_ok=True)
    recs = [{**r, "tags": list(r["tags"].items())} if isinstance(r.get("tags"), dict) else r for r in recs]
    sch = common.schema  # looked up now: a test reloads it with a new field
    for name, rows, schema in (("clips", clips, sch.CLIP_SCHEMA), ("recordings", recs, sch.RECORDING_SCHEMA),
                               ("spans", spans, sch.SPAN_SCHEMA)):  # fmt: skip
        tmp = d / f".{name}.parquet.partial"
        pq.write_table(sch.table(rows, schema), tmp)
        os.replace(tmp, d / f"{name}.parquet")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The flows' layout: ROOT/curated/<recording_id>/ for 3 recordings, ROOT/shards/ (real shards)."""
    root = tmp_path_factory.mktemp("catalog-db")
    items, rows, recs, spans = make_items(n_rec=3, clips_per_rec=3, t=4, h=32, w=48)
    rows = [{**r, **THRESHOLDS} for r in rows]
    items = [({**row, **THRESHOLDS}, rgb, depth) for row, rgb, depth in items]
    for rec in recs:
        rid = rec["recording_id"]
        write_folder(root / "curated" / rid, [r for r in rows if r["recording_id"] == rid], [rec],
                     [s for s in spans if s["recording_id"] == rid])  # fmt: skip
    write_arrays(items, root / "shards", ShardConfig(max_shard_samples=2), {r["recording_id"]: r for r in recs})
    return root


@pytest.fixture
def root(base, tmp_path) -> Path:
    r = tmp_path / "root"
    shutil.copytree(base, r, ignore=shutil.ignore_patterns("catalog.duckdb", ".catalog*"))
    return r


def rows_of(con, view: str) -> list[str]:
    """A view's rows, order-free and NaN-safe, for comparing two catalogs."""
    return sorted(repr(r) for r in con.execute(f"SELECT * FROM {view}").fetchall())


def same_as_live(root: Path) -> None:
    """The file catalog holds exactly what the live Parquet views compute from the files."""
    fast, live = catalog.open(str(root)), catalog.open_parquet(str(root))
    for view in catalog.VIEWS:
        assert [c[0] for c in fast.execute(f"DESCRIBE {view}").fetchall()] == \
            [c[0] for c in live.execute(f"DESCRIBE {view}").fetchall()], view  # fmt: skip
        assert rows_of(fast, view) == rows_of(live, view), view


def count(root: Path, sql: str = "SELECT count(*) FROM clips"):
    return catalog.open(str(root)).execute(sql).fetchone()[0]


# ---- columns ----------------------------------------------------------------------------------


def test_every_curated_column_reaches_the_clips_view_and_the_shard_parquet(root):
    written = pq.read_schema(root / "curated" / "rec0" / "clips.parquet").names
    assert {"depth_threshold_source", "delta1_min", "abs_rel_max"} <= set(written)
    shard_cols = pq.read_schema(root / "shards" / "shard-000000.parquet").names
    assert set(written) <= set(shard_cols), set(written) - set(shard_cols)
    for con in (catalog.open(str(root)), catalog.open_parquet(str(root))):
        view = [c[0] for c in con.execute("DESCRIBE clips").fetchall()]
        assert set(written) <= set(view), set(written) - set(view)
        got = con.execute("SELECT DISTINCT decision, depth_threshold_source, delta1_min, abs_rel_max FROM clips "
                          "ORDER BY decision").fetchall()  # fmt: skip
        assert got == [("dropped", "auto", 0.8125, 0.1875), ("kept", "auto", 0.8125, 0.1875)]
    shard = pq.read_table(root / "shards" / "shard-000000.parquet", columns=list(THRESHOLDS)).to_pylist()
    assert shard and all(r == THRESHOLDS for r in shard)
    same_as_live(root)


def test_old_files_without_newer_columns_read_as_null(root):
    # rec1 as an older curate wrote it: no threshold columns, the old recordings layout.
    d = root / "curated" / "rec1"
    old = pq.read_table(d / "clips.parquet").drop_columns(list(THRESHOLDS))
    pq.write_table(old, d / "clips.parquet")
    rec = pq.read_table(d / "recordings.parquet").drop_columns(["bootstrap_trusted", "notes", "usable_frames",
                                                                "kept_frames"])  # fmt: skip
    pq.write_table(rec, d / "recordings.parquet")
    for con in (catalog.open(str(root)), catalog.open_parquet(str(root))):
        got = dict(con.execute("SELECT recording_id, count(delta1_min) FROM clips GROUP BY 1").fetchall())
        assert got == {"rec0": 3, "rec1": 0, "rec2": 3}
        assert con.execute("SELECT kept_frames FROM recordings WHERE recording_id = 'rec1'").fetchone() == (None,)
        assert con.execute("SELECT count(*) FROM frames_accounting WHERE NOT balanced").fetchone() == (0,)
    same_as_live(root)


@pytest.fixture
def clip_with_new_field(monkeypatch):
    """common.records.Clip with one more field, and the modules that derive schemas from it
    reloaded (what a new field does at the next start); dataset/ itself is not touched."""
    import dataclasses

    import common.records
    import common.schema
    import dataset.catalog_sql
    import dataset.shard_schema

    new = dataclasses.make_dataclass("Clip", [("motion_score", float, dataclasses.field(default=math.nan))],
                                     bases=(Clip,))  # fmt: skip
    monkeypatch.setattr(common.records, "Clip", new)
    mods = (common.schema, dataset.shard_schema, dataset.catalog_sql)
    for m in mods:
        importlib.reload(m)
    yield new
    monkeypatch.undo()
    for m in mods:
        importlib.reload(m)


def test_a_field_added_to_the_clip_record_reaches_the_views(root, clip_with_new_field):
    con = catalog.open(str(root))  # built before the field exists in files
    assert "motion_score" in [c[0] for c in con.execute("DESCRIBE clips").fetchall()]
    assert con.execute("SELECT count(*), count(motion_score) FROM clips").fetchone() == (9, 0)  # null-filled
    # A curated folder written with the new record: its values reach the view, the old ones stay null.
    c = clip_with_new_field("rec7", 0, 4, manifest="m", decision="dropped", reasons=["menu"], motion_score=0.5)
    assert "motion_score" in common.schema.CLIP_SCHEMA.names
    write_folder(root / "curated" / "rec7", [c.to_row()], [{"recording_id": "rec7", "manifest": "m"}], [])
    con = catalog.open(str(root))
    assert con.execute("SELECT clip_id, motion_score FROM clips WHERE motion_score IS NOT NULL").fetchall() == [
        (c.clip_id, 0.5)]  # fmt: skip
    same_as_live(root)


def test_a_column_the_code_does_not_know_yet_is_kept(root):
    # Files from newer code than the reader: their extra column is not dropped.
    d = root / "curated" / "rec2"
    t = pq.read_table(d / "clips.parquet")
    pq.write_table(t.append_column("future_score", pa.array([1.5] * t.num_rows)), d / "clips.parquet")
    con = catalog.open(str(root))
    assert con.execute("SELECT recording_id, count(future_score) FROM clips GROUP BY 1 ORDER BY 1").fetchall() == [
        ("rec0", 0), ("rec1", 0), ("rec2", 3)]  # fmt: skip
    same_as_live(root)


# ---- incremental refresh ----------------------------------------------------------------------


def test_incremental_refresh_reads_only_what_changed_and_equals_a_full_build(root, monkeypatch):
    first = catalog.refresh(root)
    assert first.how == "built" and first.added == 12 and first.rebuilt
    assert count(root) == 9
    monkeypatch.setattr(D, "_FULL_REBUILD_SHARE", 10.0)  # this small root would be rebuilt whole
    read: list[str] = []
    real = D._insert_batch
    monkeypatch.setattr(D, "_insert_batch", lambda con, kind, paths: (read.extend(paths), real(con, kind, paths)))
    # A new recording, a re-curated one (a kept clip now dropped), a recording renamed to another
    # game, a recording removed (its 2 sharded clips stay, from their shard), a shard removed.
    items, rows, recs, spans = make_items(n_rec=4, clips_per_rec=2, t=4, h=32, w=48)
    write_folder(root / "curated" / "rec3", [r for r in rows if r["recording_id"] == "rec3"], recs[3:], spans[3:])
    d0 = root / "curated" / "rec0"
    clips0 = pq.read_table(d0 / "clips.parquet").to_pylist()
    clips0[0].update(decision="dropped", reasons=["depth_lag"])
    write_folder(d0, clips0, pq.read_table(d0 / "recordings.parquet").to_pylist(),
                 pq.read_table(d0 / "spans.parquet").to_pylist())  # fmt: skip
    d1 = root / "curated" / "rec1"
    recs1 = pq.read_table(d1 / "recordings.parquet").to_pylist()
    recs1[0]["game"] = "Skyrim"
    write_folder(d1, pq.read_table(d1 / "clips.parquet").to_pylist(), recs1, pq.read_table(d1 / "spans.parquet").to_pylist())
    shutil.rmtree(root / "curated" / "rec2")
    (root / "shards" / "shard-000001.parquet").unlink()  # rec1's
    res = catalog.refresh(root)
    assert (res.added, res.changed, res.removed, res.rebuilt, res.how) == (3, 6, 4, False, "in place")
    assert sorted(read) == sorted(str(p) for p in [*(root / "curated" / "rec3").glob("*.parquet"),
                                                   *d0.glob("*.parquet"), *d1.glob("*.parquet")])  # fmt: skip
    con = catalog.open(str(root))
    assert con.execute("SELECT DISTINCT game FROM clips WHERE recording_id = 'rec1'").fetchall() == [("Skyrim",)]
    assert con.execute("SELECT decision, reasons FROM clips WHERE clip_id = ?", [clips0[0]["clip_id"]]).fetchall() == [
        ("dropped", ["depth_lag"])]  # fmt: skip
    assert con.execute("SELECT recording_id, count(*), count(shard) FROM clips GROUP BY 1 ORDER BY 1").fetchall() == [
        ("rec0", 3, 2), ("rec1", 3, 0), ("rec2", 2, 2), ("rec3", 2, 0)]  # fmt: skip
    same_as_live(root)
    # The same files built from scratch give the same catalog.
    fresh = root.parent / "fresh"
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns("catalog.duckdb", ".catalog*"))
    a, b = catalog.open(str(root)), catalog.open(str(fresh))
    for view in catalog.VIEWS:
        assert [r.replace(str(fresh), str(root)) for r in rows_of(b, view)] == rows_of(a, view), view
    # Nothing changed: open() reads the file as it is, no refresh.
    monkeypatch.setattr(D, "refresh_file", lambda *a, **k: pytest.fail("refreshed an up-to-date catalog"))
    assert count(root) == 10


def test_an_open_reader_keeps_its_snapshot_and_the_refresh_goes_through_a_copy(root):
    reader = catalog.open(str(root))
    items, rows, recs, spans = make_items(n_rec=4, clips_per_rec=2, t=4, h=32, w=48)
    write_folder(root / "curated" / "rec3", [r for r in rows if r["recording_id"] == "rec3"], recs[3:], spans[3:])
    res = catalog.refresh(root)
    assert res.how == "copy"  # a reader is open: the file is not touched under it
    assert reader.execute("SELECT count(*) FROM clips").fetchone() == (9,)
    assert count(root) == 11
    del reader  # no reader left: the next refresh updates the file in place
    shutil.rmtree(root / "curated" / "rec3")
    assert catalog.refresh(root).how == "in place"
    assert count(root) == 9
    assert not [p.name for p in root.iterdir() if ".tmp" in p.name or p.name.endswith((".wal", ".spill"))]


KILL_SCRIPT = """
import os, signal, sys
from dataset import catalog, catalog_db as D
real = D._derive
def derive(*a, **k):
    real(*a, **k)
    os.kill(os.getpid(), signal.SIGKILL)  # after the raw tables changed, before the commit
D._derive = derive
catalog.refresh(sys.argv[1])
"""


@pytest.mark.parametrize("with_reader", [False, True], ids=["in-place", "copy"])
def test_a_refresh_killed_midway_leaves_the_old_catalog(root, with_reader):
    catalog.refresh(root)
    before = {v: rows_of(catalog.open(str(root)), v) for v in catalog.VIEWS}
    reader = catalog.open(str(root)) if with_reader else None
    shutil.rmtree(root / "curated" / "rec1")
    r = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(root)], cwd=REPO, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)  # fmt: skip
    assert r.returncode == -9, r.stderr
    # The catalog as it was, for the open reader and for a new one (refresh=False: as it is).
    for con in filter(None, [reader, catalog.open(str(root), refresh=False)]):
        assert {v: rows_of(con, v) for v in catalog.VIEWS} == before
    del reader
    res = catalog.refresh(root)  # picks up the change (and any temp file the kill left)
    assert res.removed == 3 and count(root) == 9 - 3 + 2  # rec1's sharded clips stay, from their shard
    same_as_live(root)
    assert not [p.name for p in root.iterdir() if ".tmp" in p.name]


READER_SCRIPT = """
import json, os, sys
from dataset import catalog
seen = set()
while not os.path.exists(sys.argv[2]):
    con = catalog.open(sys.argv[1], refresh=False)
    seen.add(con.execute("SELECT count(*), count(DISTINCT recording_id) FROM clips").fetchone())
    del con
print(json.dumps(sorted(seen)))
"""
REFRESH_SCRIPT = "import sys; from dataset import catalog; print(catalog.refresh(sys.argv[1]).how.replace(' ', '_'))"


def test_refreshes_and_readers_in_several_processes_at_once(root):
    catalog.refresh(root)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = lambda script, *args: subprocess.Popen([sys.executable, "-c", script, str(root), *args], cwd=REPO,  # noqa: E731
                                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    stop = root.parent / "stop"
    reader = run(READER_SCRIPT, str(stop))
    items, rows, recs, spans = make_items(n_rec=5, clips_per_rec=2, t=4, h=32, w=48)
    for k in (3, 4):  # two stages land, each followed by two refreshers racing
        rid = f"rec{k}"
        write_folder(root / "curated" / rid, [r for r in rows if r["recording_id"] == rid], recs[k : k + 1],
                     spans[k : k + 1])  # fmt: skip
        procs = [run(REFRESH_SCRIPT), run(REFRESH_SCRIPT)]
        outs = [p.communicate(timeout=300) for p in procs]
        assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
        # One did the work (in place, or on a copy while the reader had the file open); the other
        # waited for it and found nothing left to do.
        hows = sorted(o[0].split()[-1] for o in outs)
        assert hows[0] in ("copy", "in_place") and hows[1] == "up_to_date", hows
    stop.touch()
    out, err = reader.communicate(timeout=300)
    assert reader.returncode == 0, err[-2000:]
    # Every snapshot the reader saw is a whole catalog: 9 clips + 2 per recording that landed.
    seen = {tuple(x) for x in json.loads(out.strip().splitlines()[-1])}
    assert seen <= {(9, 3), (11, 4), (13, 5)} and len(seen) >= 2, seen
    assert count(root) == 13
    same_as_live(root)


# ---- bad input, fallbacks -------------------------------------------------------------------


def test_an_unreadable_file_is_skipped_listed_and_read_once_fixed(root):
    good = (root / "curated" / "rec1" / "clips.parquet").read_bytes()
    (root / "curated" / "rec1" / "clips.parquet").write_bytes(b"PAR1 not really parquet")
    con = catalog.open(str(root))
    assert con.execute("SELECT recording_id, count(*) FROM clips GROUP BY 1 ORDER BY 1").fetchall() == [
        ("rec0", 3), ("rec1", 2), ("rec2", 3)]  # rec1: only its 2 sharded clips, from the shard rows  # fmt: skip
    bad = con.execute("SELECT path, error FROM unreadable_files").fetchall()
    assert [(Path(p).relative_to(root).as_posix(), e.startswith("cannot read as Parquet")) for p, e in bad] == [
        ("curated/rec1/clips.parquet", True)]  # fmt: skip
    (root / "curated" / "rec1" / "clips.parquet").write_bytes(good)
    con = catalog.open(str(root))
    assert con.execute("SELECT count(*) FROM unreadable_files").fetchone() == (0,)
    assert count(root) == 9
    same_as_live(root)


def test_a_root_that_cannot_be_written_gets_the_catalog_in_memory(root, monkeypatch):
    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied", str(root / "catalog.duckdb"))

    monkeypatch.setattr(D, "refresh_file", refuse)
    con = catalog.open(str(root))
    assert con.execute("SELECT count(*), count(shard) FROM clips").fetchone() == (9, 6)
    assert not (root / "catalog.duckdb").exists()
    with pytest.raises(Exception, match="disabled by configuration"):
        con.execute("SELECT * FROM read_text('/etc/hostname')")
