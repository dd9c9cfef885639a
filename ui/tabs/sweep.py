"""The Weight sweep tab: which static weights give the best trade-off between the two tasks?

Decisions:

- The sweep varies **static** weights w = (α, 1 − α) on a grid of α; the sidebar's method, its
  hyper-parameters and its weights are dropped (:func:`mtl.sweeps.sweep_config`), so moving α
  leaves the sweep current. The grid (:data:`mtl.sweeps.GRIDS`) is even from 0 to 1, log-spaced in
  the ratio w_regression / w_classification (charts against α then put that ratio on a log axis),
  or even in the balanced parameterisation (weights relative to the initial losses). Seeds start
  at the sidebar's seed, so the sweep holds the current run whenever its α is on the grid.
- The Pareto front is taken over every member (see :mod:`ui.tabs.common`).
- A point of the front chart is selected by clicking it (``on_select``); the member box below it
  is the same choice for the keyboard, and the chart's click writes it.
- Beyond linear weights: a person may overlay a second sweep on the same α grid and seeds with a
  preference method (Tchebycheff or STCH, :mod:`mtl.weighting.tchebycheff`), which reads
  (α, 1 − α) as a preference. It is the same cached sweep (:func:`ui.run.sweep`) with the method
  set, priced against the work budget like any sweep. Both fronts get their hypervolume
  (:func:`mtl.compare.hypervolume`) against one reference point, the nadir of both fronts
  (:func:`mtl.compare.front_reference`), on the front chart's axes (MSE, accuracy); the region
  the preference front reaches beyond the linear front's convex hull is shaded
  (:func:`mtl.compare.region_beyond_hull`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import mtl
from mtl import charts
from mtl.budget import Request, price
from mtl.compare import front_reference, hypervolume, region_beyond_hull, supported
from mtl.results import summary_split
from mtl.sweeps import (
    DEFAULT_GRID,
    GRIDS,
    LOG_DECADES,
    MAX_POINTS,
    MAX_SEEDS,
    seeds_from,
    sweep_config,
)
from mtl.weighting import METHODS
from ui import charting
from ui.exports import csv_download
from ui.run import SweepRequest, sweep
from ui.tabs.common import SWEEP_REQUEST, guarded, init_state, with_front

PICK = "pick"
"""Name of the front chart's point selection (on ``member``)."""


CHART_KEY = "sweep.chart"


MEMBER_KEY = "sweep.member"


OVERLAY_KEY = "sweep.overlay"
"""The overlay's method box: ``"none"`` or a preference method."""


OVERLAY_METHODS: tuple[str, ...] = ("tchebycheff", "stch")
"""The preference methods a sweep can be overlaid with."""


LINEAR_LABEL = "Linear (static weights)"


GRID_KEY = "sweep.grid"
"""Widget key of the grid choice (one of :data:`mtl.sweeps.GRIDS`)."""

GRID_LABELS: dict[str, str] = {
    "even": "Even α",
    "log": "Log ratio",
    "balanced": "Balanced α",
}
"""What the grid radio shows for each grid."""


def alpha_text(alpha: float, grid: str = DEFAULT_GRID) -> str:
    """α as the sweep's words show it: two decimals, or three significant digits on a log grid."""
    return f"{alpha:.3g}" if grid == "log" else f"{alpha:.2f}"


def member_labels(summary: pd.DataFrame, grid: str = DEFAULT_GRID) -> dict[int, str]:
    """Member -> ``α = 0.30 · seed 1`` (and ``· on the front``), for the member box."""
    return {
        int(member): f"α = {alpha_text(alpha, grid)} · seed {int(seed)}"
        + (" · on the front" if front else "")
        for member, alpha, seed, front in zip(
            summary["member"],
            summary["w_regression"],
            summary["seed"],
            summary["pareto"],
            strict=True,
        )
    }


