"""The DuckDB catalog of curated dirs and shard dirs, and what a catalog connection may read.

Root layout: everything under `root` (local path or any fsspec URL) is searched:
  - curated dirs: any folder holding `clips.parquet` (+ `spans.parquet`, `recordings.parquet`),
    as `synthdepth curate` writes them;
  - shard dirs: any `NAME-NNNNNN.parquet` (the sibling of `NAME-NNNNNN.tar`).
The flows' layout: ROOT/curated/<recording_id>/{clips,spans,recordings}.parquet and
ROOT/shards/<name>-NNNNNN.{tar,parquet}. Names starting with a dot (writers' temp files) are skipped.

Two ways in:
  open(root)          the fast path: ROOT/catalog.duckdb (dataset.catalog_db), refreshed first when
                      a catalog file is new, changed or gone (only those are read). Queries run on
                      tables, not on thousands of Parquet files. A root that is not a writable local
                      folder gets the same tables built in memory.
  open_parquet(root)  the live Parquet views, for ad-hoc use (every query re-reads the files).

Both hold the same relations (dataset.catalog_sql):
  recordings         one row per recording (first row wins when several curated dirs list it)
  clips              every clip, kept and dropped, with every column curation wrote, game/tags/
                     resolution of its recording, and its shard's columns once sharded
  spans              discarded frame ranges
  shard_clips        the raw rows of the shard Parquet files (one per sharded clip)
  shards             one row per shard: clips, frames, bytes, games
  frames_accounting  per recording: num_frames = kept + dropped + discarded? (`balanced`)
  unreadable_files   (fast path) catalog files that could not be read, and why; they are skipped

A catalog connection reads only the catalog: external access is off (no other file, no ATTACH,
COPY, INSTALL or LOAD), the configuration is locked, and the catalog file is attached read-only.
Such a query fails with DuckDB's PermissionException, which `dataset.query` turns into
`common.errors.CatalogAccessError`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import duckdb
import fsspec

from common.errors import InputError
from dataset import catalog_db as D
from dataset import catalog_sql as S
from dataset.catalog_db import FileStat, RefreshResult

VIEWS = S.VIEWS
_SHARD_PQ = re.compile(r".+-\d{6}\.parquet$")
_CURATED = {"clips.parquet": "clips", "spans.parquet": "spans", "recordings.parquet": "recordings"}

log = logging.getLogger(__name__)


def kind_of(name: str) -> str | None:
    """Which catalog relation a file name feeds (None: not a catalog file)."""
    if name.startswith("."):
        return None
    if name in _CURATED:
        return _CURATED[name]
    return "shards" if _SHARD_PQ.match(name) else None


def scan(root: str | Sequence[str]) -> dict[str, FileStat]:
    """Catalog files under root(s) with kind, size, mtime and inode, as URLs DuckDB can read."""
    out: dict[str, FileStat] = {}
    for r in [root] if isinstance(root, str | Path) else root:
        r = str(r)
        fs, path = fsspec.core.url_to_fs(r)
        if not fs.exists(path):
            raise InputError(r, "catalog root does not exist")
        if _is_local(fs):
            out.update(_scan_local(path))
            continue
        for f, info in sorted(fs.find(path, detail=True).items()):
            kind = kind_of(f.rsplit("/", 1)[-1])
            if kind and "/." not in f:
                mtime = info.get("mtime") or info.get("created") or 0
                out[fs.unstrip_protocol(f)] = FileStat(kind, int(info.get("size") or 0), int(float(_ts(mtime)) * 1e9))
    return dict(sorted(out.items()))


def find_files(root: str | Sequence[str]) -> dict[str, list[str]]:
    """Catalog files of each kind under root(s) (sorted: stable views)."""
    found: dict[str, list[str]] = {k: [] for k in S.KINDS}
    for path, st in scan(root).items():
        found[st.kind].append(path)
    return found


def refresh(root: str | Path, progress: bool = False) -> RefreshResult:
    """Bring ROOT/catalog.duckdb up to the files under a local root (only new or changed files
    are read). Safe to call from several processes at once; readers never see a half-built file."""
    r = Path(os.path.abspath(root))
    if not r.is_dir():
        raise InputError(r, "catalog root is not a folder")
    return D.refresh_file(r, _scan_local(str(r)), progress)


def open(root: str | Sequence[str] = ".", *, refresh: bool = True, progress: bool = False) -> duckdb.DuckDBPyConnection:  # noqa: A001
    """The catalog of root(s) as a read-only DuckDB connection over ROOT/catalog.duckdb, brought up
    to date first (refresh=False opens the file as it is). A list of roots, an fsspec root or a
    root that cannot be written gets the same tables built in memory (every file read each time)."""
    roots = [str(root)] if isinstance(root, str | Path) else [str(r) for r in root]
    local = len(roots) == 1 and _is_local(fsspec.core.url_to_fs(roots[0])[0]) and os.path.isdir(roots[0])
    if not local:
        return _in_memory(roots, progress)
    r = Path(os.path.abspath(roots[0]))
    path = D.db_path(r)
    if path.exists() and not refresh:
        return _attach(path)
    files = _scan_local(str(r))
    if path.exists():
        con = _attach(path)
        if D.is_current(con, files):
            return con
        D.detach(con)  # a refresh in place needs every reader gone
    try:
        D.refresh_file(r, files, progress)
    except OSError as e:  # a read-only share: the same catalog, in memory
        log.warning("%s: cannot write the catalog file (%s); building it in memory", path, e)
        return _in_memory(roots, progress)
    return _attach(path)


def open_parquet(root: str | Sequence[str] = ".") -> duckdb.DuckDBPyConnection:
    """The live Parquet views (every query re-reads the files), for ad-hoc use; the connection may
    read exactly the catalog's Parquet files. InputError names a file DuckDB cannot read."""
    con = D.connect()
    _register_filesystems(con, root)
    files = find_files(root)
    for kind in S.KINDS:
        con.register(f"_empty_{kind}", S.raw_schema(kind).empty_table())
        src = f"SELECT * FROM _empty_{kind}"
        if files[kind]:
            src += f" UNION ALL BY NAME {S.read_files_sql(kind, files[kind])}"
        try:
            con.execute(f"CREATE OR REPLACE VIEW {S.RAW[kind]} AS {src}")
            con.execute(f"SELECT * FROM {S.RAW[kind]} LIMIT 0")
        except duckdb.Error as e:
            fs = files[kind]
            raise InputError(fs[0] if len(fs) == 1 else f"{len(fs)} files like {fs[0]}",
                             f"cannot read as Parquet: {str(e).splitlines()[0]}") from None  # fmt: skip
    con.execute(S.RAW_VIEWS_SQL)
    con.execute(f"CREATE OR REPLACE VIEW clips AS {S.clips_sql(con)}")
    con.execute(f"CREATE OR REPLACE VIEW _shards AS {S.shards_sql()}")
    con.execute(f"CREATE OR REPLACE VIEW _frame_counts AS {S.frame_counts_sql()}")
    con.execute(S.DERIVED_VIEWS_SQL)
    urls = [u for fs in files.values() for u in fs]
    return restrict(con, urls + [_normalised(u) for u in urls])


