"""The what-if tabs: the weight sweep with its Pareto front, and the method face-off.

Both cost seconds, so they run only when asked (a button) and are cached (:func:`ui.run.sweep`,
:func:`ui.run.face_off`). The last one asked for is remembered in the session
(:data:`SWEEP_REQUEST`, :data:`FACE_OFF_REQUEST`) and shown on every rerun from the cache. When the
sidebar has changed since, it is still shown (comparing is the point) under a note that it belongs
to an earlier configuration, and the button runs it again for the current one.

Decisions:

- The sweep varies **static** weights w = (α, 1 − α) on an even α grid from 0 to 1; the sidebar's
  method, its hyper-parameters and its weights are dropped (:func:`mtl.sweeps.sweep_config`), so
  moving α leaves the sweep current. Seeds start at the sidebar's seed, so the sweep holds the
  current run whenever its α is on the grid.
- The Pareto front is taken over every member (each α and seed is a point), on the test split,
  or on the training data when there is no test split (the notebook's way).
- A point of the front chart is selected by clicking it (``on_select``); the member box below it
  is the same choice for the keyboard, and the chart's click writes it.
- The face-off's chart draws the sweep's members and front behind the methods only when a sweep
  of the same configuration has been run in this session (it is not run behind the person's
  back: it costs as much again); otherwise a button runs it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

import mtl
from mtl import charts
from mtl.compare import FaceOff, pareto_front
from mtl.results import summary_split
from mtl.sweeps import (
    DEFAULT_POINTS,
    DEFAULT_SEEDS,
    MAX_POINTS,
    MAX_SEEDS,
    seeds_from,
    sweep_config,
)
from mtl.weighting import METHODS
from ui import charting, inert
from ui.exports import csv_download
from ui.run import FaceOffRequest, SweepRequest, face_off, sweep

SWEEP_REQUEST = "_sweep.request"
"""Session key of the :class:`~ui.run.SweepRequest` last asked for."""
FACE_OFF_REQUEST = "_faceoff.request"
"""Session key of the :class:`~ui.run.FaceOffRequest` last asked for."""
PICK = "pick"
"""Name of the front chart's point selection (on ``member``)."""
CHART_KEY = "sweep.chart"
MEMBER_KEY = "sweep.member"

Request = TypeVar("Request")
Outcome = TypeVar("Outcome")

METHOD_COLORS: dict[str, str] = charts.series_colors([cls.label for cls in METHODS.values()])
"""Method label -> colour, fixed over every method so a method keeps its colour in any subset."""


