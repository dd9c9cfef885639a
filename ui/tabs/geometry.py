"""The gradient-geometry view (Gradient conflict tab): one epoch's gradients in their plane.

The numbers come from :mod:`mtl.geometry` (the run's logged Gram matrices and weights, and the
core's own methods on them); this module lays out the controls, the chart and the words.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

import mtl
from mtl import charts, geometry
from mtl.config import TASKS
from mtl.weighting import METHODS
from ui import inert
from ui.keys import cache_key

LENGTHS: dict[str, str] = {
    "unit": "Directions only (unit length)",
    "true": "True lengths (to scale)",
}
"""Arrow-length modes (:data:`mtl.geometry.Length`) and their labels."""

NORMS = ("grad_norm_regression", "grad_norm_classification")
"""The diagnostics that must be finite for an epoch to be drawn."""


def _epochs(result: mtl.Result, member: int) -> list[int]:
    """The epochs where ``member``'s two gradient norms are finite (not coarse, not diverged)."""
    d = result.diagnostics
    norms = d[(d["member"] == member) & d["diagnostic"].isin(NORMS)]
    finite = norms[np.isfinite(norms["value"].to_numpy(dtype=float))]
    counts = finite.groupby("epoch").size()
    return sorted(int(e) for e in counts[counts == len(NORMS)].index)


def _first_conflict(result: mtl.Result, member: int, epochs: list[int]) -> int:
    """The first epoch whose gradients conflict (negative cosine), else the first epoch."""
    d = result.diagnostics
    rows = d[(d["member"] == member) & (d["diagnostic"] == "cosine") & (d["value"] < 0)]
    conflicts = sorted(set(rows["epoch"].astype(int)) & set(epochs))
    return conflicts[0] if conflicts else epochs[0]


def _member_label(result: mtl.Result, member: int) -> str:
    row = result.summary.iloc[member]
    return (
        f"member {member}: seed {int(row['seed'])}, weights "
        f"{row['w_regression']:.3g} / {row['w_classification']:.3g}"
    )


def _losses(result: mtl.Result, member: int, epoch: int) -> tuple[float, float] | None:
    """The member's training task losses at ``epoch`` (for MGDA's loss normalisations)."""
    h = result.history
    rows = h[(h["member"] == member) & (h["epoch"] == epoch) & (h["split"] == "train")]
    losses = dict(zip(rows["component"].astype(str), rows["loss"].astype(float), strict=True))
    if not all(t in losses for t in TASKS):
        return None
    return (losses[TASKS[0]], losses[TASKS[1]])


@st.cache_resource(max_entries=32, show_spinner=False)
def _spec(key: str, _frame: pd.DataFrame) -> dict[str, Any]:
    """:func:`mtl.charts.geometry_chart`'s specification, built once per view (``key``).

    Unvalidated: ``tests/test_geometry.py`` validates the builder's specs, and Altair's schema
    check of this one (arrow layers with expression-driven scales) costs several times its
    building on every rerun, which ``st.altair_chart`` would repeat.
    """
    return charts.geometry_chart(_frame).to_dict(validate=False)


