"""Running the registry over one recording: the motion summary once, every check in order, then
span shaping and one label per frame."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from curate.frame_checks.base import CheckContext, Evidence, MotionSummary
from curate.frame_checks.registry import REGISTRY
from curate.series import close_gaps, keep_runs, pad, scenes, window_median


def _per_scene_median(x: np.ndarray, use: np.ndarray, cuts: Sequence[int], min_count: int = 20) -> np.ndarray:
    """Each frame's scene median of x over the `use` frames (the recording's when a scene has fewer
    than `min_count`): scenes differ in how much their depth changes per pixel of picture motion."""
    n = len(x)
    ok = use & np.isfinite(x)
    whole = float(np.median(x[ok])) if ok.sum() >= min_count else np.nan
    out = np.full(n, whole)
    for a, b in scenes(cuts, n):
        if ok[a:b].sum() >= min_count:
            out[a:b] = np.median(x[a:b][ok[a:b]])
    return out


def _depth_follows(mp: np.ndarray, md: np.ndarray, tracked: np.ndarray, window: int, share: float = 0.5) -> np.ndarray:
    """Frames where, over the last `window` frames, the tracked depth moved at least `share` as far
    as the picture (median over the frames whose depth was tracked; False where none was)."""
    with np.errstate(all="ignore"):
        ratio = np.where(tracked & np.isfinite(md) & (mp > 0), md / mp, np.nan)
        # window_median: NaN where no frame of the window was tracked, and NaN >= share is False
        return window_median(ratio, -(window - 1), max(window, 1)) >= share


def picture_moves(f, mp: np.ndarray, cfg, tracks: int) -> np.ndarray:
    """The picture moves as a whole: at least `tracks` tracks, moving more than `motion_px`, at
    most `layer_static` of them static. `mp`: `f.picture_motion()`."""
    return ((np.nan_to_num(f.pic_inliers) >= tracks) & (np.nan_to_num(mp) > cfg.motion_px)
            & (np.nan_to_num(f.pic_static, nan=1.0) <= cfg.layer_static))


def summarise(f, cfg, cuts: Sequence[int] = ()) -> MotionSummary:
    """Where the picture and the depth move (see `MotionSummary`); thresholds from `cfg`, scene
    baselines between `cuts`."""
    mp, md = f.picture_motion(), f.depth_motion()
    moving = picture_moves(f, mp, cfg, cfg.min_tracks)
    still = (np.nan_to_num(f.pic_tracks) >= cfg.still_tracks) & (np.nan_to_num(mp, nan=1.0) < cfg.still_px)
    still &= np.nan_to_num(f.pic_static) >= cfg.still_static
    depth_tracked = np.nan_to_num(f.dep_tracks) >= cfg.min_tracks
    d1 = f.depth_dist[:, 0] if f.depth_dist.size else np.zeros(len(f))
    dm = d1[moving & np.isfinite(d1)]
    # An exact repeat sits far below the changes of a moving depth, whatever the codec's noise.
    p10 = float(np.percentile(dm, 10)) if dm.size > 20 else 0.0
    repeat_level = max(cfg.repeat_floor * p10, 1e-6)
    repeat = np.nan_to_num(d1, nan=np.inf) <= repeat_level
    repeat |= depth_tracked & (np.nan_to_num(f.dep_static) >= cfg.repeat_static)
    # Over several frames a frozen depth stays at the codec's noise (re-encoding a repeated 8-bit
    # depth beside a moving picture leaves more than a clean repeat) while a moving one grows.
    # Both are taken relative to their usual values, so that a camera slowing down (picture and
    # depth change less together) is not a freeze.
    S = min(cfg.settle_frames, f.depth_dist.shape[1]) if f.depth_dist.size else 1
    # The most-moved tenth of the depth: a turn over flat ground leaves most of it alone but moves
    # the trees and hills, while a frozen depth moves nowhere.
    # The median over offsets S - `settle_span` .. S + `settle_span`: a codec re-encoding a stuck
    # frame may toggle it with a period of its own, so that the frame S back sits in the other
    # phase on every other frame (measured on a fresh procedural seed at 60 fps, gray8: a 72-frame
    # freeze toggling 0.05-0.37 x usual with a period of 4 settled on every other frame at S = 6,
    # and its first 45 frames leaked).
    J = f.depth_top.shape[1] if f.depth_top.size else 1
    rels = []
    for j in range(max(1, S - cfg.settle_span), min(J, S + cfg.settle_span) + 1):
        ds = f.depth_top[:, j - 1] if f.depth_top.size else np.zeros(len(f))
        ps = np.convolve(np.nan_to_num(mp), np.ones(j), mode="full")[: len(f)]  # picture motion over j frames
        ok = moving & (ps > 0)
        with np.errstate(all="ignore"):
            rels.append((ds / _per_scene_median(ds, ok, cuts)) / np.maximum(ps / _per_scene_median(ps, ok, cuts), 1e-6))
    if len(rels) > 1:
        # (frames with no offset known stay NaN; the median only over the others, so that no
        # warning is raised: a filter set with `warnings.catch_warnings` is process-wide and not
        # safe in a flow's worker threads)
        stack = np.vstack(rels)
        known = np.isfinite(stack).any(axis=0)
        rel = np.full(stack.shape[1], np.nan)
        rel[known] = np.nanmedian(stack[:, known], axis=0)
    else:
        rel = rels[0]
    settled = moving & (np.nan_to_num(rel, nan=np.inf) <= cfg.settle_fraction)
    # ... unless the depth's own tracks moved with the picture over those frames (after a fast turn
    # a scene's depth may change little per pixel of motion, and the tracks still show it moving).
    settled &= ~_depth_follows(mp, md, depth_tracked, S)
    quiet = d1[(still | (np.nan_to_num(mp, nan=1.0) < cfg.still_px)) & np.isfinite(d1)]
    usual = float(np.median(dm)) if dm.size else float(np.nanmedian(d1)) if np.isfinite(d1).any() else 0.0
    # The depth's noise while the picture stands still; a low quantile, since a still picture may be
    # an overlay over a depth that moves on.
    noise = min(float(np.percentile(quiet, 25)), 0.2 * usual) if quiet.size > 10 else 0.0
    nearly_still = np.nan_to_num(d1, nan=np.inf) <= cfg.nearly_still * usual
    return MotionSummary(mp, md, moving, still, depth_tracked, repeat, settled, nearly_still, usual, noise, repeat_level)


def enabled_checks(cfg, bootstrap_trusted: bool = False) -> list:
    """Instances of the registry's checks that run under `cfg` (bootstrap ones only when trusted)."""
    out = []
    for cls in REGISTRY:
        section = getattr(cfg, cls.name)
        if section.enabled and (bootstrap_trusted or not cls.needs_bootstrap):
            out.append(cls(section))
    return out


