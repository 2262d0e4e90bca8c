"""The capture stage's error types; they live in `common.errors`, shared by every stage."""

from __future__ import annotations

from pathlib import Path

from common.errors import CaptureError, InputError, ManifestError, TransientError, is_transient


def raise_if_transient(e: BaseException, path: Path | str | None, what: str) -> None:
    """An OSError that may heal (EIO, a timeout, ...) goes up as TransientError (an OSError, stage
    "capture", naming the file), so the task that called us retries it; "not found", "is a
    directory" and "permission denied" do not. OSErrors without an errno (libraries use them
    for bad data) are not transient."""
    if isinstance(e, OSError) and getattr(e, "errno", None) is not None and is_transient(e):
        raise TransientError(path, f"{what}: {e}", stage="capture", cause=e) from e


__all__ = ["CaptureError", "InputError", "ManifestError", "TransientError", "raise_if_transient"]
