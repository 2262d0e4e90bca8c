"""The capture stage's error types; they live in `common.errors`, shared by every stage."""

from common.errors import CaptureError, InputError, ManifestError

__all__ = ["CaptureError", "InputError", "ManifestError"]