def init_state() -> None:
    """Defaults of the sweep's and the face-off's controls (written once per session)."""
    defaults: dict[str, Any] = {
        "sweep.points": DEFAULT_POINTS,
        "sweep.seeds": DEFAULT_SEEDS,
        "faceoff.methods": list(METHODS),
        "faceoff.seeds": DEFAULT_SEEDS,
    }
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def with_front(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with a ``pareto`` column: the members no other member dominates."""
    split = summary_split(summary)
    front = pareto_front(summary, minimize=f"{split}_mse", maximize=f"{split}_accuracy")
    return summary.assign(pareto=front)


def member_labels(summary: pd.DataFrame) -> dict[int, str]:
    """Member -> ``α = 0.30 · seed 1`` (and ``· on the front``), for the member box."""
    return {
        int(member): f"α = {alpha:.2f} · seed {int(seed)}" + (" · on the front" if front else "")
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


def _guarded(compute: Callable[[Request], Outcome], request: Request) -> Outcome | None:
    """``compute(request)``, or None after showing why it cannot run (never a traceback)."""
    try:
        return compute(request)
    except (mtl.ConfigError, mtl.DataError) as error:
        st.error(f"**This can't be run.** {inert.text(error)}", icon=":material/error:")
        return None


# ---------------------------------------------------------------- the weight sweep


def sweep_tab(result: mtl.Result) -> None:
    """The weight sweep: its controls, the Pareto front, metrics against α, one member's curves."""
    init_state()
    cfg = result.config
    st.markdown(
        "**Which static weights give the best trade-off?** The sweep trains one member per α on "
        "an even grid from 0 to 1 (w = (α, 1 − α)) and per seed, all in one batched population, "
        "with everything else from the sidebar."
    )
    if cfg.weighting.method != "static":
        st.caption(
            f"The sweep varies static weights: the sidebar's method "
            f"({METHODS[cfg.weighting.method].label}) is replaced by static weights for it."
        )
    points_col, seeds_col, button_col = st.columns([2, 2, 3], vertical_alignment="bottom")
    with points_col:
        st.number_input(
            "α points",
            min_value=2,
            max_value=MAX_POINTS,
            step=1,
            key="sweep.points",
            persist_state="page",
            help="How many values of α, evenly from 0 (classification only) to 1 (regression "
            "only). 101 gives steps of 0.01; fewer run faster.",
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
        st.session_state[SWEEP_REQUEST] = SweepRequest(sweep_config(cfg), points, seeds)
    request: SweepRequest | None = st.session_state.get(SWEEP_REQUEST)
    if request is None:
        st.info(
            f"Press **Run the sweep** to train {points * seeds} members "
            f"({points} values of α × {seeds} seeds).",
            icon=":material/tune:",
        )
        return
    fresh = request.cfg == sweep_config(cfg)
    if not fresh:
        st.warning(
            "This sweep was run for an earlier configuration (the sidebar has changed since). "
            "Press **Run the sweep** to run it for the current one.",
            icon=":material/history:",
        )
    outcome = _guarded(sweep, request)
    if outcome is None:
        return
    _sweep_views(outcome, request, cfg if fresh else None)


def _sweep_views(outcome: mtl.Result, request: SweepRequest, cfg: mtl.RunConfig | None) -> None:
    """The sweep's charts; ``cfg`` (the current run, when the sweep is current) marks its α."""
    summary = with_front(outcome.summary)
    split = summary_split(summary)
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
            f"{front['w_regression'].min():.2f} to {front['w_regression'].max():.2f}. Lowest "
            f"{split} MSE {best_mse[mse]:#.4g} at α = {best_mse['w_regression']:.2f}; highest "
            f"{split} accuracy {best_acc[acc]:.1%} at α = {best_acc['w_regression']:.2f}."
            + (f" {diverged} members diverged and are left out." if diverged else "")
        )
    options = summary["member"].astype(int).tolist()
    if st.session_state.get(MEMBER_KEY) not in options:
        st.session_state[MEMBER_KEY] = default_member(summary, cfg or request.cfg)
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
    if cfg is not None and cfg.weighting.method != "static":
        alpha = None
    charting.show("sweep_metrics_chart", summary, request.key, split=split, alpha=alpha)
    seeds = seeds_from(request.cfg, request.seeds)
    st.caption(
        f"Final {split} MSE and accuracy against α. The line is the mean over the "
        f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} ({', '.join(map(str, seeds))}), the "
        "band spans the lowest to the highest seed (min–max, not a standard deviation: with a "
        "few seeds the range shows exactly where each landed), dots are the seeds."
        + (" The dashed rule is the current run's α." if alpha is not None else "")
    )
    _member_detail(outcome, summary, request, options)
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
    labels = member_labels(summary)
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


# ---------------------------------------------------------------- the method face-off


def face_off_display(table: pd.DataFrame) -> pd.DataFrame:
    """The face-off table as shown: method labels, ``mean ± std`` texts, Δm and divergences."""
    split = str(table["split"].iloc[0]) if len(table) else "test"
    name = split.capitalize()
    return pd.DataFrame(
        {
            "Method": [METHODS[m].label for m in table["method"]],
            f"{name} MSE": [
                _mean_std(m, s, lambda v: f"{v:#.4g}", lambda v: f"{v:.2g}")
                for m, s in zip(table["mse_mean"], table["mse_std"], strict=True)
            ],
            f"{name} accuracy": [
                _mean_std(m, s, lambda v: f"{v:.1%}", lambda v: f"{100 * v:.1f} pp")
                for m, s in zip(table["accuracy_mean"], table["accuracy_std"], strict=True)
            ],
            "Δm": table["delta_m"].to_numpy(dtype=float),
            "Diverged": table["diverged"].astype(int).to_numpy(),
        }
    )


def _mean_std(mean: float, std: float, fmt_mean: Any, fmt_std: Any) -> str:
    if not math.isfinite(mean):
        return "—"
    return f"{fmt_mean(mean)} ± {fmt_std(std if math.isfinite(std) else 0.0)}"


