"""Write a recording the way ReShade (depth display) + OBS (screen recording) leave it on disk.

The writer stores the ReShade-linearised depth L in [0, 1] (NaN = sky, stored as 1.0) with the
chosen encoding and layout, and writes the manifest that says how to read it back. Callers
with metric depth convert it first with `capture.reshade.metres_to_linear` and pass the same
`reshade` settings and `projection` here.

Storage per (layout, encoding, codec):
- side_by_side / top_bottom, 8-bit depth (gray8, rgb24_packed): one composed RGB frame,
    codec "h264": libx264 yuv420p at `crf`, RGB->YUV with `color_matrix`/`color_range` done
      here explicitly and tagged in the stream (OBS's default: bt709 limited);
    codec "lossless": libx264rgb qp 0 (lossless RGB, no YUV rounding);
    codec "yuv444_lossless": libx264 yuv444p qp 0 after an 8-bit RGB->YUV conversion. The YUV
      rounding alone costs up to 1 code per channel (full range) or 2 (limited range), i.e.
      |dL| <= 1/255 (full) or 2/255 (limited) for rgb24_packed: packed depth does not survive
      8-bit YUV better than gray8 does. It exists to exercise the reader's YUV path.
- gray16 (any layout but image_sequence): FFV1, 16 bits (composed: gbrp16le with RGB*257;
  separate: gray16le), whatever `codec` says about the RGB video of separate files.
- separate_files: `<id>_rgb.mkv` (H.264 yuv420p for "h264", lossless RGB otherwise) and
  `<id>_depth.mkv` (gray8: as the codec says; gray16: FFV1; rgb24_packed: lossless) or, for
  float, `<id>_depth/%06d.npy|exr|tiff`.
- image_sequence: `<id>_rgb/%06d.png` and `<id>_depth/%06d.png` (gray8 RGB PNG, gray16 16-bit
  PNG, rgb24_packed RGB PNG) or float files.

Sizes: yuv420p needs an even width and height of the stored frame; odd sizes raise an
InputError (crop or pad before writing) rather than being padded silently.
A pair identical to the previous one is a recorder duplicate: its encoded frame (dither
included) is repeated bit for bit, as OBS repeats a frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from capture import depth_codec
from capture.colour import rgb_to_yuv
from capture.errors import InputError
from capture.float_io import FLOAT_EXTS, write_float
from capture.layouts import compose
from capture.manifest import (
    DepthSpec,
    Intrinsics,
    Manifest,
    Media,
    Projection,
    ReshadeSettings,
    write_manifest,
)
from capture.video_io import VideoEncoder

LAYOUTS = ("side_by_side", "top_bottom", "separate_files", "image_sequence")
ENCODINGS = ("gray8", "gray16", "rgb24_packed", "float")
CODECS = ("h264", "lossless", "yuv444_lossless")
_X264_RANGE = {"limited": "tv", "full": "pc"}


def rgb_to_yuv420p(rgb: np.ndarray, matrix: str, color_range: str) -> list[np.ndarray]:
    """uint8 HxWx3 RGB -> rounded Y, U, V planes of yuv420p (chroma: mean of each 2x2 block)."""
    yuv = rgb_to_yuv(rgb, matrix, full_range=color_range == "full")
    h, w = rgb.shape[:2]
    y = np.clip(np.rint(yuv[..., 0]), 0, 255).astype(np.uint8)
    import cv2

    # INTER_AREA at exactly half size is the mean of each 2x2 block (much faster than numpy).
    c = cv2.resize(np.ascontiguousarray(yuv[..., 1:], dtype=np.float32), (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    c = np.clip(np.rint(c), 0, 255).astype(np.uint8)
    return [y, c[..., 0], c[..., 1]]


def rgb_to_yuv444p(rgb: np.ndarray, matrix: str, color_range: str) -> list[np.ndarray]:
    yuv = np.clip(np.rint(rgb_to_yuv(rgb, matrix, full_range=color_range == "full")), 0, 255).astype(np.uint8)
    return [yuv[..., 0], yuv[..., 1], yuv[..., 2]]


class _Stream:
    """One output video: turns an image (RGB uint8, RGB uint16 or grey uint16) into a frame."""

    def __init__(self, path: Path, kind: str, w: int, h: int, fps: float, crf: int,
                 color_range: str, color_matrix: str):
        self.kind, self.matrix, self.range = kind, color_matrix, color_range
        if kind == "yuv420p" and (w % 2 or h % 2):
            raise InputError(path, f"frame size {w}x{h} is odd; H.264 yuv420p needs an even width and "
                                   "height (crop or pad the frames, or use codec='lossless')")
        x264_tags = f"colorprim={color_matrix}:transfer={color_matrix}:colormatrix={color_matrix}:range={_X264_RANGE[color_range]}"
        if color_matrix == "bt601":
            x264_tags = f"colorprim=smpte170m:transfer=smpte170m:colormatrix=smpte170m:range={_X264_RANGE[color_range]}"
        # Keyframe every 2 s, as OBS recommends: bounds how far `Recording.read` decodes after a seek.
        x264_tags += f":keyint={max(1, round(2 * fps))}"
        # x264's macroblock tree made the first GOPs differ from run to run (up to 54 grey levels,
        # 60-311 frames of a 30 s recording; with one encoder thread too) for the same frames in:
        # a seed must give the same recording, or a test's verdict moves with the encoder's luck.
        # Without it the decoded frames are identical every run.
        x264_tags += ":mbtree=0"
        if kind == "yuv420p":
            enc = ("libx264", "yuv420p", {"crf": str(crf), "x264-params": x264_tags}, color_range, color_matrix)
        elif kind == "yuv444p":
            enc = ("libx264", "yuv444p", {"qp": "0", "x264-params": x264_tags}, color_range, color_matrix)
        elif kind == "rgb":
            enc = ("libx264rgb", "rgb24", {"qp": "0", "x264-params": f"keyint={max(1, round(2 * fps))}"}, None, None)
        elif kind == "rgb16":
            enc = ("ffv1", "gbrp16le", {}, None, None)
        elif kind == "gray16":
            enc = ("ffv1", "gray16le", {}, None, None)
        else:  # pragma: no cover - internal
            raise ValueError(kind)
        codec, pix, opts, rng, mat = enc
        self.enc = VideoEncoder(path, codec, pix, w, h, fps, opts, rng, mat)

    def add(self, img: np.ndarray, t: float) -> None:
        if self.kind == "yuv420p":
            self.enc.add_planes(rgb_to_yuv420p(img, self.matrix, self.range), t)
        elif self.kind == "yuv444p":
            self.enc.add_planes(rgb_to_yuv444p(img, self.matrix, self.range), t)
        elif self.kind == "rgb":
            self.enc.add_rgb(img, t, "rgb24")
        elif self.kind == "rgb16":
            self.enc.add_rgb(img, t, "rgb48le")
        else:
            self.enc.add_rgb(img, t, "gray16le")

    def close(self) -> None:
        self.enc.close()


def _check_args(layout: str, encoding: str, codec: str, float_format: str, fps: float, pts_jitter: float) -> None:
    if layout not in LAYOUTS:
        raise InputError(None, f"unknown layout {layout!r} (expected one of {LAYOUTS})")
    if encoding not in ENCODINGS:
        raise InputError(None, f"unknown depth encoding {encoding!r} (expected one of {ENCODINGS})")
    if codec not in CODECS:
        raise InputError(None, f"unknown codec {codec!r} (expected one of {CODECS})")
    if float_format not in FLOAT_EXTS:
        raise InputError(None, f"unknown float_format {float_format!r} (expected one of {tuple(FLOAT_EXTS)})")
    if encoding == "float" and layout in ("side_by_side", "top_bottom"):
        raise InputError(None, "float depth cannot be packed into one video; use separate_files or image_sequence")
    if encoding == "rgb24_packed" and codec == "h264" and layout != "image_sequence":
        raise InputError(None, "rgb24_packed depth through lossy H.264 is meaningless (every bit of R is worth "
                               "1/256 of the range); use codec='lossless' (or 'yuv444_lossless')")
    if codec == "yuv444_lossless" and encoding not in ("gray8", "rgb24_packed", "float"):
        raise InputError(None, "codec 'yuv444_lossless' is for 8-bit depth images (gray8, rgb24_packed)")
    if not fps > 0:
        raise InputError(None, f"fps must be positive, got {fps}")
    if not 0 <= pts_jitter < 0.5 / fps:
        raise InputError(None, f"pts_jitter must be in [0, half a frame = {0.5 / fps:.4f} s)")


def write_recording(out_dir: str | Path, recording_id: str,
                    frames: Iterable[tuple[np.ndarray, np.ndarray]],
                    *, fps: float = 30.0, layout: str = "side_by_side", encoding: str = "gray8",
                    codec: str = "h264", crf: int = 16, rgb_position: str | None = None,
                    color_range: str = "limited", color_matrix: str = "bt709",
                    reshade: ReshadeSettings | None = None, projection: Projection | None = None,
                    intrinsics: dict | None = None, hud_mask: np.ndarray | None = None,
                    game: str = "simulated", tags: dict[str, str] | None = None,
                    float_format: str = "npy", seed: int = 0,
                    pts_jitter: float = 0.0, depth_pts_offset: float = 0.0) -> Path:
    """Write `frames` ((rgb uint8 HxWx3, L float HxW in [0, 1], NaN = sky) pairs) as a recording
    in `out_dir`; return the manifest path (`<out_dir>/<recording_id>.json`).

    `pts_jitter` (seconds, uniform +-) moves each video frame's timestamp independently per
    stream; `depth_pts_offset` delays every depth frame of separate files. Both exist so tests
    can make a timeline that is not constant-rate or drifts between files."""
    _check_args(layout, encoding, codec, float_format, fps, pts_jitter)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rid = recording_id
    manifest_path = out / f"{rid}.json"
    rng = np.random.default_rng(seed)
    jitter_rng = np.random.default_rng(seed + 1)
    packed = layout in ("side_by_side", "top_bottom")
    if packed and rgb_position is None:
        rgb_position = "left" if layout == "side_by_side" else "top"
    rgb_first = rgb_position in (None, "left", "top")
    float_ext = FLOAT_EXTS[float_format]

    if layout == "side_by_side" or layout == "top_bottom":
        media = Media(video=f"{rid}.mkv")
    elif layout == "separate_files":
        depth_name = f"{rid}_depth/%06d{float_ext}" if encoding == "float" else f"{rid}_depth.mkv"
        media = Media(rgb=f"{rid}_rgb.mkv", depth=depth_name)
    else:
        depth_ext = float_ext if encoding == "float" else ".png"
        media = Media(rgb=f"{rid}_rgb/%06d.png", depth=f"{rid}_depth/%06d{depth_ext}")
    for p in (media.rgb, media.depth):
        if p and "%" in p:
            (out / p).parent.mkdir(parents=True, exist_ok=True)

    streams: dict[str, _Stream] = {}
    prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    n = 0
    size: tuple[int, int] | None = None
    try:
        for i, (rgb, L) in enumerate(frames):
            rgb = np.asarray(rgb)
            L = np.asarray(L, dtype=np.float64)
            if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
                raise InputError(None, f"frame {i}: rgb must be uint8 HxWx3, got {rgb.dtype} {rgb.shape}")
            if L.shape != rgb.shape[:2]:
                raise InputError(None, f"frame {i}: depth shape {L.shape} differs from rgb {rgb.shape[:2]}")
            if size is None:
                size = L.shape
            elif L.shape != size:
                raise InputError(None, f"frame {i}: size {L.shape} differs from frame 0 {size}")
            # A pair equal to the previous one is repeated bit for bit (recorder duplicate).
            if prev is not None and np.array_equal(rgb, prev[0]) and np.array_equal(L, prev[1], equal_nan=True):
                dimg = prev[2]
            else:
                dimg = _depth_image(L, encoding, rng)
            prev = (rgb, L, dimg)
            t = i / fps
            t_rgb = t + (jitter_rng.uniform(-pts_jitter, pts_jitter) if pts_jitter and i else 0.0)
            t_dep = t + depth_pts_offset + (jitter_rng.uniform(-pts_jitter, pts_jitter) if pts_jitter and i else 0.0)
            h, w = size
            if packed:
                if "video" not in streams:
                    ch, cw = (h, 2 * w) if layout == "side_by_side" else (2 * h, w)
                    kind = "rgb16" if encoding == "gray16" else _kind_8bit(codec)
                    streams["video"] = _Stream(out / media.video, kind, cw, ch, fps, crf, color_range, color_matrix)
                if encoding == "gray16":
                    rgb16 = rgb.astype(np.uint16) * 257
                    frame = compose(rgb16, np.repeat(dimg[..., None], 3, axis=2), layout, rgb_first)
                else:
                    frame = compose(rgb, dimg, layout, rgb_first)
                streams["video"].add(frame, t_rgb)
            elif layout == "separate_files":
                if "rgb" not in streams:
                    streams["rgb"] = _Stream(out / media.rgb, "yuv420p" if codec == "h264" else "rgb",
                                             w, h, fps, crf, color_range, color_matrix)
                    if encoding != "float":  # a depth video beside the RGB one
                        dk = {"gray16": "gray16", "rgb24_packed": _kind_8bit(codec)}.get(encoding, _kind_8bit(codec))
                        streams["depth"] = _Stream(out / media.depth, dk, w, h, fps, crf, color_range, color_matrix)
                streams["rgb"].add(rgb, t_rgb)
                if encoding == "float":
                    write_float(out / (media.depth % i), dimg)
                else:
                    streams["depth"].add(dimg, t_dep)
            else:
                _write_png(out / (media.rgb % i), rgb)
                if encoding == "float":
                    write_float(out / (media.depth % i), dimg)
                else:
                    _write_png(out / (media.depth % i), dimg)
            n += 1
    finally:
        for s in streams.values():
            s.close()
    if n == 0:
        raise InputError(None, f"recording {rid!r}: no frames given")

    hud_name = None
    if hud_mask is not None:
        m = np.asarray(hud_mask)
        if m.shape != size:
            raise InputError(None, f"hud_mask shape {m.shape} differs from the frame size {size}")
        hud_name = f"{rid}_hud.png"
        _write_png(out / hud_name, np.where(m.astype(bool), 255, 0).astype(np.uint8))

    manifest = Manifest(
        id=rid, game=game, tags=tags or {}, layout=layout, rgb_position=rgb_position if packed else None,
        media=media, fps=fps, color_range=color_range, color_matrix=color_matrix,
        depth=DepthSpec(encoding=encoding, reshade=reshade or ReshadeSettings(), projection=projection),
        intrinsics=Intrinsics(**intrinsics) if intrinsics else None, hud_mask=hud_name,
    )
    write_manifest(manifest, manifest_path)
    return manifest_path


def _kind_8bit(codec: str) -> str:
    return {"h264": "yuv420p", "lossless": "rgb", "yuv444_lossless": "yuv444p"}[codec]


def _depth_image(L: np.ndarray, encoding: str, rng: np.random.Generator) -> np.ndarray:
    L = np.where(np.isnan(L), 1.0, L)
    if encoding == "gray8":
        return depth_codec.encode_gray8(L, rng)
    if encoding == "gray16":
        return depth_codec.encode_gray16(L)
    if encoding == "rgb24_packed":
        return depth_codec.encode_rgb24_packed(L)
    if not np.isfinite(L).all():
        raise InputError(None, "depth contains inf")
    return np.clip(L, 0.0, 1.0).astype(np.float32)


def _write_png(path: Path, img: np.ndarray) -> None:
    import cv2

    if img.ndim == 3:
        img = img[..., ::-1]  # OpenCV writes BGR
    if not cv2.imwrite(str(path), np.ascontiguousarray(img)):
        raise InputError(path, "could not write PNG")

