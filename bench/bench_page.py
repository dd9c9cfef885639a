"""Page speed: the script time of a rerun, measured with Streamlit's AppTest in this process.

1. A weight change on the default page (``ui.state.DEFAULT_PRESET``): the rerun trains the new
   run and redraws it (goal: under 150 ms).
2. A cache hit: a rerun that changes nothing, and a weight moved back to a value already trained
   (goal: under 50 ms).

Each figure is the best of several reruns of ``AppTest.run()``, which also counts AppTest's own
overhead (reported separately, from an empty script), so the script time is at most the figure
shown. The training alone (``mtl.train`` on the same config, one torch thread) is reported too:
it is the core's share of the retrain budget.

Run: ``python bench/bench_page.py``. Prints the times and the ratios to the goals; exits 0 either
way (the figures are for reading, not a pass/fail gate on a noisy machine).
"""

from __future__ import annotations

import itertools
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of
from streamlit.testing.v1 import AppTest

import mtl
from mtl.runtime import configure_threads
from ui.state import DEFAULT_PRESET

ROOT = Path(__file__).resolve().parents[1]
RETRAIN_GOAL = 0.150
HIT_GOAL = 0.050


def main() -> None:
    # AppTest runs without a server: silence Streamlit's "missing ScriptRunContext" warnings.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(
        logging.ERROR
    )
    configure_threads()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    if at.exception:
        raise SystemExit(f"the page raised: {at.exception[0].message}")
    alpha = at.slider(key="weighting.alpha")

    fresh = (round(0.2 + i / 1000, 3) for i in itertools.count())  # never trained before

    def retrain() -> None:
        at.slider(key="weighting.alpha").set_value(next(fresh))
        at.run()

    def rerun() -> None:
        at.run()

    back_and_forth = itertools.cycle((0.5, next(fresh)))
    for value in (0.5, next(back_and_forth), next(back_and_forth)):  # train both values once
        alpha.set_value(value)
        at.run()

    def cached_weight() -> None:
        at.slider(key="weighting.alpha").set_value(next(back_and_forth))
        at.run()

    t_retrain = best_of(retrain, repeat=7)
    t_hit = best_of(rerun, repeat=15)
    t_back = best_of(cached_weight, repeat=15)
    assert not at.exception

    empty = AppTest.from_string("import streamlit as st\nst.write('')", default_timeout=60)
    empty.run()
    t_empty = best_of(empty.run, repeat=15)
    cfg = mtl.preset(DEFAULT_PRESET)
    t_train = best_of(lambda: mtl.train(cfg), repeat=7)

    print(f"default page ({DEFAULT_PRESET!r} preset), AppTest.run() wall time, best of several:")
    print(
        f"  weight change, retrain + redraw: {t_retrain * 1e3:6.1f} ms "
        f"({t_retrain / RETRAIN_GOAL:.2f}x the {RETRAIN_GOAL * 1e3:.0f} ms goal)"
    )
    print(
        f"  cache hit, nothing changed:      {t_hit * 1e3:6.1f} ms "
        f"({t_hit / HIT_GOAL:.2f}x the {HIT_GOAL * 1e3:.0f} ms goal)"
    )
    print(
        f"  cache hit, weight moved back:    {t_back * 1e3:6.1f} ms "
        f"({t_back / HIT_GOAL:.2f}x the {HIT_GOAL * 1e3:.0f} ms goal)"
    )
    print(f"  of which mtl.train alone (retrain only): {t_train * 1e3:.1f} ms")
    print(f"  AppTest overhead (empty script):        {t_empty * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