def default_member(summary: pd.DataFrame, cfg: mtl.RunConfig) -> int:
    """The current run's member when the sweep holds it, else the front's lowest-MSE member."""
    weights = cfg.weighting.weights
    same = summary[
        np.isclose(summary["w_regression"], weights[0])
        & np.isclose(summary["w_classification"], weights[1])
        & (summary["seed"] == cfg.seed)
    ]
    if cfg.weighting.method == "static" and len(same):
        return int(same["member"].iloc[0])
    split = summary_split(summary)
    front = summary[summary["pareto"]].sort_values(f"{split}_mse")
    return int((front if len(front) else summary)["member"].iloc[0])


def _pick_from_chart() -> None:
    """``on_select`` of the front chart: a clicked point becomes the chosen member.

    An empty selection (a double-click, or the chart redrawn) keeps the member chosen before.
    """
    state = st.session_state.get(CHART_KEY) or {}
    points = (state.get("selection") or {}).get(PICK) or []
    if points and "member" in points[0]:
        st.session_state[MEMBER_KEY] = int(points[0]["member"])


def sweep_tab(result: mtl.Result) -> None:
    """The weight sweep: its controls, the Pareto front, metrics against α, one member's curves."""
    init_state()
    st.session_state.setdefault(GRID_KEY, DEFAULT_GRID)
    cfg = result.config
    st.markdown(
        "**Which static weights give the best trade-off?** The sweep trains one member per α on "
        "a grid (w = (α, 1 − α)) and per seed, all in one batched population, with everything "
        "else from the sidebar."
    )
    if cfg.weighting.method != "static":
        st.caption(
            f"The sweep varies static weights: the sidebar's method "
            f"({METHODS[cfg.weighting.method].label}) is replaced by static weights for it."
        )
    st.radio(
        "Grid",
        list(GRIDS),
        format_func=GRID_LABELS.__getitem__,
        key=GRID_KEY,
        horizontal=True,
        persist_state="page",
        help="Even α: α evenly from 0 to 1, right when both losses have similar sizes. "
        f"Log ratio: w_regression / w_classification from 1e-{LOG_DECADES} to 1e{LOG_DECADES}, "
        "evenly in orders of magnitude (α = ratio / (1 + ratio)): when one loss is thousands of "
        "times the other (an MSE of 3,000 beside a cross-entropy of 0.7) the whole trade-off "
        "hides below α = 0.001, which an even grid steps over. Balanced α: even α with a "
        "balanced start, each weight divided by its task's initial loss, so α = 0.5 starts both "
        "tasks with equal weighted losses.",
    )
    grid = str(st.session_state[GRID_KEY])
    points_col, seeds_col, button_col = st.columns([2, 2, 3], vertical_alignment="bottom")
    with points_col:
        st.number_input(
            "α points",
            min_value=2,
            max_value=MAX_POINTS,
            step=1,
            key="sweep.points",
            persist_state="page",
            help="How many values of α on the grid: evenly from 0 (classification only) to 1 "
            "(regression only), or on the log grid from a ratio of 1e-4 to 1e4. 101 gives steps of "
            "0.01 on the even grids; fewer run faster.",
        )
    with seeds_col:
        st.number_input(
            "Seeds",
            min_value=1,
            max_value=MAX_SEEDS,
            step=1,
            key="sweep.seeds",
            persist_state="page",
            help="Initialisations per α, starting at the sidebar's seed. Several seeds show how "
            "much of a difference is luck (the band in the chart against α).",
        )
    points, seeds = int(st.session_state["sweep.points"]), int(st.session_state["sweep.seeds"])
    with button_col:
        clicked = st.button(
            "Run the sweep",
            key="sweep.run",
            type="primary",
            icon=":material/play_arrow:",
            help=f"Train {points} × {seeds} = {points * seeds} members at once (seconds; a "
            "progress bar shows the epochs).",
        )
    if clicked:
        st.session_state[SWEEP_REQUEST] = SweepRequest(sweep_config(cfg, grid), points, seeds, grid)
    request: SweepRequest | None = st.session_state.get(SWEEP_REQUEST)
    if request is None:
        st.info(
            f"Press **Run the sweep** to train {points * seeds} members "
            f"({points} values of α × {seeds} seeds).",
            icon=":material/tune:",
        )
        return
    fresh = request.cfg == sweep_config(cfg, request.grid)
    if not fresh:
        st.warning(
            "This sweep was run for an earlier configuration (the sidebar has changed since). "
            "Press **Run the sweep** to run it for the current one.",
            icon=":material/history:",
        )
    elif request.grid != grid:
        st.info(
            f"This sweep used the {GRID_LABELS[request.grid]} grid. Press **Run the sweep** for "
            f"the {GRID_LABELS[grid]} grid.",
            icon=":material/grid_on:",
        )
    outcome = guarded(sweep, request)
    if outcome is None:
        return
    _sweep_views(outcome, request, cfg if fresh else None)


