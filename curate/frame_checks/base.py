"""The contract of a frame check, in the spirit of datatrove's BaseFilter.

A frame check is one class in one file: a `name`, a `meaning` (the report's words for
`fault:<name>`), its own `Config` section (a field of `frame_checks` in the curation config, so
`--set frame_checks.<name>.<field>=...` reaches it) and one method, `evidence`, that returns per
frame where its evidence holds and the span of the fault it implies. Everything else (the order
in which reasons are given, the report's legend, the per-check masks in the results and the
benches, which spans stop a lag's end search) is derived from the registry
(curate/frame_checks/registry.py).

What every check may use is in `CheckContext`, computed once per recording: the features, the
scene cuts, the shared motion summary (`MotionSummary`: where the picture moves, where it stands
still, where the depth repeats itself) and the spans of the checks before it.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from curate.series import around, pad, scene_bounds

if TYPE_CHECKING:
    from curate.config import FrameCheckConfig
    from curate.features import FrameFeatures


class CheckConfig(BaseModel):
    """A check's own config section; every check can be switched off."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    # Frames discarded on each side of this check's spans; None: `frame_checks.pad_frames`. Set
    # per check from how far its span's edges fell from the true ones (bench/curate_span_edges.py).
    pad_frames: int | None = Field(None, ge=0)
    # Frames discarded after its spans, where the check finds a fault's end more surely than its
    # start; None: pad_frames.
    pad_after: int | None = Field(None, ge=0)


@dataclass
class Evidence:
    """`frames`: where the check's evidence holds; `span`: the frames of the fault it implies
    (evidence grown to the whole fault: a freeze over its whole still depth, a menu between the
    steps that open and close it). Both bool per frame; `score` optional per-frame strength."""

    frames: np.ndarray
    span: np.ndarray
    score: np.ndarray | None = None

    @classmethod
    def none(cls, n: int) -> Evidence:
        return cls(np.zeros(n, bool), np.zeros(n, bool))


@dataclass
class MotionSummary:
    """Where the picture and the depth move, derived once from the features (see `summarise`)."""

    picture: np.ndarray  # mean picture displacement from the previous frame (work px), NaN if untracked
    depth: np.ndarray  # the same for the depth
    moving: np.ndarray  # the picture moves as a whole (tracked, not a static layer)
    still: np.ndarray  # the picture stands still (tracked, most tracks static)
    depth_tracked: np.ndarray  # enough depth structure was tracked to trust `depth`
    repeat: np.ndarray  # the depth repeats the previous frame (at its noise floor, or all tracks static)
    settled: np.ndarray  # the depth barely changed over the last `settle_frames` while usual motion changes it a lot
    nearly_still: np.ndarray  # the depth's one-frame change is a small fraction of its usual one
    usual_depth_change: float  # median pooled one-frame depth change while the picture moves
    depth_noise: float  # median pooled one-frame depth change while the picture stands still (0: unknown)
    repeat_level: float = 0.0  # the pooled change at most which the depth repeats (`repeat`'s floor; 0: unknown)

    def slice(self, a: int, b: int) -> MotionSummary:
        """Frames [a, b), judged with the whole recording's usual change and noise."""
        cut = {k: (v[a:b] if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}
        return MotionSummary(**cut)

    def background_repeats(self, a: int, b: int, reach: int = 45, still: np.ndarray | None = None,
                           cuts: Sequence[int] = ()) -> float:
        """Share of moving frames around [a, b) (within `reach` and the scene between `cuts`, the
        run itself left out) whose depth hardly changed (`still`, default `nearly_still`). An 8-bit
        depth of slowly moving content stands still now and then by itself (no pixel crosses a grey
        level); there a short repeat is no evidence. Another scene's depth says nothing of this
        one's (measured on a held-out real-game seed: a clear k = 1 lag start, its 38 depth tracks
        standing under a 0.23 px pan, refuted by five still frames of the scene before a cut 22
        frames earlier, and the lag leaked whole)."""
        still = self.nearly_still if still is None else still
        start, end = scene_bounds(cuts, a, b, len(self.repeat))
        lo, hi = max(start, a - reach), min(end, b + reach)
        mov = np.concatenate([self.moving[lo:a], self.moving[b:hi]])
        rep = np.concatenate([still[lo:a], still[b:hi]])
        return float(rep[mov].mean()) if mov.sum() >= 10 else 0.0


@dataclass
class CheckContext:
    features: FrameFeatures
    config: FrameCheckConfig
    cuts: Sequence[int]
    motion: MotionSummary
    spans: dict[str, np.ndarray] = field(default_factory=dict)  # spans of the checks already run
    picture_fault_checks: tuple[str, ...] = ()  # names of the checks whose faults are the picture's
    bootstrap_trusted: bool = False
    # The depth reads back bit for bit as stored (16-bit or float, not through a lossy codec): a
    # lagging buffer then replays its earlier frames exactly (see `RecordingInfo.depth_exact`).
    depth_exact: bool = False
    fps: float | None = None  # the recording's frame rate (None: `config.reference_fps`)
    _near_cut: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.features)

    @property
    def cut_mask(self) -> np.ndarray:
        m = np.zeros(self.n, bool)
        m[[c for c in self.cuts if 0 <= c < self.n]] = True
        return m

    def frames(self, n: int) -> int:
        """A count of frames measured at `config.reference_fps`, as many at this recording's rate
        (the same time)."""
        if not self.fps or self.fps <= 0:
            return n
        return max(1, round(n * self.fps / self.config.reference_fps))

    def near_cut(self, width: int) -> np.ndarray:
        """Frames within `width` of a scene cut: a depth jump there is the cut's (each check
        measured its own width). One mask per width and recording."""
        if width not in self._near_cut:
            self._near_cut[width] = pad(self.cut_mask, width)
        return self._near_cut[width]

    @functools.cached_property
    def picture_change_around(self) -> np.ndarray:
        """The picture's usual pooled one-frame change around each frame (`series.around` over 8
        frames, the frame itself left out): a cut, a flash or a menu changes one frame several
        times as much. Computed once per recording for every check that reads it."""
        return around(self.features.rgb_dist[:, 0], 8)

    def spans_of(self, names: Sequence[str]) -> np.ndarray:
        out = np.zeros(self.n, bool)
        for k in names:
            if k in self.spans:
                out |= self.spans[k]
        return out


class FrameCheck(ABC):
    name: ClassVar[str]
    meaning: ClassVar[str]
    Config: ClassVar[type[CheckConfig]] = CheckConfig
    # A fault of the picture itself (black, faded, covered): a lag's end is not looked for past it.
    picture_fault: ClassVar[bool] = False
    # Needs the bootstrap model, and runs only when its calibration says it can be trusted.
    needs_bootstrap: ClassVar[bool] = False

    def __init__(self, config: CheckConfig | None = None):
        self.config = config or self.Config()

    @abstractmethod
    def evidence(self, ctx: CheckContext) -> Evidence:
        """Per-frame evidence and the span of the fault it implies."""
