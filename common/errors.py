"""Typed errors shared by every stage. Each carries `(stage, kind, message)`.

Two families, told apart by type and never by parsing text:
- `InputError` (a `ValueError`): bad input (a broken file, a wrong manifest field, a checkpoint that
  does not fit). Retrying does not help; it is reported with the file and the problem, and the flow
  goes on with the other inputs.
- transient errors: an `OSError` that may heal (EIO on a network share, a timeout, a dropped
  connection). Tasks retry them with backoff; when retries run out the input is recorded as *not
  processed* (not as failed), so the next run tries again. `is_transient` says which is which;
  `TransientError` wraps one with a stage and a path when the code that saw it wants to say more.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

# OSErrors that describe the input, not the weather: the file is not there, is a folder, or is
# not readable. Retrying does not change them.
_PERMANENT_OSERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)
_PERMANENT_ERRNOS = {errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG}


class SynthdepthError(Exception):
    """Base of the project's errors: `stage` (capture, curate, dataset, model, flows), `kind` (a short
    machine-readable name such as "manifest" or "decode") and the one-line `message`."""

    stage: str = "synthdepth"
    kind: str = "error"

    @property
    def record(self) -> ErrorRecord:
        return ErrorRecord(self.stage, self.kind, str(self))


class InputError(SynthdepthError, ValueError):
    """Bad input: carries the offending path and a one-line problem statement."""

    stage = "input"
    kind = "input"

    def __init__(self, path: str | Path | None, problem: str, *, stage: str | None = None, kind: str | None = None):
        self.path = str(path) if path is not None else None
        self.problem = problem
        if stage:
            self.stage = stage
        if kind:
            self.kind = kind
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class CaptureError(InputError):
    """A recording (media or manifest) cannot be read as described."""

    stage = "capture"
    kind = "media"


class ManifestError(CaptureError):
    """A manifest field is missing or wrong; `field` is its dotted name."""

    kind = "manifest"

    def __init__(self, path: str | Path | None, field: str, problem: str):
        self.field = field
        super().__init__(path, f"field '{field}': {problem}")


class CheckpointError(InputError):
    """A checkpoint is missing or does not fit the model it is loaded into."""

    stage = "model"
    kind = "checkpoint"


class ConfigError(InputError):
    """A config file or a `--set` override is wrong."""

    stage = "config"
    kind = "config"


class CatalogAccessError(InputError):
    """A catalog query asked for something outside the catalog (another file, a write)."""

    stage = "dataset"
    kind = "catalog_access"


class RunLockedError(SynthdepthError):
    """Another run holds the lock on the same root."""

    stage = "flows"
    kind = "locked"


class TransientError(SynthdepthError, OSError):
    """An I/O error that may heal on retry, with the stage and path that saw it."""

    kind = "transient"

    def __init__(self, path: str | Path | None, problem: str, *, stage: str = "synthdepth", cause: BaseException | None = None):
        self.path = str(path) if path is not None else None
        self.problem = problem
        self.stage = stage
        eno = getattr(cause, "errno", None)
        OSError.__init__(self, eno if eno is not None else errno.EIO, f"{self.path}: {problem}" if self.path else problem)

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}" if self.path else self.problem


def is_transient(exc: BaseException | None) -> bool:
    """An error that may go away on retry: an OSError that does not describe the input itself
    (not "no such file", "is a directory", "permission denied"), or a timeout. Bad input never is."""
    if exc is None or isinstance(exc, InputError):
        return False
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, TimeoutError):
        return True
    if isinstance(exc, _PERMANENT_OSERRORS):
        return False
    if isinstance(exc, OSError):
        return getattr(exc, "errno", None) not in _PERMANENT_ERRNOS
    return False


@dataclass(frozen=True)
class ErrorRecord:
    """What is stored about an error in rows and reports."""

    stage: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"[{self.stage}:{self.kind}] {self.message}"


def error_record(exc: BaseException, stage: str = "synthdepth") -> ErrorRecord:
    """`(stage, kind, message)` of any exception: the project's own carry theirs; others are typed by
    their class (an unexpected exception is a bug, reported as such)."""
    if isinstance(exc, SynthdepthError):
        return exc.record
    if is_transient(exc):
        return ErrorRecord(stage, "transient", f"{type(exc).__name__}: {exc}")
    if isinstance(exc, OSError):
        return ErrorRecord(stage, "io", f"{type(exc).__name__}: {exc}")
    return ErrorRecord(stage, "internal", f"{type(exc).__name__}: {exc}")
