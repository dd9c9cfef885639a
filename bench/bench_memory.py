"""Server memory: what glibc keeps after many concurrent runs and sweeps, with and without tuning.

The tuning is :func:`mtl.runtime.configure_allocator` and :func:`mtl.runtime.release_memory`. The
page's server trains each session's work in that session's own thread. This benchmark does
the same without a browser: ``--sessions`` threads at once, each training ``--runs`` runs of the
default preset (a different α each) and one 101-α x 3-seed sweep, the way the load test drives
the page. The 16 newest results stay alive, as in the page's cache. It is measured twice, each in
a fresh process (glibc's settings cannot be undone in one): with glibc's defaults, and as the
page configures it (fixed thresholds at start, ``malloc_trim`` after each piece of work).

Prints, for both, the resident memory before and after the work and the wall time, then the
ratios of the memory growth and of the time (page settings / glibc's defaults). Exits 0 either
way: the figures are for reading on a noisy machine.

Run: ``python bench/bench_memory.py [--sessions 8 --runs 6]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    """This process's resident memory in MB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _measure(configured: bool, sessions: int, runs: int) -> dict[str, float]:
    """Run the workload in this process and return its memory (MB) and wall time (s)."""
    sys.path.insert(0, str(ROOT))
    import mtl
    from mtl.runtime import configure_allocator, configure_threads, release_memory
    from ui.state import DEFAULT_PRESET

    configure_threads(1)
    if configured:
        configure_allocator()
    base = mtl.preset(DEFAULT_PRESET)
    mtl.train(base)  # warm up torch's lazy initialisation before the baseline reading
    before = _rss_mb()
    kept: collections.deque[mtl.Result] = collections.deque(maxlen=16)
    lock = threading.Lock()

    def session(index: int) -> None:
        for i in range(runs):
            alpha = round(0.3 + 0.01 * (index * runs + i), 2)
            result = mtl.train(base.with_(weighting=mtl.WeightingSpec.alpha(alpha)))
            with lock:
                kept.append(result)
            if configured:
                release_memory()
        grid = [(i / 100, 1 - i / 100) for i in range(101)]
        seeds = (index, index + 1, index + 2)
        result = mtl.sweep(base.with_(seed=index), weights=grid, seeds=seeds)
        with lock:
            kept.append(result)
        if configured:
            release_memory()

    start = time.perf_counter()
    threads = [threading.Thread(target=session, args=(i,)) for i in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"before": before, "after": _rss_mb(), "seconds": time.perf_counter() - start}


def _in_subprocess(configured: bool, sessions: int, runs: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", "configured" if configured else "default"]
    command += ["--sessions", str(sessions), "--runs", str(runs)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    """Measure both settings in fresh processes and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--child", choices=["default", "configured"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        figures = _measure(args.child == "configured", args.sessions, args.runs)
        print(json.dumps(figures))
        return
    print(
        f"{args.sessions} threads at once, each {args.runs} runs + one 303-member sweep "
        "of the default preset (16 results kept alive)"
    )
    rows = {}
    for label, configured in (("glibc defaults", False), ("page settings", True)):
        rows[label] = figures = _in_subprocess(configured, args.sessions, args.runs)
        print(
            f"  {label:15s} {figures['before']:6.0f} MB -> {figures['after']:6.0f} MB "
            f"(+{figures['after'] - figures['before']:.0f} MB) in {figures['seconds']:.1f} s"
        )
    default, page = rows["glibc defaults"], rows["page settings"]
    growth = (page["after"] - page["before"]) / max(1e-9, default["after"] - default["before"])
    print(f"memory growth, page settings / glibc defaults: {growth:.2f}x")
    print(f"wall time, page settings / glibc defaults: {page['seconds'] / default['seconds']:.2f}x")


if __name__ == "__main__":
    main()
