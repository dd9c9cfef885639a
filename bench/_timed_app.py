"""The page, timed: ``streamlit run bench/_timed_app.py`` runs ``app.py`` and logs each run's time.

Used by ``bench/bench_latency.py`` to print the server's share of a latency a browser measures.
Each script run (every rerun of the session) executes the page's script, ``BENCH_APP`` (default
the repository's ``app.py``), with :func:`runpy.run_path` and appends one line to the file named
by ``BENCH_SCRIPT_TIMES``: the run's wall time in seconds and how it ended (``done``, or the
name of the exception: Streamlit's ``RerunException`` when a newer input interrupted it).
Nothing else changes: the page's directory goes first on ``sys.path`` so its own ``ui`` and
``mtl`` are imported, and ``__file__`` is the page's.
"""

from __future__ import annotations

import os
import runpy
import sys
import time
from pathlib import Path

APP = Path(os.environ.get("BENCH_APP", Path(__file__).resolve().parents[1] / "app.py"))
if str(APP.parent) not in sys.path[:1]:
    sys.path.insert(0, str(APP.parent))

_start = time.perf_counter()
_ending = "done"
try:
    runpy.run_path(str(APP), run_name="__main__")
except BaseException as _error:  # Streamlit's control flow (rerun, stop) included: re-raised
    _ending = type(_error).__name__
    raise
finally:
    _log = os.environ.get("BENCH_SCRIPT_TIMES")
    if _log:
        with open(_log, "a", encoding="utf-8") as _file:
            _file.write(f"{time.perf_counter() - _start:.6f} {_ending}\n")