def geometry_view(result: mtl.Result) -> None:
    """The two gradients at a chosen epoch, the chosen methods' directions and what they do."""
    st.markdown("**The gradients at one epoch, in the plane they span**")
    cfg = result.config
    member = 0
    if result.n_members > 1:
        if st.session_state.get("geometry.member", 0) >= result.n_members:
            st.session_state["geometry.member"] = 0
        member = st.selectbox(
            "Member",
            options=list(range(result.n_members)),
            format_func=lambda m: _member_label(result, m),
            key="geometry.member",
            help="This result holds several models (members); pick whose gradients to draw.",
        )
    epochs = _epochs(result, member)
    if not epochs:
        st.info("No gradients were logged for this member.")
        return
    if st.session_state.get("geometry.epoch") not in epochs:  # new, or from a longer run
        st.session_state["geometry.epoch"] = _first_conflict(result, member, epochs)
    epoch = st.select_slider(
        "Epoch",
        options=epochs,
        key="geometry.epoch",
        disabled=len(epochs) < 2,
        help="The gradients are taken on the whole training split at the parameters after this "
        "many epochs (0: the untrained model). It starts at the first epoch where the tasks "
        "conflict (at 0 when they never do).",
    )
    chosen = st.multiselect(
        "Methods",
        options=list(geometry.OFFERED),
        default=list(geometry.DEFAULT_METHODS),
        format_func=geometry.method_label,
        key="geometry.methods",
        help="Each method's update direction for these two gradients, computed by the method "
        "itself (with the run's hyper-parameters for the run's own method, defaults for the "
        "others). Static weights are this member's configured weights (before any balanced "
        "start). Methods whose weights depend on more than these gradients are not offered; "
        "see below.",
    )
    length = st.radio(
        "Arrow length",
        options=list(LENGTHS),
        format_func=LENGTHS.__getitem__,
        horizontal=True,
        key="geometry.length",
        help="Gradient norms can differ by orders of magnitude: by default every arrow is drawn "
        "1 long and the true lengths are in the tooltips and the table. 'True lengths' draws "
        "them to scale (the longest 1 long), where a short arrow may shrink to a dot.",
    )

    plane = geometry.plane_at(result, member, epoch)
    summary = result.summary.iloc[member]
    static = (float(summary["w_regression"]), float(summary["w_classification"]))
    losses = _losses(result, member, epoch)
    own = cfg.weighting.method
    directions = [
        geometry.method_direction(
            name,
            plane,
            static_weights=static,
            losses=losses,
            params=dict(cfg.weighting.params) if name == own else None,
        )
        for name in chosen
    ]
    step = geometry.run_direction(result, plane)
    if step.direction is not None:
        directions.append(step.direction)
    effects = [geometry.effect(plane, d) for d in directions]
    frame = geometry.chart_frame(plane, effects, length=length)
    drawing, words = st.columns(2)
    with drawing:
        view = (  # the result (a sweep's members differ in weights and seed), then the view
            f"{cache_key(cfg)}|{result.n_members}|{member}|{static}|{int(summary['seed'])}"
            f"|{epoch}|{','.join(chosen)}|{length}"
        )
        st.vega_lite_chart(spec=_spec(view, frame), width="stretch", key="geometry.chart")
    with words:
        st.markdown(inert.text(geometry.describe_plane(plane)))
        if effects:
            st.markdown(
                "\n".join("- " + inert.text(geometry.describe_effect(plane, e)) for e in effects)
            )
        st.caption(inert.text(f"This run ({METHODS[own].label}): {step.note}."))
    if effects:
        st.dataframe(
            geometry.effects_table(effects),
            hide_index=True,
            width="stretch",
            key="geometry.table",
            column_config={
                "w_regression": st.column_config.NumberColumn(format="%.4g"),
                "w_classification": st.column_config.NumberColumn(format="%.4g"),
                "norm": st.column_config.NumberColumn(
                    "|d|", format="%.4g", help="The direction's length."
                ),
                "d·g_regression": st.column_config.NumberColumn(
                    format="%.4g", help="Below 0: a small plain step against d raises this loss."
                ),
                "d·g_classification": st.column_config.NumberColumn(
                    format="%.4g", help="Below 0: a small plain step against d raises this loss."
                ),
                "length vs sum": st.column_config.NumberColumn(
                    format="%.3g", help="|d| / |g_regression + g_classification|."
                ),
                "turn (°)": st.column_config.NumberColumn(
                    format="%.1f",
                    help="The angle from the plain sum g_regression + g_classification to d; "
                    "positive towards the classification gradient.",
                ),
            },
        )
    st.caption(
        "The plane is fixed by the two gradients' norms and the angle between them, which the run "
        "logs at every epoch (the drawing's rotation means nothing). Arrows: solid, the task "
        "gradients g on the shared parameters; dashed, update directions d = w_r g_r + w_c g_c. "
        "Shaded: the directions with d·g ≥ 0 for both tasks, which harm neither to first order. "
        "A direction harms task t when d·g_t < 0: a small plain gradient step against d then "
        "raises that loss (Adam or momentum transform d before stepping). Each method's "
        "direction is computed by the method's own code from these two vectors; every offered "
        "method depends on the gradients only through their norms and angle, so this is exact."
    )
    with st.expander("Methods not offered here"):
        st.markdown(
            "\n".join(
                f"- {cls.label}: {geometry.excluded_reason(name)}."
                for name, cls in METHODS.items()
                if name not in geometry.OFFERED
            )
        )