def method_curves(outcome: FaceOff, split: str) -> pd.DataFrame:
    """Each method's MSE and accuracy on ``split`` per epoch, the mean over its seeds.

    Columns ``series`` (the method's label), ``epoch``, ``metric``, ``value``.
    """
    frames = []
    for method, result in outcome.results.items():
        metrics = result.metrics
        chosen = metrics[(metrics["split"] == split) & metrics["metric"].isin(["mse", "accuracy"])]
        mean = (
            chosen.groupby(["epoch", "metric"], observed=True)["value"].mean().reset_index()
        ).assign(series=METHODS[method].label)
        frames.append(mean)
    return pd.concat(frames, ignore_index=True)[["series", "epoch", "metric", "value"]]


def face_off_tab(result: mtl.Result) -> None:
    """The method face-off: its controls, the table with Δm, the chart over the front, curves."""
    init_state()
    cfg = result.config
    st.markdown(
        "**Which weighting method wins on this data?** Each chosen method trains on the same "
        "data and seeds (one batched population per method), beside the single-task baselines "
        "(regression alone, α = 1, and classification alone, α = 0) that Δm compares against."
    )
    w_reg, w_cls = cfg.weighting.weights
    cls = METHODS[cfg.weighting.method]
    whose = "the sidebar's weights" if cls.uses_base_weights else "the default weights"
    st.caption(
        f"Static weights use {whose} ({w_reg:g}, {w_cls:g}); the sidebar's method ({cls.label}) "
        "keeps its hyper-parameters; the others use their papers' defaults."
    )
    st.multiselect(
        "Methods",
        list(METHODS),
        format_func=lambda m: METHODS[m].label,
        key="faceoff.methods",
        persist_state="page",
        help="The weighting methods to compare (all of them by default). Each adds one "
        "population of one member per seed.",
    )
    seeds_col, button_col, _ = st.columns([2, 2, 3], vertical_alignment="bottom")
    with seeds_col:
        st.number_input(
            "Seeds",
            min_value=1,
            max_value=MAX_SEEDS,
            step=1,
            key="faceoff.seeds",
            persist_state="page",
            help="Initialisations per method, starting at the sidebar's seed; the table gives "
            "the mean and the standard deviation over them.",
        )
    methods = tuple(m for m in METHODS if m in st.session_state["faceoff.methods"])
    seeds = int(st.session_state["faceoff.seeds"])
    with button_col:
        clicked = st.button(
            "Run the face-off",
            key="faceoff.run",
            type="primary",
            icon=":material/play_arrow:",
            disabled=not methods,
            help=f"Train {len(methods)} methods and the baselines over {seeds} seeds (seconds; "
            "a progress bar shows the epochs).",
        )
    if not methods:
        st.warning("Choose at least one method.", icon=":material/warning:")
    if clicked and methods:
        st.session_state[FACE_OFF_REQUEST] = FaceOffRequest(cfg, methods, seeds)
    request: FaceOffRequest | None = st.session_state.get(FACE_OFF_REQUEST)
    if request is None:
        st.info(
            "Press **Run the face-off** to train the chosen methods side by side.",
            icon=":material/sports_score:",
        )
        return
    if request.cfg != cfg:
        st.warning(
            "This face-off was run for an earlier configuration (the sidebar has changed "
            "since). Press **Run the face-off** to run it for the current one.",
            icon=":material/history:",
        )
    outcome = _guarded(face_off, request)
    if outcome is None:
        return
    _face_off_views(outcome, request)


