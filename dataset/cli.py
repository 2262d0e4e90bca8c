"""`synthdepth shard | query | stats` (mounted by flows/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capture.errors import InputError


def shard(
    curated_dirs: Annotated[list[Path], typer.Argument(help="Curate output dirs (each with clips.parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Shards directory.")],
    config: Annotated[Path | None, typer.Option(help="ShardConfig YAML/JSON.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Config override key=value (repeatable).")] = None,
    max_shard_bytes: Annotated[int | None, typer.Option(help="Roll over near this size (default ~1 GB).")] = None,
    max_shard_samples: Annotated[int | None, typer.Option(help="Or after this many clips.")] = None,
    rgb_crf: Annotated[int | None, typer.Option(help="H.264 quality (lower = better).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Delete existing shards in --out first.")] = False,
    verify: Annotated[bool, typer.Option(help="Check every tar against its Parquet afterwards.")] = False,
) -> None:
    """Write the kept clips of CURATED_DIRS as WebDataset shards + Parquet + stats (resumable)."""
    from dataset.config import ShardConfig
    from dataset.shard_writer import shard_curated, verify_shard

    overrides = list(set_ or [])
    for key, val in [("max_shard_bytes", max_shard_bytes), ("max_shard_samples", max_shard_samples),
                     ("rgb_crf", rgb_crf)]:  # fmt: skip
        if val is not None:
            overrides.append(f"{key}={val}")
    try:
        cfg = ShardConfig.load(config, overrides)
        res = shard_curated(curated_dirs, out, cfg, progress=True, overwrite=overwrite)
        if verify:
            for s in res.shards:
                verify_shard(s)
    except InputError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{len(res.shards)} shards ({len(res.written)} written now), {res.num_clips} clips, "
               f"{res.num_frames} frames in {out}")  # fmt: skip


def query(
    sql: Annotated[str, typer.Argument(help="A read-only SQL query over recordings, clips, spans, shards, ...")],
    root: Annotated[str, typer.Option(help="Catalog root (local path or fsspec URL).")] = ".",
    format: Annotated[str, typer.Option("--format", help="table | csv | json | parquet")] = "table",  # noqa: A002
    out: Annotated[Path | None, typer.Option(help="Output file (required for parquet).")] = None,
    parquet: Annotated[bool, typer.Option("--parquet", help="Query the live Parquet views instead of "
                                          "ROOT/catalog.duckdb (slow on big roots; for ad-hoc checks).")] = False,  # fmt: skip
) -> None:
    """Run read-only SQL over the catalog (ROOT/catalog.duckdb, brought up to date first). Only the
    catalog can be read: writes, other files, ATTACH, COPY and INSTALL are refused."""
    import pyarrow.parquet as pq

    from dataset import catalog
    from dataset.query import run_query, to_text

    try:
        con = catalog.open_parquet(root) if parquet else catalog.open(root, progress=True)
        table = run_query(sql, con=con)
        if format == "parquet":
            if out is None:
                raise InputError(None, "--format parquet needs --out FILE")
            pq.write_table(table, out)
            typer.echo(f"{table.num_rows} rows -> {out}")
            return
        text = to_text(table, format)
    except InputError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if out is not None:
        out.write_text(text)
    else:
        typer.echo(text)


def stats(
    root: Annotated[str, typer.Option(help="Catalog root (local path or fsspec URL).")] = ".",
    html: Annotated[Path | None, typer.Option(help="Also write an HTML dataset card here.")] = None,
    thumbnails: Annotated[int, typer.Option(help="Sample thumbnails in the card.")] = 6,
) -> None:
    """Clips and hours by game, decision and reason; frame accounting; shard sizes."""
    from dataset import catalog
    from dataset import stats as st

    try:
        con = catalog.open(root)
        typer.echo(st.render_text(st.compute(con)))
        if html is not None:
            typer.echo(f"dataset card -> {st.write_card(con, html, thumbnails)}")
    except InputError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
