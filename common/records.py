"""Typed records that flow through curation and become rows of the Parquet files and the catalog.

Frame ranges are half-open `[start_frame, end_frame)` in the recording's own frame order.
Every frame of a recording ends in exactly one kept clip, dropped clip or discarded span.
The Arrow schemas of these rows are derived from the dataclasses (common/schema.py), so a field
added here reaches clips.parquet, the shard Parquet and the catalog's views without more edits.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass, field, fields

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
    status: str = "ok"  # ok | failed | not_processed (a transient error outlasted the retries)
    errors: list[str] = field(default_factory=list)
    # Which checks decided (model-free only, or also the bootstrap's) and why; see curate/trust.py.
    bootstrap_trusted: bool = False
    notes: list[str] = field(default_factory=list)
    # The depth reads back bit for bit (`Recording.depth_exact`): a lagging depth buffer then
    # replays its earlier frames exactly, which the depth-lag check asks of a rewind.
    depth_exact: bool = False
    # frames no check marked (readable, no transition, no fault), and the frames of kept clips
    usable_frames: int = 0
    kept_frames: int = 0

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
    """A discarded range of frames: `reason` is transition | too_short | remainder | unreadable |
    fault:<check>."""

    recording_id: str
    start_frame: int
    end_frame: int
    reason: str

    def to_row(self) -> dict:
        return asdict(self)


@dataclass
class ClipScores:
    """Alignment scores of one clip. NaN = not computed (e.g. no CLIP weights)."""

    depth_abs_rel: float = math.nan
    depth_delta1: float = math.nan
    clip_similarity: float = math.nan
    frozen_depth: float = math.nan  # fraction of steps where depth froze while the picture moved
    frozen_rgb: float = math.nan  # fraction where depth moved while the picture froze
    invalid_fraction: float = math.nan
    black_fraction: float = math.nan
    duplicate_fraction: float = math.nan


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
    # the depth thresholds the alignment rule used ("auto": from the bootstrap's calibration;
    # "off": the bootstrap was not trusted and did not vote)
    depth_threshold_source: str = ""
    delta1_min: float = math.nan
    abs_rel_max: float = math.nan

    @property
    def clip_id(self) -> str:
        return clip_id_for(self.recording_id, self.start_frame, self.end_frame)

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame

    def to_row(self) -> dict:
        """The flat row: clip_id and num_frames first, then every field, scores inlined."""
        row = {"clip_id": self.clip_id}
        for f in fields(self):
            if f.name == "scores":
                row.update(asdict(self.scores))
            else:
                v = getattr(self, f.name)
                row[f.name] = list(v) if isinstance(v, list) else v
            if f.name == "end_frame":
                row["num_frames"] = self.num_frames
        return row
