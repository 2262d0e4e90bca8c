"""The recording manifest: a JSON (or YAML) file next to the media that says how to read it.

Every field is validated; a missing or wrong field raises `ManifestError` naming the
field and the file. Media paths are relative to the manifest's folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from capture.errors import ManifestError

Layout = Literal["side_by_side", "top_bottom", "separate_files", "image_sequence"]
DepthEncoding = Literal["gray8", "gray16", "rgb24_packed", "float"]


class _Strict(BaseModel):
    # A misspelt key is a wrong key: refuse it instead of silently using a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReshadeSettings(_Strict):
    """The RESHADE_DEPTH_* preprocessor settings of GetLinearizedDepth that produced the stored depth.

    The stored depth is the shader's output, so decoding inverts it exactly: `upside_down`
    means the shader sampled the buffer at 1 - y, i.e. the stored depth image is flipped
    relative to the buffer, and the reader flips it back.
    """

    reversed: bool = True
    logarithmic: bool = False
    upside_down: bool = False
    far_plane: float = Field(1000.0, gt=1.0)
    multiplier: float = Field(1.0, gt=0.0)


class Projection(_Strict):
    """The game's depth projection, needed to turn the buffer into metres.

    `infinite_reversed`: buffer = near / z. `finite`: standard D3D [0, 1] depth with
    near and far planes; `reversed` (default: the ReShade setting) says if near maps to 1.
    """

    type: Literal["finite", "infinite_reversed"]
    near: float = Field(gt=0.0)
    far: float | None = None
    reversed: bool | None = None

    @model_validator(mode="after")
    def _far_for_finite(self) -> Projection:
        if self.type == "finite":
            if self.far is None:
                raise ValueError("a finite projection needs 'far'")
            if self.far <= self.near:
                raise ValueError("'far' must be greater than 'near'")
        return self


class DepthSpec(_Strict):
    encoding: DepthEncoding
    reshade: ReshadeSettings = ReshadeSettings()
    projection: Projection | None = None


class Intrinsics(_Strict):
    fov_y_deg: float | None = Field(None, gt=0.0, lt=180.0)
    fx: float | None = Field(None, gt=0.0)
    fy: float | None = Field(None, gt=0.0)
    cx: float | None = None
    cy: float | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Intrinsics:
        pinhole = [self.fx, self.fy, self.cx, self.cy]
        if self.fov_y_deg is None and any(v is None for v in pinhole):
            raise ValueError("give either fov_y_deg or all of fx, fy, cx, cy")
        return self

    def matrix(self, width: int, height: int):
        """3x3 intrinsic matrix K for a frame of the given size."""
        import numpy as np

        if self.fx is not None:
            return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], dtype=np.float64)
        f = 0.5 * height / np.tan(np.deg2rad(self.fov_y_deg) / 2)
        return np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]], dtype=np.float64)


class Media(_Strict):
    video: str | None = None
    rgb: str | None = None
    depth: str | None = None


class Manifest(_Strict):
    id: str = Field(min_length=1)
    game: str = "unknown"
    tags: dict[str, str] = {}
    layout: Layout
    rgb_position: Literal["left", "right", "top", "bottom"] | None = None
    media: Media
    fps: float = Field(gt=0.0)
    color_range: Literal["limited", "full"] = "limited"
    color_matrix: Literal["bt709", "bt601"] = "bt709"
    depth: DepthSpec
    intrinsics: Intrinsics | None = None
    hud_mask: str | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_as_text(cls, v):
        if isinstance(v, dict):
            return {str(k): str(val) for k, val in v.items()}
        return v

    @model_validator(mode="after")
    def _layout_fields(self) -> Manifest:
        packed = self.layout in ("side_by_side", "top_bottom")
        if packed:
            if not self.media.video:
                raise ValueError(f"layout '{self.layout}' needs media.video")
            allowed = ("left", "right") if self.layout == "side_by_side" else ("top", "bottom")
            if self.rgb_position is not None and self.rgb_position not in allowed:
                raise ValueError(f"rgb_position must be one of {allowed} for layout '{self.layout}'")
        else:
            if not (self.media.rgb and self.media.depth):
                raise ValueError(f"layout '{self.layout}' needs media.rgb and media.depth")
            if self.rgb_position is not None:
                raise ValueError(f"rgb_position has no meaning for layout '{self.layout}'")
        if self.depth.encoding == "float" and packed:
            raise ValueError("float depth cannot be packed into one video; use separate_files or image_sequence")
        return self

    @property
    def rgb_first(self) -> bool:
        """True when RGB is the left (or top) half of a packed frame."""
        return self.rgb_position in (None, "left", "top")

    @property
    def depth_unit(self) -> str:
        return "metres" if self.depth.projection is not None else "reshade_linear"


def _read_mapping(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ManifestError(path, "<file>", "manifest file not found") from None
    except OSError as e:
        raise ManifestError(path, "<file>", f"cannot read manifest: {e}") from None
    try:
        data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise ManifestError(path, "<file>", f"not valid {'YAML' if path.suffix in ('.yaml', '.yml') else 'JSON'}: {e}") from None
    if not isinstance(data, dict):
        raise ManifestError(path, "<root>", "the manifest must be a mapping of keys to values")
    return data


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest; raise `ManifestError` naming the first bad field."""
    path = Path(path)
    data = _read_mapping(path)
    try:
        return Manifest.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "<root>"
        msg = err["msg"]
        if err["type"] == "missing":
            msg = "missing required key"
        elif err["type"] == "extra_forbidden":
            msg = "unknown key (misspelt?)"
        raise ManifestError(path, field, msg) from None


def write_manifest(manifest: Manifest, path: str | Path) -> None:
    """Write a manifest as JSON (used by the simulator and tests)."""
    Path(path).write_text(json.dumps(manifest.model_dump(exclude_none=True), indent=2))
