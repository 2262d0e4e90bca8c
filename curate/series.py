"""Helpers over per-frame series shared by the frame checks: runs of a boolean mask, growing them,
and medians over windows placed relative to each frame (NaN outside the series)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of every run of True."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def scenes(cuts: Iterable[int], n: int) -> list[tuple[int, int]]:
    """[start, end) of each scene of n frames between `cuts` (a cut starts a scene)."""
    bounds = [0, *sorted({int(c) for c in cuts if 0 < c < n}), n]
    return list(zip(bounds, bounds[1:], strict=False))


def scene_bounds(cuts: Iterable[int], a: int, b: int, n: int) -> tuple[int, int]:
    """[start, end) of the scene between `cuts` that holds frames [a, b) (a cut starts a scene)."""
    cs = [int(c) for c in cuts]
    return max([0] + [c for c in cs if c <= a]), min([n] + [c for c in cs if c >= b])


def pad(mask: np.ndarray, n: int, after: int | None = None) -> np.ndarray:
    """Every run grown by n frames before it and `after` (default n) after it."""
    after = n if after is None else after
    out = mask.astype(bool).copy()
    for s, e in runs_of(mask):
        out[max(0, s - n) : e + after] = True
    return out


def keep_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    """Only the runs of at least `min_len` frames."""
    out = np.zeros(len(mask), bool)
    for s, e in runs_of(mask):
        if e - s >= min_len:
            out[s:e] = True
    return out


def close_gaps(mask: np.ndarray, gap: int) -> np.ndarray:
    """Runs at most `gap` frames apart joined into one."""
    out = np.asarray(mask, bool).copy()
    r = runs_of(out)
    for (_, e0), (s1, _) in zip(r, r[1:], strict=False):
        if s1 - e0 <= gap:
            out[e0:s1] = True
    return out


def extend_back(mask: np.ndarray, n: int) -> np.ndarray:
    """Every run grown by n frames before it."""
    out = mask.copy()
    for s, _ in runs_of(mask):
        out[max(0, s - n) : s] = True
    return out


def extend_forward(mask: np.ndarray, n: int) -> np.ndarray:
    """Every run grown by n frames after it."""
    out = mask.copy()
    for _, e in runs_of(mask):
        out[e : e + n] = True
    return out


_BLOCK = 8192  # rows of windows per nanmedian call


def window_median(x: np.ndarray, offset: int, length: int) -> np.ndarray:
    """out[a] = nanmedian(x[a+offset : a+offset+length]) (NaN outside the array, NaN if empty)."""
    return window_quantile(x, offset, length, 0.5)


def window_quantile(x: np.ndarray, offset: int, length: int, q: float) -> np.ndarray:
    """out[a] = nanquantile(x[a+offset : a+offset+length], q) (NaN outside the array, NaN if empty)."""
    n = len(x)
    p = abs(offset) + length
    xp = np.concatenate([np.full(p, np.nan), x, np.full(p, np.nan)])
    win = np.lib.stride_tricks.sliding_window_view(xp, length)[p + offset : p + offset + n]
    out = np.full(n, np.nan, dtype=np.result_type(x.dtype, np.float64))
    # In blocks of rows: nanmedian copies its input into a masked array and sorts it, which for an
    # hour of frames is ~100 MB at once; row by row the result is the same. All-NaN windows (the
    # ends, untracked stretches) are left NaN rather than computed: numpy warns on them, and a
    # `catch_warnings` around it is not thread-safe (flow tasks run in threads).
    for a in range(0, n, _BLOCK):
        _reduce_rows(win[a : a + _BLOCK], out[a : a + _BLOCK], q)
    return out


def _reduce_rows(block: np.ndarray, out: np.ndarray, q: float) -> None:
    """out[i] = nanquantile(block[i], q) where block[i] holds any number; left as it is elsewhere."""
    some = ~np.isnan(block).all(axis=1)
    if some.any():
        rows = block[some]
        # (nanquantile sorts each row, ~50 x slower than nanmedian's partition; its ends are plain
        # reductions: 8.4 s against 0.1 s for a window's largest over an hour at 60 fps)
        if q == 0.5:
            out[some] = np.nanmedian(rows, axis=1)
        elif q == 1.0:
            out[some] = np.nanmax(rows, axis=1)
        else:
            out[some] = np.nanquantile(rows, q, axis=1)


def outer_median(x: np.ndarray, inner: int, outer: int) -> np.ndarray:
    """out[a] = nanmedian of x over the frames inner + 1 .. outer away from a on either side, pooled
    (NaN outside the array, NaN if empty)."""
    return outer_quantile(x, inner, outer, 0.5)


def outer_quantile(x: np.ndarray, inner: int, outer: int, q: float) -> np.ndarray:
    """`outer_median` for any quantile q (1.0: the largest)."""
    n = len(x)
    xp = np.concatenate([np.full(outer, np.nan), x, np.full(outer, np.nan)])
    win = np.lib.stride_tricks.sliding_window_view(xp, 2 * outer + 1)[:n]
    keep = np.abs(np.arange(-outer, outer + 1)) > inner
    out = np.full(n, np.nan, dtype=np.result_type(x.dtype, np.float64))
    for a in range(0, n, _BLOCK):  # in blocks of rows, all-NaN ones left NaN, as `window_quantile`
        _reduce_rows(win[a : a + _BLOCK][:, keep], out[a : a + _BLOCK], q)
    return out


def rolling_median(x: np.ndarray, w: int) -> np.ndarray:
    """Centred median over w frames (w // 2 each side)."""
    if w <= 1 or len(x) == 0:
        return x.copy()
    h = w // 2
    return window_median(x, -h, 2 * h + 1)


def side_mean(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Mean of two series, ignoring NaN (one side is missing at the ends of a recording)."""
    # (counted by hand: nanmean warns where both are NaN, and silencing it is not thread-safe)
    both = np.stack([before, after]).astype(np.result_type(before.dtype, after.dtype, np.float64))
    have = ~np.isnan(both)
    count = have.sum(axis=0)
    total = np.where(have, both, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def around(x: np.ndarray, m: int) -> np.ndarray:
    """The usual value of x around each frame: mean of the medians of the m frames before it and
    the m frames after it (the frame itself left out, so that a one-frame spike stands out)."""
    return side_mean(window_median(x, -m, m), window_median(x, 1, m))
