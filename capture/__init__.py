"""Recordings in, (rgb, depth) frame pairs out; plus the recording simulator."""

from capture.errors import CaptureError, InputError, ManifestError, TransientError
from capture.manifest import Manifest, load_manifest
from capture.records import FrameItem, FramePair, UnreadableFrame

__all__ = ["CaptureError", "FrameItem", "FramePair", "InputError", "Manifest", "ManifestError", "TransientError",
           "UnreadableFrame", "load_manifest", "open_recording", "Recording"]


def __getattr__(name: str):
    # The reader pulls in PyAV; import it only when asked for.
    if name in ("open_recording", "Recording"):
        from capture import recording

        return getattr(recording, name)
    raise AttributeError(name)
