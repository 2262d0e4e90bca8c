"""Depth training losses: scale-shift-invariant (MiDaS), temporal gradient matching (Video Depth
Anything §3.2) and optical-flow stabilisation (Buffer Anytime §3.2).

Space: all three work on DEPTH (larger = farther), the space of the `DepthPredictor` contract and
of the captured game depth (metres or ReShade-linearised, both affine in true depth), so that
curation can compare predictions and captured depth after one affine fit. Scale and shift are
removed MiDaS-style: every sample is normalised by its own median and mean absolute deviation,
which keeps the scale positive (a least-squares fit could flip the sign and let the net learn
inverted depth).

Shapes: pred/target/valid are torch tensors (..., H, W); NaN in the target is invalid wherever
`valid` says otherwise too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_EPS = 1e-6


def _masked_normalise(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """(N, P) values, (N, P) bool mask -> (x - median) / mean|x - median| per row, over the mask."""
    xn = torch.where(m, x, torch.full_like(x, float("nan")))
    med = torch.nanmedian(xn, dim=1, keepdim=True).values
    med = torch.nan_to_num(med, nan=0.0)
    cnt = m.sum(dim=1, keepdim=True).clamp_min(1)
    dev = torch.where(m, (x - med).abs(), torch.zeros_like(x)).sum(dim=1, keepdim=True) / cnt
    return (x - med) / (dev + _EPS)


def _prepare(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None) -> tuple:
    if pred.shape != target.shape:
        raise ValueError(f"pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    m = torch.isfinite(target)
    if valid is not None:
        if valid.shape != pred.shape:
            raise ValueError(f"valid shape {tuple(valid.shape)} != pred shape {tuple(pred.shape)}")
        m = m & valid.bool()
    target = torch.where(m, target, torch.zeros_like(target))
    return pred, target, m


def ssi_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Scale-and-shift-invariant L1 loss, one alignment per image (the last two dims).

    Both pred and target are normalised per image by median and mean absolute deviation over the
    valid pixels (Ranftl et al., MiDaS); the loss is the mean absolute difference over all valid
    pixels of the batch. Images with fewer than 2 valid pixels do not contribute.
    """
    pred, target, m = _prepare(pred, target, valid)
    h, w = pred.shape[-2:]
    p, t, mm = pred.reshape(-1, h * w), target.reshape(-1, h * w), m.reshape(-1, h * w)
    keep = mm.sum(dim=1) >= 2
    if not bool(keep.any()):
        return pred.sum() * 0.0
    p, t, mm = p[keep], t[keep], mm[keep]
    err = (_masked_normalise(p, mm) - _masked_normalise(t, mm)).abs()
    return torch.where(mm, err, torch.zeros_like(err)).sum() / mm.sum()


def _clip_normalise(pred: torch.Tensor, target: torch.Tensor, m: torch.Tensor) -> tuple:
    """(B,T,H,W) -> pred and target normalised with ONE median/MAD per clip (shared over frames)."""
    b = pred.shape[0]
    p = _masked_normalise(pred.reshape(b, -1), m.reshape(b, -1)).reshape(pred.shape)
    t = _masked_normalise(target.reshape(b, -1), m.reshape(b, -1)).reshape(target.shape)
    return p, t


