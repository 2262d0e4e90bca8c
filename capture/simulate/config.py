"""The simulator's typed config (a `StageConfig`: YAML file + key=value overrides + hash)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from capture.config import StageConfig
from capture.manifest import Projection, ReshadeSettings
from capture.simulate.faults import FAULT_KINDS
from capture.simulate.hard_negatives import CLEAN_KINDS
from capture.simulate.scenes import SCENE_KINDS

SPAN_KINDS = ("menu", "depth_lag", "frozen_depth", "loading", "fade")
DEFAULT_FAULT_SECONDS = {"menu": 1.5, "depth_lag": 1.0, "frozen_depth": 1.0, "loading": 1.0, "fade": 1.0}


class SimConfig(StageConfig):
    """What to simulate and how to write it.

    `faults`: "all", "none", a comma-separated string or a list of fault kinds. The HUD is
    drawn when "hud" is among them and `hud` is true. Each span fault happens once per
    recording with the duration from `fault_seconds` (shrunk to fit when the recording is
    too short); "cut" adds `cuts` scene changes.

    `clean_events`: hard negatives (see `hard_negatives.py`), "all", "none", a comma-separated
    string or a list. Span kinds (still, flash, light_switch, fast_turn) happen
    `clean_event_rate` times per minute each; dark, fog and soft_depth hold for the whole
    recording. `characters` walkers per scene stroll across the camera's view (placed in view
    of every still, and spread over the rest).
    """

    width: int = Field(320, ge=16, le=4096)
    height: int = Field(180, ge=16, le=4096)
    fps: float = Field(30.0, gt=0.0, le=240.0)
    seconds: float = Field(6.0, gt=0.0)
    kinds: list[Literal["room", "street", "terrain"]] = list(SCENE_KINDS)
    faults: list[Literal["menu", "depth_lag", "frozen_depth", "loading", "cut", "hud", "fade"]] = list(FAULT_KINDS)
    fault_seconds: dict[str, float] = dict(DEFAULT_FAULT_SECONDS)
    lag_frames: tuple[int, int] = (3, 8)
    cuts: int = Field(1, ge=0)
    min_gap_seconds: float = Field(0.4, ge=0.0)
    loading_depth: Literal["last", "cleared", "random"] = "random"
    menu_pauses: Literal["yes", "no", "random"] = "random"
    fade_with_cut: float = Field(0.5, ge=0.0, le=1.0)
    hud: bool = True
    fov_y_deg: float = Field(60.0, gt=1.0, lt=170.0)
    projection: Projection = Projection(type="infinite_reversed", near=0.15)
    # A far plane of 100 (tuned in DisplayDepth, as players do) spreads 8-bit depth over the
    # 0.15-50 m of these scenes; ReShade's default 1000 leaves a room ~10 grey levels.
    reshade: ReshadeSettings = ReshadeSettings(reversed=True, far_plane=100.0)
    layout: Literal["side_by_side", "top_bottom", "separate_files", "image_sequence"] = "side_by_side"
    encoding: Literal["gray8", "gray16", "rgb24_packed", "float"] = "gray8"
    codec: Literal["h264", "lossless", "yuv444_lossless"] = "h264"
    crf: int = Field(16, ge=0, le=51)
    color_range: Literal["limited", "full"] = "limited"
    color_matrix: Literal["bt709", "bt601"] = "bt709"
    game: str = "simulated"
    tags: dict[str, str] = {}
    pts_jitter: float = Field(0.0, ge=0.0)
    depth_pts_offset: float = 0.0
    seed: int = 0
    clean_events: list[Literal["still", "flash", "light_switch", "fast_turn", "dark", "fog", "soft_depth"]] = []
    clean_event_rate: float = Field(6.0, gt=0.0)
    characters: int = Field(0, ge=0, le=20)

    @field_validator("clean_events", mode="before")
    @classmethod
    def _clean_words(cls, v):
        if isinstance(v, str):
            w = v.strip().lower()
            if w == "all":
                return list(CLEAN_KINDS)
            if w in ("none", ""):
                return []
            return [s.strip() for s in w.split(",") if s.strip()]
        return v

    @field_validator("faults", mode="before")
    @classmethod
    def _fault_words(cls, v):
        if isinstance(v, str):
            w = v.strip().lower()
            if w == "all":
                return list(FAULT_KINDS)
            if w in ("none", ""):
                return []
            return [s.strip() for s in w.split(",") if s.strip()]
        return v

    @field_validator("kinds", mode="before")
    @classmethod
    def _kind_words(cls, v):
        if isinstance(v, str):
            return [s.strip() for s in v.split(",") if s.strip()]
        return v

    @model_validator(mode="after")
    def _check(self) -> SimConfig:
        if not self.kinds:
            raise ValueError("kinds: give at least one scene kind")
        lo, hi = self.lag_frames
        if not 1 <= lo <= hi:
            raise ValueError("lag_frames must be (lo, hi) with 1 <= lo <= hi")
        unknown = set(self.fault_seconds) - set(SPAN_KINDS)
        if unknown:
            raise ValueError(f"fault_seconds: unknown kinds {sorted(unknown)} (span kinds: {SPAN_KINDS})")
        if any(s <= 0 for s in self.fault_seconds.values()):
            raise ValueError("fault_seconds must be positive")
        return self

    @property
    def n_frames(self) -> int:
        return max(1, int(round(self.seconds * self.fps)))

    @property
    def draws_hud(self) -> bool:
        return self.hud and "hud" in self.faults

    def span_seconds(self, kind: str) -> float:
        return self.fault_seconds.get(kind, DEFAULT_FAULT_SECONDS[kind])
