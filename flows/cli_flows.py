"""`synthdepth run | demo | serve`: the pipeline flows from the command line (mounted by flows/cli.py)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

# Prefect's ephemeral server would try to send usage telemetry; the pipeline runs offline.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The ephemeral server starts in a subprocess; on a busy 2-core machine 20 s (the default) is not enough.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

STAGES = ("bootstrap", "curate", "shard", "train", "evaluate")


def _config(config: Path | None, set_: list[str] | None, **fields):
    from common.errors import InputError
    from flows.config import PipelineConfig
    from flows.outcome import ExitCode

    overrides = [f"{k}={v}" for k, v in fields.items() if v is not None]
    try:
        return PipelineConfig.load(config, overrides + list(set_ or []))
    except InputError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None


def run(
    recordings: Annotated[Path, typer.Argument(help="Folder of recordings (manifests found recursively) or one manifest.")],
    root: Annotated[Path | None, typer.Option("--root", help="Data root for curated/, shards/, models/, runs/, the "
                                              "catalog and the report (default: the config's, 'synthdepth-data').")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="PipelineConfig YAML/JSON (every stage's settings).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override any setting, e.g. --set curate.clips.length=60 "
                                                   "--set train.steps=500 (repeatable).")] = None,
    stages: Annotated[str, typer.Option("--stages", help="Comma-separated subset of "
                                        "bootstrap,curate,shard,train,evaluate.")] = ",".join(STAGES),
    picks: Annotated[Path | None, typer.Option("--picks", help="picks.csv (manifest,start_frame,end_frame) of clean "
                                               "clips: train the bootstrap scorer on them first.")] = None,
    bootstrap: Annotated[Path | None, typer.Option("--bootstrap", help="Existing bootstrap checkpoint to score with.")] = None,
    runner: Annotated[str | None, typer.Option("--runner", help="Task runner: thread (default), process, dask or ray.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Parallel curation tasks.")] = None,
    address: Annotated[str | None, typer.Option("--address", "--scheduler", help="Dask scheduler (tcp://HOST:8786, "
                                                "implies --runner dask) or Ray cluster (ray://HOST:10001).")] = None,
) -> None:
    """Run the whole pipeline as a Prefect flow: bootstrap -> curate -> shard -> train -> evaluate.

    Reruns are incremental: finished recordings (same content, same config) are skipped, so
    after a crash or with new recordings in the folder only the missing work is done. A bad
    recording is registered as failed with its manifest and error and never stops the others;
    one that hit a transient error (EIO, timeout) past its retries is recorded as not processed
    and tried again by the next run. One run per --root at a time. Example:

        synthdepth run recordings/ --root data --set curate.clips.length=60 --stages curate,shard

    Exit codes:
    0 all recordings processed;
    1 some recordings failed or were not processed (listed in the summary);
    2 bad usage;
    3 the run did not complete (root locked by another run, or a stage failed).
    """
    from common.errors import InputError, RunLockedError
    from flows.outcome import ExitCode, exit_code, problem_lines

    want = [s.strip() for s in stages.split(",") if s.strip()]
    bad = [s for s in want if s not in STAGES]
    if bad:
        typer.echo(f"error: unknown stage(s) {bad}; choose from {', '.join(STAGES)}", err=True)
        raise typer.Exit(ExitCode.USAGE)
    if address and runner is None:
        runner = "ray" if address.startswith("ray://") else "dask"
    if not recordings.exists():
        typer.echo(f"error: {recordings}: recordings folder or manifest not found", err=True)
        raise typer.Exit(ExitCode.USAGE)
    cfg = _config(config, set_, root=root, runner=runner, workers=workers, address=address,
                  **{"bootstrap.picks": picks, "bootstrap.checkpoint": bootstrap})
    from flows.lock import root_lock
    from flows.pipeline import pipeline_flow

    try:
        with root_lock(cfg.layout.root, cfg.layout.lock):  # refused here, before a flow run starts
            result = pipeline_flow(str(recordings), cfg, want)
    except RunLockedError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(ExitCode.INCOMPLETE) from None
    except InputError as e:  # e.g. a picks file that names no readable recording
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    typer.echo(result["markdown"])
    typer.echo(f"\nreport: {result['report']}\ncatalog: {result['catalog']}")
    lines = problem_lines(result)
    for line in lines:
        typer.echo(line, err=True)
    code = exit_code(result)
    if code:
        raise typer.Exit(code)


def demo(
    root: Annotated[Path, typer.Option("--root", help="Where the demo writes everything.")] = Path("synthdepth-demo"),
    recordings: Annotated[int, typer.Option("--recordings", min=1, help="Simulated recordings with faults.")] = 4,
    seconds: Annotated[float, typer.Option("--seconds", help="Length of each recording.")] = 16.0,
    width: Annotated[int, typer.Option("--width")] = 160,
    height: Annotated[int, typer.Option("--height")] = 90,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Parallel curation tasks.")] = 2,
    runner: Annotated[str, typer.Option("--runner", help="thread, process, dask or ray.")] = "thread",
    set_: Annotated[list[str] | None, typer.Option("--set", help="Extra config overrides (key=value).")] = None,
) -> None:
    """Simulate recordings with faults and run everything end to end on the CPU (a few minutes).

    Uses Prefect's ephemeral server, a DuckDB file and a local folder; nothing to set up. Ends
    by printing where the report is, the catalog's counts and three DuckDB queries to try.
    Run it again and it finishes in seconds: everything is already done.
    """
    from flows.demo import run_demo

    run_demo(root, recordings, seconds, width, height, workers, runner, list(set_ or []))


def serve(
    folder: Annotated[Path, typer.Argument(help="Folder to watch for new recordings (manifests + media).")],
    root: Annotated[Path | None, typer.Option("--root", help="Data root (as for `synthdepth run`).")] = None,
    interval: Annotated[float, typer.Option("--interval", min=1, help="Seconds between passes.")] = 60.0,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (for cron).")] = False,
    prefect_serve: Annotated[bool, typer.Option("--prefect-serve", help="Register a Prefect deployment with an "
                                                "interval schedule (flow.serve) instead of polling here; needs "
                                                "a running `prefect server start`.")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="PipelineConfig YAML/JSON.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Config overrides (key=value).")] = None,
    bootstrap: Annotated[Path | None, typer.Option("--bootstrap", help="Bootstrap checkpoint to score with.")] = None,
    runner: Annotated[str | None, typer.Option("--runner", help="thread, process, dask or ray.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1)] = None,
) -> None:
    """Watch FOLDER and curate every new recording dropped into it (ingest + curate + catalog + report).

    Only new or changed recordings are curated; each pass refreshes ROOT/catalog.duckdb and
    ROOT/report.html. Shard and train with `synthdepth run FOLDER --stages shard,train,evaluate`.
    """
    cfg = _config(config, set_, root=root, runner=runner, workers=workers,
                  **{"bootstrap.checkpoint": bootstrap})
    from flows.watch import serve_folder, watch_flow

    if prefect_serve:
        typer.echo(f"serving deployment 'synthdepth-watch' (every {interval:.0f} s); Ctrl-C to stop")
        watch_flow.serve(name="synthdepth-watch", interval=interval,
                         parameters={"folder": str(folder), "config": cfg.model_dump(mode="json")})
        return
    logging.basicConfig(level=logging.WARNING)
    serve_folder(folder, cfg, interval=interval, once=once, echo=typer.echo)
