"""The weights beside the headline chart: a second control of the sidebar's alpha (or weights).

Streamlit cannot draw two widgets with one key, so the headline's controls have keys of their own
(:data:`ALPHA`, :data:`WEIGHTS`) and follow the sidebar's both ways:

- sidebar -> headline: every run, before the headline's widget is drawn, its key is set to the
  sidebar's value (allowed then: a widget's state may be written until it is drawn in the run).
  Whatever changed the sidebar's control (the control itself, a preset, a link, a pin, a loaded
  file) is therefore shown here too.
- headline -> sidebar: the headline widget's ``on_change`` callback writes the sidebar's key
  (callbacks run before the rerun, so the sidebar draws, and the run trains, the new value).

Not every reported change is a move. Each run sets the headline's key to the sidebar's value,
but the browser draws it only when that part of the page arrives; quick presses on the sidebar
replace runs before then, so a request can carry the sidebar's new value beside a headline
value the browser still shows from earlier (any value since it last drew the latest one).
Streamlit calls the headline's ``on_change`` for that difference, and copying it back pulled
the sidebar to where it had been: twenty quick presses could end where they began. So
:func:`_to_sidebar` ignores a headline value the browser may merely be showing
(:data:`SHOWN`) when the sidebar's own value changed in the same request (against its value at
the last run's start, :data:`SIDEBAR_AT_START`). A move of the headline comes with the sidebar
unchanged, and is copied whatever its value.

The sidebar's keys stay the only state the configuration, links and pins read: the URL is written
from the trained configuration (:mod:`ui.links`), so it gets no parameter from these widgets.

What is shown follows the method's declaration (:mod:`mtl.weighting.base`): alpha when the weights
are in alpha form (``weighting.form``), else the two weights; labelled as loss multipliers for a
method that uses them so (``balances_base_weights``: static weights), as a preference
(``preference``: the Tchebycheff methods), or as the starting weights a method then learns
(GradNorm). A method that sets its weights itself (``uses_base_weights`` False) gets a caption
saying so instead of a control.
"""

from __future__ import annotations

import streamlit as st

from mtl.config import LIMITS
from mtl.weighting import METHODS
from ui.state import WIDGET_STEPS, widget_bounds

ALPHA = "headline.alpha"
"""Key of the headline's alpha slider (mirrors ``weighting.alpha``)."""
WEIGHTS: dict[str, str] = {
    "regression": "headline.weights.regression",
    "classification": "headline.weights.classification",
}
"""Task -> key of the headline's weight box (mirrors ``weighting.weights.<task>``)."""
SIDEBAR: dict[str, str] = {
    ALPHA: "weighting.alpha",
    **{key: f"weighting.weights.{task}" for task, key in WEIGHTS.items()},
}
"""Headline key -> the sidebar key it mirrors."""
SHOWN = "headline.shown"
"""Session key: headline key -> (the values the browser may still show in it, the latest value
:func:`_mirror` set): reset once the browser reports that latest value."""
SIDEBAR_AT_START = "headline.sidebar_at_start"
"""Session key: sidebar key -> its value when the last run started (:func:`note_run_start`)."""


def meaning(method: str) -> str:
    """What the weights mean to ``method``: ``"multiplier"``, ``"preference"`` or ``"initial"``.

    ``"none"`` for a method that does not read them.
    """
    cls = METHODS[method]
    if not cls.uses_base_weights:
        return "none"
    if cls.preference:
        return "preference"
    if cls.balances_base_weights:
        return "multiplier"
    return "initial"


def note_run_start() -> None:
    """Remember the sidebar's weight values as this run starts, i.e. after this request.

    The next request's :func:`_to_sidebar` compares the sidebar's values with these to tell
    whether the sidebar moved in that request. Called first thing in every run.
    """
    st.session_state[SIDEBAR_AT_START] = {
        sidebar: st.session_state.get(sidebar) for sidebar in SIDEBAR.values()
    }