def _sweep_views(outcome: mtl.Result, request: SweepRequest, cfg: mtl.RunConfig | None) -> None:
    """The sweep's charts; ``cfg`` (the current run, when the sweep is current) marks its α."""
    summary = with_front(outcome.summary)
    split = summary_split(summary)
    grid = request.grid
    if grid == "balanced":
        st.caption(
            "Balanced grid: each member's weights are relative to its own initial losses, so α = "
            "0.5 started both tasks with equal weighted losses; the weights in force are its "
            "curves' (Weights tab for the run on screen)."
        )
    mse, acc = f"{split}_mse", f"{split}_accuracy"
    front = summary[summary["pareto"]].sort_values(mse)
    finite = summary[np.isfinite(summary[mse]) & np.isfinite(summary[acc])]
    diverged = int(summary["diverged"].sum())
    if finite.empty:
        st.warning(
            f"Every one of the {len(summary)} members diverged (a loss became infinite or NaN): "
            "lower the learning rate and run the sweep again.",
            icon=":material/warning:",
        )
    elif len(front):
        best_mse = finite.loc[finite[mse].idxmin()]
        best_acc = finite.loc[finite[acc].idxmax()]
        st.markdown(
            f"{len(front)} of {len(summary)} members are on the Pareto front, with α from "
            f"{alpha_text(front['w_regression'].min(), grid)} to "
            f"{alpha_text(front['w_regression'].max(), grid)}. Lowest "
            f"{split} MSE {best_mse[mse]:#.4g} at α = {alpha_text(best_mse['w_regression'], grid)}"
            f"; highest {split} accuracy {best_acc[acc]:.1%} at α = "
            f"{alpha_text(best_acc['w_regression'], grid)}."
            + (f" {diverged} members diverged and are left out." if diverged else "")
        )
    options = summary["member"].astype(int).tolist()
    if st.session_state.get(MEMBER_KEY) not in options:
        same_scale = cfg is not None and cfg.weighting.scale == request.cfg.weighting.scale
        st.session_state[MEMBER_KEY] = default_member(summary, cfg if same_scale else request.cfg)
    chosen = int(st.session_state[MEMBER_KEY])

    st.altair_chart(
        charting.chart("pareto_chart", summary, request.key, split=split, selected=chosen),
        width="stretch",
        key=CHART_KEY,
        on_select=_pick_from_chart,
        selection_mode=PICK,
    )
    hidden = charts.outside(summary, mse, acc, charts.pareto_domains(summary, split))
    st.caption(
        f"Each point is one member (one α and seed): its final {split} MSE against its {split} "
        "accuracy, coloured by α. Outlined points are on the Pareto front (no other member has "
        "both a lower MSE and a higher accuracy), joined by the step line; the faded ones are "
        "dominated. Hover for the weights and seed; click a point to see its curves below. "
        "Scroll to zoom, drag to pan, double-click to reset."
        + (
            f" The view starts around the front: {hidden} extreme member"
            f"{'s lie' if hidden != 1 else ' lies'} outside it (zoom out to see "
            f"{'them' if hidden != 1 else 'it'})."
            if hidden
            else ""
        )
    )
    alpha = cfg.weighting.weights[0] if cfg is not None else None
    if cfg is not None and (
        cfg.weighting.method != "static" or cfg.weighting.scale != request.cfg.weighting.scale
    ):
        alpha = None
    log_ratio = grid == "log"
    charting.show_panels(
        "sweep_metric_panel",
        summary,
        request.key,
        over="objective",
        values=["mse", "accuracy"],
        split=split,
        alpha=alpha,
        log_ratio=log_ratio,
    )
    seeds = seeds_from(request.cfg, request.seeds)
    against = "the weight ratio w_regression / w_classification (log axis)" if log_ratio else "α"
    st.caption(
        f"Final {split} MSE and accuracy against {against}. The line is the mean over the "
        f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} ({', '.join(map(str, seeds))}), the "
        "band spans the lowest to the highest seed (min–max, not a standard deviation: with a "
        "few seeds the range shows exactly where each landed), dots are the seeds."
        + (" The dashed rule is the current run's weights." if alpha is not None else "")
    )
    _member_detail(outcome, summary, request, options)
    _overlay(summary, request, cfg)
    with st.expander(f"All {len(summary)} members", icon=":material/table:"):
        columns = ["member", "w_regression", "w_classification", "seed", mse, acc, "pareto"]
        st.dataframe(
            summary[[*columns, "diverged"]],
            hide_index=True,
            column_config={
                mse: st.column_config.NumberColumn(format="%.4g"),
                acc: st.column_config.NumberColumn(format="percent"),
                "pareto": st.column_config.CheckboxColumn("on the front"),
            },
            key="sweep.table",
        )
        csv_download(
            "Sweep summary (CSV)",
            summary,
            "sweep_summary.csv",
            "sweep.download",
            "One row per member: its weights, seed, final train and test figures, whether "
            "it is on the Pareto front and whether it diverged.",
            width="content",
        )


