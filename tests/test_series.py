"""curate.series.window_median: the same medians in blocks of rows as over the whole series."""
import warnings

import numpy as np
import pytest

from curate.series import _BLOCK, outer_median, outer_quantile, window_median, window_quantile


@pytest.mark.parametrize(("offset", "length"), [(-8, 8), (1, 8), (-3, 7), (1, 3)])
def test_window_median_over_several_blocks_equals_one_nanmedian(offset, length):
    rng = np.random.default_rng(0)
    n = 2 * _BLOCK + 37  # blocks end inside the series
    x = rng.random(n)
    x[rng.random(n) < 0.1] = np.nan
    p = abs(offset) + length
    xp = np.concatenate([np.full(p, np.nan), x, np.full(p, np.nan)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.nanmedian(np.lib.stride_tricks.sliding_window_view(xp, length)[p + offset : p + offset + n], axis=1)
    assert np.array_equal(window_median(x, offset, length), want, equal_nan=True)


def test_outer_median_pools_both_sides_past_the_inner_frames_over_several_blocks():
    # A spike on the frame and its inner neighbours is left out; the frames 3-10 away on both
    # sides are pooled into one median; outside the series counts as missing.
    rng = np.random.default_rng(0)
    x = rng.random(_BLOCK + 50)
    x[100:103] = 1e6
    got = outer_median(x, 2, 10)
    for a in (101, 5, _BLOCK + 3, len(x) - 2):
        idx = [i for i in range(a - 10, a + 11) if abs(i - a) > 2 and 0 <= i < len(x)]
        assert got[a] == pytest.approx(np.median(x[idx]))
    assert got[101] < 1.0
    # ... and its largest (depth_lag's neighbourhood peak: the frame itself left out)
    top = outer_quantile(x, 0, 2, 1.0)
    for a in (101, 0, _BLOCK + 1, len(x) - 1):
        idx = [i for i in range(a - 2, a + 3) if i != a and 0 <= i < len(x)]
        assert top[a] == np.max(x[idx])
    assert top[97] < 1.0 and top[98] == 1e6


def test_window_quantile_is_the_windows_max_at_one_and_its_median_at_a_half():
    rng = np.random.default_rng(3)
    x = rng.random(_BLOCK + 500)
    x[rng.random(len(x)) < 0.05] = np.nan
    top = window_quantile(x, -8, 17, 1.0)
    for a in (0, 7, 4000, _BLOCK - 1, _BLOCK + 3, len(x) - 1):
        w = x[max(0, a - 8) : a + 9]
        assert top[a] == np.nanmax(w)
    assert np.array_equal(window_quantile(x, -8, 17, 0.5), window_median(x, -8, 17), equal_nan=True)


def test_windows_over_nothing_are_nan_without_a_warning():
    # The frame checks run inside flow tasks on threads, where silencing numpy's all-NaN warning
    # with `catch_warnings` is not safe: such windows are left NaN without asking numpy.
    from curate.series import side_mean

    x = np.full(40, np.nan)
    x[20:25] = [1.0, 2.0, 3.0, 4.0, 5.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        med = window_median(x, -3, 7)
        top = window_quantile(x, -3, 7, 1.0)
        outer = outer_median(x, 1, 4)
        mean = side_mean(x, np.full(40, np.nan))
    assert np.isnan(med[:17]).all() and med[22] == 3.0 and top[22] == 5.0 and top[26] == 5.0
    assert np.isnan(outer[:15]).all() and outer[22] == np.nanmedian(x[18:21].tolist() + x[24:27].tolist())
    assert np.array_equal(mean, x, equal_nan=True)
