"""Freed heap memory goes back to the system when a chunk ends (glibc keeps it otherwise)."""
import os
import sys

import numpy as np
import pytest

from common.memory import release_free_memory


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_heap_pages_are_returned_after_a_trim():
    # 64 KiB blocks come from the heap (under glibc's mmap threshold); the last one stays alive so
    # the heap's top cannot shrink on its own: only a trim gives the pages in between back.
    blocks = [np.ones(8192) for _ in range(3000)]   # ~190 MB, touched
    keep = blocks[-1]
    del blocks
    before = _rss_mb()
    assert release_free_memory()
    after = _rss_mb()
    assert before - after > 100, (before, after)
    assert keep.sum() == 8192
