"""Video depth metrics: AbsRel, delta1-3, RMSE after scale-shift alignment, and TAE.

Protocol (mirrors the public evaluation code of DepthCrafter `benchmark/eval/eval.py` and Video
Depth Anything `benchmark/eval/eval.py`, `eval_tae.py`; papers: DepthCrafter §4.2, VDA §4.1 and
appendix "Evaluation metric details"):

1. valid = finite(gt) & gt > min_depth (1e-3) & gt < max_depth (& the caller's mask).
2. space="disparity" (the published protocol; `pred` is affine-invariant DISPARITY, as those
   models output): pred is clipped to >= 1e-3, then ONE scale and shift for the whole video
   (align="video") is found by least squares (`model.predictor.fit_scale_shift`, float64, the same
   solution as the public code's np.linalg.lstsq) on the flattened valid pixels of all frames
   between pred and 1/(gt + 1e-8); the aligned disparity is clipped to >= 1e-3, inverted to depth
   and clipped to [min_depth, max_depth].
   space="depth" (for models that predict affine-invariant DEPTH, like the `DepthPredictor`s of
   this project): the same least squares directly between pred and gt, then clip to
   [min_depth, max_depth] (DepthCrafter's "align and compute in the same domain" variant).
   align="frame" fits one scale/shift per frame; align="none" uses pred as metric.
3. Aggregation: each metric is computed per frame over that frame's valid pixels, frames without
   valid pixels are dropped, and the per-frame values are averaged over the frames of the video
   (exactly what the public code does: sum over (H,W) / n per frame, then mean). A dataset's number
   is the mean over its videos (`aggregate`).
   RMSE is per-frame RMSE averaged over frames.

TAE (Depth Any Video eq. 7; VDA eq. 5 and `eval_tae.py`): each frame's depth is back-projected with
K, moved into the next camera with the camera-to-world poses (T_{k+1<-k} = inv(P_{k+1}) @ P_k),
projected, rounded to the nearest pixel and scattered (later points overwrite earlier ones, as in
the public code), compared with the next frame's depth where both are > 0 (and the target frame is
valid), AbsRel = mean |d_next - d_proj| / d_next; the same backwards; averaged over both
directions and all adjacent pairs: sum / (2 (T-1)). A pair whose projection lands on no valid
pixel contributes 0, as in the public code. Returned as a fraction; tables print it x100.

Bad input (shape mismatch, NaN/inf in a prediction, no valid pixel at all, bad poses or K) raises
`InputError` (a ValueError) that says what is wrong; a metric is never silently NaN.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from common.errors import InputError
from model.predictor import fit_scale_shift

DISP_CLIP = 1e-3  # the public code clips predicted and aligned disparity at 1e-3
GT_EPS = 1e-8  # ... and inverts gt as 1 / (gt + 1e-8)
ALIGNS = ("video", "frame", "none")
SPACES = ("disparity", "depth")


def _as_video(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise InputError(None, f"{name} must be (T,H,W) or (H,W), got shape {a.shape}")
    return a


def valid_mask(gt: np.ndarray, valid: np.ndarray | None, min_depth: float, max_depth: float | None) -> np.ndarray:
    """The evaluation mask: finite gt inside (min_depth, max_depth), and the caller's mask."""
    with np.errstate(invalid="ignore"):
        m = np.isfinite(gt) & (gt > min_depth)
        if max_depth is not None:
            m &= gt < max_depth
    if valid is not None:
        m &= valid.astype(bool)
    return m


