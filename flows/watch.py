"""Scheduled curation: watch a folder and curate the recordings dropped into it.

Two ways to run it:
- `synthdepth serve FOLDER --root ROOT --interval 60` polls FOLDER every 60 s in this process and
  runs a curation flow run (ingest + curate, then catalog/report/artifact) only when a recording is
  new or changed; `--once` does a single pass and exits (cron-friendly).
- `synthdepth serve FOLDER --root ROOT --prefect-serve --interval 60` registers `watch_flow` as a
  Prefect deployment with an interval schedule (`flow.serve`): the runs show up in the Prefect UI
  and can be paused, triggered and inspected there. Needs a Prefect server that outlives the
  process (`prefect server start`, then `PREFECT_API_URL=http://127.0.0.1:4200/api`); the ephemeral
  server of a plain `synthdepth run` stops with it. The same is done with `prefect deploy` from a
  prefect.yaml whose entrypoint is `flows/watch.py:watch_flow`.
Either way, reruns are incremental: finished recordings are skipped by their content key.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow

from common.errors import RunLockedError
from flows.config import PipelineConfig
from flows.incremental import is_done
from flows.ingest import find_manifests
from flows.lock import root_lock


def pending(folder: str | Path, config: PipelineConfig) -> list[str]:
    """Recording ids in `folder` whose curation (with this config) is not published yet."""
    from flows.pipeline import plan_recordings

    config = config.with_bootstrap(config.bootstrap.checkpoint)
    plan = plan_recordings(find_manifests(folder), config)
    return [p["recording_id"] for p in plan
            if p["key"] and not p["problem"] and not is_done(config.layout.curated_dir(p["recording_id"]), p["key"])]


@flow(name="watch-curate", log_prints=True)
def watch_flow(folder: str, config: PipelineConfig) -> dict:
    """One pass: curate what is new in `folder`, refresh the catalog, report and artifact."""
    from flows.pipeline import curate_flow, finish_run
    from flows.runners import make_task_runner

    config = config.with_bootstrap(config.bootstrap.checkpoint)
    with root_lock(config.layout.root, config.layout.lock):
        runner = make_task_runner(config.runner, config.workers, config.address, config.threads_per_task())
        run = curate_flow.with_options(task_runner=runner)(folder, config)
        return finish_run(config, run)


def serve_folder(folder: str | Path, config: PipelineConfig, interval: float = 60.0, once: bool = False,
                 max_passes: int | None = None, echo=print) -> list[dict]:
    """Poll `folder`; run `watch_flow` when something is pending (always on the first pass)."""
    runs: list[dict] = []
    passes = 0
    Path(folder).mkdir(parents=True, exist_ok=True)
    while True:
        todo = pending(folder, config)
        if todo or passes == 0:
            echo(f"{time.strftime('%H:%M:%S')} {len(todo)} new or changed recording(s) in {folder}: "
                 f"{', '.join(todo[:8])}{' ...' if len(todo) > 8 else ''}")
            try:
                with root_lock(config.layout.root, config.layout.lock):  # refused before a flow run starts
                    run = watch_flow(str(folder), config)
            except RunLockedError as e:  # another run is writing to the root: try again next pass
                echo(f"skipped this pass: {e}")
            else:
                runs.append(run)
                echo(f"curated {run['curated']}, skipped {run['skipped']}, failed {len(run['failed'])}, "
                     f"not processed {len(run['not_processed'])}; report {run['report']}")
        passes += 1
        if once or (max_passes is not None and passes >= max_passes):
            return runs
        time.sleep(interval)
