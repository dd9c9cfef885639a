"""The Method face-off tab: which weighting method wins on this data?

Each chosen method trains on the same data and seeds beside the single-task baselines that Δm
compares against (:func:`mtl.compare.face_off`). The face-off's chart draws the sweep's members
and front behind the methods only when a sweep of the same configuration has been run in this
session (it is not run behind the person's back: it costs as much again); otherwise a button
runs it.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

import mtl
from mtl import charts
from mtl.compare import FaceOff
from mtl.sweeps import DEFAULT_POINTS, MAX_SEEDS, sweep_config
from mtl.weighting import METHODS
from ui import charting
from ui.exports import csv_download
from ui.run import FaceOffRequest, SweepRequest, face_off, sweep
from ui.tabs.common import FACE_OFF_REQUEST, SWEEP_REQUEST, guarded, init_state, with_front

METHOD_COLORS: dict[str, str] = charts.series_colors([cls.label for cls in METHODS.values()])
"""Method label -> colour, fixed over every method so a method keeps its colour in any subset."""


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
    outcome = guarded(face_off, request)
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
    outcome = guarded(sweep, sweep_request)
    if outcome is None:
        return None
    return with_front(outcome.summary), sweep_request.key