def _face_off_views(outcome: FaceOff, request: FaceOffRequest) -> None:
    """The face-off's table, its chart over the sweep's front, and the overlaid curves."""
    table = outcome.table
    split = str(table["split"].iloc[0])
    baselines = outcome.baselines
    st.dataframe(
        face_off_display(table),
        hide_index=True,
        height="content",
        column_config={
            "Method": st.column_config.TextColumn(help="Best Δm first."),
            f"{split.capitalize()} MSE": st.column_config.TextColumn(
                help="Final MSE of the regression head: mean ± standard deviation over seeds."
            ),
            f"{split.capitalize()} accuracy": st.column_config.TextColumn(
                help="Final accuracy of the classifier: mean ± standard deviation over seeds "
                "(pp: percentage points)."
            ),
            "Δm": st.column_config.NumberColumn(
                "Δm (%)",
                format="%+.2f",
                help="Mean relative change of MSE and accuracy against the single-task "
                "baselines, in percent. Positive is better.",
            ),
            "Diverged": st.column_config.NumberColumn(
                help=f"Members (of {request.seeds}) whose loss became infinite or NaN."
            ),
        },
        key="faceoff.table",
    )
    st.caption(
        "**Δm** (LibMTL's definition, after Maninis et al., 2019) is the mean over the two tasks "
        "of the relative change of the method's mean figure against its single-task baseline, "
        "in percent, with the sign flipped for MSE (lower is better). **Positive is better than "
        "training each task alone; 0 matches them; negative is worse.** Baselines here: "
        f"regression alone (α = 1) {split} MSE {baselines.get('mse', float('nan')):#.4g}; "
        f"classification alone (α = 0) {split} accuracy "
        f"{baselines.get('accuracy', float('nan')):.1%}."
    )
    _degenerate_baselines(table, baselines, split)
    points = table.assign(label=[METHODS[m].label for m in table["method"]])
    front = _front_for(request)
    charting.show(
        "face_off_chart",
        points,
        request.key + f"|front={front[1] if front else ''}",
        split=split,
        front=front[0] if front else None,
        colors=METHOD_COLORS,
    )
    if front:
        st.caption(
            f"Each method's mean {split} MSE and accuracy over the seeds, with ± one standard "
            "deviation as bars. Grey: the weight sweep's members; dark line: its Pareto front, "
            "the best static weightings. A method above and left of the line beats every static "
            "weighting the sweep tried. Scroll to zoom, drag to pan, double-click to reset."
        )
    else:
        st.caption(
            f"Each method's mean {split} MSE and accuracy over the seeds, with ± one standard "
            "deviation as bars (scroll to zoom, drag to pan). The static-weight front is drawn "
            "behind the methods once a weight sweep of this configuration has been run."
        )
        if st.button(
            "Run the weight sweep for the front",
            key="faceoff.sweep",
            icon=":material/scatter_plot:",
            help=f"Run the default sweep ({DEFAULT_POINTS} values of α × {request.seeds} seeds) "
            "for this configuration and draw its front here (also shown in the Weight sweep "
            "tab).",
        ):
            st.session_state[SWEEP_REQUEST] = SweepRequest(
                sweep_config(request.cfg), DEFAULT_POINTS, request.seeds
            )
            st.rerun()
    curves = method_curves(outcome, split)
    charting.show(
        "curves_chart",
        curves,
        request.key + "|curves",
        order=[METHODS[m].label for m in request.methods],
        colors=METHOD_COLORS,
        title="Method",
    )
    st.caption(
        f"{split.capitalize()} MSE and accuracy over the epochs, the mean over the seeds, one "
        "colour per method. Click a legend entry to highlight a method."
    )
    csv_download(
        "Face-off table (CSV)",
        table,
        "face_off.csv",
        "faceoff.download",
        "One row per method: mean and standard deviation of the final figures, Δm, divergences.",
        width="content",
    )


def _degenerate_baselines(table: pd.DataFrame, baselines: dict[str, float], split: str) -> None:
    """Say so when a single-task baseline trains far worse than every method.

    Δm divides by the baselines, so a baseline that fails on its own (a weight of 1 can double
    the step and blow the regression up, as on the notebook's unscaled data) swamps Δm; the
    figures themselves are then the better guide.
    """
    mse, acc = baselines.get("mse", math.nan), baselines.get("accuracy", math.nan)
    worst_mse, worst_acc = table["mse_mean"].max(), table["accuracy_mean"].min()
    bad = []
    if math.isfinite(mse) and math.isfinite(worst_mse) and mse > 2 * worst_mse:
        bad.append(f"regression alone reaches only {split} MSE {mse:#.4g}")
    if math.isfinite(acc) and math.isfinite(worst_acc) and acc < 0.5 * worst_acc:
        bad.append(f"classification alone reaches only {acc:.1%} {split} accuracy")
    if bad:
        st.caption(
            f"Note: a single-task baseline trains badly here ({'; '.join(bad)}, worse than "
            "every method), so Δm mostly measures that; compare the MSE and accuracy columns "
            "directly."
        )


def _front_for(request: FaceOffRequest) -> tuple[pd.DataFrame, str] | None:
    """The sweep's summary (with ``pareto``) and key, if a sweep of this config was run."""
    sweep_request: SweepRequest | None = st.session_state.get(SWEEP_REQUEST)
    if sweep_request is None or sweep_request.cfg != sweep_config(request.cfg):
        return None
    outcome = _guarded(sweep, sweep_request)
    if outcome is None:
        return None
    return with_front(outcome.summary), sweep_request.key
