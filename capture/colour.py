"""YUV <-> RGB with an explicit matrix and range, as OBS writes video.

OBS encodes bt709 limited range by default: Y in [16, 235], Cb/Cr in [16, 240]. Decoding
must use the same matrix and expand the range, or every value shifts.
"""

from __future__ import annotations

import numpy as np

# (Kr, Kb) of each matrix
_K = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}


def _coeffs(matrix: str) -> tuple[float, float, float]:
    try:
        kr, kb = _K[matrix]
    except KeyError:
        raise ValueError(f"unknown colour matrix {matrix!r} (expected one of {sorted(_K)})") from None
    return kr, 1.0 - kr - kb, kb


def rgb_to_yuv(rgb: np.ndarray, matrix: str = "bt709", full_range: bool = False) -> np.ndarray:
    """uint8 HxWx3 RGB -> float HxWx3 YCbCr in 8-bit code values (not rounded)."""
    kr, kg, kb = _coeffs(matrix)
    x = rgb.astype(np.float64) / 255.0
    y = kr * x[..., 0] + kg * x[..., 1] + kb * x[..., 2]
    cb = (x[..., 2] - y) / (2 * (1 - kb))
    cr = (x[..., 0] - y) / (2 * (1 - kr))
    if full_range:
        return np.stack([y * 255, cb * 255 + 128, cr * 255 + 128], axis=-1)
    return np.stack([16 + 219 * y, 128 + 224 * cb, 128 + 224 * cr], axis=-1)


def yuv_to_rgb(yuv: np.ndarray, matrix: str = "bt709", full_range: bool = False) -> np.ndarray:
    """float or uint8 HxWx3 YCbCr code values (chroma at full resolution) -> float RGB in [0, 255]."""
    kr, kg, kb = _coeffs(matrix)
    yuv = yuv.astype(np.float32)
    if full_range:
        y = yuv[..., 0] / 255.0
        cb = (yuv[..., 1] - 128.0) / 255.0
        cr = (yuv[..., 2] - 128.0) / 255.0
    else:
        y = (yuv[..., 0] - 16.0) / 219.0
        cb = (yuv[..., 1] - 128.0) / 224.0
        cr = (yuv[..., 2] - 128.0) / 224.0
    r = y + 2 * (1 - kr) * cr
    b = y + 2 * (1 - kb) * cb
    g = (y - kr * r - kb * b) / kg
    return np.stack([r, g, b], axis=-1) * 255.0


def luma_to_unit(y: np.ndarray, full_range: bool = False, bits: int = 8) -> np.ndarray:
    """Luma code values -> [0, 1] grey level (for grey depth read straight from the Y plane)."""
    scale = float(1 << (bits - 8))
    y = y.astype(np.float32)
    if full_range:
        return y / np.float32((1 << bits) - 1)
    return (y - 16.0 * scale) / np.float32(219.0 * scale)


def upsample_chroma(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour chroma upsampling to the luma grid (what yuv420p decoders do cheaply)."""
    ry, rx = height // plane.shape[0], width // plane.shape[1]
    if ry == 1 and rx == 1:
        return plane
    return np.repeat(np.repeat(plane, ry, axis=0), rx, axis=1)[:height, :width]
