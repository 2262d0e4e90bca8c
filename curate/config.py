"""The curation stage's typed config. Every threshold lives here so it is recorded (and hashed)
with the results; `CurateConfig.load(file, ["decision.delta1_min=0.6"])` overrides any of them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from capture.config import StageConfig


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SceneConfig(_Part):
    """PySceneDetect settings; cuts are found on a downscaled copy of the RGB stream."""

    detector: Literal["content", "adaptive"] = "content"
    threshold: float = Field(27.0, gt=0)  # ContentDetector threshold
    adaptive_threshold: float = Field(3.0, gt=0)  # AdaptiveDetector ratio
    min_content_val: float = Field(15.0, ge=0)  # AdaptiveDetector minimum content score
    min_scene_len: int = Field(15, ge=0)  # frames
    transition_frames: int = Field(2, ge=0)  # frames discarded on each side of a cut
    detect_width: int = Field(256, ge=32)  # width of the frames fed to the detector


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


class FrameCheckConfig(_Part):
    """Per-frame checks run on every frame at a low working resolution; they find a fault's span
    so it can be cut out before clips are made (a clip median cannot see short faults)."""

    enabled: bool = True
    work_width: int = Field(160, ge=16)
    # black / near-uniform picture
    black_luma: float = 0.06  # mean luma (0..1) below this = black
    uniform_std: float = 0.025  # luma std below this = uniform
    uniform_fraction: float = 0.92  # or this fraction of pixels within +-uniform_band of the median
    uniform_band: float = 0.04
    # invalid / flat depth
    invalid_fraction: float = 0.9
    flat_depth_std: float = 1e-3  # std of log depth below this = depth buffer cleared
    # motion. "growth" = change over `growth_span` frames / change over one frame: a moving stream
    # grows (>> 1), a frozen one stays at its noise level (~1) whatever the codec noise.
    growth_span: int = Field(6, ge=2)
    frozen_growth: float = 1.6  # below: stream frozen
    moving_growth: float = 2.5  # above: stream moving
    rgb_moving: float = 0.002  # and mean abs luma change (0..1) per frame above this
    rgb_fast: float = 0.03  # a per-frame luma change above this is motion whatever its growth
    depth_moving: float = 0.002  # and mean abs log-depth change per frame above this
    frozen_run: int = Field(3, ge=1)  # consecutive frames before frozen depth/picture counts
    # frozen over a span (J = rewind_max_offset frames): pooled log-depth change / pooled luma change
    # below `still_ratio` x its scene median, the luma change above `still_rgb_change` (0..1) and
    # the depth change below `still_depth_change` (a large change is never a freeze)
    still_ratio: float = 0.15
    still_rgb_change: float = 0.02
    still_depth_change: float = 0.02
    # depth lag without a model (curate/rewind_lag.py): at its onset the depth stream repeats the
    # depth of k frames back while the picture moves on; at its end the depth jumps k+1 frames ahead.
    rewind_max_offset: int = Field(10, ge=2)  # J: longest lag looked for (frames)
    rewind_window: int = Field(8, ge=2)  # frames each side that give the usual change
    rewind_ratio: float = 2.5  # usual k-frame depth change / change against k frames back
    # The usual k-frame change (mean abs log depth) is at least this: below ~1% a lag's own error is
    # within an 8-bit buffer's quantisation, and slow turnarounds toggle between grey levels the way
    # a rewind repeats frames (bench/curate_accuracy.py and bench/curate_external.py: every true
    # onset had >= 0.0107, most false ones less).
    rewind_min_change: float = 0.009
    rewind_rgb_keep: float = 0.6  # while the picture's k-frame change stays at least this x its usual
    rewind_backjump: float = 1.2  # onset frame: change to the previous frame / change to k frames back
    rewind_onset_jump: float = 0.5  # and its change to the previous frame >= this x usual (k-1)-frame change
    end_jump_ratio: float = 1.6  # lag end: one-frame depth change >= this x its usual ...
    end_jump_size: float = 0.4  # ... and >= this x the usual (k+1)-frame change ...
    end_rgb_ratio: float = 1.5  # ... while the picture's one-frame change stays < this x its usual
    end_rgb_floor: float = 0.002  # picture change (0..1 luma) below this counts as this (noise)
    lag_max_span: int = Field(300, ge=1)  # longest lag (frames) from an onset to its end
    # overlays (curate/overlay.py): the picture jumps while the depth does not, twice within a span
    overlay_ratio: float = 8.0  # one-frame picture change >= this x its usual ...
    overlay_min_step: float = 0.04  # ... and >= this (mean abs luma 0..1; a HUD pop-up is smaller) ...
    overlay_depth_ratio: float = 2.0  # ... while the depth changes < this x its usual
    overlay_max_span: int = Field(300, ge=1)  # longest overlay (frames) between the two steps
    # edge agreement: mean percentile-rank of the RGB gradient at depth-edge pixels (chance 0.5)
    edge_top_fraction: float = 0.05  # strongest depth gradients used as depth edges
    edge_min_step: float = 0.05  # Sobel response on log depth that counts as a depth edge (~5%)
    edge_min: float = 0.45  # absolute floor (chance is 0.5; noisy gray8 depth sits near it)
    edge_drop: float = 0.15  # or this far below the median of its scene ...
    edge_k: float = 6.0  # ... or, in a steady scene, k x its robust spread (1.4826 x MAD) below it ...
    edge_drop_min: float = 0.06  # ... but at least this far
    edge_min_samples: int = Field(30, ge=3)  # frames a scene needs before its spread is trusted
    edge_window: int = Field(5, ge=1)  # frames of median smoothing
    # depth lag: depth edges agree better with an earlier picture than with the current one
    lag_max_offset: int = Field(6, ge=1)
    lag_gain: float = 0.06  # gain of the best earlier picture over the current one
    lag_window: int = Field(9, ge=1)  # frames of median smoothing of the lag gain
    # fade: sustained one-way change of mean log luma
    fade_window: int = Field(8, ge=2)
    fade_change: float = 0.35  # |log luma change| across the window
    fade_step: float = 0.01  # every step in the window moves at least this, same sign
    # span shaping
    pad_frames: int = Field(4, ge=0)  # discarded on each side of a found fault
    merge_gap: int = Field(8, ge=0)  # two faults this close become one span
    min_fault_frames: int = Field(1, ge=1)
    # bootstrap checks (need --bootstrap; see curate/bootstrap_checks.py). The model predicts depth on
    # every `bootstrap_every`-th frame; each prediction is compared with the captured depth of the
    # same frame and of the next `lag_max_frames` frames after a scale-shift fit.
    bootstrap_every: int = Field(2, ge=0)  # 0 = off
    bootstrap_input_width: int = Field(256, ge=16)  # width of the frames given to the model
    lag_compare_width: int = Field(80, ge=16)  # width at which prediction and depth are compared
    lag_max_frames: int = Field(10, ge=1)  # J: longest lag looked for
    lag_margin: float = 0.2  # lag sample: (e_0 - min_j>0 e_j) / e_0 above this
    lag_min_abs_rel: float = 0.0  # and e_0 above this
    lag_min_run: int = Field(3, ge=1)  # consecutive lag samples before a span counts
    # The model-based lag finder is used only when at most this fraction of a recording's samples
    # looks lagged; more means the model cannot tell neighbouring frames apart (too weak), and the
    # heuristic lag finders (edges, jumps) are used instead.
    # Samples already explained by other faults are not counted (curate.frame_checks.lag_exclusion).
    # 0.05: with the 128 px bench bootstrap, rates of 3.5-8% still meant ~650 false lag frames in 6 x 30 s.
    lag_model_max_rate: float = Field(0.05, ge=0.0, le=1.0)
    jump_lag_with_bootstrap: bool = True  # keep the heuristic lag finders next to the model-based one
    misalign_k: float = 5.0  # misaligned: e_0 > median + k * 1.4826 * MAD of its scene ...
    misalign_mad_floor: float = 0.01  # ... with the MAD term at least this ...
    misalign_floor: float = 0.15  # ... and the threshold at least this
    misalign_min_samples: int = Field(20, ge=1)  # fewer samples in a scene: use the recording's threshold
    misalign_min_run: int = Field(2, ge=1)  # sampled frames in a run before it counts


class ScoringConfig(_Part):
    num_samples: int = Field(10, ge=1)  # frames sampled uniformly per clip
    score_width: int = Field(192, ge=16)  # frames are kept at this width for scoring
    bootstrap: str | None = None  # checkpoint path of the bootstrap depth model
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
    frozen_depth_max: float = 0.05
    frozen_rgb_max: float = 0.05
    invalid_fraction_max: float = 0.6  # sky counts as invalid, so outdoor clips have plenty
    black_fraction_max: float = 0.1
    duplicate_fraction_max: float = 0.5
    edge_agreement_min: float = 0.45  # chance level is 0.5


class AnalysisConfig(_Part):
    """The one decoding pass per recording (or chunk) that fills the per-frame table."""

    # Width of the one downscaled copy of every decoded frame that scene detection, the frame
    # checks, the bootstrap and the scores share; None = the widest of them needs.
    width: int | None = Field(None, ge=16)
    # Model scores (AbsRel, delta1, CLIP) are computed on every `score_every`-th frame during the
    # pass; a clip's score is the median over `scoring.num_samples` of those inside it. None = as
    # dense as a clip's samples need (see `score_stride`), rounded to a multiple of
    # `frame_checks.bootstrap_every` so the bootstrap's predictions are reused, never rerun.
    score_every: int | None = Field(None, ge=1)
    # Long recordings are analysed in chunks of about this many seconds, each starting at a
    # keyframe; chunked and one-pass analysis give the same table, so this is not hashed.
    chunk_seconds: float = Field(180.0, gt=0)
    # Preview thumbnails kept per recording: `thumbnails` spread over it by a hash of the frame
    # number, and as many again of the worst-scored frames (for the dropped clips' previews).
    thumbnails: int = Field(24, ge=0)
    thumbnail_width: int = Field(160, ge=16)


# Settings that cannot change a result (chunked and one-pass analysis agree exactly).
_UNHASHED = {"analysis": ("chunk_seconds",)}


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

    def score_stride(self) -> int:
        """Every how many frames the model scores are computed (see `AnalysisConfig.score_every`)."""
        if self.analysis.score_every:
            return self.analysis.score_every
        n = self.scoring.num_samples
        # Enough scored frames that a clip's samples are spread as evenly as with every frame.
        every = max(1, (self.clips.shortest - 1) // max(1, n - 1) // 2)
        b = self.frame_checks.bootstrap_every
        if b and self.frame_checks.enabled:
            every = max(b, every // b * b)
        return every
