"""The bootstrap depth model run along a recording, and the misalignment evidence it gives.

`BootstrapTracker.push(index, rgb, depth)` streams the recording. On every `bootstrap_every`-th
frame t it predicts depth from the picture (batched) and compares that prediction with the
captured depth of frames t, t+1, ..., t+J (J = `lag_max_frames`), each after a least-squares
scale-shift fit, at a low comparison resolution:

- error e_j = AbsRel of pred[t] against depth[t+j]. Frame pairs (depth u, prediction u-j) are
  exactly the brief's "depth[t] against pred[t-j]"; sampling by the *prediction* frame means one
  network call per sampled frame instead of one per frame.
- e_j for j > 0 is kept for diagnostics: a depth that lags k frames fits pred[t - k] best. Depth
  lag itself is found without the model (curate/frame_checks/depth_lag.py), which measured far
  more reliable than a small bootstrap telling neighbouring frames apart.
- misalignment: e_0 itself. A menu, an overlay or a loading screen over an uncleared depth
  buffer makes the prediction of the *picture* disagree with the captured depth. Frames whose
  e_0 exceeds a robust per-scene threshold (median + k * MAD, with floors) are flagged
  (`misaligned_mask`), so a 2 s menu inside a 5 s clip is found even when the picture does not cut.

Memory is bounded: only low-resolution captured depth of the last J + batch frames is kept.
Row t depends only on frames t .. t + J, so a chunk that reads J frames past its last row (and
predicts only on its own rows) gives exactly the rows of one pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from common.frames import model_input
from curate.config import FrameCheckConfig
from curate.series import runs_of, scenes
from model.predictor import fit_scale_shift

_MAD_TO_SIGMA = 1.4826


@dataclass
class BootstrapTrack:
    """Per-frame results; NaN / -1 on frames that were not sampled (or could not be scored)."""

    abs_rel: np.ndarray  # e_0 at sampled frames
    best_abs_rel: np.ndarray  # min over j > 0 of e_j at sampled frames
    best_offset: np.ndarray  # argmin j > 0 (int, -1 = none)
    sampled: np.ndarray  # bool: a prediction was made at this frame
    errors: np.ndarray | None = None  # (T, J+1) e_j of every sampled frame (NaN rows elsewhere)

    def __len__(self) -> int:
        return len(self.abs_rel)

    @classmethod
    def from_errors(cls, errors: np.ndarray, sampled: np.ndarray) -> BootstrapTrack:
        """The track from its per-sample errors e_0..e_J (rows of unsampled frames are ignored)."""
        errors = np.asarray(errors, dtype=np.float64)
        sampled = np.asarray(sampled, dtype=bool)
        n = len(sampled)
        t = cls(np.full(n, np.nan), np.full(n, np.nan), np.full(n, -1, np.int64), sampled.copy(),
                np.where(sampled[:, None], errors, np.nan))
        t.abs_rel[sampled] = t.errors[sampled, 0]
        later = t.errors[:, 1:]
        has = sampled & np.isfinite(later).any(axis=1)
        if has.any():
            k = np.nanargmin(np.where(np.isfinite(later[has]), later[has], np.inf), axis=1)
            t.best_abs_rel[has] = later[has][np.arange(k.size), k]
            t.best_offset[has] = k + 1
        return t

    def slice(self, start: int, stop: int) -> BootstrapTrack:
        return BootstrapTrack(self.abs_rel[start:stop], self.best_abs_rel[start:stop],
                              self.best_offset[start:stop], self.sampled[start:stop],
                              None if self.errors is None else self.errors[start:stop])

    @property
    def lag_gain(self) -> np.ndarray:
        """Relative gain of the best later depth frame over the same frame: (e_0 - e_best) / e_0."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.abs_rel - self.best_abs_rel) / self.abs_rel


def abs_rel_after_fit(pred: np.ndarray, depth: np.ndarray, valid: np.ndarray, min_pixels: int = 32) -> float:
    """AbsRel of `pred` against `depth` over `valid` after the least-squares scale-shift fit (the
    project's one fit, `model.predictor.fit_scale_shift`); NaN with fewer than `min_pixels` pixels
    or a constant prediction."""
    m = np.asarray(valid, bool) & np.isfinite(pred) & np.isfinite(depth)
    try:
        s, t = fit_scale_shift(pred, depth, m, min_valid=min_pixels)
    except ValueError:  # too few pixels, or an undetermined fit: no comparison
        return math.nan
    x = pred[m].astype(np.float64)
    y = depth[m].astype(np.float64)
    a = np.maximum(s * x + t, y.min())  # a fitted depth can go <= 0: clamp as scoring does
    return float(np.mean(np.abs(a - y) / y))


