"""Depth lag found without a model, from how the depth stream moves against the picture.

When the depth starts lagging the picture by k frames at frame a, depth frames a..a+k-1 repeat
what the depth stream already showed k frames earlier (d[t] = d[t-k]) while the picture moves on:
the depth stream *rewinds*. When the lag ends at frame b, the depth jumps k+1 frames of motion
forward at once while the picture moves one frame. Both are measured on block-pooled log depth
(block means average out codec noise) against the change the same span shows just before and
just after, so slow and fast scenes are judged alike and no game is special-cased.

Per frame t and offset j = 1..J the extractor records `depth_dist[t, j-1]`, the mean absolute
change of pooled log depth from frame t-j to t, and `rgb_dist[t, j-1]`, the same for pooled luma.

A quantised depth buffer (gray8 with a far plane) moves in a staircase: it stands still for a few
frames, then steps. That also repeats an earlier depth, so an onset must also show the back jump
itself: frame a is closer to frame a-k than to frame a-1, by a step as large as k-1 frames of
usual motion.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from curate.config import FrameCheckConfig
from curate.series import around, window_median


class StepDistances:
    """Streams frames; per frame, the pooled depth and luma change to each of the last J frames."""

    def __init__(self, max_offset: int):
        self.J = max_offset
        self._depth: deque[np.ndarray] = deque(maxlen=max_offset)
        self._luma: deque[np.ndarray] = deque(maxlen=max_offset)
        self._size: tuple[int, int] | None = None
        self._valid: np.ndarray | None = None

    def push(self, depth: np.ndarray, gray: np.ndarray, valid: np.ndarray | None) -> tuple[list[float], list[float]]:
        """`depth` at full resolution (metres or any unit, inf/NaN/<=0 invalid), `gray` the working
        luma and `valid` its non-HUD mask. Returns (depth row, luma row), J values each."""
        if self._size is None:
            h, w = gray.shape
            self._size = (max(4, w // 2), max(4, h // 2))
            if valid is not None:
                self._valid = cv2.resize(valid.astype(np.float32), self._size, interpolation=cv2.INTER_AREA) > 0.99
        ok = (np.isfinite(depth) & (depth > 0)).astype(np.float32)
        total = cv2.resize(np.where(ok > 0, depth, 0).astype(np.float32), self._size, interpolation=cv2.INTER_AREA)
        cover = cv2.resize(ok, self._size, interpolation=cv2.INTER_AREA)
        pooled = np.full(cover.shape, np.nan, np.float32)
        full = cover > 0.9  # mostly-invalid blocks (sky, cleared buffer) carry no depth
        pooled[full] = np.log(total[full] / cover[full])
        luma = cv2.resize(gray, self._size, interpolation=cv2.INTER_AREA)
        d_row = [np.nan] * self.J
        r_row = [np.nan] * self.J
        for j, (pd, pl) in enumerate(zip(reversed(self._depth), reversed(self._luma), strict=True)):
            diff = np.abs(pooled - pd)
            if np.isfinite(diff).any():
                d_row[j] = float(np.nanmean(diff))
            dl = np.abs(luma - pl)
            r_row[j] = float(dl.mean() if self._valid is None else dl[self._valid].mean())
        self._depth.append(pooled)
        self._luma.append(luma)
        return d_row, r_row

    def reset(self) -> None:
        """After an unreadable frame the next distances start afresh."""
        self._depth.clear()
        self._luma.clear()


def _usual(x: np.ndarray, start: int, stop: int, m: int) -> np.ndarray:
    """Usual value of x around the span [a+start, a+stop): the smaller of the medians of the m
    frames before and the m frames after it (smaller, so a scene that slows down is not a lag)."""
    return np.fmin(window_median(x, start - m, m), window_median(x, stop, m))


def rewind_onsets(depth_dist: np.ndarray, rgb_dist: np.ndarray, cfg: FrameCheckConfig) -> list[tuple[int, int, float]]:
    """(onset frame a, lag k, score) of every place where the depth rewinds by k >= 2 frames while
    the picture does not; score = usual k-frame depth change / change against k frames back."""
    n, J = depth_dist.shape
    m = cfg.rewind_window
    best = np.zeros(n)
    best_k = np.zeros(n, dtype=int)
    d1 = depth_dist[:, 0]
    for k in range(2, J + 1):
        dk, rk = depth_dist[:, k - 1], rgb_dist[:, k - 1]
        inside = window_median(dk, 0, k)
        usual = _usual(dk, 0, k, m)
        usual_prev = _usual(depth_dist[:, k - 2], 0, k, m)  # usual (k-1)-frame change
        with np.errstate(all="ignore"):
            score = usual / np.maximum(inside, 1e-6)
            ok = usual >= cfg.rewind_min_change
            ok &= window_median(rk, 0, k) >= cfg.rewind_rgb_keep * _usual(rk, 0, k, m)  # picture moves on
            ok &= d1 > cfg.rewind_backjump * dk  # onset frame: closer to k back than to the previous frame
            ok &= d1 >= cfg.rewind_onset_jump * usual_prev  # by a step of about k-1 frames of motion
            ok &= score >= cfg.rewind_ratio
        better = ok & (score > best)
        best[better] = score[better]
        best_k[better] = k
    return [(int(a), int(best_k[a]), float(best[a])) for a in np.flatnonzero(best_k)]


def _first_stop(stop: np.ndarray | None, a: int, k: int, hi: int, cfg: FrameCheckConfig) -> int | None:
    """First stop frame in [a+k, hi), ignoring the `growth_span` frames after the rewound ones:
    a depth that repeats k frames looks briefly frozen to the growth test."""
    if stop is None:
        return None
    lo = a + k + cfg.growth_span
    hits = np.flatnonzero(stop[lo:hi])
    return lo + int(hits[0]) if hits.size else None


def _end_evidence(depth_dist: np.ndarray, rgb_dist: np.ndarray, cfg: FrameCheckConfig) -> tuple[np.ndarray, np.ndarray]:
    """(jump, candidate) per frame, the same for every lag of a recording: the one-frame depth
    change per unit of picture change against its usual value on both sides (a scene that speeds
    up moves both), and where that jump is large while the picture moves as usual."""
    m = cfg.rewind_window
    d1, r1 = depth_dist[:, 0], rgb_dist[:, 0]
    with np.errstate(all="ignore"):
        q = d1 / np.maximum(r1, cfg.end_rgb_floor)
        jump = q / np.maximum(around(q, m), 1e-6)
        smooth = r1 <= cfg.end_rgb_ratio * around(r1, m)
    return jump, (jump >= cfg.end_jump_ratio) & smooth


def lag_end(depth_dist: np.ndarray, rgb_dist: np.ndarray, a: int, k: int, cfg: FrameCheckConfig,
            stop: np.ndarray | None = None, not_end: np.ndarray | None = None,
            evidence: tuple[np.ndarray, np.ndarray] | None = None) -> int | None:
    """The frame b after a lag that started at a with k frames where the depth jumps forward about
    k+1 frames of motion at once while the picture moves as usual; None if there is none.

    The jump comes from `_end_evidence` (pass it as `evidence` to compute it once per recording).
    Its size is checked against the usual (k+1)-frame change: the smaller of its value before the
    onset and after b, far enough not to straddle b (inside the lag the first k frames are
    rewound and would lower it). Of several candidates the strongest wins: a lag replays the
    scene's own motion, and a burst of it can pass for a small jump. The search ends at the first
    `stop` frame (a scene cut, a black or faded picture, a cleared depth buffer); frames in
    `not_end` are no candidates (a freeze ends with a forward jump of its own)."""
    n, J = depth_dist.shape
    m = cfg.rewind_window
    lo, hi = a + k, min(n, a + cfg.lag_max_span + 1)
    first = _first_stop(stop, a, k, hi, cfg)
    if first is not None:
        hi = first + 1  # the stop frame itself may be the jump
    if lo >= hi:
        return None
    jump, cand = evidence if evidence is not None else _end_evidence(depth_dist, rgb_dist, cfg)
    kk = min(k + 1, J)
    dk = depth_dist[:, kk - 1]
    pre = float(window_median(dk, -m, m)[a]) if a > 0 else np.nan
    usual_k = np.fmin(pre, window_median(dk, kk, m))
    with np.errstate(all="ignore"):
        cand = cand & (depth_dist[:, 0] / np.maximum(usual_k, 1e-6) >= cfg.end_jump_size)
    if not_end is not None:
        cand &= ~not_end
    score = np.where(cand[lo:hi], jump[lo:hi], -np.inf)
    return int(lo + np.argmax(score)) if np.isfinite(score).any() else None


def rewind_lag_mask(depth_dist: np.ndarray, rgb_dist: np.ndarray, cfg: FrameCheckConfig,
                    stop: np.ndarray | None = None, not_end: np.ndarray | None = None) -> np.ndarray:
    """Frames of depth lag: from each rewind onset to the forward jump that ends it, or, when no
    end is found, to the first `stop` frame (scene cut, picture fault) within `lag_max_span`, else
    `lag_max_span` frames: an onset without a visible end most likely lags on, and discarding
    clean frames costs less than keeping lagged ones."""
    n = len(depth_dist)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    covered = -1
    evidence = None
    for a, k, _ in rewind_onsets(depth_dist, rgb_dist, cfg):
        if a <= covered:
            continue  # inside a lag already marked (k of its frames look like onsets too)
        evidence = evidence or _end_evidence(depth_dist, rgb_dist, cfg)
        b = lag_end(depth_dist, rgb_dist, a, k, cfg, stop, not_end, evidence)
        if b is None:
            b = _first_stop(stop, a, k, min(n, a + cfg.lag_max_span + 1), cfg)
        end = b if b is not None else min(n, a + cfg.lag_max_span)
        out[a:end] = True
        covered = end - 1
    return out
