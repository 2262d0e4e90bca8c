"""ROOT/catalog.duckdb: the catalog as DuckDB tables, refreshed incrementally from the Parquet files.

The file holds the raw rows of every catalog Parquet file, the derived `clips`, `_shards` and
`_frame_counts` tables, the views of `dataset.catalog_sql`, and a manifest (`_files`: path, kind,
size, mtime) of the files it was built from. A refresh reads only files that are new or changed,
drops the rows of changed and removed ones, and recomputes the derived rows those files touch.

Concurrency (flock on two files beside it; DuckDB's own file lock does not keep a writer away
from read-only readers):
  .catalog.duckdb.lock     refreshers, one at a time: a second one waits, then finds nothing to do.
  .catalog.duckdb.readers  held shared by every open reader connection (`attach`) for its life.
A refresh that gets the readers' lock exclusively (no reader is open, in any process) updates the
file in place, in one DuckDB transaction, so a kill leaves the old catalog; readers arriving
meanwhile wait for it. When readers are open it updates a temp copy and renames it over the file:
open readers keep their snapshot, new ones see the new catalog, and no reader ever sees half of a
refresh. The copy costs a rewrite of the whole file, so it is the slow path.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from dataset import catalog_sql as S

DB_NAME = "catalog.duckdb"
# Bump when the tables' layout changes: an older file is rebuilt from scratch.
FORMAT = "4"
# Above this share of changed files, derived tables are rebuilt whole (cheaper than keyed deletes).
_FULL_REBUILD_SHARE = 0.3
_BATCH_FILES = 500  # files per read_parquet call (memory stays bounded, progress moves)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileStat:
    """What tells a changed file: a writer that renames a new file in place changes the inode."""

    kind: str
    size: int
    mtime_ns: int
    ino: int = 0


@dataclass
class RefreshResult:
    path: str | None  # the DuckDB file (None: built in memory)
    files: int  # catalog files under the root
    added: int = 0
    changed: int = 0
    removed: int = 0
    rebuilt: bool = False  # derived tables rebuilt whole (first build, schema change, many changes)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, problem)
    seconds: float = 0.0
    how: str = "up to date"  # built | in place | copy | in memory

    @property
    def stale(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def db_path(root: str | Path) -> Path:
    return Path(root) / DB_NAME


def fingerprint() -> str:
    """Format and row schemas the tables were built with: a file built by other code is rebuilt."""
    return FORMAT + "|" + "|".join(str(S.raw_schema(k)) for k in S.KINDS)


def read_manifest(con: duckdb.DuckDBPyConnection) -> dict[str, FileStat] | None:
    """The `_files` manifest of an open catalog, or None when it was built with another layout."""
    try:
        meta = dict(con.execute("SELECT key, value FROM _meta").fetchall())
        if meta.get("fingerprint") != fingerprint():
            return None
        rows = con.execute("SELECT path, kind, size, mtime_ns, ino FROM _files").fetchall()
    except duckdb.CatalogException:
        return None
    return {p: FileStat(k, s, m, i) for p, k, s, m, i in rows}


def is_current(con: duckdb.DuckDBPyConnection, files: dict[str, FileStat]) -> bool:
    """Whether an open catalog was built by this code from exactly `files` (compared inside DuckDB:
    at 10M clips the manifest has ~33k rows, slow to bring into Python on every open)."""
    try:
        meta = dict(con.execute("SELECT key, value FROM _meta").fetchall())
    except duckdb.CatalogException:
        return False
    if meta.get("fingerprint") != fingerprint():
        return False
    con.register("_scan", _stat_table(files))
    try:
        ((n,),) = con.execute("""
            SELECT count(*) FROM _scan s FULL OUTER JOIN _files f ON s.path = f.path
            WHERE s.path IS NULL OR f.path IS NULL OR s.kind <> f.kind OR s.size <> f.size
               OR s.mtime_ns <> f.mtime_ns OR s.ino <> f.ino""").fetchall()  # fmt: skip
    finally:
        con.unregister("_scan")
    return n == 0


def _stat_table(files: dict[str, FileStat]) -> pa.Table:
    stats = list(files.values())
    return pa.table({"path": pa.array(list(files), pa.string()), "kind": pa.array([f.kind for f in stats], pa.string()),
                     "size": pa.array([f.size for f in stats], pa.int64()),
                     "mtime_ns": pa.array([f.mtime_ns for f in stats], pa.int64()),
                     "ino": pa.array([f.ino for f in stats], pa.int64())})  # fmt: skip


def diff(old: dict[str, FileStat], new: dict[str, FileStat]) -> tuple[list[str], list[str], list[str]]:
    """(added, changed, removed) paths."""
    added = [p for p in new if p not in old]
    changed = [p for p in new if p in old and old[p] != new[p]]
    removed = [p for p in old if p not in new]
    return added, changed, removed


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[bool]:
    """flock on `path` (created); yields whether it was taken (False only with LOCK_NB)."""
    with open(path, "a") as f:
        try:
            fcntl.flock(f, mode)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB instance (the process-wide cache of file connections would hand
    back an old snapshot, or refuse another configuration, after a refresh)."""
    return duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                              "autoload_known_extensions": False})  # fmt: skip