class BootstrapTracker:
    """Streams (rgb, depth) frames and builds a `BootstrapTrack` with a `DepthPredictor`."""

    def __init__(self, predictor, config: FrameCheckConfig | None = None, hud_mask: np.ndarray | None = None,
                 batch_size: int = 16, on_prediction: Callable[[int, np.ndarray], None] | None = None,
                 background: bool = False):
        self.predictor = predictor
        # background: the model runs in a worker thread (torch releases the GIL) while the caller
        # goes on decoding and checking frames; results are taken in submission order, so the rows
        # are the same either way.
        self.background = background
        self._pool: ThreadPoolExecutor | None = None
        self._running: list[tuple[list[int], Future]] = []
        self.errors: list[str] = []  # model failures (their samples stay unscored)
        # Called with (frame, prediction at the frame's size) for every prediction made, so other
        # consumers (the clip scores) reuse it instead of running the model again.
        self.on_prediction = on_prediction
        self.config = config or FrameCheckConfig()
        self.hud_mask = hud_mask
        self.batch_size = max(1, batch_size)
        self.every = max(1, self.config.bootstrap_every)
        self.J = self.config.lag_max_frames
        self._size: tuple[int, int] | None = None  # comparison (w, h)
        self._keep: np.ndarray | None = None  # comparison-resolution mask of non-HUD pixels
        self._depth: dict[int, np.ndarray] = {}  # low-res captured depth (NaN = invalid / HUD)
        self._queue: list[tuple[int, np.ndarray]] = []  # sampled frames waiting for a batch
        self._pred: dict[int, np.ndarray] = {}  # predictions waiting for depth[t + J]
        self._rows: dict[int, np.ndarray] = {}
        self._last = -1

    def _sizes(self, h: int, w: int) -> None:
        if self._size is not None:
            return
        cw = min(w, self.config.lag_compare_width)
        self._size = (cw, max(8, round(h * cw / w)))
        if self.hud_mask is not None:
            m = cv2.resize(np.asarray(self.hud_mask, np.uint8), self._size, interpolation=cv2.INTER_NEAREST)
            self._keep = cv2.dilate(m, np.ones((3, 3), np.uint8)) == 0

    def push(self, index: int, rgb: np.ndarray, depth: np.ndarray, predict: bool = True) -> None:
        """`predict=False`: depth only (a chunk's look-ahead frames, compared with, never sampled)."""
        self._sizes(*rgb.shape[:2])
        d = cv2.resize(np.asarray(depth, np.float32), self._size, interpolation=cv2.INTER_NEAREST)
        bad = ~np.isfinite(d) | (d <= 0)
        if self._keep is not None:
            bad |= ~self._keep
        d[bad] = np.nan
        self._depth[index] = d
        self._last = index
        if predict and index % self.every == 0:
            # the model's input as the clip scores give it (they reuse this prediction)
            small = model_input(rgb, self.config.bootstrap_input_width)
            self._queue.append((index, small))
            if len(self._queue) >= self.batch_size:
                self._predict()
        self._score(final=False)

    def mark_unreadable(self, index: int) -> None:
        """A frame that could not be decoded: no depth for it (comparisons with it are skipped)."""
        self._last = index

    def _predict(self) -> None:
        if not self._queue:
            return
        idx = [i for i, _ in self._queue]
        frames = np.stack([f for _, f in self._queue])
        self._queue.clear()
        if self.background:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="bootstrap")
            self._running.append((idx, self._pool.submit(self.predictor.predict, frames)))
        else:
            try:
                pred = self.predictor.predict(frames)
            except Exception as e:  # a model failure must not stop the recording: these samples stay unscored
                self._failed(idx, e)
                return
            self._take(idx, pred)

    def _failed(self, idx: list[int], e: Exception) -> None:
        self.errors.append(f"bootstrap prediction failed on frames {idx[0]}..{idx[-1]}: {type(e).__name__}: {e}")

    def _take(self, idx: list[int], pred) -> None:
        for i, p in zip(idx, np.asarray(pred, np.float32), strict=True):
            if self.on_prediction is not None:
                self.on_prediction(i, p)
            self._pred[i] = cv2.resize(p, self._size, interpolation=cv2.INTER_AREA)

    def _collect(self, wait: bool) -> None:
        """Take the finished background predictions, in order (all of them when `wait`)."""
        while self._running and (wait or self._running[0][1].done()):
            idx, fut = self._running.pop(0)
            try:
                pred = fut.result()
            except Exception as e:  # as above
                self._failed(idx, e)
                continue
            self._take(idx, pred)

    def _score(self, final: bool) -> None:
        self._collect(wait=final)
        for t in sorted(self._pred):
            if not final and self._last < t + self.J:
                break
            p = self._pred.pop(t)
            errs = np.full(self.J + 1, np.nan)
            for j in range(self.J + 1):
                d = self._depth.get(t + j)
                if d is not None:
                    valid = np.isfinite(d) & np.isfinite(p)
                    errs[j] = abs_rel_after_fit(p, d, valid)
            self._rows[t] = errs
        # Depth older than every pending sample (queued or predicted) is no longer needed.
        pending = [i for i, _ in self._queue] + list(self._pred) + [i for idx, _ in self._running for i in idx]
        oldest = min(pending) if pending else self._last + 1
        for i in [i for i in self._depth if i < oldest]:
            del self._depth[i]

    def flush(self) -> None:
        """Predict what is queued and score every pending sample with the depth seen so far."""
        self._predict()
        self._score(final=True)
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(errors (stop-start, J+1) float64, sampled bool) of frames [start, stop); flushes first."""
        self.flush()
        n = max(0, stop - start)
        errors = np.full((n, self.J + 1), np.nan)
        sampled = np.zeros(n, bool)
        for i, errs in self._rows.items():
            if start <= i < stop:
                errors[i - start], sampled[i - start] = errs, True
        return errors, sampled

    def result(self, n: int | None = None, start: int = 0) -> BootstrapTrack:
        """The track of frames [start, n) (n: one past the last frame pushed by default)."""
        self.flush()
        n = self._last + 1 if n is None else n
        return BootstrapTrack.from_errors(*self.rows(start, n))


def track_sequence(predictor, rgb: np.ndarray, depth: np.ndarray, config: FrameCheckConfig | None = None,
                   hud_mask: np.ndarray | None = None) -> BootstrapTrack:
    """`BootstrapTrack` of an in-memory sequence (T,H,W,3) uint8 / (T,H,W) float32."""
    tr = BootstrapTracker(predictor, config, hud_mask)
    for i in range(len(rgb)):
        tr.push(i, rgb[i], depth[i])
    return tr.result(len(rgb))


# ---- from the track to per-frame masks -------------------------------------------------------


def robust_threshold(values: np.ndarray, k: float, floor: float, mad_floor: float) -> float:
    """median + k * max(1.4826 * MAD, mad_floor), never below `floor`; inf when nothing is finite."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return math.inf
    med = float(np.median(v))
    mad = _MAD_TO_SIGMA * float(np.median(np.abs(v - med)))
    return max(floor, med + k * max(mad, mad_floor))


