"""Catalog views, read-only queries, stats and the dataset card, over local and fsspec roots."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import duckdb
import fsspec
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_dataset_writer import make_items, write_curated  # noqa: E402

from common.errors import CatalogAccessError  # noqa: E402
from dataset import catalog  # noqa: E402
from dataset.config import ShardConfig  # noqa: E402
from dataset.query import QueryError, run_query  # noqa: E402
from dataset.shard_writer import write_arrays  # noqa: E402


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalog")
    items, rows, recs, spans = make_items(n_rec=2, clips_per_rec=4)
    write_curated(root / "curated" / "run1", rows, recs, spans)
    write_arrays(items, root / "shards", ShardConfig(max_shard_samples=4), {r["recording_id"]: r for r in recs})
    return root


def test_views_hold_kept_and_dropped_clips_and_frames_add_up(root):
    con = catalog.open(str(root))
    by = dict(con.execute("SELECT decision, count(*) FROM clips GROUP BY ALL").fetchall())
    assert by == {"kept": 6, "dropped": 2}
    # Only kept clips are in shards; dropped ones keep their reasons.
    assert con.execute("SELECT count(*) FROM clips WHERE decision = 'kept' AND shard IS NULL").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM clips WHERE decision = 'dropped' AND shard IS NOT NULL").fetchone()[0] == 0
    assert con.execute("SELECT reasons FROM clips WHERE decision = 'dropped' LIMIT 1").fetchone()[0] == ["menu"]
    acc = con.execute("SELECT kept_frames, dropped_frames, discarded_frames, num_frames, balanced "
                  "FROM frames_accounting ORDER BY recording_id").fetchall()  # fmt: skip
    assert acc == [(24, 8, 3, 35, True), (24, 8, 3, 35, True)]
    shards = con.execute("SELECT num_clips, tar_bytes FROM shards ORDER BY shard").fetchall()
    assert [s[0] for s in shards] == [4, 2]
    assert shards[0][1] == (root / "shards" / "shard-000000.tar").stat().st_size


def test_accounting_catches_missing_frames(tmp_path):
    items, rows, recs, spans = make_items(n_rec=1, clips_per_rec=3)
    write_curated(tmp_path / "c", rows, recs, spans[:0])  # the discarded span is lost
    acc = catalog.open(str(tmp_path)).execute("SELECT accounted_frames, num_frames, balanced FROM frames_accounting")
    assert acc.fetchall() == [(24, 27, False)]


def test_where_filter_and_read_only_and_unknown_column(root):
    t = run_query("SELECT clip_id FROM clips WHERE game = 'GTA V' AND clip_similarity > 0.8", str(root))
    assert t.num_rows == 1  # rec0 kept clips have similarity 0.7, 0.8(dropped), 0.8, 0.85
    for sql in ["DROP VIEW clips", "CREATE TABLE x AS SELECT 1", "COPY clips TO 'x.csv'",
                "SELECT 1; DELETE FROM clips"]:  # fmt: skip
        with pytest.raises(CatalogAccessError, match="read-only"):
            run_query(sql, str(root))
    with pytest.raises(QueryError, match="unknown column 'gme'.*game"):
        run_query("SELECT * FROM clips WHERE gme = 'x'", str(root))
    with pytest.raises(QueryError, match="views recordings, clips"):
        run_query("SELECT * FROM clipz", str(root))


def test_catalog_over_fsspec_memory_url(root):
    fs = fsspec.filesystem("memory")
    for p in root.rglob("*.parquet"):
        fs.pipe(f"/cat-test/{p.relative_to(root)}", p.read_bytes())
    con = catalog.open("memory://cat-test")
    assert con.execute("SELECT count(*), count(shard) FROM clips").fetchone() == (8, 6)
    assert all(r[0].startswith("memory://") for r in con.execute("SELECT tar_path FROM shards").fetchall())


def test_cli_query_stats_and_card(root, tmp_path):
    import typer
    from typer.testing import CliRunner

    from dataset import cli

    app = typer.Typer()  # the same functions flows/cli.py mounts
    app.command("query")(cli.query)
    app.command("stats")(cli.stats)
    r = CliRunner().invoke(app, ["query", "SELECT game, count(*) AS n FROM clips WHERE decision='kept' "
                                 "GROUP BY game ORDER BY game", "--root", str(root), "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert [json.loads(line) for line in r.output.strip().splitlines()] == [
        {"game": "Cyberpunk 2077", "n": 3}, {"game": "GTA V", "n": 3}]  # fmt: skip
    r = CliRunner().invoke(app, ["query", "DELETE FROM clips", "--root", str(root)])
    assert r.exit_code == 2 and "read-only" in r.output
    card = tmp_path / "card.html"
    r = CliRunner().invoke(app, ["stats", "--root", str(root), "--html", str(card), "--thumbnails", "2"])
    assert r.exit_code == 0, r.output
    assert "by_reason" in r.output and "menu" in r.output
    text = card.read_text()
    assert text.count("data:image/png;base64") >= 2 + 2 * 2  # histograms + 2 thumbnails (rgb + depth)


OUTSIDE = [
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM read_text('{secret}')",
    "SELECT * FROM read_csv('{secret}')",
    "SELECT * FROM '{secret}'",
    "SELECT * FROM read_parquet('{outside_pq}')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
]
STATEMENTS = ["ATTACH '{tmp}/x.duckdb' AS x", "COPY (SELECT 1) TO '{tmp}/x.csv'", "INSTALL httpfs", "LOAD httpfs",
              "SET enable_external_access = true", "PRAGMA database_list", "CREATE TEMP TABLE t AS SELECT 1"]  # fmt: skip


@pytest.mark.parametrize("parquet", [False, True], ids=["catalog-file", "parquet-views"])
def test_a_query_reads_only_the_catalog(root, tmp_path, parquet):
    import pyarrow as pa
    import pyarrow.parquet as pq

    secret = tmp_path / "secret.csv"
    secret.write_text("s3cret,value\n")
    outside_pq = tmp_path / "outside.parquet"
    pq.write_table(pa.table({"x": [42]}), outside_pq)
    fmt = {"secret": secret, "outside_pq": outside_pq, "tmp": tmp_path}
    con = (lambda: catalog.open_parquet(str(root))) if parquet else (lambda: catalog.open(str(root)))
    for sql in OUTSIDE:
        with pytest.raises(CatalogAccessError, match="refused: a catalog query reads only the catalog"):
            run_query(sql.format(**fmt), con=con())
    for sql in STATEMENTS:
        with pytest.raises(CatalogAccessError, match="refused"):
            run_query(sql.format(**fmt), con=con())
    assert not list(tmp_path.glob("x.*"))
    # Not only through run_query: the connection itself cannot reach out or be turned back.
    c = con()
    with pytest.raises(duckdb.PermissionException):
        c.execute(f"SELECT * FROM read_text('{secret}')")
    with pytest.raises(duckdb.Error, match="locked"):
        c.execute("SET enable_external_access = true")
    # The catalog's own questions still work.
    assert run_query("SELECT count(*) AS n FROM clips", con=con()).to_pylist() == [{"n": 8}]
    assert run_query("SELECT sum(num_clips) AS n FROM shards", con=con()).to_pylist() == [{"n": 6}]
    if parquet:  # the live views may read exactly the catalog's own Parquet files
        own = root / "curated" / "run1" / "clips.parquet"
        assert run_query(f"SELECT count(*) AS n FROM read_parquet('{own}')", con=con()).to_pylist() == [{"n": 8}]


def test_synthdepth_query_refuses_read_text(root):
    """The command users run: `synthdepth query` (flows.cli) refuses, says why, prints nothing read."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-m", "flows.cli", "query", "SELECT * FROM read_text('/etc/hostname')",
                        "--root", str(root), "--format", "json"], cwd=repo, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(repo)}, timeout=300)  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    assert "refused" in r.stderr and "/etc/hostname" in r.stderr
    assert r.stdout.strip() == ""
    r = subprocess.run([sys.executable, "-m", "flows.cli", "query", "SELECT count(*) AS n FROM clips", "--root",
                        str(root), "--format", "json"], cwd=repo, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(repo)}, timeout=300)  # fmt: skip
    assert r.returncode == 0 and json.loads(r.stdout) == {"n": 8}, r.stderr
