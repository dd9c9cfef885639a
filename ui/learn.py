"""The Learn mode: a guided tour of five steps above the results (words in :mod:`ui.learn_steps`).

Decisions:

- **Where.** A switch under the page's introduction (in the main area, so a phone shows it
  without opening the sidebar) opens a bordered panel above the headline: a step picker, the
  step's title and explanation, a **Show me** button and a paragraph of figures. The panel stays
  in view while the button opens the tab to look at, so the figures and the chart they describe
  are on screen together; on a phone the panel comes first and the tab below it.
- **Show me** is an ``on_click`` callback, so the controls are written before they are drawn:
  the step's configuration goes through :func:`ui.state.load_into_widgets` (the page's one
  config -> widgets path; the preset box shows the preset the step starts from), then the
  step's view switches (``view.*``), the tab to open (``view.tab``), and for steps 3 and 5 the
  sweep or tuned face-off request, with the tab's own controls set to match (so that tab's run
  button would run the same thing).
- **Figures.** Every number in a step's paragraph is read from the run on screen and from what
  the step's state computed: its comparison runs (single runs from the page's cache,
  :func:`ui.run.cached`, not made the run on screen), its sweep or tuned face-off (the same
  cached calls as their tabs, so whichever draws first computes and the other hits the cache).
  Nothing long starts unless the person pressed the step's button: a sweep or face-off is read
  only when the session's request is the step's own. When the page does not show the step's
  state (a control changed since, or another sweep was run), the paragraph says what differs
  and quotes nothing.
- **Links.** The Learn mode is not part of a link: a link reproduces the run (the
  configuration), and a step's run is an ordinary configuration, so a link made during a step
  opens that run; the guide, switched on, recognises it as the step's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

import mtl
from mtl.sweeps import sweep_config
from mtl.weighting import METHODS
from ui import inert, run
from ui.learn_steps import STEPS, Evidence, Step
from ui.run import SweepRequest, TunedRequest
from ui.state import changed_fields, load_into_widgets
from ui.tabs.common import SWEEP_REQUEST, guarded
from ui.tabs.face_off import TUNED_REQUEST
from ui.tabs.sweep import GRID_KEY
from ui.wording import field_label

ON = "learn.on"
"""Widget key of the Learn mode's switch."""
STEP = "learn.step"
"""Widget key of the step picker (the step's index in :data:`ui.learn_steps.STEPS`)."""
SHOWN = "_learn.shown"
"""Session key of the index of the step whose button was pressed last."""


R = TypeVar("R")
"""A request type (a sweep's or a tuned face-off's)."""
T = TypeVar("T")
"""What that request computes."""


def show_key(index: int) -> str:
    """Widget key of step ``index``'s **Show me** button."""
    return f"learn.show.{index}"


def sweep_request(step: Step) -> SweepRequest | None:
    """The weight sweep step ``step`` runs (None for a step without one)."""
    if step.sweep is None:
        return None
    plan = step.sweep
    return SweepRequest(sweep_config(step.config, plan.grid), plan.points, plan.seeds, plan.grid)


def tuned_request(step: Step) -> TunedRequest | None:
    """The tuned face-off step ``step`` runs (None for a step without one).

    Its methods in :data:`~mtl.weighting.METHODS` order, as the face-off tab builds a request.
    """
    if step.tuned is None:
        return None
    methods = tuple(m for m in METHODS if m in step.tuned.methods)
    return TunedRequest(step.config, methods, step.tuned.seeds)


def show(index: int) -> None:
    """``on_click`` of step ``index``'s button: put the page in that step's state."""
    step, state = STEPS[index], st.session_state
    state["preset"] = step.preset  # kept by load_into_widgets when the config is no preset
    load_into_widgets(step.config, state)
    state.update(step.view)
    if step.tab is not None:
        state["view.tab"] = step.tab
    sweep = sweep_request(step)
    if sweep is not None:
        state[SWEEP_REQUEST] = sweep
        state.update(
            {"sweep.points": sweep.points, "sweep.seeds": sweep.seeds, GRID_KEY: sweep.grid}
        )
    tuned = tuned_request(step)
    if tuned is not None:
        state[TUNED_REQUEST] = tuned
        state.update(
            {
                "faceoff.mode": "tuned",
                "faceoff.methods": list(tuned.methods),
                "faceoff.seeds": tuned.seeds,
            }
        )
    state[STEP] = index
    state[SHOWN] = index