def _member_detail(
    outcome: mtl.Result, summary: pd.DataFrame, request: SweepRequest, options: list[int]
) -> None:
    """The chosen member's weighted (stacked) and raw component curves."""
    labels = member_labels(summary, request.grid)
    st.selectbox(
        "Member",
        options,
        format_func=labels.__getitem__,
        key=MEMBER_KEY,
        help="The member whose curves are drawn below; clicking a point of the front chart "
        "chooses it too.",
    )
    member = int(st.session_state[MEMBER_KEY])
    row = summary[summary["member"] == member].iloc[0]
    split = summary_split(summary)
    figures = (
        "diverged"
        if bool(row["diverged"])
        else f"{split} MSE {row[f'{split}_mse']:#.4g}, {split} accuracy "
        f"{row[f'{split}_accuracy']:.1%}"
    )
    st.markdown(f"**{labels[member]}**: {figures}.")
    weighted, raw = st.columns(2)
    with weighted:
        charting.show("components_chart", outcome.history, request.key, member=member, height=300)
        st.caption("Its weighted components on the training rows, stacked to the total loss.")
    with raw:
        charting.show(
            "components_chart", outcome.history, request.key, member=member, mode="raw", height=300
        )
        st.caption("Its raw (unweighted) losses, which the weights trade against each other.")


def overlay_request(request: SweepRequest, method: str, cfg: mtl.RunConfig | None) -> SweepRequest:
    """The preference sweep beside ``request``: same configuration, α grid and seeds, ``method``.

    The method keeps the sidebar's hyper-parameters when the sidebar uses it (and the sweep is
    current, ``cfg`` given), else its defaults. On the balanced grid the overlay takes the even α
    grid (the same α values): a Tchebycheff method divides each loss by its initial value itself,
    which is what the balanced start does for linear weights.
    """
    params = cfg.weighting.params if cfg is not None and cfg.weighting.method == method else ()
    spec = mtl.WeightingSpec(method=method, params=params)
    grid = "log" if request.grid == "log" else "even"
    return SweepRequest(request.cfg.with_(weighting=spec), request.points, request.seeds, grid)


