"""Read-only SQL over the catalog, with errors that say what went wrong."""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from common.errors import CatalogAccessError, InputError
from dataset import catalog

READ_ONLY = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class QueryError(InputError):
    """A query that is refused or that DuckDB cannot run."""


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    try:
        statements = con.extract_statements(sql)
    except duckdb.ParserException as e:
        raise QueryError(None, f"SQL does not parse: {e}") from None
    if not statements:
        raise QueryError(None, "empty query")
    for st in statements:
        if st.type not in READ_ONLY:
            kind = st.type.name if hasattr(st.type, "name") else str(st.type)
            raise CatalogAccessError(None, f"refused: the catalog is read-only and this is a {kind} statement "
                                     f"({st.query.strip()[:60]!r}); only SELECT/WITH/EXPLAIN queries are allowed")  # fmt: skip


def run_query(sql: str, root: str | list[str] | None = None, con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
    """Run a read-only query on the catalog's own relations; returns an Arrow table. A write, or a
    read of anything outside the catalog (another file, ATTACH, INSTALL) -> CatalogAccessError;
    unknown columns/tables -> QueryError naming them."""
    con = con or catalog.open(root or ".")
    check_read_only(con, sql)
    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.PermissionException as e:
        raise CatalogAccessError(None, f"refused: a catalog query reads only the catalog's own tables and "
                                 f"files ({_first_line(e).removeprefix('Permission Error: ')})") from None  # fmt: skip
    except duckdb.BinderException as e:
        raise QueryError(None, _explain_binder(con, str(e))) from None
    except duckdb.CatalogException as e:
        raise QueryError(None, f"{_first_line(e)}; the catalog has views {', '.join(catalog.VIEWS)}") from None
    except duckdb.Error as e:
        raise QueryError(None, f"query failed: {_first_line(e)}") from None


def _explain_binder(con: duckdb.DuckDBPyConnection, msg: str) -> str:
    m = re.search(r'column "([^"]+)" not found', msg) or re.search(r"column ['\"]?([\w.]+)['\"]? not found", msg, re.I)
    first = msg.splitlines()[0]
    if not m:
        return f"query failed: {first}"
    cols = ", ".join(r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE clips)").fetchall())
    return f"unknown column '{m.group(1)}' ({first}). Columns of view clips: {cols}"


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0]


def to_text(table: pa.Table, fmt: str = "table", max_rows: int = 200) -> str:
    """Render as a rich table, CSV or JSON lines (parquet is written by the CLI to a file)."""
    import io
    import json

    if fmt == "csv":
        import pyarrow.csv as pcsv

        buf = io.BytesIO()
        pcsv.write_csv(_plain_types(table), buf)
        return buf.getvalue().decode()
    if fmt == "json":
        return "\n".join(json.dumps(r, default=str) for r in table.to_pylist())
    if fmt == "table":
        from rich.console import Console
        from rich.table import Table

        t = Table(show_lines=False)
        for name in table.column_names:
            t.add_column(name)
        for r in table.slice(0, max_rows).to_pylist():
            t.add_row(*[_cell(v) for v in r.values()])
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(t)
        if table.num_rows > max_rows:
            console.print(f"... {table.num_rows - max_rows} more rows")
        return console.export_text()
    raise InputError(None, f"unknown format {fmt!r}: table, csv, json or parquet")


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def _plain_types(table: pa.Table) -> pa.Table:
    # CSV cannot hold lists or maps: write them as their string form.
    cols = []
    for col in table.columns:
        if pa.types.is_list(col.type) or pa.types.is_map(col.type) or pa.types.is_struct(col.type):
            col = pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string())
        cols.append(col)
    return pa.table(cols, names=table.column_names)
