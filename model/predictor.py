"""The interface every depth model offers to curation and evaluation.

A predictor maps RGB frames to affine-invariant depth: larger values are farther, but the
scale and shift are unknown, so every consumer fits them against a reference first
(`fit_scale_shift`). The bootstrap net, the per-frame baseline and the flow-matching model
all follow it, so curation can score clips with any of them, as in the paper.
"""

from __future__ import annotations

import math
import os
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class DepthPredictor(Protocol):
    """`predict(frames)`: uint8 (T,H,W,3) RGB -> float32 (T,H,W) affine-invariant depth."""

    def predict(self, frames: np.ndarray) -> np.ndarray: ...


def check_frames(frames: np.ndarray, source: str | None = None) -> np.ndarray:
    """Return `frames` as uint8 (T,H,W,3); accept one (H,W,3) frame. Raise InputError otherwise."""
    from common.errors import InputError

    a = np.asarray(frames)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3:
        raise InputError(source, f"frames must be (T,H,W,3) RGB, got shape {a.shape}")
    if a.dtype != np.uint8:
        raise InputError(source, f"frames must be uint8, got {a.dtype}")
    if a.shape[0] == 0 or a.shape[1] < 2 or a.shape[2] < 2:
        raise InputError(source, f"frames are empty or too small: shape {a.shape}")
    return a


def fit_scale_shift(
    pred: np.ndarray, target: np.ndarray, valid: np.ndarray | None = None, allow_constant: bool = False,
    min_valid: int = 2,
) -> tuple[float, float]:
    """Least-squares (scale, shift) minimising ||scale * pred + shift - target||^2 over valid pixels.

    The project's one scale-and-shift fit: curation's clip scores, the evaluation protocol, ensembles
    and the long-video strategies all call it. Closed form in float64 (the normal equations of
    [pred, 1]), equal to np.linalg.lstsq's solution wherever that one is unique.

    `valid` defaults to the pixels where both arrays are finite; non-finite pixels are always
    excluded. Raises ValueError when fewer than `min_valid` (at least 2) valid pixels remain, or
    when `pred` is constant there (the fit is then undetermined; callers treat the clip as
    unscorable) unless `allow_constant`, which returns (0, mean of the target) for an undetermined
    fit (a constant prediction, or a single pixel): the aligned prediction every least-squares
    solution gives there (what the evaluation protocol's lstsq does with a constant prediction).
    """
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if p.shape != t.shape:
        raise ValueError(f"fit_scale_shift: pred shape {p.shape} != target shape {t.shape}")
    m = np.isfinite(p) & np.isfinite(t)
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        if v.shape != p.shape:
            raise ValueError(f"fit_scale_shift: valid shape {v.shape} != pred shape {p.shape}")
        m &= v
    n = int(m.sum())
    need = max(2, int(min_valid))
    if n < need and not (allow_constant and n >= 1):
        raise ValueError(f"fit_scale_shift: {n} valid pixels; need at least {need}")
    x, y = p[m], t[m]
    xm, ym = x.mean(), y.mean()
    var = np.mean((x - xm) ** 2)
    if var <= 1e-20 * max(1.0, xm * xm):
        if allow_constant:
            return 0.0, float(ym)
        raise ValueError("fit_scale_shift: prediction is constant over the valid pixels")
    scale = float(np.mean((x - xm) * (y - ym)) / var)
    return scale, float(ym - scale * xm)


def default_threads(workers: int = 1) -> int:
    """Torch threads per process: SYNTHDEPTH_TORCH_THREADS if set, else half the cores per worker.

    Half, because the decoder (PyAV/ffmpeg threads) and the other workers need the rest: on the
    2-core dev box a bootstrap training step took 0.8-1.2 s with 1 thread and 2.4-2.5 s with 2
    (inference 16-24 vs 39-59 ms/frame), because 2 torch threads thrash against everything else.
    """
    env = os.environ.get("SYNTHDEPTH_TORCH_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return max(1, (os.cpu_count() or 1) // (2 * max(1, workers)))


def set_torch_threads(threads: int | None = None, workers: int = 1) -> int:
    """Set torch's intra-op threads to `threads`; without it, to `default_threads(workers)` unless a
    caller (e.g. a flow task giving each parallel task its share) already lowered torch's default of
    one thread per core. Returns the number in use."""
    import torch

    if threads:
        n = max(1, int(threads))
    elif torch.get_num_threads() < (os.cpu_count() or 1) and not os.environ.get("SYNTHDEPTH_TORCH_THREADS"):
        return torch.get_num_threads()  # someone chose fewer threads on purpose: keep their choice
    else:
        n = default_threads(workers)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def frame_depth_score(pred: np.ndarray, depth: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(AbsRel, delta1, aligned prediction) of one frame after the scale-shift fit; NaN if unscorable.

    The one definition of the clip depth score: curation and the bootstrap's calibration both use it.
    """
    valid = np.isfinite(depth) & (depth > 0) & np.isfinite(pred)
    if valid.sum() < 16:
        return math.nan, math.nan, np.full_like(pred, np.nan)
    try:
        s, t = fit_scale_shift(pred, depth, valid)
    except ValueError:
        return math.nan, math.nan, np.full_like(pred, np.nan)
    aligned = (s * pred + t).astype(np.float32)
    gt = depth[valid]
    # A fitted depth can go <= 0; clamp to the smallest captured depth so ratios stay defined.
    a = np.maximum(aligned[valid], gt.min())
    abs_rel = float(np.mean(np.abs(a - gt) / gt))
    delta1 = float(np.mean(np.maximum(a / gt, gt / a) < 1.25))
    return abs_rel, delta1, aligned
