"""Analysis-size frames straight from decoded planes: area-downscaled RGB, nearest-sampled depth.

Curation looks at frames 160-256 px wide. Converting a 3840x1080 frame to full-size RGB first
costs more than everything done at analysis size, so here:
- RGB: each plane of the RGB region (a view into the decoder's buffer, no copy) is averaged down
  by exact 2x2 boxes while it is at least twice the target size (OpenCV INTER_AREA, whose
  halving path is fast), then resized by the remaining factor (< 2) bilinearly; YUV planes are
  converted to RGB after that, at analysis size, with the manifest's matrix and range.
  (swscale's own area filter, `VideoFrame.reformat(width=..., interpolation="AREA")`, cost more
  than the full-size conversion it is meant to save: see bench/capture_decode.py.)
- Depth: nearest sampling (`sample`) of the stored codes at a fixed grid of source pixels, so an
  analysis depth pixel is exactly one full-resolution depth pixel (never a mix of a near surface,
  a far one and the sky), decoded by the same rules.
"""

from __future__ import annotations

import cv2
import numpy as np

from capture.colour import yuv_to_rgb


def grid(src: int, dst: int) -> np.ndarray:
    """Source index (pixel centre nearest to the target pixel centre) for each of `dst` pixels."""
    return np.minimum(((np.arange(dst) + 0.5) * (src / dst)).astype(np.intp), src - 1)


def analysis_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """(w, h) of a `width` x `height` image scaled to `target_width` (aspect kept)."""
    w = max(1, min(int(target_width), width))
    return w, max(1, round(height * w / width))


def sample(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """a[rows][:, cols] (2-D or HxWxC), without copying the full image (np.take would first copy a
    strided view whole)."""
    return a[rows][:, cols]


def area_resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Downscale an image (or a view of one) to size (w, h): 2x2 box halving, then bilinear."""
    w, h = size
    while a.shape[1] >= 2 * w and a.shape[0] >= 2 * h:
        hh, ww = a.shape[0] // 2, a.shape[1] // 2
        a = cv2.resize(a[: 2 * hh, : 2 * ww], (ww, hh), interpolation=cv2.INTER_AREA)
    if (a.shape[1], a.shape[0]) != (w, h):
        a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
    return a


_AFFINE: dict[tuple[str, bool, int], np.ndarray] = {}


def _yuv_affine(matrix: str, full: bool, bits: int) -> np.ndarray:
    """3x4 affine map from YUV code values (at `bits`) to RGB in [0, 255], from colour.yuv_to_rgb."""
    key = (matrix, full, bits)
    m = _AFFINE.get(key)
    if m is None:
        scale = float(1 << (bits - 8))
        basis = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float64) * 64.0
        out = yuv_to_rgb(basis[:, None, :], matrix, full)[:, 0, :].astype(np.float64)
        m = np.zeros((3, 4), np.float64)
        m[:, 3] = out[0]
        m[:, :3] = ((out[1:] - out[0]) / 64.0).T / scale
        m = _AFFINE[key] = m.astype(np.float32)
    return m


def yuv_to_rgb8(y: np.ndarray, u: np.ndarray, v: np.ndarray, matrix: str, full: bool, bits: int = 8) -> np.ndarray:
    """Same-size Y, U, V planes (code values) -> uint8 RGB, rounded and clipped."""
    m = _yuv_affine(matrix, full, bits)
    yuv = cv2.merge([y, u, v])
    if yuv.dtype != np.uint8:
        yuv = yuv.astype(np.float32)
    out = cv2.transform(yuv, m)  # uint8 in -> uint8 out, rounded and saturated
    if out.dtype != np.uint8:
        out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out