def guide(shown: mtl.Result) -> None:
    """The Learn mode's switch and, when it is on, the panel of the chosen step."""
    st.toggle(
        "Learn: five steps",
        key=ON,
        help="A guided tour. Each step sets the page up with one button and says what to look "
        "at, with figures read from the run on screen.",
    )
    if not st.session_state.get(ON):
        return
    st.session_state.setdefault(STEP, 0)
    with st.container(border=True, key="learn.panel"):
        st.segmented_control(
            "Step",
            list(range(len(STEPS))),
            format_func=lambda i: STEPS[i].label,
            key=STEP,
            required=True,
            label_visibility="collapsed",
            persist_state="page",  # the chosen step survives closing and reopening the panel
        )
        index = int(st.session_state[STEP])
        step = STEPS[index]
        st.markdown(f"**{step.title}**")
        st.markdown(step.intro)
        st.button(
            "Show me",
            key=show_key(index),
            on_click=show,
            args=(index,),
            type="primary",
            icon=":material/play_arrow:",
            help=step.button_help,
        )
        paragraph(index, shown)


def paragraph(index: int, shown: mtl.Result) -> None:
    """Step ``index``'s figures for the run on screen, or what keeps them from being quoted."""
    step = STEPS[index]
    if shown.config != step.config:
        if st.session_state.get(SHOWN) == index:
            changed = [
                field_label(k, shown.config.weighting.method)
                for k in changed_fields(shown.config, step.config)
            ]
            st.caption(
                "The page no longer shows this step's run (changed since: "
                f"{inert.text(', '.join(dict.fromkeys(changed)) or 'the data')}), so its figures "
                "are not quoted. Press **Show me** to set it up again."
            )
        else:
            st.caption("Press **Show me** to set the page up for this step.")
        return
    evidence = gather(step, shown)
    if evidence is None:
        return
    st.markdown(step.claim(step.figures(evidence)))
    st.caption(f"Where to look: {step.look}")


def gather(step: Step, shown: mtl.Result) -> Evidence | None:
    """What step ``step``'s figures are read from, or None after saying why it is missing.

    A comparison run is computed here if need be (single runs, like any change of a control); a
    sweep or a tuned face-off only when the session's request is the step's own.
    """
    companions: dict[str, mtl.Result] = {}
    for name, cfg in step.companions.items():
        result = guarded(run.cached, cfg)
        if result is None:
            return None
        companions[name] = result
    sweep, tuned = None, None
    wanted_sweep, wanted_tuned = sweep_request(step), tuned_request(step)
    if wanted_sweep is not None:
        sweep = _held(SWEEP_REQUEST, wanted_sweep, run.sweep, "sweep", "Weight sweep")
        if sweep is None:
            return None
    if wanted_tuned is not None:
        tuned = _held(
            TUNED_REQUEST, wanted_tuned, run.tuned_face_off, "tuned face-off", "Method face-off"
        )
        if tuned is None:
            return None
    return Evidence(result=shown, companions=companions, sweep=sweep, tuned=tuned)


def _held(key: str, wanted: R, compute: Callable[[R], T], what: str, tab: str) -> T | None:
    """The step's ``what`` (a sweep or tuned face-off), if the session's request is the step's.

    ``key`` holds the session's request (``wanted`` is the step's); ``compute`` is the cached
    runner (a cache hit once the step's button ran it). None, with a caption saying why, when the
    session holds no request or another one (nothing long runs unless the button is pressed), or
    when the run failed (``guarded`` has said so).
    """
    held = st.session_state.get(key)
    if held != wanted:
        st.caption(
            f"Press **Show me** to run this step's {what}."
            if held is None
            else f"The {tab} tab holds another {what} than this step's. Press **Show me** to "
            "run this step's again."
        )
        return None
    return guarded(compute, wanted)
