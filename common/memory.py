"""Give freed memory back to the operating system between long steps."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc_trim():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


def release_free_memory() -> bool:
    """`malloc_trim(0)` where glibc is the allocator. Why: a chunk's decoder buffers, frames and
    batches are freed when it ends, but glibc keeps the freed pages in its arenas, so a process
    analysing chunk after chunk grows ~20 MB per recording minute without holding any more data.
    Trimming once per chunk (every few minutes of footage) costs milliseconds. True if trimmed."""
    trim = _libc_trim()
    if trim is None:
        return False
    trim(0)
    return True
