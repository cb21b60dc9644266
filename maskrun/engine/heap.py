"""Memory for commands that make many large temporaries: freed blocks kept in the heap (glibc), small pages.

By default glibc gives every block above 128 kB–32 MB its own mapping and returns it to the
system when freed, so each new 64 MB temporary is page-faulted in afresh: for check-mask
on 256³ maps that was 2.5 s of system time against 2.5 s of work. `reuse_freed_memory`
asks glibc (``mallopt``) to serve such blocks from the heap and keep what is freed; the
process's peak memory is unchanged. Elsewhere than glibc it does nothing.

`small_pages_for_arrays` stops NumPy asking Linux for transparent huge pages for its
arrays (``madvise(MADV_HUGEPAGE)``, NumPy's default). Where the kernel compacts memory to
find huge pages on demand (``defrag: madvise``, a common setting), a process that faults in
some 600 MB at once can stall on that compaction: on this project's machine check-mask at
256³ took 0.5-1.1 s of system time with huge pages and 0.3 s without, at no cost in user time.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LARGEST = 2**31 - 1  # mallopt takes a C int


def reuse_freed_memory() -> bool:
    """Serve large blocks from the heap and keep freed ones (glibc); True when glibc took the settings."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGEST)) and bool(mallopt(M_TRIM_THRESHOLD, LARGEST))


def small_pages_for_arrays() -> bool:
    """No transparent huge pages for NumPy's arrays from now on; True when NumPy took the setting."""
    setting = getattr(getattr(np, "_core", None), "multiarray", None)
    switch = getattr(setting, "_set_madvise_hugepage", None)  # NumPy's documented switch (NUMPY_MADVISE_HUGEPAGE)
    if switch is None:
        return False
    switch(False)
    return True
