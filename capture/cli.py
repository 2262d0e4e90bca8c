"""`synthdepth capture ...`: inspect a recording; simulate new ones (capture/simulate)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Inspect recordings and simulate new ones.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.command("inspect")
def inspect(
    manifest: Path = typer.Argument(..., help="Recording manifest (JSON or YAML)."),
    preview: Path | None = typer.Option(None, "--preview", help="Preview PNG (default: <manifest>_preview.png)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    max_frames: int | None = typer.Option(None, "--max-frames", help="Inspect only the first N frames."),
) -> None:
    """Summarise a recording (frames, fps, resolution, depth unit and range, duplicated frames,
    warnings) and write a preview image. Exits 1 with the file and the problem on bad input."""
    from rich.console import Console
    from rich.table import Table

    from capture.errors import InputError
    from capture.inspect import inspect_recording

    err = Console(stderr=True)
    preview = preview or manifest.with_name(manifest.stem + "_preview.png")
    try:
        s = inspect_recording(manifest, preview, max_frames)
    except InputError as e:
        err.print(f"[red]error:[/red] {e}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(s, indent=2))
        return
    t = Table(title=f"recording {s['id']}", show_header=False)
    fmt = lambda v: "-" if v is None else f"{v:.4g}"  # noqa: E731
    rows = [
        ("layout / encoding", f"{s['layout']} / {s['encoding']}"),
        ("frames", f"{s['frames']}" + (f" ({s['frames_inspected']} inspected)" if s["frames_inspected"] != s["frames"] else "")),
        ("fps / duration", f"{s['fps']:g} / {s['duration_s']:.2f} s"),
        ("resolution", f"{s['width']}x{s['height']}"),
        ("depth unit", s["depth_unit"]),
        ("depth min / median / max", f"{fmt(s['depth_min'])} / {fmt(s['depth_median'])} / {fmt(s['depth_max'])}"),
        ("invalid fraction", f"{s['invalid_fraction']:.3%}"),
        ("duplicated frames", ", ".join(map(str, s["duplicated_frames"])) or "none"),
        ("unreadable frames", _ranges(s["unreadable_frames"]) or "none"),
        ("preview", s.get("preview", "-")),
    ]
    for k, v in rows:
        t.add_row(k, str(v))
    out = Console()
    out.print(t)
    for w in s["warnings"] + s["unreadable_reasons"]:
        out.print(f"[yellow]warning:[/yellow] {w}", highlight=False, soft_wrap=True)


def _ranges(frames: list[int]) -> str:
    """[3, 4, 5, 9] -> "3-5, 9"."""
    out: list[str] = []
    for i in frames:
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)


try:  # the simulator lives in capture/simulate (optional while it is being written)
    from capture.simulate.cli import simulate
except ImportError:  # pragma: no cover - depends on the other module being present
    simulate = None
if simulate is not None:
    app.command("simulate")(simulate)
