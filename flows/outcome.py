"""What a run's exit code and closing summary say (the same for `synthdepth curate` and `run`).

Exit codes:
  0  every recording was processed (curated now, or earlier with the same content and config)
     and every stage asked for finished;
  1  some recordings failed (bad input) or were not processed (a transient error outlasted the
     retries: the next run tries them again); the summary lists each with its manifest and
     error, and everything else was done;
  2  bad usage: an unknown option or stage, a bad --set or config file, a recordings path that
     does not exist (click's usage errors are 2 as well);
  3  the run did not complete: another run holds the data root's lock, or a stage (bootstrap,
     shard, train, evaluate) failed; the message says which.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    RECORDINGS = 1
    USAGE = 2
    INCOMPLETE = 3


def exit_code(run: dict) -> ExitCode:
    """The exit code of a finished run summary (a curate_flow / pipeline_flow result)."""
    if run.get("stage_errors"):
        return ExitCode.INCOMPLETE
    if run.get("failed") or run.get("not_processed"):
        return ExitCode.RECORDINGS
    return ExitCode.OK


def problem_lines(run: dict) -> list[str]:
    """One line per recording that is not curated: status, id, manifest file, error."""
    lines = []
    for status in ("failed", "not_processed"):
        for r in run.get(status) or []:
            tail = " (the next run tries it again)" if status == "not_processed" else ""
            lines.append(f"{status.upper().replace('_', ' ')} {r['recording_id']} ({r['manifest']}): {r['error']}{tail}")
    for e in run.get("stage_errors") or []:
        lines.append(f"STAGE FAILED {e['stage']}: {e['error']}")
    return lines
