"""The curation stage's typed config. Every threshold lives here so it is recorded (and hashed)
with the results; `CurateConfig.load(file, ["decision.delta1_min=0.6"])` overrides any of them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from capture.config import StageConfig
from common.frames import ScoreSizes


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SceneConfig(_Part):
    """PySceneDetect settings; cuts are found on a downscaled copy of the RGB stream."""

    detector: Literal["content", "adaptive"] = "content"
    threshold: float = Field(27.0, gt=0)  # ContentDetector threshold
    adaptive_threshold: float = Field(3.0, gt=0)  # AdaptiveDetector ratio
    min_content_val: float = Field(15.0, ge=0)  # AdaptiveDetector minimum content score
    min_scene_len: int = Field(15, ge=0)  # frames
    transition_frames: int = Field(2, ge=0)  # reach of a cut's transition (curate/scenes.py:transition_frames)
    detect_width: int = Field(256, ge=32)  # width of the frames fed to the detector
    # A cut of the picture is a cut only when the depth cuts too (curate/scenes.py:depth_confirmed):
    # within `history_frames` of it (a lagging depth cuts late) one frame's pooled depth change is
    # at least `depth_jump` x its usual change while the picture moves, and `depth_rise` x the
    # frames before it. A flash, a light switching or a fast turn cuts the picture's colours, not
    # the depth (measured on the external set: true cuts 10-200 x the usual change, the detector's
    # false cuts at most 12 x and without a jump). Where the depth stands still or is unknown
    # there, the cut is kept.
    depth_confirm: bool = True
    depth_jump: float = Field(8.0, gt=0)
    depth_rise: float = Field(4.0, ge=1)
    # A cut the detector missed (its content score under the threshold): the depth jumps as above
    # in the same frame as the picture's structure changes completely (at least `missed_struct`
    # of its textured blocks, curate/features.py `struct`) and the content score is at least
    # `missed_score` x the threshold. Measured: a teleport and a hard cut scored 19.7 and 22.0
    # (< 27) with the depth jumping 17-31 x and 0.98-1.0 of the structure changed.
    add_missed: bool = True
    missed_score: float = Field(0.5, gt=0)
    missed_struct: float = Field(0.9, gt=0, le=1)


class ClipConfig(_Part):
    length: int = Field(150, ge=2)  # frames per clip (5 s at 30 fps)
    stride: int | None = None  # start-to-start distance; None = length (no gap); must be >= length
    min_length: int | None = None  # shortest clip kept from a leftover piece; None = length

    @model_validator(mode="after")
    def _consistent(self) -> ClipConfig:
        if self.stride is not None and self.stride < self.length:
            # Overlapping clips would put a frame in two places and break the frame accounting.
            raise ValueError("clips.stride must be >= clips.length (clips may not overlap)")
        if self.min_length is not None and not (1 <= self.min_length <= self.length):
            raise ValueError("clips.min_length must be between 1 and clips.length")
        return self

    @property
    def step(self) -> int:
        return self.stride or self.length

    @property
    def shortest(self) -> int:
        return self.min_length or self.length


class _FrameCheckShared(_Part):
    """Per-frame checks run on every frame at a low working resolution; they find a fault's span
    so it can be cut out before clips are made (a clip median cannot see short faults). Each
    check's own settings are a section named after it (curate/frame_checks/<name>.py); these are
    the settings they share."""

    enabled: bool = True
    work_width: int = Field(160, ge=16)
    history_frames: int = Field(10, ge=2)  # J: pooled depth/luma change to each of the last J frames
    # Where the picture moves (curate/frame_checks/run.py:summarise), in work-resolution pixels
    # per frame: tracked by at least `min_tracks` corners, moving more than `motion_px` with at
    # most `layer_static` of its tracks static; standing still below `still_px` with at least
    # `still_static` of its tracks static (`still_tracks` of them at least: a plain menu has few
    # corners, and every one of them standing exactly still says enough).
    min_tracks: int = Field(12, ge=3)
    still_tracks: int = Field(8, ge=3)
    motion_px: float = 0.08
    layer_static: float = 0.3
    still_px: float = 0.03
    still_static: float = 0.6
    # The tracker's own noise (work px a frame): tracks that moved at most this stood. Measured over
    # frozen lossy depth under a picture moving 0.2 px or more: 0.019 px at the 95th percentile,
    # 0.041 at the 99th. (depth_lag's `slow_stood`; frozen_depth's `stuck_then_caught_up` and
    # `stands_under_a_drift`.)
    track_noise_px: float = 0.05
    # The depth repeats the previous frame: its pooled change under `repeat_floor` x the 10th
    # percentile of its changes while the picture moves, or `repeat_static` of its tracks static.
    repeat_floor: float = 0.1
    repeat_static: float = 0.9
    # A pooled change at most this is a bit-identical repeat (a depth that reads back exactly:
    # 16-bit or float; a lagging or frozen buffer replays its frame to the bit).
    exact_floor: float = 1e-7
    # ... or settled: its change over `settle_frames` is under `settle_fraction` x the usual change
    # over as many frames while the picture moves.
    settle_frames: int = Field(6, ge=2)
    settle_span: int = Field(2, ge=0)  # ... the median over the offsets this far either side of it (see `summarise`)
    settle_fraction: float = 0.25
    # Nearly still: a one-frame change under this x the usual one. Where the picture moves and the
    # depth often is nearly still (8-bit depth of slow or far content), short repeats are no evidence.
    nearly_still: float = 0.15
    # The frame rate the checks' frame counts were measured at (30 fps). At another rate, how far a
    # span may reach (`depth_lag.weak_horizon`, `max_span`, `chance_reach`, `alone_reach`;
    # `overlay.max_span`) stays the same in seconds: a lag lasts as long in time, twice the frames
    # at 60 fps. (Per-frame pixel thresholds stay: halving `motion_px` and `still_px` at 60 fps
    # made false freezes and found nothing more.)
    reference_fps: float = Field(30.0, gt=0)
    # span shaping
    pad_frames: int = Field(3, ge=0)  # discarded on each side of a fault, for checks that set no pad_frames of their own
    merge_gap: int = Field(8, ge=0)  # two faults this close become one span
    min_fault_frames: int = Field(1, ge=1)
    # The bootstrap tracker (curate/bootstrap_checks.py, needs --bootstrap): the model predicts depth
    # on every `bootstrap_every`-th frame; each prediction is compared with the captured depth. It
    # runs only for the checks that read it (`needs_bootstrap`, e.g. `misaligned`, off by default):
    # the clip scores alone need the model on their own sparser grid (`CurateConfig.score_stride`).
    bootstrap_every: int = Field(2, ge=0)  # 0 = off
    bootstrap_input_width: int = Field(256, ge=16)  # width of the frames given to the model
    lag_compare_width: int = Field(80, ge=16)  # width at which prediction and depth are compared
    lag_max_frames: int = Field(10, ge=1)  # later depth frames each prediction is compared with

    def tracks_bootstrap(self) -> bool:
        """The bootstrap tracker runs (when a model is given): an enabled check reads its track."""
        from curate.frame_checks.registry import REGISTRY

        return bool(self.enabled and self.bootstrap_every and any(
            getattr(self, c.name).enabled for c in REGISTRY if c.needs_bootstrap))


def _frame_check_config() -> type[_FrameCheckShared]:
    """The shared settings plus one section per registered check (its `Config`, defaults included)."""
    from pydantic import create_model

    from curate.frame_checks.registry import REGISTRY

    sections = {c.name: (c.Config, c.Config()) for c in REGISTRY}
    return create_model("FrameCheckConfig", __base__=_FrameCheckShared, __doc__=_FrameCheckShared.__doc__,
                        **sections)


FrameCheckConfig = _frame_check_config()


class ScoringConfig(_Part):
    num_samples: int = Field(10, ge=1)  # frames sampled uniformly per clip
    score_width: int = Field(192, ge=16)  # frames are kept at this width for scoring
    bootstrap: str | None = None  # checkpoint path of the bootstrap depth model
    # The bootstrap votes only when its checkpoint's held-out clean clips show it can (curate/trust.py):
    # "calibration" = delta1 median >= trust_delta1 on >= trust_min_clips clips; "always" = no test.
    bootstrap_trust: Literal["calibration", "always"] = "calibration"
    trust_delta1: float = Field(0.6, ge=0.0, le=1.0)
    trust_min_clips: int = Field(3, ge=1)
    clip_model: str = "ViT-B-32"  # open_clip model name (or "synthdepth-tiny" for tests)
    clip_pretrained: str | None = "openai"  # open_clip tag or local checkpoint path; None = no CLIP
    clip_random_init: bool = False  # allow random weights (tests only: scores are meaningless)
    colormap: str = "turbo"
    device: str = "auto"  # "auto": cuda when torch sees one, else cpu; or "cpu", "cuda", "cuda:1", ...
    batch_size: int = Field(32, ge=1)
    threads: int | None = None  # torch threads per worker; None = half the cores / workers (1 on 2 cores)


class DecisionConfig(_Part):
    # the paper's rule: drop when BOTH medians are below their thresholds
    depth_metric: Literal["delta1", "abs_rel"] = "delta1"
    # "auto": depth thresholds from the clean held-out clip scores stored in the bootstrap checkpoint
    # (curate.decision.resolve_thresholds); "absolute": delta1_min / abs_rel_max below. A checkpoint
    # without calibration falls back to the absolute ones, and the report says so.
    depth_thresholds: Literal["auto", "absolute"] = "auto"
    auto_quantile: float = Field(0.05, gt=0.0, lt=0.5)  # tail of the clean distribution used
    # Held-out windows come from the picked recordings, whose scenes the model has seen, so their
    # scores are optimistic for new recordings (measured: held-out delta1 p5 0.34 vs 0.19 on unseen
    # clean clips): the thresholds sit a factor beyond the clean tail.
    auto_delta1_factor: float = Field(0.5, gt=0.0, le=1.0)  # delta1_min = q(auto_quantile) * factor
    auto_abs_rel_factor: float = Field(2.0, ge=1.0)  # abs_rel_max = q(1 - auto_quantile) * factor
    auto_min_clips: int = Field(3, ge=1)  # fewer held-out clips: absolute thresholds
    delta1_min: float = 0.7
    abs_rel_max: float = 0.3
    clip_similarity_min: float = 0.85
    clip_rgb_similarity_min: float = 0.2  # threshold when CLIP compares RGB with depth (no bootstrap)
    # hard checks on every frame of the clip
    # The share of a clip's frames in runs of repeated depth under a moving picture that the frame
    # check did not take (an 8-bit staircase's repeats, judged there against the frames around).
    # 0.05 (3 frames of 60) dropped 14 clean 60-frame clips on 193 saved recordings (0.05-0.09)
    # and no clip with a fault frame; the external benches' freezes are 20-60 frames (0.13 of a
    # 150-frame clip).
    frozen_depth_max: float = 0.1
    frozen_rgb_max: float = 0.05
    invalid_fraction_max: float = 0.8  # sky counts as invalid, so outdoor clips have plenty
    black_fraction_max: float = 0.1
    # Exact repeats of picture and depth: a camera standing still in a scene with nothing moving
    # repeats frames as surely as a recorder that stalls, and its depth is right. 0.5 dropped 5 of
    # 13 clean real-capture clips; 0.95 still dropped 10 clean clips of stills on the external
    # sets (2 s of a still camera is one frame repeated) and no fault clip. So by default no clip
    # is dropped for it (1.0: only a share above 1 would drop); the share is in clips.parquet
    # (`duplicate_fraction`) for a `--where` that wants motion, and a stalled recorder's frames
    # are named by the capture reader (`duplicated_frames`).
    duplicate_fraction_max: float = 1.0


class AnalysisConfig(_Part):
    """The one decoding pass per recording (or chunk) that fills the per-frame table."""

    # Width of the one downscaled copy of every decoded frame that scene detection, the frame
    # checks, the bootstrap and the scores share; None = the widest of them needs.
    width: int | None = Field(None, ge=16)
    # Model scores (AbsRel, delta1, CLIP) are computed on every `score_every`-th frame during the
    # pass; a clip's score is the median over `scoring.num_samples` of those inside it. None = as
    # dense as a clip's samples need (see `score_stride`), rounded to a multiple of
    # `frame_checks.bootstrap_every` when the tracker runs, so its predictions are reused.
    score_every: int | None = Field(None, ge=1)
    # Long recordings are analysed in chunks of about this many seconds, each starting at a
    # keyframe; chunked and one-pass analysis give the same table, so this is not hashed.
    chunk_seconds: float = Field(180.0, gt=0)
    # Frames decoded ahead in a reader thread (and the bootstrap run in its own thread) while the
    # checks work; 0 = all in the task's thread (a one-thread worker). Cannot change a result.
    prefetch: int = Field(8, ge=0)
    # Preview thumbnails kept per recording: `thumbnails` spread over it by a hash of the frame
    # number, and as many again of the worst-scored frames (for the dropped clips' previews).
    thumbnails: int = Field(24, ge=0)
    thumbnail_width: int = Field(160, ge=16)


# Settings that cannot change a result (chunked and one-pass analysis agree exactly).
_UNHASHED = {"analysis": ("chunk_seconds", "prefetch")}


class CurateConfig(StageConfig):
    scenes: SceneConfig = SceneConfig()
    clips: ClipConfig = ClipConfig()
    frame_checks: FrameCheckConfig = FrameCheckConfig()
    scoring: ScoringConfig = ScoringConfig()
    decision: DecisionConfig = DecisionConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    previews_per_decision: int = Field(3, ge=0)  # clips per recording and decision kept for the report

    def config_hash(self) -> str:
        """Hash of every setting that can change a result (`_UNHASHED` ones left out)."""
        import hashlib
        import json

        data = self.model_dump(mode="json")
        for part, keys in _UNHASHED.items():
            for k in keys:
                data[part].pop(k, None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def analysis_width(self) -> int:
        """Width of the shared analysis frame."""
        if self.analysis.width:
            return self.analysis.width
        fc = self.frame_checks
        return max(self.scenes.detect_width, fc.work_width, fc.bootstrap_input_width, self.scoring.score_width)

    def score_sizes(self) -> ScoreSizes:
        """The numbers behind a clip's depth score under this config: what the bootstrap's
        calibration must score held-out clips with to score them as this curation will."""
        return ScoreSizes(analysis_width=self.analysis_width(), pred_width=self.frame_checks.bootstrap_input_width,
                          score_width=self.scoring.score_width, num_samples=self.scoring.num_samples)

    def score_stride(self) -> int:
        """Every how many frames the model scores are computed (see `AnalysisConfig.score_every`)."""
        if self.analysis.score_every:
            return self.analysis.score_every
        n = self.scoring.num_samples
        # Any run of `shortest` frames holds n grid frames exactly `every` apart: a clip's n samples
        # are spread evenly, and the model runs on no frame a clip will not use (at 150-frame clips,
        # every 15th frame; the model's cost per second of video halves from the earlier every 8th).
        every = max(1, self.clips.shortest // max(1, n))
        if self.frame_checks.tracks_bootstrap():
            b = self.frame_checks.bootstrap_every
            every = max(b, every // b * b)
        return every
