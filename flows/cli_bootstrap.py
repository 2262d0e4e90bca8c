"""`synthdepth bootstrap train`: train the bootstrap depth model on hand-picked clips (mounted by
flows/cli.py).

It lives with the flows because its calibration must score held-out clips as *curation* will
(`CurateConfig.score_sizes()`: analysis, model-input and scoring widths, samples per clip), and
the model package takes those as plain numbers without importing curate."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="The small bootstrap depth model used to score clips.", no_args_is_help=True)


@app.command("train")
def train(
    picks: Path = typer.Option(..., "--picks", help="CSV with columns manifest,start_frame,end_frame."),
    out: Path = typer.Option(..., "--out", help="Checkpoint to write (.safetensors)."),
    steps: int = typer.Option(300, "--steps", min=1, help="Optimiser steps."),
    size: int = typer.Option(128, "--size", help="Square working resolution."),
    seed: int = typer.Option(0, "--seed"),
    lr: float = typer.Option(2e-3, "--lr"),
    batch_size: int = typer.Option(4, "--batch-size", min=1),
    train_frames: int = typer.Option(4, "--train-frames", min=1),
    base_channels: int = typer.Option(16, "--base-channels", min=4, help="Width of the first encoder level."),
    holdout: float = typer.Option(0.2, "--holdout", min=0.0, max=0.9,
                                  help="Fraction of the picked frames held out to calibrate curation's depth thresholds."),
    calib_window: int = typer.Option(60, "--calib-window", min=2,
                                     help="Frames per held-out window (one 'clip' of the calibration)."),
    holdout_picks: int = typer.Option(
        -1, "--holdout-picks", min=-1,
        help="Hold out the last N picks of the CSV whole to calibrate (instead of --holdout windows): scores on "
             "recordings the model never saw, as curation will see them. Best with one unseen pick per kind of scene. "
             "-1 (default): a quarter of the picks when there are at least 4, else windows (0)."),
    threads: int = typer.Option(0, "--threads", min=0, help="Torch threads (0 = half the cores; 1 is fastest on 2 cores)."),
    curate_config: Path | None = typer.Option(
        None, "--curate-config",
        help="The CurateConfig file curation will use with this model: the calibration scores held-out clips at its "
             "widths and samples per clip (default: curation's defaults)."),
    set_: list[str] = typer.Option(None, "--set", help="CurateConfig override for the calibration, e.g. "
                                   "scoring.score_width=160 (as `synthdepth curate --set`)."),
) -> None:
    """Read each pick's frames from its recording, train, write a safetensors checkpoint."""
    from rich.console import Console
    from rich.table import Table

    from common.errors import InputError
    from curate.config import CurateConfig
    from model.bootstrap import (
        BootstrapConfig,
        count_parameters,
        holdout_picks_for,
        load_picks_csv,
        save_bootstrap,
        summarise_history,
        train_bootstrap,
    )

    console = Console()
    try:
        sizes = CurateConfig.load(curate_config, set_ or []).score_sizes()
    except (InputError, ValueError) as e:
        console.print(f"[red]synthdepth bootstrap train: bad curation config: {e}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    from flows.picks import read_picks

    rows = load_picks_csv(picks)
    try:
        clips = read_picks(rows, sizes, say=lambda m: console.print(m, markup=False, highlight=False))
    except (InputError, OSError) as e:
        console.print(f"[red]cannot read the picks: {e}", highlight=False)
        raise typer.Exit(2) from None
    if not clips:
        console.print(f"[red]{picks}: no frames could be read from any pick")
        raise typer.Exit(1)
    auto = holdout_picks < 0
    holdout_picks = holdout_picks_for(len(clips), holdout_picks)
    if auto and holdout_picks:
        console.print(f"calibrating on the last {holdout_picks} of {len(clips)} picks, held out whole")
    if holdout_picks >= len(clips):
        console.print(f"[red]{picks}: --holdout-picks {holdout_picks} leaves none of the {len(clips)} readable picks "
                      "to train on")
        raise typer.Exit(2)
    config = BootstrapConfig(size=size, batch_size=batch_size, train_frames=train_frames, base_channels=base_channels)
    import time

    t0 = time.perf_counter()
    net, history = train_bootstrap(clips, config, steps=steps, lr=lr, seed=seed, progress=True, holdout=holdout,
                                   calib_window=calib_window, calib_sizes=sizes, threads=threads or None,
                                   holdout_clips=holdout_picks)
    seconds = time.perf_counter() - t0
    save_bootstrap(out, net, config)
    table = Table(title=f"bootstrap loss ({count_parameters(net):,} params, {len(clips)} clips)")
    for col in ("steps", "loss", "ssi", "tgm"):
        table.add_column(col, justify="right")
    for r in summarise_history(history):
        table.add_row(r["steps"], f"{r['loss']:.4f}", f"{r['ssi']:.4f}", f"{r['tgm']:.4f}")
    console.print(table)
    cal = net.calibration
    if cal:
        q = cal["quantiles"]
        i05, i50, i95 = q["q"].index(0.05), q["q"].index(0.5), q["q"].index(0.95)
        console.print(
            f"calibration on {cal['clips']} held-out clean clips of ~{cal['frames_per_clip']} frames "
            f"({'from unseen picks' if cal.get('held_out') == 'whole clips' else 'windows of the trained-on picks'}): "
            f"delta1 p05 {q['delta1'][i05]:.3f} median {q['delta1'][i50]:.3f}; "
            f"AbsRel median {q['abs_rel'][i50]:.3f} p95 {q['abs_rel'][i95]:.3f} (scored as curation scores: "
            f"analysis {sizes.analysis_width} px, model input {sizes.pred_width} px, scores at {sizes.score_width} px, "
            f"{sizes.num_samples} samples per clip)"
        )
    else:
        console.print("[yellow]no calibration stored (picks too short to hold out a window, or --holdout 0); "
                      "curation will use the absolute depth thresholds")
    console.print(f"trained in {seconds:.0f} s; wrote {out}")
