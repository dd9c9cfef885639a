"""mtl.runtime: torch's thread count, glibc's allocator thresholds and releasing freed memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from mtl import runtime

ROOT = Path(__file__).resolve().parents[1]
GLIBC = runtime._libc_function("malloc_trim") is not None


@pytest.fixture
def threads() -> Iterator[None]:
    """Restore torch's intra-op thread count after the test."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("raw", "expected"), [("3", 3), ("", 1), ("many", 1), ("0", 1), ("-2", 1), (" 2 ", 2)]
)
def test_configure_threads_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, threads: None, raw: str, expected: int
) -> None:
    monkeypatch.setenv(runtime.ENV_THREADS, raw)
    assert runtime.configure_threads() == expected
    assert torch.get_num_threads() == expected


def test_configure_threads_argument_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, threads: None
) -> None:
    monkeypatch.setenv(runtime.ENV_THREADS, "3")
    assert runtime.configure_threads(2) == 2
    assert torch.get_num_threads() == 2


class _Recorder:
    """Stands in for a libc function: records its arguments and returns ``result``."""

    def __init__(self, result: int = 1) -> None:
        self.calls: list[tuple[int, ...]] = []
        self.result = result

    def __call__(self, *args: int) -> int:
        self.calls.append(args)
        return self.result


def test_configure_allocator_sets_both_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    mallopt = _Recorder()
    monkeypatch.setattr(runtime, "_libc_function", lambda name: mallopt)
    assert runtime.configure_allocator(trim=5, mmap=7) is True
    assert mallopt.calls == [(runtime.M_TRIM_THRESHOLD, 5), (runtime.M_MMAP_THRESHOLD, 7)]


def test_configure_allocator_reports_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_libc_function", lambda name: _Recorder(result=0))
    assert runtime.configure_allocator() is False


def test_release_memory_trims_every_arena(monkeypatch: pytest.MonkeyPatch) -> None:
    trim = _Recorder()
    monkeypatch.setattr(runtime, "_libc_function", lambda name: trim)
    assert runtime.release_memory() is True
    assert trim.calls == [(0,)]


def test_without_glibc_both_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_libc_function", lambda name: None)
    assert runtime.configure_allocator() is False
    assert runtime.release_memory() is False


def test_the_libc_lookup_names_a_missing_function_none() -> None:
    assert runtime._libc_function("no_such_function_in_any_libc") is None


@pytest.mark.slow
@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_release_memory_returns_freed_pages_to_the_system() -> None:
    """64 MB freed behind a block still in use stays resident until release_memory.

    Runs in a fresh process so its memory readings are its own: 1024 blocks of 64 KiB (below the
    mmap threshold, so they come from the heap) are written, all but the last are freed (the last
    keeps the heap's top from shrinking on its own), and the resident memory is read before and
    after the call.
    """
    script = textwrap.dedent(
        """
        import ctypes
        from mtl import runtime

        def rss_mb():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024

        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]
        runtime.configure_allocator()
        blocks = []
        for _ in range(1024):
            block = libc.malloc(64 << 10)
            ctypes.memset(block, 1, 64 << 10)
            blocks.append(block)
        for block in blocks[:-1]:
            libc.free(block)
        held = rss_mb()
        assert runtime.release_memory()
        print(held - rss_mb())
        """
    )
    output = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    assert float(output) > 48, f"only {float(output):.1f} MB of 64 MB freed went back"


def test_the_page_configures_the_allocator_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ui.runtime.setup_runtime`` applies the allocator settings beside the thread count."""
    from ui import runtime as page

    mallopt = _Recorder()
    monkeypatch.setattr(runtime, "_libc_function", lambda name: mallopt)
    page.setup_runtime.clear()
    try:
        page.setup_runtime()
        page.setup_runtime()  # cached: once per process
    finally:
        page.setup_runtime.clear()
    assert mallopt.calls == [
        (runtime.M_TRIM_THRESHOLD, runtime.TRIM_BYTES),
        (runtime.M_MMAP_THRESHOLD, runtime.MMAP_BYTES),
    ]