def misaligned_mask(track: BootstrapTrack, cfg, every: int, cuts: Sequence[int] = ()) -> np.ndarray:
    """Sampled frames whose own AbsRel is far above the scene's typical AbsRel, spread to their
    neighbours. The threshold comes from the scene between two cuts when it has enough samples
    (scenes differ in how well a small model does), else from the whole recording. `cfg`: the
    misaligned check's section (k, floor, mad_floor, min_samples, min_run); `every`: the sampling
    stride of the track."""
    n = len(track)
    out = np.zeros(n, bool)
    ar = track.abs_rel
    if not np.isfinite(ar).any():
        return out
    whole = robust_threshold(ar, cfg.k, cfg.floor, cfg.mad_floor)
    bad = np.zeros(n, bool)
    for a, b in scenes(cuts, n):
        seg = ar[a:b]
        thr = whole
        if np.isfinite(seg).sum() >= cfg.min_samples:
            thr = robust_threshold(seg, cfg.k, cfg.floor, cfg.mad_floor)
        with np.errstate(invalid="ignore"):
            bad[a:b] = seg > thr
    half = max(1, every) // 2
    for i in np.flatnonzero(bad):
        out[max(0, i - half) : min(n, i + half + 1)] = True
    # Only runs of sampled bad frames count (one odd frame is model noise).
    kept = np.zeros(n, bool)
    for a, b in runs_of(out):
        if np.count_nonzero(bad[a:b] & track.sampled[a:b]) >= cfg.min_run:
            kept[a:b] = True
    return kept
