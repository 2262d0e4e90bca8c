"""`synthdepth curate MANIFEST... --out DIR [--bootstrap CKPT] [--config FILE]`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer


def curate(
    manifests: Annotated[list[Path], typer.Argument(help="Recording manifests (JSON/YAML).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for clips/spans/recordings.parquet and report.html.")],
    bootstrap: Annotated[Path | None, typer.Option("--bootstrap", help="Bootstrap depth model checkpoint.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="CurateConfig YAML/JSON file.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override, e.g. decision.delta1_min=0.6")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
) -> None:
    """Scenes -> clips -> alignment scores -> keep/drop decisions with reasons."""
    from rich.console import Console

    from capture.errors import InputError
    from curate.config import CurateConfig
    from curate.pipeline import run_curation

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console = Console(stderr=True)
    try:
        cfg = CurateConfig.load(config, set_ or [])
    except InputError as e:
        console.print(f"[red]synthdepth curate: {e}[/red]")
        raise typer.Exit(2) from None
    if bootstrap is None and not cfg.scoring.bootstrap:
        console.print(
            "[bold red]No --bootstrap model given: the depth score is UNAVAILABLE; clips are judged by the "
            "cheap checks and CLIP only.[/bold red] Train one with `synthdepth bootstrap train`."
        )
    summary = run_curation(manifests, out, cfg, bootstrap=bootstrap, workers=workers)
    for n in summary.notes:
        console.print(f"[bold red]{n}[/bold red]")
    console.print(
        f"{summary.recordings} recordings ({summary.failed} failed), {summary.frames} frames: "
        f"{summary.clips_kept} clips kept, {summary.clips_dropped} dropped in {summary.seconds:.1f} s"
    )
    if summary.drops_by_reason:
        console.print("drops by reason: " + ", ".join(f"{k}={v}" for k, v in sorted(summary.drops_by_reason.items())))
    if summary.spans_by_reason:
        console.print("discarded frames: " + ", ".join(f"{k}={v}" for k, v in sorted(summary.spans_by_reason.items())))
    for name, p in summary.files.items():
        console.print(f"{name}: {p}")
    if summary.failed:
        raise typer.Exit(1)
