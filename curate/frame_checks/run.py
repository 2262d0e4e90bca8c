"""Running the registry over one recording: the motion summary once, every check in order, then
span shaping and one label per frame."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from curate.frame_checks.base import CheckContext, Evidence, MotionSummary
from curate.frame_checks.registry import REGISTRY
from curate.series import close_gaps, keep_runs, pad


def summarise(f, cfg) -> MotionSummary:
    """Where the picture and the depth move (see `MotionSummary`); thresholds from `cfg`."""
    mp, md = f.picture_motion(), f.depth_motion()
    pic_ok = np.nan_to_num(f.pic_inliers) >= cfg.min_tracks
    moving = pic_ok & (np.nan_to_num(mp) > cfg.motion_px) & (np.nan_to_num(f.pic_static, nan=1.0) <= cfg.layer_static)
    still = pic_ok & (np.nan_to_num(mp, nan=1.0) < cfg.still_px) & (np.nan_to_num(f.pic_static) >= cfg.still_static)
    depth_tracked = np.nan_to_num(f.dep_tracks) >= cfg.min_tracks
    d1 = f.depth_dist[:, 0] if f.depth_dist.size else np.zeros(len(f))
    dm = d1[moving & np.isfinite(d1)]
    # An exact repeat sits far below the changes of a moving depth, whatever the codec's noise.
    p10 = float(np.percentile(dm, 10)) if dm.size > 20 else 0.0
    repeat = (np.nan_to_num(d1, nan=np.inf) <= max(cfg.repeat_floor * p10, 1e-6))
    repeat |= depth_tracked & (np.nan_to_num(f.dep_static) >= cfg.repeat_static)
    quiet = d1[(still | (np.nan_to_num(mp, nan=1.0) < cfg.still_px)) & np.isfinite(d1)]
    usual = float(np.median(dm)) if dm.size else float(np.nanmedian(d1)) if np.isfinite(d1).any() else 0.0
    return MotionSummary(mp, md, moving, still, depth_tracked, repeat, usual,
                         float(np.median(quiet)) if quiet.size > 10 else 0.0)


def enabled_checks(cfg, bootstrap_trusted: bool = False) -> list:
    """Instances of the registry's checks that run under `cfg` (bootstrap ones only when trusted)."""
    out = []
    for cls in REGISTRY:
        section = getattr(cfg, cls.name)
        if section.enabled and (bootstrap_trusted or not cls.needs_bootstrap):
            out.append(cls(section))
    return out


def run_checks(f, cfg, cuts: Sequence[int] = (), bootstrap_trusted: bool = False) -> dict[str, Evidence]:
    """Evidence of every enabled check, in registry order (each sees the spans before it)."""
    ctx = CheckContext(f, cfg, list(cuts), summarise(f, cfg), bootstrap_trusted=bootstrap_trusted,
                       picture_fault_checks=tuple(c.name for c in REGISTRY if c.picture_fault))
    out: dict[str, Evidence] = {}
    for check in enabled_checks(cfg, bootstrap_trusted):
        ev = check.evidence(ctx)
        out[check.name] = ev
        ctx.spans[check.name] = ev.span
    return out


def shape(span: np.ndarray, cfg) -> np.ndarray:
    """A check's span as discarded: short runs dropped, close runs merged, padded both sides."""
    return pad(close_gaps(keep_runs(span, cfg.min_fault_frames), cfg.merge_gap), cfg.pad_frames)


def fault_labels(f, cfg, cuts: Sequence[int] = (), bootstrap_trusted: bool = False
                 ) -> tuple[list[str], dict[str, np.ndarray]]:
    """Per-frame label ("" or "fault:<check>", the first check in registry order wins) and the
    shaped span of every check that ran."""
    n = len(f)
    labels = [""] * n
    if not cfg.enabled or n == 0:
        return labels, {}
    shaped = {k: shape(ev.span, cfg) for k, ev in run_checks(f, cfg, cuts, bootstrap_trusted).items()}
    for name, m in shaped.items():
        for i in np.flatnonzero(m):
            if not labels[i]:
                labels[i] = f"fault:{name}"
    return labels, shaped
