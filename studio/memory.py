"""Handing freed memory back to the system, where the C library allows it (glibc's ``malloc_trim``).

The studio's worker threads decode and encode images and video (Pillow, PyAV) and build Gradio's per-update
configs. glibc keeps what they free in per-thread arenas rather than returning it, so RSS stays at the high-water
mark of the busiest moment: under ``bench/soak.py`` (100 visitors) a fifth to a quarter of the studio's RSS was
free memory held this way, and one ``malloc_trim(0)`` gave back 50-100 MB in 3-18 ms. Elsewhere (macOS, musl) this
is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from typing import Any


@functools.cache
def _glibc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None  # glibc has it; musl does not
    except OSError:
        return None


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system. Blocking (milliseconds): call it from a worker thread.
    True when something was released."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