def restrict(con: duckdb.DuckDBPyConnection, allowed_paths: Sequence[str] = ()) -> duckdb.DuckDBPyConnection:
    """Let `con` read only `allowed_paths` (and what it has attached already): external access off,
    no extension loading, configuration locked so a query cannot turn it back on."""
    if allowed_paths:
        con.execute("SET allowed_paths = ?", [sorted(set(allowed_paths))])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


# ---- internals -----------------------------------------------------------------------------------


def _attach(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        return restrict(D.attach(path))
    except duckdb.Error as e:
        raise InputError(path, f"cannot open the catalog file: {str(e).splitlines()[0]}") from None


def _in_memory(roots: list[str], progress: bool) -> duckdb.DuckDBPyConnection:
    con = D.connect()
    _register_filesystems(con, roots)
    res = D.sync(con, scan(roots), progress)
    for path, problem in res.unreadable:
        log.warning("catalog: %s: %s (skipped)", path, problem)
    return restrict(con)


def _register_filesystems(con: duckdb.DuckDBPyConnection, root: str | Sequence[str]) -> None:
    for r in [root] if isinstance(root, str | Path) else root:
        fs, _ = fsspec.core.url_to_fs(str(r))
        if not _is_local(fs):
            con.register_filesystem(fs)  # DuckDB reads object stores through fsspec


def _scan_local(root: str) -> dict[str, FileStat]:
    root = os.path.abspath(root)
    if os.path.isfile(root):
        kind, st = kind_of(os.path.basename(root)), os.stat(root)
        return {root: FileStat(kind, st.st_size, st.st_mtime_ns, st.st_ino)} if kind else {}
    out: dict[str, FileStat] = {}
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    if e.name.startswith("."):
                        continue  # temp files of a writer still at work, hidden folders
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    elif kind := kind_of(e.name):
                        st = e.stat()
                        out[e.path] = FileStat(kind, st.st_size, st.st_mtime_ns, st.st_ino)
        except (FileNotFoundError, PermissionError) as e:  # a folder that went away or is not ours
            log.warning("catalog: skipping %s: %s", d, e)
    return dict(sorted(out.items()))


def _is_local(fs) -> bool:
    p = fs.protocol
    return "file" in ((p,) if isinstance(p, str) else tuple(p))


def _normalised(url: str) -> str:
    # DuckDB names an fsspec file `proto:///path` whichever way it was spelled.
    m = re.match(r"^([a-z0-9+.-]+)://(?!/)(.*)$", url)
    return f"{m[1]}:///{m[2]}" if m else url


def _ts(v) -> float:
    return v.timestamp() if hasattr(v, "timestamp") else float(v)
