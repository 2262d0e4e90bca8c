"""Errors that name the file and the problem, so a flow can report them and go on."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input: carries the offending path and a one-line problem statement."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = str(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class CaptureError(InputError):
    """A recording (media or manifest) cannot be read as described."""


class ManifestError(CaptureError):
    """A manifest field is missing or wrong; `field` is its dotted name."""

    def __init__(self, path: str | Path | None, field: str, problem: str):
        self.field = field
        super().__init__(path, f"field '{field}': {problem}")
