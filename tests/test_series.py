"""curate.series.window_median: the same medians in blocks of rows as over the whole series."""
import warnings

import numpy as np
import pytest

from curate.series import _BLOCK, window_median


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
