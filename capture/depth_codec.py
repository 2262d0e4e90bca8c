"""How the linearised depth value L in [0, 1] is stored in pixels, both ways.

- gray8: what ReShade's DisplayDepth shows on an 8-bit back buffer: L on all three channels,
  rounded with independent dither per channel; decoding averages the channels (or reads luma).
- gray16: one 16-bit channel, round(L * 65535).
- rgb24_packed: v = round(L * (2^24 - 1)) split into R = v >> 16, G = (v >> 8) & 255, B = v & 255.
- float: L itself as float32 (npy / EXR / TIFF); NaN or inf in a file is read as invalid depth (NaN).
"""

from __future__ import annotations

import numpy as np

PACKED_MAX = float(2**24 - 1)

# Worst-case error of the stored value L for each encoding with lossless storage (half a step).
# Lossy video adds its own error; see README "Decoding accuracy".
QUANT_STEP = {"gray8": 1 / 255, "gray16": 1 / 65535, "rgb24_packed": 1 / PACKED_MAX, "float": 0.0}


def encode_gray8(L: np.ndarray, rng: np.random.Generator | None = None, dither: bool = True) -> np.ndarray:
    """HxW L -> HxWx3 uint8 grey, dithered per channel like a shader writing to an 8-bit target."""
    x = np.clip(np.nan_to_num(L, nan=1.0), 0.0, 1.0)[..., None] * 255.0
    x = np.repeat(x, 3, axis=-1)
    if dither:
        rng = rng or np.random.default_rng(0)
        x = x + rng.uniform(-0.5, 0.5, size=x.shape)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def decode_gray8(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 grey -> L: the channel mean undoes per-channel dither."""
    return rgb.astype(np.float32).mean(axis=-1) / np.float32(255.0)


def encode_gray16(L: np.ndarray) -> np.ndarray:
    x = np.clip(np.nan_to_num(L, nan=1.0), 0.0, 1.0)
    return np.rint(x * 65535.0).astype(np.uint16)


def decode_gray16(v: np.ndarray) -> np.ndarray:
    """uint16 HxW (or HxWx3 grey, channels averaged) -> L."""
    v = v.astype(np.float32)
    if v.ndim == 3:
        v = v.mean(axis=-1)
    return v / np.float32(65535.0)


def encode_rgb24_packed(L: np.ndarray) -> np.ndarray:
    x = np.clip(np.nan_to_num(L, nan=1.0), 0.0, 1.0)
    v = np.rint(x * PACKED_MAX).astype(np.uint32)
    return np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=-1).astype(np.uint8)


def decode_rgb24_packed(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.uint32)
    v = (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]
    # float64 keeps the 24-bit step; the result is handed on as float32 only after projection.
    return v.astype(np.float64) / PACKED_MAX