def _overlay(summary: pd.DataFrame, request: SweepRequest, cfg: mtl.RunConfig | None) -> None:
    """Beyond linear weights: overlay a Tchebycheff (or STCH) sweep, hypervolumes, the gap."""
    st.markdown("**Beyond linear weights.**")
    options = ["none", *OVERLAY_METHODS]
    st.session_state.setdefault(OVERLAY_KEY, "none")
    if st.session_state[OVERLAY_KEY] not in options:
        st.session_state[OVERLAY_KEY] = "none"
    estimate = price(
        Request.sweep(
            overlay_request(request, "tchebycheff", cfg).cfg, request.points, request.seeds
        )
    )
    st.selectbox(
        "Overlay a preference sweep",
        options,
        format_func=lambda m: "none" if m == "none" else METHODS[m].label,
        key=OVERLAY_KEY,
        help=f"Trains the same α grid and seeds again ({request.points} × {request.seeds} members, "
        f"about {estimate.seconds:.0f} s of computing), with (α, 1 − α) read as a preference "
        "by a Tchebycheff method instead of as loss weights, and draws both fronts.",
    )
    method = str(st.session_state[OVERLAY_KEY])
    if method == "none":
        st.caption(
            "A weighted sum of the losses can only settle on the convex part of the losses' "
            "trade-off front; where the front has a dent (a non-convex stretch), the balanced "
            "trade-offs in it are out of reach of every α. A Tchebycheff sweep reads α as a "
            "preference and can reach them. Choose one above to compare the two fronts (try the "
            "'nonconvex' preset)."
        )
        return
    pref_request = overlay_request(request, method, cfg)
    outcome = guarded(sweep, pref_request)
    if outcome is None:
        return
    label = METHODS[method].label
    split = summary_split(summary)
    mse, acc = f"{split}_mse", f"{split}_accuracy"
    linear = summary
    pref = with_front(outcome.summary)
    reference = front_reference(linear, pref, minimize=mse, maximize=acc)
    both = pd.concat(
        [
            linear.assign(sweep=LINEAR_LABEL, supported=supported(linear, mse, acc)),
            pref.assign(sweep=label, supported=supported(pref, mse, acc)),
        ],
        ignore_index=True,
    )
    region = region_beyond_hull(linear, pref, reference, mse, acc)
    st.altair_chart(
        charts.fronts_chart(both, split=split, region=region), width="stretch", key="sweep.fronts"
    )
    if not np.isfinite(reference[0]):
        st.warning("Neither sweep has a member with finite figures.", icon=":material/warning:")
        return
    rows = []
    for name, frame in ((LINEAR_LABEL, linear), (label, pref)):
        on_front = frame["pareto"].astype(bool)
        rows.append(
            f"- {name}: hypervolume **{hypervolume(frame, reference, mse, acc):#.4g}**; "
            f"{int(on_front.sum())} members on its front, "
            f"{int((on_front & ~supported(frame, mse, acc)).sum())} of them off its convex hull"
        )
    st.markdown(
        f"Hypervolume (larger is better): the area of {split} MSE × {split} accuracy each front "
        f"dominates, up to the reference point (MSE {reference[0]:#.4g}, accuracy "
        f"{reference[1]:.1%}), the worst front member of either sweep on each axis.\n\n"
        + "\n".join(rows)
    )
    st.caption(
        f"Both sweeps train the same α grid and seeds; {label} reads (α, 1 − α) as a preference "
        "between the normalised losses instead of as loss weights. The dashed line is the convex "
        "hull of the linear front. Minimising a weighted sum of two losses can only reach the "
        "trade-offs on such a hull (the supported points), never those in a dent between its "
        "corners; the counts above say how many front members lie off their front's hull, in a "
        f"dent, on these axes. The shaded area is where the {label} front lies beyond the linear "
        "front's hull: trade-offs that no linear member reaches, nor any mixture of them. When it "
        "does not matter: with a wide model (many hidden units) the fronts become convex and "
        "shrink towards one point where both tasks do about as well as alone, so linear weights "
        "already reach every trade-off worth having; the difference shows on small, "
        "under-parameterised shared models such as the 'nonconvex' preset's."
    )
