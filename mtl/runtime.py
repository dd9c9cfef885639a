"""Process-wide runtime settings for serving the page on a small shared machine.

PyTorch starts one intra-op thread per core. For the page's small models that buys nothing but
contention: several sessions (and other processes) training at once on 2 cores oversubscribe them
and every run gets slower. :func:`configure_threads` pins the thread count once per process, from
the environment variable ``MTL_TORCH_THREADS`` (default 1), so the page never imports torch itself.

Streamlit runs each session's script in a thread of its own, and glibc's allocator gives busy
threads arenas of their own. Memory a finished run freed (its tensors, the pickles of a cache
write) stayed in those arenas, resident: after eight sessions' runs and sweeps the server held
about 190 MB of free heap, 130 MB of it resident. :func:`configure_allocator` (once per process)
caps what an arena's top keeps, and :func:`release_memory` (after each piece of work) hands the
free pages inside the arenas back. Both are glibc's own calls through ``ctypes`` and do nothing
on other C libraries. Measured in ``bench/bench_memory.py`` and the README's hosting section.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
from collections.abc import Callable

import torch

ENV_THREADS = "MTL_TORCH_THREADS"
"""Environment variable naming torch's intra-op thread count for this process."""
DEFAULT_THREADS = 1
"""Threads when neither an argument nor the environment says otherwise."""


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count and return it.

    Args:
        n: the thread count; ``None`` reads ``MTL_TORCH_THREADS`` and falls back to
            :data:`DEFAULT_THREADS` when it is unset, not an integer, or below 1.

    Safe to call on every page run: it only calls into torch when the count changes. The inter-op
    pool is set to the same count too when torch still allows it (only before its first use).
    """
    if n is None:
        raw = os.environ.get(ENV_THREADS, "").strip()
        try:
            n = int(raw) if raw else DEFAULT_THREADS
        except ValueError:
            n = DEFAULT_THREADS
    n = max(1, int(n))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    with contextlib.suppress(RuntimeError):  # the inter-op pool already started: leave it
        torch.set_num_interop_threads(n)
    return n


M_TRIM_THRESHOLD = -1
"""glibc's ``mallopt`` parameter: free memory an arena's top may keep before it is released."""
M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter: allocations this large get their own mapping."""
TRIM_BYTES = 8 << 20
"""Free memory an arena's top keeps at most, as :func:`configure_allocator` fixes it (8 MiB)."""
MMAP_BYTES = 32 << 20
"""Allocations from this size up get their own mapping (32 MiB, glibc's own largest)."""


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    """A glibc function, or None where the C library has none (macOS, musl)."""
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (AttributeError, OSError):
        return None
    return function


def configure_allocator(trim: int = TRIM_BYTES, mmap: int = MMAP_BYTES) -> bool:
    """Fix glibc's trim and mmap thresholds (bytes); True if it could.

    By default glibc raises both thresholds each time a large block is freed (up to 32 MiB for
    mmap and 64 MiB for trim), and a thread arena's free top is only given back above the trim
    threshold; ``malloc_trim`` never touches it. After a few large sweeps each session thread's
    arena kept 40-55 MB free but resident. Fixing the trim threshold at ``trim`` caps that; the
    mmap threshold stays at glibc's own maximum, because a low one (4 MiB) gave every step of a
    large sweep fresh pages to fault in and made it twice as slow. Elsewhere it does nothing and
    returns False.
    """
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, trim)) and bool(mallopt(M_MMAP_THRESHOLD, mmap))


def release_memory() -> bool:
    """Return the free pages of every malloc arena to the operating system; True if it could.

    Calls glibc's ``malloc_trim(0)``, which releases whole free pages inside each arena (not just
    at its top) and keeps every live allocation where it is: safe at any time from any thread,
    and a few milliseconds on the page's server. Elsewhere it does nothing and returns False.
    """
    trim = _libc_function("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True
