"""Typed records that flow through curation and into the Parquet files.

Frame ranges are half-open `[start_frame, end_frame)` in the recording's own frame order.
Every frame of a recording ends in exactly one kept clip, dropped clip or discarded span.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field

# Namespace for deterministic clip ids: reruns produce the same keys.
CLIP_NAMESPACE = uuid.UUID("5d1b7a52-7f0e-4c3e-9a51-3c2f8d7e9b10")


def clip_id_for(recording_id: str, start_frame: int, end_frame: int) -> str:
    """uuid5 of (recording id, start, end), hex without dashes so it is a valid WebDataset key."""
    return uuid.uuid5(CLIP_NAMESPACE, f"{recording_id}:{start_frame}:{end_frame}").hex


@dataclass
class RecordingInfo:
    """One row of `recordings.parquet`: what was ingested and whether it could be read."""

    recording_id: str
    manifest: str
    game: str = "unknown"
    tags: dict[str, str] = field(default_factory=dict)
    num_frames: int = 0
    fps: float = 0.0
    width: int = 0
    height: int = 0
    depth_unit: str = ""
    status: str = "ok"  # ok | failed
    errors: list[str] = field(default_factory=list)

    def to_row(self) -> dict:
        return asdict(self)


@dataclass
class Segment:
    """Frames between two scene cuts (transitions already removed)."""

    recording_id: str
    start_frame: int
    end_frame: int

    def __len__(self) -> int:
        return self.end_frame - self.start_frame


@dataclass
class Span:
    """A discarded range of frames: `reason` is transition | too_short | unreadable | fault:<kind>."""

    recording_id: str
    start_frame: int
    end_frame: int
    reason: str

    def to_row(self) -> dict:
        return asdict(self)


@dataclass
class ClipScores:
    """Alignment scores of one clip. NaN = not computed (e.g. no CLIP weights)."""

    depth_abs_rel: float = float("nan")
    depth_delta1: float = float("nan")
    clip_similarity: float = float("nan")
    frozen_depth: float = float("nan")  # fraction of sampled steps where depth froze while RGB moved
    frozen_rgb: float = float("nan")  # fraction where depth moved while RGB froze
    invalid_fraction: float = float("nan")
    black_fraction: float = float("nan")
    duplicate_fraction: float = float("nan")
    edge_agreement: float = float("nan")


@dataclass
class Clip:
    """A fixed-length window of a segment, with its scores and the keep/drop decision."""

    recording_id: str
    start_frame: int
    end_frame: int
    manifest: str = ""
    fps: float = 30.0
    scores: ClipScores = field(default_factory=ClipScores)
    decision: str = "pending"  # kept | dropped
    reasons: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    config_hash: str = ""

    @property
    def clip_id(self) -> str:
        return clip_id_for(self.recording_id, self.start_frame, self.end_frame)

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame

    def to_row(self) -> dict:
        row = {
            "clip_id": self.clip_id,
            "recording_id": self.recording_id,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "num_frames": self.num_frames,
            "manifest": self.manifest,
            "fps": self.fps,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "errors": list(self.errors),
            "config_hash": self.config_hash,
        }
        row.update(asdict(self.scores))
        return row
