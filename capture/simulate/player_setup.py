"""Write a recording the way a player's own setup leaves it, without the project's writer.

The evaluation corpus must not share code with what it evaluates, so this is plain PyAV, numpy,
OpenCV and a hand-written manifest (as a player would write one from the docs):
- "obs_sbs_gray8": OBS recording the game next to ReShade's DisplayDepth view: one side-by-side
  H.264 yuv420p video (depth left, game right), bt709 limited range converted by swscale, the
  depth as the gray of GetLinearizedDepth (8 bits, no dither);
- "png16": the game as H.264 plus a 16-bit PNG per frame of GetLinearizedDepth;
- "float": the game as H.264 plus a float32 .npy per frame of GetLinearizedDepth.

GetLinearizedDepth (ReShade.fxh, reversed, not logarithmic, far plane F, N = 1) of an infinite
reversed-Z buffer (raw = near / z): L = d / (F - d (F - 1)) with d = 1 - raw; no surface gives L = 1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

FORMATS = ("obs_sbs_gray8", "png16", "float")
Format = Literal["obs_sbs_gray8", "png16", "float"]


def linearized(z: np.ndarray, near: float, far_plane: float) -> np.ndarray:
    """ReShade's GetLinearizedDepth of an infinite reversed-Z buffer holding near / z (1 = no surface)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(np.isfinite(z) & (z > 0), near / np.maximum(z, near), 0.0)
    d = 1.0 - raw
    return np.clip(d / (far_plane - d * (far_plane - 1.0)), 0.0, 1.0).astype(np.float32)


# What decides the encoded bytes of a corpus recording; stored in its truth.json, so a cached
# recording written with other settings is rebuilt instead of silently reused (bench caches).
ENCODER_SETTINGS = "libx264 yuv420p bt709-limited g=2s threads=1 mbtree=0"


class _H264:
    """libx264 yuv420p, bt709 limited, RGB converted by swscale (as OBS does), keyframe every 2 s."""

    def __init__(self, path: Path, width: int, height: int, fps: float, crf: int):
        import av

        self.c = av.open(str(path), "w")
        rate = int(round(fps))
        self.s = self.c.add_stream("libx264", rate=rate)
        self.s.width, self.s.height, self.s.pix_fmt = width, height, "yuv420p"
        # mbtree off: with it the same frames decoded differently from run to run (the first GOPs,
        # up to 54 grey levels), so a seed's corpus, and every figure measured on it, moved.
        self.s.options = {"crf": str(crf), "g": str(2 * rate), "threads": "1", "x264-params": "mbtree=0"}
        self.s.codec_context.color_range, self.s.codec_context.colorspace = 1, 1  # limited, bt709
        self.i = 0

    def add(self, rgb: np.ndarray) -> None:
        import av

        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        f = f.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
        f.pts = self.i
        self.i += 1
        for p in self.s.encode(f):
            self.c.mux(p)

    def close(self) -> None:
        for p in self.s.encode():
            self.c.mux(p)
        self.c.close()


class PlayerSetupWriter:
    """Streams (rgb uint8 HxWx3, depth z HxW in the game's units, inf = no surface) into a
    recording folder; `close()` writes the manifest last (so a half-written recording has none)."""

    def __init__(self, folder: str | Path, recording_id: str, fmt: Format, width: int, height: int, fps: float,
                 near: float, far_plane: float, crf: int = 18, game: str = "unknown",
                 tags: dict[str, str] | None = None):
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose from {FORMATS}")
        if width % 2 or height % 2:
            raise ValueError(f"{width}x{height}: H.264 yuv420p needs an even width and height")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rid, self.fmt, self.w, self.h, self.fps = recording_id, fmt, width, height, fps
        self.near, self.far, self.game, self.tags = near, far_plane, game, dict(tags or {})
        self.n = 0
        if fmt == "obs_sbs_gray8":
            self.video = _H264(self.folder / f"{recording_id}.mp4", 2 * width, height, fps, crf)
        else:
            self.video = _H264(self.folder / f"{recording_id}_rgb.mp4", width, height, fps, crf)
            (self.folder / "depth").mkdir(exist_ok=True)

    def add(self, rgb: np.ndarray, z: np.ndarray) -> None:
        L = linearized(z, self.near, self.far)
        if self.fmt == "obs_sbs_gray8":
            grey = np.rint(L * 255).astype(np.uint8)
            self.video.add(np.concatenate([np.repeat(grey[..., None], 3, axis=2), rgb], axis=1))
        else:
            self.video.add(rgb)
            stem = self.folder / "depth" / f"{self.n:05d}"
            if self.fmt == "png16":
                cv2.imwrite(str(stem) + ".png", np.rint(L * 65535).astype(np.uint16))
            else:
                np.save(str(stem) + ".npy", L)
        self.n += 1

    def close(self) -> Path:
        self.video.close()
        depth = {"reshade": {"reversed": True, "far_plane": self.far},
                 "projection": {"type": "infinite_reversed", "near": self.near}}
        common = {"id": self.rid, "game": self.game, "tags": self.tags, "fps": self.fps,
                  "color_range": "limited", "color_matrix": "bt709"}
        if self.fmt == "obs_sbs_gray8":
            manifest = {**common, "layout": "side_by_side", "rgb_position": "right",
                        "media": {"video": f"{self.rid}.mp4"}, "depth": {"encoding": "gray8", **depth}}
        else:
            ext, enc = (".png", "gray16") if self.fmt == "png16" else (".npy", "float")
            manifest = {**common, "layout": "separate_files",
                        "media": {"rgb": f"{self.rid}_rgb.mp4", "depth": f"depth/%05d{ext}"},
                        "depth": {"encoding": enc, **depth}}
        path = self.folder / f"{self.rid}.json"
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, path)
        return path
