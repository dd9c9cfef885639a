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

``--heaviest`` measures instead the peak memory (``VmHWM``, the high-water mark of resident
memory) of the heaviest sweep the page allows: :data:`mtl.sweeps.MAX_POINTS` α values x
:data:`mtl.sweeps.MAX_SEEDS` seeds of the default preset with an L2 term (a third logged component),
with as many epochs as :mod:`mtl.budget`'s log budget allows. ``--visitors`` of them (distinct
seeds, so distinct cache entries) go through the page's own cached :func:`ui.run.sweep` at once,
one thread each, limited by its training slots (``--slots``, the page's ``MTL_MAX_TRAININGS``);
each then fetches its sweep again (a cache hit, as its next rerun does) and holds that copy until
every visitor has one, the worst case of all of them drawing at once. Streamlit runs bare here
(no server): the caches, the pickling and the slots are the page's. Prints the baseline, the
peak and the peak's growth in MB, in a fresh process.

    python bench/bench_memory.py --heaviest --visitors 1
    python bench/bench_memory.py --heaviest --visitors 8 --slots 2 --epochs 48

(``--epochs 48``: as heavy in memory as the longest sweep once logs are coarse, 8x quicker.)
"""

from __future__ import annotations

import argparse
import collections
import json
import os
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


def _peak_mb() -> float:
    """This process's peak resident memory so far in MB (``VmHWM``, Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def heaviest_sweep_config(epochs: int | None = None) -> object:
    """The default preset with an L2 term and the most epochs a 101 x 10 sweep may log.

    ``epochs`` overrides the epochs: 48 logs every epoch (1010 x 49 member-epochs, just under
    :data:`mtl.results.FULL_LOG_MEMBER_EPOCHS`), at least as many as the longest sweep logs
    once its log turns coarse, with the same model in training: as heavy in memory, 8x quicker.
    """
    sys.path.insert(0, str(ROOT))
    import mtl
    from mtl.budget import log_budget
    from mtl.sweeps import MAX_POINTS, MAX_SEEDS
    from ui.state import DEFAULT_PRESET

    members = MAX_POINTS * MAX_SEEDS
    longest = min(2000, log_budget() // members - 1) if log_budget() else 2000
    epochs = longest if epochs is None else min(epochs, longest)
    return mtl.preset(DEFAULT_PRESET).with_(**{"loss.l2": 1e-4, "epochs": epochs})


def _measure_heaviest(visitors: int, epochs: int | None) -> dict[str, float]:
    """Run ``visitors`` heaviest sweeps through the page's cache at once; memory in MB."""
    sys.path.insert(0, str(ROOT))
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)  # bare mode warns on every call
    from mtl.runtime import configure_allocator, configure_threads
    from mtl.sweeps import MAX_POINTS, MAX_SEEDS, sweep_config
    from ui import run

    configure_threads(1)
    configure_allocator()
    cfg = heaviest_sweep_config(epochs)
    import mtl

    mtl.train(cfg.with_(epochs=2))  # warm up torch before the baseline reading
    before = _rss_mb()
    held: list[object] = []
    lock = threading.Lock()
    all_held = threading.Barrier(visitors)
    seconds: list[float] = []

    def visitor(index: int) -> None:
        request = run.SweepRequest(
            sweep_config(cfg.with_(seed=index * MAX_SEEDS)), MAX_POINTS, MAX_SEEDS
        )
        start = time.perf_counter()
        run.sweep(request)  # a cache miss: trains in a slot, pickles into the cache
        with lock:
            seconds.append(time.perf_counter() - start)
        again = run.sweep(request)  # the next rerun: a cache hit, an unpickled copy
        with lock:
            held.append(again)
        all_held.wait()

    start = time.perf_counter()
    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(visitors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "before": before,
        "peak": _peak_mb(),
        "after": _rss_mb(),
        "wall": time.perf_counter() - start,
        "slowest": max(seconds),
        "epochs": cfg.epochs,
        "log_every": getattr(held[0], "log_every", 1),
        "result_mb": held[0].nbytes / 2**20,
    }


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
    parser.add_argument("--heaviest", action="store_true", help="peak of the heaviest sweeps")
    parser.add_argument("--visitors", type=int, default=1, help="heaviest sweeps at once")
    parser.add_argument("--slots", type=int, default=2, help="trainings at once (the page's N)")
    parser.add_argument("--epochs", type=int, help="epochs of each heaviest sweep (default: most)")
    parser.add_argument(
        "--child", choices=["default", "configured", "heaviest"], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child == "heaviest":
        print(json.dumps(_measure_heaviest(args.visitors, args.epochs)))
        return
    if args.heaviest:
        command = [sys.executable, __file__, "--child", "heaviest"]
        command += ["--visitors", str(args.visitors)]
        command += ["--epochs", str(args.epochs)] if args.epochs else []
        env = os.environ | {"MTL_MAX_TRAININGS": str(args.slots)}
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
        f = json.loads(output.stdout.strip().splitlines()[-1])
        print(
            f"{args.visitors} heaviest sweep(s) at once (101 alphas x 10 seeds x {f['epochs']} "
            f"epochs, L2 on; logged every {f['log_every']} epoch(s); result {f['result_mb']:.0f} "
            f"MB), {args.slots} training slot(s): baseline {f['before']:.0f} MB, peak "
            f"{f['peak']:.0f} MB (+{f['peak'] - f['before']:.0f} MB), after {f['after']:.0f} MB; "
            f"slowest sweep {f['slowest']:.0f} s, all {f['wall']:.0f} s"
        )
        return
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