def align_prediction(
    pred: np.ndarray,
    gt: np.ndarray,
    valid: np.ndarray | None = None,
    align: str = "video",
    space: str = "disparity",
    min_depth: float = 1e-3,
    max_depth: float | None = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """Align `pred` to `gt` by the protocol above.

    Returns (aligned metric depth float64 (T,H,W), evaluation mask (T,H,W), [(scale, shift)] — one
    pair for align="video", one per frame for "frame", none for "none").
    """
    if align not in ALIGNS:
        raise InputError(None, f"align must be one of {ALIGNS}, got {align!r}")
    if space not in SPACES:
        raise InputError(None, f"space must be one of {SPACES}, got {space!r}")
    p = _as_video(pred, "pred").astype(np.float64)
    g = _as_video(gt, "gt").astype(np.float64)
    if p.shape != g.shape:
        raise InputError(None, f"pred shape {p.shape} != gt shape {g.shape}")
    v = None
    if valid is not None:
        v = _as_video(valid, "valid")
        if v.shape != g.shape:
            raise InputError(None, f"valid shape {v.shape} != gt shape {g.shape}")
    if not np.isfinite(p).all():
        bad = int((~np.isfinite(p)).sum())
        raise InputError(None, f"prediction has {bad} NaN/inf values; refusing to score it")
    m = valid_mask(g, v, min_depth, max_depth)
    if not m.any():
        raise InputError(None, "no valid ground-truth pixel (all NaN, <= min_depth or >= max_depth)")
    if space == "disparity":
        p = np.clip(p, DISP_CLIP, None)
        target = np.zeros_like(g)
        target[m] = 1.0 / (g[m] + GT_EPS)
    else:
        target = g
    fits: list[tuple[float, float]] = []
    if align == "video":
        fits.append(fit_scale_shift(p[m], target[m], allow_constant=True))
        s, b = fits[0]
        aligned = s * p + b
    elif align == "frame":
        aligned = p.copy()
        for i in range(p.shape[0]):
            if m[i].any():
                s, b = fit_scale_shift(p[i][m[i]], target[i][m[i]], allow_constant=True)
                fits.append((s, b))
                aligned[i] = s * p[i] + b
    else:
        aligned = p
    if space == "disparity":
        aligned = 1.0 / np.clip(aligned, DISP_CLIP, None)
    depth = np.clip(aligned, min_depth, max_depth)
    return depth, m, fits


def _frame_metrics(pred: np.ndarray, gt: np.ndarray, m: np.ndarray) -> dict[str, float]:
    """Per-frame metrics averaged over frames with at least one valid pixel (the public code)."""
    keep = m.reshape(m.shape[0], -1).sum(1) > 0
    p, g, mm = pred[keep], gt[keep], m[keep]
    n = mm.reshape(mm.shape[0], -1).sum(1).astype(np.float64)
    gs = np.where(mm, g, 1.0)
    ps = np.where(mm, p, 1.0)
    rel = np.where(mm, np.abs(ps - gs) / gs, 0.0).reshape(len(n), -1).sum(1) / n
    sq = np.where(mm, (ps - gs) ** 2, 0.0).reshape(len(n), -1).sum(1) / n
    ratio = np.maximum(ps / gs, gs / ps)
    out = {
        "abs_rel": float(rel.mean()),
        "rmse": float(np.sqrt(sq).mean()),
    }
    for k, thr in (("delta1", 1.25), ("delta2", 1.25**2), ("delta3", 1.25**3)):
        out[k] = float((np.where(mm, ratio < thr, False).reshape(len(n), -1).sum(1) / n).mean())
    out["frames"] = int(keep.sum())
    out["pixels"] = int(n.sum())
    return out


def depth_metrics(
    pred: np.ndarray,
    gt: np.ndarray,
    valid: np.ndarray | None = None,
    align: str = "video",
    space: str = "disparity",
    min_depth: float = 1e-3,
    max_depth: float | None = None,
) -> dict:
    """AbsRel, delta1/2/3 (1.25, 1.25^2, 1.25^3), RMSE of `pred` vs `gt` after alignment.

    pred/gt (T,H,W) or (H,W). See the module docstring for the protocol; returns floats plus
    `frames`, `pixels` (counted) and `scale`/`shift` (video alignment only).
    """
    depth, m, fits = align_prediction(pred, gt, valid, align, space, min_depth, max_depth)
    g = _as_video(gt, "gt").astype(np.float64)
    out = _frame_metrics(depth, g, m)
    if align == "video":
        out["scale"], out["shift"] = fits[0]
    return out


def aggregate(per_video: Iterable[dict], keys: tuple[str, ...] = ("abs_rel", "delta1", "rmse", "tae")) -> dict:
    """Dataset number = mean over videos (the public code); keys missing from a video are skipped."""
    rows = list(per_video)
    out: dict = {"videos": len(rows)}
    for k in keys:
        vals = [r[k] for r in rows if r.get(k) is not None]
        if vals:
            out[k] = float(np.mean(vals))
    return out


def _check_poses(poses: np.ndarray, t: int) -> np.ndarray:
    p = np.asarray(poses, dtype=np.float64)
    if p.shape != (t, 4, 4):
        raise InputError(None, f"poses must be (T,4,4) camera-to-world with T={t}, got {p.shape}")
    if not np.isfinite(p).all():
        raise InputError(None, "poses contain NaN/inf")
    return p


def _check_K(K: np.ndarray, t: int) -> np.ndarray:
    k = np.asarray(K, dtype=np.float64)
    if k.shape == (3, 3):
        k = np.broadcast_to(k, (t, 3, 3))
    if k.shape != (t, 3, 3) or not np.isfinite(k).all() or (k[:, 0, 0] <= 0).any() or (k[:, 1, 1] <= 0).any():
        raise InputError(None, f"K must be finite (3,3) or (T,3,3) with fx, fy > 0, got shape {np.shape(K)}")
    return k


def _reproject_absrel(d1: np.ndarray, d2: np.ndarray, T21: np.ndarray, K: np.ndarray, mask2: np.ndarray) -> float:
    """AbsRel between d2 and d1 moved into camera 2 (eval_tae.py `tae_torch`)."""
    h, w = d1.shape
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    pts = np.stack([((xx - cx) * d1 / fx).ravel(), ((yy - cy) * d1 / fy).ravel(), d1.ravel()], axis=1)
    q = pts @ T21[:3, :3].T + T21[:3, 3]
    z = q[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.round(q[:, 0] * fx / z + cx)
        v = np.round(q[:, 1] * fy / z + cy)
    inb = np.isfinite(u) & np.isfinite(v) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    if not inb.any():
        return 0.0
    proj = np.zeros((h, w))
    proj[v[inb].astype(np.int64), u[inb].astype(np.int64)] = z[inb]  # later points overwrite earlier
    ok = (proj > 0) & (d2 > 0) & mask2
    if not ok.any():
        return 0.0
    return float(np.mean(np.abs(d2[ok] - proj[ok]) / d2[ok]))


def tae(depths: np.ndarray, poses_c2w: np.ndarray, K: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Temporal alignment error of metric depths (T,H,W) given camera-to-world poses and K.

    `valid` (T,H,W) restricts the compared pixels of the target frame (the public code's optional
    mask). Depths must be finite and > 0 (align predictions first, e.g. `align_prediction`).
    Returns a fraction (x100 in tables).
    """
    d = _as_video(depths, "depths").astype(np.float64)
    t = d.shape[0]
    if t < 2:
        raise InputError(None, f"TAE needs at least 2 frames, got {t}")
    if not np.isfinite(d).all() or (d <= 0).any():
        raise InputError(None, "TAE depths must be finite and > 0 (align and clip predictions first)")
    p = _check_poses(poses_c2w, t)
    k = _check_K(K, t)
    if valid is None:
        vm = np.ones(d.shape, bool)
    else:
        vm = _as_video(valid, "valid").astype(bool)
        if vm.shape != d.shape:
            raise InputError(None, f"valid shape {vm.shape} != depths shape {d.shape}")
    total = 0.0
    for i in range(t - 1):
        T21 = np.linalg.inv(p[i + 1]) @ p[i]
        total += _reproject_absrel(d[i], d[i + 1], T21, k[i], vm[i + 1])
        total += _reproject_absrel(d[i + 1], d[i], np.linalg.inv(T21), k[i], vm[i])
    return total / (2 * (t - 1))


def evaluate_video(
    pred: np.ndarray,
    gt: np.ndarray,
    valid: np.ndarray | None = None,
    poses_c2w: np.ndarray | None = None,
    K: np.ndarray | None = None,
    space: str = "disparity",
    min_depth: float = 1e-3,
    max_depth: float | None = None,
) -> dict:
    """Video-aligned metrics plus, when poses and K are given, TAE of the aligned prediction."""
    out = depth_metrics(pred, gt, valid, "video", space, min_depth, max_depth)
    out["tae"] = None
    if poses_c2w is not None and K is not None:
        depth, _, _ = align_prediction(pred, gt, valid, "video", space, min_depth, max_depth)
        out["tae"] = tae(depth, poses_c2w, K)
    return out
