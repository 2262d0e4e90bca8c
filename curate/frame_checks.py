"""Per-frame checks that find the span of a fault, run on every frame at a low working resolution.

A clip-level median over 10 samples cannot see a fault shorter than half a clip (a 2 s menu in a
5 s clip), so these checks label frames first; the labelled spans are discarded and clips are cut
from the clean frames around them.

`FrameFeatureExtractor.push(rgb, depth)` computes a handful of numbers per frame (streaming; only
the last few low-resolution edge maps are kept). `fault_labels(features, config)` turns them
into one label per frame: "" or "fault:<check>".

Checks (all relative to nothing but the picture and the depth, so no game or simulator is
special-cased):
- black:        black or near-uniform picture (loading screens, fades to black)
- invalid_depth: most depth pixels invalid
- flat_depth:   depth buffer cleared (no structure) while it should show the scene
- frozen_depth: depth did not change while the picture moved (frame to frame, or over the last
                J frames relative to the picture's change: `depth_still_over_span`)
- frozen_rgb:   depth changed while the picture stood still
- overlay:      the picture jumps while the depth does not, and jumps again within a span
                (a menu or loading screen appearing and going; curate/overlay.py)
- edge_mismatch: depth edges do not sit on picture edges (menus, overlays, wrong buffer)
- depth_lag:    with a bootstrap model: the captured depth fits the model's prediction for an
                *earlier* picture clearly better than for its own (curate/bootstrap_checks.py);
                without one: depth edges sit on an earlier picture's edges, or the depth stream
                rewinds k frames and later jumps forward while the picture moves on
                (curate/rewind_lag.py)
- fade:         sustained one-way change of brightness
- misaligned:   the bootstrap model's per-frame AbsRel is far above its scene's typical value
                (robust median + k * MAD threshold): menus, overlays, loading screens
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from curate.bootstrap_checks import (
    BootstrapTrack,
    lag_model_usable,
    lag_sample_rate,
    misaligned_mask,
    reach_back,
)
from curate.bootstrap_checks import lag_mask as bootstrap_lag_mask
from curate.config import FrameCheckConfig
from curate.overlay import overlay_mask
from curate.rewind_lag import StepDistances, rewind_lag_mask
from curate.series import extend_back, extend_forward, pad, rolling_median, runs_of

# Order decides which reason a frame gets when several checks fire.
CHECKS = (
    "black",
    "invalid_depth",
    "flat_depth",
    "frozen_depth",
    "frozen_rgb",
    "fade",
    "depth_lag",
    "overlay",
    "edge_mismatch",
    "misaligned",
)

_FIELDS = (
    "luma_mean",
    "luma_std",
    "uniform_frac",
    "invalid_frac",
    "depth_std",
    "rgb_diff",
    "depth_diff",
    "edge_agree",
    "lag_gain",
    "lag_offset",
    "rgb_growth",
    "depth_growth",
    "depth_dist",
    "rgb_dist",
)
_MATRIX_FIELDS = ("depth_dist", "rgb_dist")  # one row of `rewind_max_offset` values per frame


@dataclass
class FrameFeatures:
    """One value per frame for every field; NaN where it cannot be computed (e.g. diff of frame 0)."""

    luma_mean: np.ndarray
    luma_std: np.ndarray
    uniform_frac: np.ndarray
    invalid_frac: np.ndarray
    depth_std: np.ndarray
    rgb_diff: np.ndarray
    depth_diff: np.ndarray
    edge_agree: np.ndarray
    lag_gain: np.ndarray
    lag_offset: np.ndarray
    rgb_growth: np.ndarray  # change over `growth_span` frames / change over one frame
    depth_growth: np.ndarray
    depth_dist: np.ndarray  # (n, J): pooled log-depth change to each of the J previous frames
    rgb_dist: np.ndarray  # (n, J): the same for pooled luma
    bootstrap: BootstrapTrack | None = None  # set when a bootstrap model was given

    def __len__(self) -> int:
        return len(self.luma_mean)

    def slice(self, start: int, stop: int) -> FrameFeatures:
        b = None if self.bootstrap is None else self.bootstrap.slice(start, stop)
        return FrameFeatures(**{k: getattr(self, k)[start:stop] for k in _FIELDS}, bootstrap=b)


def _rank01(x: np.ndarray) -> np.ndarray:
    """Percentile rank of every element in [0, 1] (ties broken by position; cheap and scale-free)."""
    flat = x.ravel()
    r = np.empty(flat.size, dtype=np.float32)
    r[np.argsort(flat, kind="stable")] = np.linspace(0.0, 1.0, flat.size, dtype=np.float32)
    return r.reshape(x.shape)


def _grad_mag(img: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


class FrameFeatureExtractor:
    """Streams frames and records `FrameFeatures`; memory does not grow with frame size."""

    def __init__(self, config: FrameCheckConfig | None = None, hud_mask: np.ndarray | None = None):
        self.config = config or FrameCheckConfig()
        self.hud_mask = hud_mask  # True where a HUD covers the picture (any resolution)
        self._valid: np.ndarray | None = None  # working-resolution mask of non-HUD pixels
        self._rows: dict[str, list[float]] = {k: [] for k in _FIELDS}
        self._ranks: deque[np.ndarray] = deque(maxlen=self.config.lag_max_offset + 1)
        span = max(self.config.growth_span, self.config.lag_max_offset + 2)
        self._grays: deque[np.ndarray] = deque(maxlen=span)
        self._logds: deque[np.ndarray] = deque(maxlen=span)
        self._size: tuple[int, int] | None = None
        self._steps = StepDistances(self.config.rewind_max_offset)

    @property
    def history(self) -> int:
        """Frames before t that frame t's features depend on: a reader that starts this many frames
        before a chunk (its warm-up) gives the chunk exactly the features of one pass."""
        c = self.config
        return max(c.growth_span, c.lag_max_offset + 2, c.rewind_max_offset)

    def _work_size(self, h: int, w: int) -> tuple[int, int]:
        if self._size is None:
            ww = min(w, self.config.work_width)
            self._size = (ww, max(8, round(h * ww / w)))
            if self.hud_mask is not None:
                m = cv2.resize(self.hud_mask.astype(np.uint8), self._size, interpolation=cv2.INTER_NEAREST)
                # Depth edges next to the HUD would be compared with HUD pixels: keep a margin.
                m = cv2.dilate(m, np.ones((5, 5), np.uint8))
                self._valid = m == 0
        return self._size

    def push(self, rgb: np.ndarray, depth: np.ndarray) -> None:
        cfg = self.config
        size = self._work_size(*rgb.shape[:2])
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        # Invalid fraction on a strided view of the full-resolution depth (cheap, exact enough).
        dstride = depth[:: max(1, depth.shape[0] // 90), :: max(1, depth.shape[1] // 160)]
        invalid = float(np.mean(~np.isfinite(dstride) | (dstride <= 0)))
        d = cv2.resize(depth.astype(np.float32), size, interpolation=cv2.INTER_NEAREST)
        ok = np.isfinite(d) & (d > 0)
        logd = np.full(d.shape, np.nan, dtype=np.float32)
        logd[ok] = np.log(d[ok])
        valid = self._valid

        r = self._rows
        gv = gray if valid is None else gray[valid]
        med = float(np.median(gv))
        r["luma_mean"].append(float(gv.mean()))
        r["luma_std"].append(float(gv.std()))
        r["uniform_frac"].append(float(np.mean(np.abs(gv - med) < cfg.uniform_band)))
        r["invalid_frac"].append(invalid)
        r["depth_std"].append(float(np.nanstd(logd)) if ok.any() else 0.0)

        # Differences to the last few frames: a moving stream differs more from older frames than
        # from the previous one (growth >> 1); a frozen one does not (growth ~ 1, whatever the codec
        # noise).
        rd = [self._rgb_dist(gray, g) for g in reversed(self._grays)]
        dd = [self._depth_dist(logd, d) for d in reversed(self._logds)]
        gs = cfg.growth_span
        r["rgb_diff"].append(rd[0] if rd else np.nan)
        r["depth_diff"].append(dd[0] if dd else np.nan)
        r["rgb_growth"].append(rd[gs - 1] / max(rd[0], 1e-4) if len(rd) >= gs else np.nan)
        r["depth_growth"].append(dd[gs - 1] / max(dd[0], 1e-5) if len(dd) >= gs else np.nan)
        d_row, r_row = self._steps.push(depth, gray, valid)
        r["depth_dist"].append(d_row)
        r["rgb_dist"].append(r_row)
        self._grays.append(gray)
        self._logds.append(logd)

        # Edge agreement: mean percentile rank of the picture's gradient at depth-edge pixels.
        # Chance is 0.5; aligned depth gives clearly more. Blur first so one pixel of jitter is fine.
        rank = _rank01(_grad_mag(cv2.GaussianBlur(gray, (3, 3), 0)))
        # Depth edges on log depth (scale-free). Invalid depth is mostly sky (inf): fill it as the
        # farthest depth, so only the horizon becomes an edge.
        fill = np.where(ok, logd, np.nanmax(logd) if ok.any() else 0.0).astype(np.float32)
        gd = _grad_mag(fill)
        if valid is not None:
            gd = np.where(valid, gd, 0.0)
        k = max(4, int(cfg.edge_top_fraction * gd.size))
        # Threshold instead of argpartition's pick among ties, and float64 means: the same
        # frames must give the same scores on every run (clip rows and shards are compared).
        g = gd.ravel()
        thr = max(float(np.partition(g, g.size - k)[g.size - k]), cfg.edge_min_step)
        idx = np.flatnonzero(g > thr) if thr == cfg.edge_min_step else np.flatnonzero(g >= thr)
        if idx.size < 4:
            agree, gain, off = np.nan, np.nan, np.nan
        else:
            agree = float(rank.ravel()[idx].mean(dtype=np.float64))
            # Same depth edges against the previous pictures: a lagging depth matches one of them better.
            past = [float(p.ravel()[idx].mean(dtype=np.float64)) for p in list(self._ranks)[::-1]]
            if past:
                j = int(np.argmax(past))
                gain, off = past[j] - agree, float(j + 1)
            else:
                gain, off = np.nan, np.nan
        r["edge_agree"].append(agree)
        r["lag_gain"].append(gain)
        r["lag_offset"].append(off)
        self._ranks.append(rank)

    def _rgb_dist(self, a: np.ndarray, b: np.ndarray) -> float:
        d = np.abs(a - b)
        return float(d.mean() if self._valid is None else d[self._valid].mean())

    @staticmethod
    def _depth_dist(a: np.ndarray, b: np.ndarray) -> float:
        d = np.abs(a - b)
        return float(np.nanmean(d)) if np.isfinite(d).any() else np.nan

    def mark_unreadable(self) -> None:
        """A frame that could not be decoded: NaN features, and the next diff starts afresh."""
        for k in _FIELDS:
            self._rows[k].append([np.nan] * self.config.rewind_max_offset if k in _MATRIX_FIELDS else np.nan)
        self._steps.reset()
        self._ranks.clear()
        self._grays.clear()
        self._logds.clear()

    def result(self) -> FrameFeatures:
        J = self.config.rewind_max_offset
        arrays = {k: np.asarray(v, dtype=np.float64) for k, v in self._rows.items()}
        for k in _MATRIX_FIELDS:
            arrays[k] = arrays[k].reshape(-1, J)  # (0, J) when no frame was pushed
        return FrameFeatures(**arrays)


def compute_features(
    rgb: np.ndarray, depth: np.ndarray, config: FrameCheckConfig | None = None, hud_mask: np.ndarray | None = None
) -> FrameFeatures:
    """Features of an in-memory sequence (T,H,W,3) uint8 and (T,H,W) float32."""
    ex = FrameFeatureExtractor(config, hud_mask)
    for t in range(len(rgb)):
        ex.push(rgb[t], depth[t])
    return ex.result()


# ---- from features to per-check masks ------------------------------------------------------


def _keep_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    out = np.zeros_like(mask, dtype=bool)
    for s, e in runs_of(mask):
        if e - s >= min_len:
            out[s:e] = True
    return out


def _close_gaps(mask: np.ndarray, gap: int) -> np.ndarray:
    out = mask.astype(bool).copy()
    r = runs_of(out)
    for (_, e0), (s1, _) in zip(r, r[1:], strict=False):
        if s1 - e0 <= gap:
            out[e0:s1] = True
    return out


def _nanmedian(x: np.ndarray, default: float) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else default


def is_black(f: FrameFeatures, cfg: FrameCheckConfig) -> np.ndarray:
    return (f.luma_mean < cfg.black_luma) | (f.luma_std < cfg.uniform_std) | (f.uniform_frac > cfg.uniform_fraction)


def rgb_moving(f: FrameFeatures, cfg: FrameCheckConfig) -> np.ndarray:
    # Growing change, or a change so large that it cannot be codec noise (fine texture moving
    # fast decorrelates within one frame, so its change does not grow any more).
    rd = np.nan_to_num(f.rgb_diff, nan=0.0)
    return (rd > cfg.rgb_moving) & (
        (np.nan_to_num(f.rgb_growth, nan=0.0) > cfg.moving_growth) | (rd > cfg.rgb_fast)
    )


def depth_frozen_steps(f: FrameFeatures, cfg: FrameCheckConfig) -> np.ndarray:
    """Frames where the depth stood still (no growth of change over time) while the picture moved."""
    return (np.nan_to_num(f.depth_growth, nan=99.0) < cfg.frozen_growth) & rgb_moving(f, cfg)


def depth_still_over_span(f: FrameFeatures, cfg: FrameCheckConfig, cuts: Sequence[int] = ()) -> np.ndarray:
    """Depth that barely changed over the last J frames while the picture clearly did, marked over
    those J frames. "Barely" is relative: the largest depth change to any of the last J frames per
    unit of picture change over J frames falls below `still_ratio` x its median in the scene
    (camera motion moves both, so the ratio is steady while a frozen depth drops it by an order
    of magnitude). Sees freezes the growth test
    misses: a 16-bit stream so clean that any stray change makes a large growth, or an H.264 gray8
    stream whose noise drifts while the encoder refines a still image."""
    n = len(f)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    J = f.depth_dist.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (first frame, unreadable)
        # The largest change to any of the last J frames: a scene that moves away and back (a camera
        # bobbing over a ground plane) returns to the same depth after J frames but not in between.
        dj = np.nanmax(f.depth_dist, axis=1)
    rj = f.rgb_dist[:, J - 1]
    moving = np.nan_to_num(rj, nan=0.0) > cfg.still_rgb_change
    with np.errstate(all="ignore"):
        ratio = dj / rj
    base = np.full(n, np.nan)
    bounds = [0, *sorted(c for c in cuts if 0 < c < n), n]
    whole = _nanmedian(ratio[moving], np.nan)
    for a, b in zip(bounds, bounds[1:], strict=False):
        base[a:b] = _nanmedian(ratio[a:b][moving[a:b]], whole)
    with np.errstate(invalid="ignore"):
        hit = moving & (ratio < cfg.still_ratio * base) & (dj < cfg.still_depth_change)
    for t in np.flatnonzero(hit):
        out[max(0, t - J) : t + 1] = True
    return out


def rgb_frozen_steps(f: FrameFeatures, cfg: FrameCheckConfig, depth_scale: float | None = None) -> np.ndarray:
    """Frames where the picture stood still while the depth moved."""
    depth_moving = (np.nan_to_num(f.depth_growth, nan=0.0) > cfg.moving_growth) & (
        np.nan_to_num(f.depth_diff, nan=0.0) > cfg.depth_moving
    )
    return (np.nan_to_num(f.rgb_growth, nan=99.0) < cfg.frozen_growth) & depth_moving


def fade_mask(f: FrameFeatures, cfg: FrameCheckConfig) -> np.ndarray:
    """Frames in a sustained one-way change of brightness, grown to the whole ramp."""
    n = len(f)
    out = np.zeros(n, dtype=bool)
    if n < 3:
        return out
    ll = np.log(np.nan_to_num(f.luma_mean, nan=0.5) + 0.02)
    step = np.diff(ll)  # step[i] = ll[i+1] - ll[i]
    w = min(cfg.fade_window, len(step))
    for i in range(0, len(step) - w + 1):
        s = step[i : i + w]
        total = ll[i + w] - ll[i]
        if abs(total) < cfg.fade_change:
            continue
        same = np.sign(s) == np.sign(total)
        if np.mean(same & (np.abs(s) >= cfg.fade_step)) >= 0.75:
            out[i : i + w + 1] = True
    # Grow each seed over the rest of the ramp (the first and last few percent of a fade are subtle).
    grow = cfg.fade_step / 2
    for s, e in runs_of(out):
        sign = np.sign(ll[e - 1] - ll[s])
        a = s
        while a > 0 and np.sign(step[a - 1]) == sign and abs(step[a - 1]) >= grow:
            a -= 1
        b = e
        while b < n and np.sign(step[b - 1]) == sign and abs(step[b - 1]) >= grow:
            b += 1
        out[a:b] = True
    return out


_EXPLAINED = ("black", "invalid_depth", "flat_depth", "frozen_depth", "frozen_rgb", "fade", "overlay", "misaligned")


def _explained(masks: dict[str, np.ndarray]) -> np.ndarray:
    """Frames another check (not a lag finder) already flagged."""
    other = np.zeros(len(next(iter(masks.values()))), bool)
    for k in _EXPLAINED:
        if k in masks:
            other |= masks[k]
    return other


def lag_exclusion(masks: dict[str, np.ndarray], cfg: FrameCheckConfig) -> np.ndarray:
    """Bootstrap samples left out when judging whether the model can find lags: those on or
    comparing against frames another check already flagged (padded like a fault span)."""
    return pad(reach_back(_explained(masks), cfg.lag_max_frames), cfg.pad_frames)


def bootstrap_lag_rate(f: FrameFeatures, cfg: FrameCheckConfig, cuts: Sequence[int] = ()) -> tuple[float, bool]:
    """(lag-sample rate, model lag finder used) exactly as `check_masks` decides it."""
    masks = check_masks(f, cfg, cuts)
    ex = lag_exclusion(masks, cfg)
    return lag_sample_rate(f.bootstrap, cfg, ex), lag_model_usable(f.bootstrap, cfg, ex)


def check_masks(f: FrameFeatures, cfg: FrameCheckConfig, cuts: Sequence[int] = ()) -> dict[str, np.ndarray]:
    """Raw per-frame mask of every check (before span shaping). `cuts` bound the scenes whose
    own median edge agreement is the baseline (scenes differ a lot in how textured they are)."""
    n = len(f)
    masks: dict[str, np.ndarray] = {}
    masks["black"] = is_black(f, cfg)
    masks["invalid_depth"] = f.invalid_frac > cfg.invalid_fraction
    masks["flat_depth"] = (f.depth_std < cfg.flat_depth_std) & ~masks["invalid_depth"]
    # The growth window looks `growth_span` frames back, so a freeze shows that much late.
    back = cfg.growth_span
    masks["frozen_depth"] = extend_back(_keep_runs(depth_frozen_steps(f, cfg), cfg.frozen_run), back)
    masks["frozen_depth"] |= depth_still_over_span(f, cfg, cuts)
    masks["frozen_rgb"] = extend_back(_keep_runs(rgb_frozen_steps(f, cfg), cfg.frozen_run), back)
    masks["fade"] = fade_mask(f, cfg)
    masks["overlay"] = overlay_mask(f.depth_dist, f.rgb_dist, cfg, _explained(masks))
    agree = rolling_median(f.edge_agree, cfg.edge_window)
    base = np.full(n, np.nan)
    drop = np.full(n, cfg.edge_drop)
    bounds = [0, *sorted(c for c in cuts if 0 < c < n), n]
    for a, b in zip(bounds, bounds[1:], strict=False):
        v = agree[a:b][~masks["black"][a:b]]
        v = v[np.isfinite(v)]
        if v.size:
            base[a:b] = np.median(v)
            # A scene whose agreement is steady flags a smaller drop (a translucent menu leaves the
            # world's edges visible and lowers agreement by less than `edge_drop`).
            spread = 1.4826 * np.median(np.abs(v - base[a])) if v.size >= cfg.edge_min_samples else np.inf
            drop[a:b] = min(cfg.edge_drop, max(cfg.edge_drop_min, cfg.edge_k * spread))
    track = f.bootstrap if f.bootstrap is not None and len(f.bootstrap) == n else None
    if track is not None:
        masks["misaligned"] = misaligned_mask(track, cfg, cuts)
    else:
        masks["misaligned"] = np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore"):
        masks["edge_mismatch"] = (agree < cfg.edge_min) | (agree < base - drop)
        gain = rolling_median(f.lag_gain, cfg.lag_window)
        # Where a lag's end search stops: cuts and faults of the picture or a cleared buffer. Not
        # frozen depth or misalignment: a lag itself can look briefly frozen or misaligned, and
        # running past a freeze to its forward jump only discards more, never keeps a lag.
        stop = masks["black"] | masks["invalid_depth"] | masks["flat_depth"] | masks["fade"] | masks["overlay"]
        stop[[c for c in cuts if 0 <= c < n]] = True
        not_end = extend_forward(masks["frozen_depth"], 2)  # a freeze ends with a forward jump of its own
        rewind = rewind_lag_mask(f.depth_dist, f.rgb_dist, cfg, stop, not_end)
        heuristic = (np.nan_to_num(gain, nan=0.0) > cfg.lag_gain) | rewind
        if track is not None and track.sampled.any() and lag_model_usable(track, cfg, lag_exclusion(masks, cfg)):
            masks["depth_lag"] = bootstrap_lag_mask(track, cfg)
            if cfg.jump_lag_with_bootstrap:
                masks["depth_lag"] |= heuristic
        else:
            masks["depth_lag"] = heuristic
    return {k: np.asarray(v, dtype=bool) for k, v in masks.items()}


def fault_labels(
    f: FrameFeatures, cfg: FrameCheckConfig, cuts: Sequence[int] = ()
) -> tuple[list[str], dict[str, np.ndarray]]:
    """Per-frame label ("" or "fault:<check>") after span shaping, and the shaped mask per check."""
    n = len(f)
    labels = [""] * n
    shaped: dict[str, np.ndarray] = {}
    if not cfg.enabled or n == 0:
        return labels, shaped
    for name, m in check_masks(f, cfg, cuts).items():
        m = _keep_runs(m, cfg.min_fault_frames)
        m = _close_gaps(m, cfg.merge_gap)
        shaped[name] = pad(m, cfg.pad_frames)
    for name in CHECKS:
        m = shaped.get(name)
        if m is None:
            continue
        for i in np.flatnonzero(m):
            if not labels[i]:
                labels[i] = f"fault:{name}"
    return labels, shaped