def clip_ssi_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Scale-and-shift-invariant L1 with ONE alignment per clip: pred/target (B,T,H,W) are each
    normalised by one median/MAD over all valid pixels of their clip (the video alignment of the
    evaluation protocol), then the mean absolute difference over valid pixels."""
    pred, target, m = _prepare(pred, target, valid)
    if not bool(m.any()):
        return pred.sum() * 0.0
    d, g = _clip_normalise(pred, target, m)
    err = (d - g).abs()
    return torch.where(m, err, torch.zeros_like(err)).sum() / m.sum()


def tgm_loss(
    pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None, threshold: float = 0.05
) -> torch.Tensor:
    """Temporal gradient matching loss (Video Depth Anything eq. 3) on consecutive frames.

    pred/target (T,H,W) or (B,T,H,W). Each clip is normalised with one shared median/MAD (the
    "scaled and shifted versions" d_i, g_i of the paper), then
    mean over pixels of | |d_{i+1}-d_i| - |g_{i+1}-g_i| |, counted only where both frames are valid
    and the target changes by less than `threshold` (in normalised units; the paper's 0.05), which
    skips edges and moving objects.
    """
    if pred.dim() == 3:
        pred, target = pred[None], target[None]
        valid = valid[None] if valid is not None else None
    if pred.dim() != 4 or pred.shape[1] < 2:
        raise ValueError(f"tgm_loss needs (B,T,H,W) with T >= 2, got {tuple(pred.shape)}")
    pred, target, m = _prepare(pred, target, valid)
    d, g = _clip_normalise(pred, target, m)
    dd = (d[:, 1:] - d[:, :-1]).abs()
    dg = (g[:, 1:] - g[:, :-1]).abs()
    mm = m[:, 1:] & m[:, :-1] & (dg < threshold)
    if not bool(mm.any()):
        return pred.sum() * 0.0
    err = (dd - dg).abs()
    return torch.where(mm, err, torch.zeros_like(err)).sum() / mm.sum()


def warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample x (N,H,W) at p + flow(p); flow (N,H,W,2) in pixels (dx, dy). Bilinear, border clamp."""
    n, h, w = x.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=x.dtype, device=x.device),
        torch.arange(w, dtype=x.dtype, device=x.device),
        indexing="ij",
    )
    gx = (xs + flow[..., 0]) * (2.0 / max(w - 1, 1)) - 1.0
    gy = (ys + flow[..., 1]) * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(x[:, None], grid, mode="bilinear", padding_mode="border", align_corners=True)[:, 0]


def flow_stabilisation_loss(
    pred: torch.Tensor,
    flow_fw: torch.Tensor,
    flow_bw: torch.Tensor,
    mask_fw: torch.Tensor,
    mask_bw: torch.Tensor,
    normalise: bool = True,
) -> torch.Tensor:
    """Optical-flow stabilisation loss (Buffer Anytime eq. 4-5), both directions.

    pred (T,H,W) depth of one clip; flow_fw[i] (T-1,H,W,2) maps frame i to i+1, flow_bw[i] maps
    frame i+1 to i; mask_fw[i]/mask_bw[i] (T-1,H,W) bool are the trusted pixels of frame i / i+1
    (cycle-consistent, away from depth edges; see `model.temporal_training.trusted_flow_masks`).
    L = mean_fw |D_i(p) - D_{i+1}(p + F_fw(p))| + mean_bw |D_{i+1}(q) - D_i(q + F_bw(q))|.
    With `normalise`, the clip is first divided by one shared median/MAD so the loss cannot be
    lowered by shrinking the depth range.
    """
    if pred.dim() != 3 or pred.shape[0] < 2:
        raise ValueError(f"flow_stabilisation_loss needs pred (T,H,W) with T >= 2, got {tuple(pred.shape)}")
    t, h, w = pred.shape
    for name, f in (("flow_fw", flow_fw), ("flow_bw", flow_bw)):
        if tuple(f.shape) != (t - 1, h, w, 2):
            raise ValueError(f"{name} must be {(t - 1, h, w, 2)}, got {tuple(f.shape)}")
    for name, mk in (("mask_fw", mask_fw), ("mask_bw", mask_bw)):
        if tuple(mk.shape) != (t - 1, h, w):
            raise ValueError(f"{name} must be {(t - 1, h, w)}, got {tuple(mk.shape)}")
    d = pred
    if normalise:
        allm = torch.ones(1, t * h * w, dtype=torch.bool, device=pred.device)
        d = _masked_normalise(pred.reshape(1, -1), allm).reshape(t, h, w)
    fw = (d[:-1] - warp(d[1:], flow_fw)).abs()
    bw = (d[1:] - warp(d[:-1], flow_bw)).abs()
    mf, mb = mask_fw.bool(), mask_bw.bool()
    total = torch.where(mf, fw, torch.zeros_like(fw)).sum() + torch.where(mb, bw, torch.zeros_like(bw)).sum()
    n = mf.sum() + mb.sum()
    if int(n) == 0:
        return pred.sum() * 0.0
    return total / n