def _to_sidebar(key: str) -> None:
    """``on_change`` of a headline control: write its value into the sidebar's control.

    Not when the value is one the browser may merely still show while the sidebar moved in the
    same request (see the module).
    """
    value, sidebar = st.session_state[key], SIDEBAR[key]
    shown = st.session_state.get(SHOWN, {}).get(key)
    moved = st.session_state.get(sidebar) != st.session_state.get(SIDEBAR_AT_START, {}).get(sidebar)
    if shown is not None and moved and (value in shown[0] or value == shown[1]):
        return  # not drawn yet: the request's headline value is an old one
    st.session_state[sidebar] = value


def _mirror(key: str) -> None:
    """Show the sidebar's value in the headline control ``key`` (before it is drawn).

    Keeps :data:`SHOWN` up to date for :func:`_to_sidebar`: the values the browser may show
    until it draws the one set here (in order: once it reports the latest, none older).
    """
    sidebar = SIDEBAR[key]
    if sidebar not in st.session_state:
        return
    target, current = st.session_state[sidebar], st.session_state.get(key)
    pending = dict(st.session_state.get(SHOWN, {}))
    earlier, latest = pending.get(key, ((), None))
    if current == latest:
        earlier = ()  # the browser drew the latest value set: nothing older can show again
    elif latest is not None:
        earlier = (*earlier, latest)  # set but maybe never drawn, or drawn after this request
    if current != target:
        pending[key] = ((*earlier, current), target)
        st.session_state[key] = target
    elif not earlier:
        pending.pop(key, None)  # in step
    st.session_state[SHOWN] = pending


def label(method: str, task: str | None = None) -> str:
    """The control's label: alpha's (``task`` None) or a free weight's, as ``method`` reads it."""
    kind = meaning(method)
    if task is None:
        return {
            "preference": "α (preference for regression)",
            "initial": "α (starting regression weight)",
        }.get(kind, "α (regression weight)")
    return {
        "preference": f"{task.capitalize()} preference",
        "initial": f"Starting {task} weight",
    }.get(kind, f"{task.capitalize()} weight")


def help_text(method: str, task: str | None = None) -> str:
    """What the control means to ``method``: alpha's help (``task`` None) or a free weight's."""
    name = METHODS[method].label
    kind = meaning(method)
    if kind == "preference":
        what = (
            f"{name} reads the weights as a preference between the tasks, not as loss "
            "multipliers: each step favours the task furthest from its goal relative to its "
            "weight."
        )
    elif kind == "initial":
        what = (
            f"{name} starts from these weights and then learns its own as training goes (the "
            "Weights tab shows them)."
        )
    elif task is None:
        what = (
            "Loss = α · regression + (1 − α) · classification. 1 trains only the regression "
            "head, 0 only the classifier."
        )
    else:
        what = (
            f"Multiplies the {task} loss in the total; the ratio of the two weights sets the "
            "direction, their size scales the step like the learning rate."
        )
    if kind == "multiplier" and st.session_state.get("weighting.balanced", False):
        what += " Balanced start is on: the weights are taken relative to each task's first loss."
    return what + " Also in the sidebar, under Weighting; the two stay in step."


def render() -> None:
    """The headline's weight control(s), in sync with the sidebar's (see the module)."""
    method = st.session_state.get("weighting.method")
    if method not in METHODS:
        return
    if meaning(method) == "none":
        st.caption(
            f"{METHODS[method].label} sets the task weights itself: there are no weights to "
            "choose here."
        )
        return
    if st.session_state.get("weighting.form", "alpha") == "alpha":
        _mirror(ALPHA)
        st.slider(
            label(method),
            min_value=0.0,
            max_value=1.0,
            step=0.01,
            key=ALPHA,
            on_change=_to_sidebar,
            args=(ALPHA,),
            help=help_text(method),
        )
        return
    allowed = LIMITS["weighting.weight"]
    for column, (task, key) in zip(st.columns(2), WEIGHTS.items(), strict=True):
        step = float(WIDGET_STEPS[f"weighting.weights.{task}"])
        lo, hi = widget_bounds(allowed, step)
        _mirror(key)
        with column:
            st.number_input(
                label(method, task),
                min_value=lo,
                max_value=hi,
                step=step,
                format="%g",
                key=key,
                on_change=_to_sidebar,
                args=(key,),
                help=help_text(method, task),
            )