def run_checks(f, cfg, cuts: Sequence[int] = (), bootstrap_trusted: bool = False,
               motion: MotionSummary | None = None, depth_exact: bool = False,
               fps: float | None = None) -> dict[str, Evidence]:
    """Evidence of every enabled check, in registry order (each sees the spans before it).
    `motion`: `summarise(f, cfg, cuts)` when the caller has it already; `depth_exact`: the
    recording's depth reads back bit for bit (`RecordingInfo.depth_exact`); `fps`: its frame
    rate (None: `cfg.reference_fps`)."""
    motion = motion if motion is not None else summarise(f, cfg, cuts)
    ctx = CheckContext(f, cfg, list(cuts), motion, bootstrap_trusted=bootstrap_trusted,
                       picture_fault_checks=tuple(c.name for c in REGISTRY if c.picture_fault),
                       depth_exact=depth_exact, fps=fps)
    out: dict[str, Evidence] = {}
    for check in enabled_checks(cfg, bootstrap_trusted):
        ev = check.evidence(ctx)
        out[check.name] = ev
        ctx.spans[check.name] = ev.span
    return out


def shape(span: np.ndarray, cfg, check: str | None = None, cuts: Sequence[int] = ()) -> np.ndarray:
    """A check's span as discarded: short runs dropped, close runs merged, padded before (by the
    check's own `pad_frames` where it sets one, else the shared one) and after (its `pad_after`,
    else as before), within each scene between `cuts`: the padding covers an edge a check finds
    a frame or two inside the true one, and an edge at a cut is the cut's, seen exactly (measured
    on a held-out real-game seed: a loading screen opening at a cut took 4 clean frames of the
    scene before with it, and a 152-frame clean run lost its 150-frame clip)."""
    own = getattr(cfg, check) if check else None
    before = cfg.pad_frames if own is None or own.pad_frames is None else own.pad_frames
    after = before if own is None or own.pad_after is None else own.pad_after
    core = close_gaps(keep_runs(span, cfg.min_fault_frames), cfg.merge_gap)
    out = np.zeros(len(core), bool)
    for a, b in scenes(cuts, len(core)):
        out[a:b] = pad(core[a:b], before, after)
    return out


def fault_labels(f, cfg, cuts: Sequence[int] = (), bootstrap_trusted: bool = False,
                 motion: MotionSummary | None = None, depth_exact: bool = False,
                 fps: float | None = None) -> tuple[list[str], dict[str, np.ndarray]]:
    """Per-frame label ("" or "fault:<check>", the first check in registry order wins) and the
    shaped span of every check that ran."""
    n = len(f)
    labels = [""] * n
    if not cfg.enabled or n == 0:
        return labels, {}
    shaped = {k: shape(ev.span, cfg, k, cuts) for k, ev in run_checks(f, cfg, cuts, bootstrap_trusted, motion, depth_exact, fps).items()}
    for name, m in shaped.items():
        for i in np.flatnonzero(m):
            if not labels[i]:
                labels[i] = f"fault:{name}"
    return labels, shaped
