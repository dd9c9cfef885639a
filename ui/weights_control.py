"""The weights beside the headline chart: a second control of the sidebar's alpha (or weights).

Streamlit cannot draw two widgets with one key, so the headline's controls have keys of their own
(:data:`ALPHA`, :data:`WEIGHTS`) and follow the sidebar's both ways:

- sidebar -> headline: every run, before the headline's widget is drawn, its key is set to the
  sidebar's value (allowed then: a widget's state may be written until it is drawn in the run).
  Whatever changed the sidebar's control (the control itself, a preset, a link, a pin, a loaded
  file) is therefore shown here too.
- headline -> sidebar: the headline widget's ``on_change`` callback writes the sidebar's key
  (callbacks run before the rerun, so the sidebar draws, and the run trains, the new value).

One report is not a move: quick presses on the sidebar start a rerun that replaces one which had
already set the headline's key to the new value but not yet had it drawn, so the browser's
request carries the headline's old value beside the sidebar's new one, and Streamlit calls the
headline's ``on_change`` for that difference. Copied back, it pulled the sidebar to where it
had been. So the callback ignores a headline value that is exactly the one :func:`_mirror` last
overwrote while the sidebar's own value changed in the same request (compared with the value
the headline was last set to follow); a real move of the headline comes with the sidebar
unchanged, and a value other than the overwritten one is a move anyway.

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
OVERWRITTEN = "headline.overwritten"
"""Session key: headline key -> the value :func:`_mirror` last replaced (the browser may still
show it) and the sidebar's value it was replaced with."""


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


def _to_sidebar(key: str) -> None:
    """``on_change`` of a headline control: write its value into the sidebar's control.

    Not when the report is stale (see the module): the value is the one :func:`_mirror` last
    overwrote and the sidebar's value is no longer the one it then followed.
    """
    value, sidebar = st.session_state[key], SIDEBAR[key]
    replaced = st.session_state.get(OVERWRITTEN, {}).get(key)
    if replaced is not None:
        old, followed = replaced
        if value == old and st.session_state.get(sidebar) != followed:
            return  # the browser had not drawn the mirrored value yet: the sidebar moved
    st.session_state[sidebar] = value


def _mirror(key: str) -> None:
    """Show the sidebar's value in the headline control ``key`` (before it is drawn).

    Remembers the value it replaces (what the browser shows until it draws the new one) with
    the sidebar's value, for :func:`_to_sidebar`.
    """
    sidebar = SIDEBAR[key]
    if sidebar not in st.session_state:
        return
    target = st.session_state[sidebar]
    overwritten = dict(st.session_state.get(OVERWRITTEN, {}))
    if st.session_state.get(key) != target:
        overwritten[key] = (st.session_state.get(key), target)
        st.session_state[key] = target
    else:
        overwritten.pop(key, None)  # the browser reported the value it is to show: in step
    st.session_state[OVERWRITTEN] = overwritten


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