def attach(path: Path) -> duckdb.DuckDBPyConnection:
    """A reader: `path` attached read-only as the default catalog, holding the readers' lock
    (shared) until the connection is garbage-collected. Waits while a refresh updates it in place."""
    lock_fd = None
    with contextlib.suppress(OSError):  # a read-only share: no lock, and no writer either
        lock_fd = os.open(path.with_name(f".{path.name}.readers"), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(lock_fd, fcntl.LOCK_SH)
    con = connect()
    try:
        con.execute(f"ATTACH {S.literal(str(path))} AS catalog (READ_ONLY)")
        con.execute("USE catalog")
    except BaseException:
        con.close()
        if lock_fd is not None:
            os.close(lock_fd)
        raise
    if lock_fd is not None:
        _READERS[id(con)] = weakref.finalize(con, _release, id(con), lock_fd)
    return con


_READERS: dict[int, weakref.finalize] = {}


def _release(key: int, fd: int) -> None:
    _READERS.pop(key, None)
    os.close(fd)


def detach(con: duckdb.DuckDBPyConnection) -> None:
    """Close a reader now and drop its share of the readers' lock."""
    con.close()
    fin = _READERS.get(id(con))
    if fin is not None:
        fin()


def refresh_file(root: Path, files: dict[str, FileStat], progress: bool = False) -> RefreshResult:
    """Bring ROOT/catalog.duckdb up to `files`: in place when no reader is open, else on a temp
    copy renamed over it; under the refreshers' lock."""
    t0 = time.perf_counter()
    path = db_path(root)
    with _flock(root / f".{DB_NAME}.lock", fcntl.LOCK_EX):
        for p in root.glob(f".{DB_NAME}.*.tmp*"):
            _remove(p)  # left by a refresh that was killed
        old = _manifest_of(path)
        if old is not None and not any(diff(old, files)):
            return RefreshResult(str(path), len(files), seconds=time.perf_counter() - t0)
        res = None
        if old is not None:
            with _flock(path.with_name(f".{DB_NAME}.readers"), fcntl.LOCK_EX | fcntl.LOCK_NB) as alone:
                if alone:
                    res = _update(path, files, progress, transaction=True)
                    res.how = "in place"
        if res is None:
            res = _update_copy(root, path, old is not None, files, progress)
    res.path = str(path)
    res.seconds = time.perf_counter() - t0
    log.info("catalog %s (%s): %d added, %d changed, %d removed files in %.2f s", path, res.how, res.added,
             res.changed, res.removed, res.seconds)  # fmt: skip
    return res


def _update(path: Path, files: dict[str, FileStat], progress: bool, transaction: bool) -> RefreshResult:
    spill = path.with_name(f".{DB_NAME}.spill")
    con = duckdb.connect(str(path), config={"memory_limit": _memory_limit(), "temp_directory": str(spill)})
    try:
        if transaction:  # all or nothing: a kill leaves the catalog as it was
            con.execute("BEGIN TRANSACTION")
        res = sync(con, files, progress)
        if transaction:
            con.execute("COMMIT")
        con.execute("CHECKPOINT")
    finally:
        con.close()
        _remove(spill)
    return res


def _memory_limit() -> str:
    """A quarter of the machine's memory for a refresh (DuckDB's default, 80%, is meant for a
    machine of its own); a larger build spills to disk beside the catalog."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(total // 4, 1 << 30) >> 20}MB"


def _update_copy(root: Path, path: Path, copy: bool, files: dict[str, FileStat], progress: bool) -> RefreshResult:
    tmp = root / f".{DB_NAME}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        if copy:
            shutil.copyfile(path, tmp)
            wal = path.with_name(path.name + ".wal")  # committed by a refresh killed before its checkpoint
            if wal.exists():
                shutil.copyfile(wal, tmp.with_name(tmp.name + ".wal"))
        res = _update(tmp, files, progress, transaction=False)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(root)
        res.how = "copy" if copy else "built"
        return res
    finally:
        for p in root.glob(f"{tmp.name}*"):
            _remove(p)  # the copy when it failed; DuckDB's WAL and spill folder


def _manifest_of(path: Path) -> dict[str, FileStat] | None:
    if not path.exists():
        return None
    con = connect()
    try:
        con.execute(f"ATTACH {S.literal(str(path))} AS cat (READ_ONLY)")
        con.execute("USE cat")
        return read_manifest(con)
    except duckdb.Error as e:  # a damaged file is rebuilt, not trusted
        log.warning("%s: cannot be read (%s); rebuilding the catalog", path, str(e).splitlines()[0])
        return None
    finally:
        con.close()


def sync(con: duckdb.DuckDBPyConnection, files: dict[str, FileStat], progress: bool = False) -> RefreshResult:
    """Update the catalog tables in `con` (empty, or built by this code) to hold exactly `files`.

    Incremental unit: the recording. Every derived row of a clip depends only on rows of its own
    recording (its curated row, its recording row, its shard row: clip ids are derived from the
    recording id), so the recordings named by any row of a new, changed or removed file are
    recomputed and nothing else. Rows of one file are stored together, so filters on `_file` and
    `recording_id` skip the other row groups by their min/max."""
    old = read_manifest(con)
    if old is None:
        _create(con)
        old = {}
    added, changed, removed = diff(old, files)
    res = RefreshResult(None, len(files), len(added), len(changed), len(removed))
    if not res.stale:
        return res
    gone, fresh = removed + changed, added + changed
    full = not old or len(gone) + len(fresh) > _FULL_REBUILD_SHARE * max(len(files), 1)
    before = {k: S.columns(con, S.RAW[k]) for k in S.KINDS}
    recs: set[str] = set()
    tars: set[str] = set()

    def by_kind(paths: list[str], kind: str) -> list[str]:
        return [p for p in paths if (files.get(p) or old[p]).kind == kind]

    def touched(kind: str, paths: list[str]) -> None:
        if not full and paths:
            recs.update(_values(con, f"SELECT DISTINCT recording_id FROM {S.RAW[kind]} WHERE {in_list('_file', paths)}"))
            if kind == "shards":
                tars.update(p.removesuffix(".parquet") + ".tar" for p in paths)

    for kind in S.KINDS:  # rows of removed and changed files go
        paths = by_kind(gone, kind)
        touched(kind, paths)
        if paths:
            con.execute(f"DELETE FROM {S.RAW[kind]} WHERE {in_list('_file', paths)}")
    bar = _progress(len(fresh), progress)
    for kind in S.KINDS:  # rows of new and changed files come in
        paths = by_kind(fresh, kind)
        for i in range(0, len(paths), _BATCH_FILES):
            batch = paths[i : i + _BATCH_FILES]
            res.unreadable += _insert(con, kind, batch)
            touched(kind, batch)
            bar.update(len(batch))
    bar.close()
    if any(S.columns(con, S.RAW[k]) != before[k] for k in S.KINDS):
        full = True  # a new column: the derived tables change shape
    res.rebuilt = full
    _derive(con, None if full else sorted(recs), sorted(tars))
    con.execute(f"DELETE FROM _files WHERE {in_list('path', gone)}")
    con.execute(f"DELETE FROM _unreadable WHERE {in_list('path', gone)}")
    if fresh:
        con.register("_new", _stat_table({p: files[p] for p in fresh}))
        con.execute("INSERT INTO _files BY NAME SELECT * FROM _new")
        con.unregister("_new")
    for path, problem in res.unreadable:
        con.execute("INSERT INTO _unreadable VALUES (?, ?)", [path, problem])
    return res


def _create(con: duckdb.DuckDBPyConnection) -> None:
    for kind in S.KINDS:
        con.register("_empty", S.raw_schema(kind).empty_table())
        con.execute(f"CREATE OR REPLACE TABLE {S.RAW[kind]} AS SELECT * FROM _empty")
        con.unregister("_empty")
    con.execute("""
        CREATE OR REPLACE TABLE _files (path VARCHAR, kind VARCHAR, size BIGINT, mtime_ns BIGINT, ino BIGINT);
        CREATE OR REPLACE TABLE _unreadable (path VARCHAR, error VARCHAR);
        CREATE OR REPLACE VIEW unreadable_files AS SELECT * FROM _unreadable ORDER BY path;
        CREATE OR REPLACE TABLE _meta (key VARCHAR, value VARCHAR);
    """)  # fmt: skip
    con.execute("INSERT INTO _meta VALUES ('fingerprint', ?)", [fingerprint()])
    con.execute(S.RAW_VIEWS_SQL)
    _derive(con, None, [])
    con.execute(S.DERIVED_VIEWS_SQL)


def _derive(con: duckdb.DuckDBPyConnection, recs: list[str] | None, tars: list[str]) -> None:
    """Derived tables: whole (recs None), or the rows of recordings `recs` and shards `tars`."""
    if recs is None:
        # Stored sorted by what the usual questions filter on (kept or not, game, recording), so
        # their scans skip most row groups by min/max; a point lookup by clip_id uses the index.
        con.execute(f"CREATE OR REPLACE TABLE clips AS {S.clips_sql(con)} "
                    "ORDER BY decision, game, recording_id, start_frame")  # fmt: skip
        con.execute("CREATE INDEX clips_clip_id ON clips (clip_id)")
        con.execute(f"CREATE OR REPLACE TABLE _shards AS {S.shards_sql()}")
        con.execute(f"CREATE OR REPLACE TABLE _frame_counts AS {S.frame_counts_sql()}")
        return
    if recs:
        by_rec = in_list("recording_id", recs)
        con.execute(f"DELETE FROM clips WHERE {by_rec}")
        con.execute(f"INSERT INTO clips BY NAME {S.clips_sql(con, by_rec)}")
        con.execute(f"DELETE FROM _frame_counts WHERE {by_rec}")
        con.execute(f"INSERT INTO _frame_counts BY NAME {S.frame_counts_sql(by_rec)}")
    if tars:
        by_tar = in_list("tar_path", tars)
        con.execute(f"DELETE FROM _shards WHERE {by_tar}")
        con.execute(f"INSERT INTO _shards BY NAME {S.shards_sql(by_tar)}")


def in_list(column: str, values: list[str]) -> str:
    """`column IN ('a', 'b', ...)` (constants, so DuckDB prunes row groups by min/max)."""
    if not values:
        return "false"
    return f"{S.ident(column)} IN ({', '.join(S.literal(v) for v in values)})"


def _values(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [r[0] for r in con.execute(sql).fetchall() if r[0] is not None]


def _insert(con: duckdb.DuckDBPyConnection, kind: str, paths: list[str]) -> list[tuple[str, str]]:
    """Rows of `paths` into the raw table (new columns added by name); returns unreadable files
    as (path, problem): they are skipped and listed in `unreadable_files`, not fatal."""
    bad: list[tuple[str, str]] = []
    try:
        _insert_batch(con, kind, paths)
        return bad
    except duckdb.Error:
        pass  # find the file(s) at fault; the rest go in
    good = []
    for p in paths:
        try:
            con.execute(f"SELECT count(*) FROM ({S.read_files_sql(kind, [p])})").fetchall()
            good.append(p)
        except duckdb.Error as e:
            bad.append((p, f"cannot read as Parquet: {str(e).splitlines()[0]}"))
            log.warning("catalog: skipping %s: %s", *bad[-1])
    if good:
        _insert_batch(con, kind, good)
    return bad


def _insert_batch(con: duckdb.DuckDBPyConnection, kind: str, paths: list[str]) -> None:
    raw, src = S.RAW[kind], S.read_files_sql(kind, paths)
    have = set(S.columns(con, raw))
    for name, typ in con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {src})").fetchall():
        if name not in have:  # a column written by newer code: kept, NULL for older rows
            con.execute(f"ALTER TABLE {raw} ADD COLUMN {S.ident(name)} {typ}")
    con.execute(f"INSERT INTO {raw} BY NAME {src}")


def _remove(p: Path) -> None:
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="catalog", unit="file", disable=not enabled or total == 0)

