"""`synthdepth curate MANIFEST... --out DIR`: the flow's per-recording curation on a local runner
(mounted by flows/cli.py)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The ephemeral server starts in a subprocess; on a busy 2-core machine 20 s (the default) is not enough.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def curate(
    manifests: Annotated[list[Path], typer.Argument(help="Recording manifests (JSON/YAML) or folders of them.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder: OUT/<recording_id>/ per recording, OUT/report.html.")],
    bootstrap: Annotated[Path | None, typer.Option("--bootstrap", help="Bootstrap depth model checkpoint.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="CurateConfig YAML/JSON file.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override, e.g. decision.delta1_min=0.6")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Recordings curated at once.")] = 1,
    runner: Annotated[str, typer.Option("--runner", help="thread, process (default with --workers > 1), dask "
                                        "(a LocalCluster of WORKERS one-thread processes, or --scheduler) or ray.")] = "",
    scheduler: Annotated[str | None, typer.Option("--scheduler", "--address",
                                                  help="Cluster to run on: tcp://HOST:8786 (Dask, implies --runner "
                                                  "dask) or ray://HOST:10001 (Ray).")] = None,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Retries of a transient error (EIO, timeout).")] = 2,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Threads per task for torch, OpenCV and the "
                                                "video decoder (default: this machine's cores / --workers; give 1 "
                                                "for one-thread cluster workers).")] = None,
) -> None:
    """Scenes -> clips -> alignment scores -> keep/drop decisions with reasons, one recording per task.

    Each recording is curated by the same unit `synthdepth run` uses and published to
    OUT/<recording_id>/{clips,spans,recordings}.parquet + report.html through a temp folder that
    is renamed when complete; a rerun skips recordings whose content and config are unchanged.
    OUT/report.html covers every recording. A recording that cannot be read is reported with its
    manifest file and the problem, and the others go on.

    Exit codes:
    0 all recordings processed;
    1 some recordings failed or were not processed (listed in the summary);
    2 bad usage;
    3 the run did not complete (OUT locked by another run).
    """
    from rich.console import Console

    from common.errors import InputError, RunLockedError
    from curate.config import CurateConfig
    from flows.config import PipelineConfig
    from flows.outcome import ExitCode, exit_code, problem_lines

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console = Console(stderr=True, soft_wrap=True)
    kind = runner or ("ray" if scheduler and scheduler.startswith("ray://") else "dask" if scheduler
                      else "process" if workers > 1 else "thread")
    try:
        cfg = CurateConfig.load(config, set_ or [])
        if bootstrap is not None and not bootstrap.is_file():
            raise InputError(bootstrap, "bootstrap checkpoint not found")
        for m in manifests:
            if not m.exists():
                raise InputError(m, "manifest or folder not found")
        pcfg = PipelineConfig(root=str(out), curated_dir=str(out), curate=cfg, runner=kind, workers=workers,
                              address=scheduler, retries=retries, torch_threads=threads).with_bootstrap(bootstrap)
        cfg = pcfg.curate
    except (InputError, ValueError) as e:
        console.print(f"[red]synthdepth curate: {e}[/red]", markup=True, highlight=False)
        raise typer.Exit(ExitCode.USAGE) from None
    if not cfg.scoring.bootstrap:
        console.print(
            "[bold red]No --bootstrap model given: the depth score is UNAVAILABLE; clips are judged by the "
            "cheap checks and CLIP only.[/bold red] Train one with `synthdepth bootstrap train`."
        )
    from flows.lock import root_lock
    from flows.pipeline import curate_recordings_flow

    try:
        with root_lock(pcfg.layout.root, pcfg.layout.lock):  # refused here, before a flow run starts
            run = curate_recordings_flow([str(m) for m in manifests], pcfg)
    except RunLockedError as e:
        console.print(f"[red]synthdepth curate: {e}[/red]", highlight=False)
        raise typer.Exit(ExitCode.INCOMPLETE) from None
    for n in run.get("notes", []):
        console.print(f"[bold red]{n}[/bold red]", highlight=False)
    console.print(
        f"{run['recordings']} recordings: {run['curated']} curated, {run['skipped']} unchanged (skipped), "
        f"{len(run['failed'])} failed, {len(run['not_processed'])} not processed; {run['clips_kept']} clips "
        f"kept, {run['clips_dropped']} dropped now, in {run['seconds']:.1f} s", highlight=False)
    for line in problem_lines(run):
        console.print(line, markup=False, highlight=False)
    console.print(f"per recording: {out}/<recording_id>/ (clips, spans, recordings .parquet, report.html)")
    console.print(f"report: {run['report']}")
    code = exit_code(run)
    if code:
        raise typer.Exit(code)
