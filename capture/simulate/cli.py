"""`synthdepth capture simulate`: write simulated recordings (mounted by capture/cli.py)."""

from __future__ import annotations

from pathlib import Path

import typer


def simulate(
    out: Path = typer.Option(..., "--out", help="Folder for the recordings (one sub-folder each)."),
    count: int = typer.Option(1, help="Number of recordings."),
    seconds: float = typer.Option(6.0, help="Length of each recording in seconds."),
    width: int = typer.Option(320, help="Frame width (even for H.264)."),
    height: int = typer.Option(180, help="Frame height (even for H.264)."),
    fps: float = typer.Option(30.0, help="Frames per second."),
    faults: str = typer.Option("all", help="'all', 'none' or a comma list of: menu, depth_lag, "
                                           "frozen_depth, loading, cut, hud, fade."),
    kinds: str = typer.Option("room,street,terrain", help="Scene kinds, comma-separated."),
    layout: str = typer.Option("side_by_side", help="side_by_side, top_bottom, separate_files, image_sequence."),
    encoding: str = typer.Option("gray8", help="Depth encoding: gray8, gray16, rgb24_packed, float."),
    codec: str = typer.Option("h264", help="h264, lossless or yuv444_lossless."),
    seed: int = typer.Option(0, help="Seed of the first recording (recording r uses seed + r)."),
    clean_events: str = typer.Option("none", help="Hard negatives: 'all', 'none' or a comma list of: still, flash, "
                                                  "light_switch, fast_turn, dark, fog, soft_depth."),
    characters: int = typer.Option(0, help="Walkers per scene crossing the camera's view."),
) -> None:
    """Simulate recordings with exact depth, poses and labelled faults; print the manifest paths."""
    from capture.errors import InputError
    from capture.simulate.api import simulate_dataset, simulate_recording
    from capture.simulate.config import SimConfig

    try:
        cfg = SimConfig(seconds=seconds, width=width, height=height, fps=fps, faults=faults, kinds=kinds,
                        layout=layout, encoding=encoding, codec=codec, seed=seed,
                        clean_events=clean_events, characters=characters)
    except ValueError as e:
        errs = getattr(e, "errors", None)
        msg = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in errs()) if errs else str(e)
        typer.echo(f"synthdepth capture simulate: bad option: {msg}", err=True)
        raise typer.Exit(2) from None
    try:
        if count == 1:
            paths = [simulate_recording(out, cfg)]
        else:
            paths = simulate_dataset(out, count, cfg, vary_format=False)
    except InputError as e:
        typer.echo(f"synthdepth capture simulate: {e}", err=True)
        raise typer.Exit(2) from None
    for p in paths:
        typer.echo(str(p))
