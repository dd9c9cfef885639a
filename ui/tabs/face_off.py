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

import altair as alt
import pandas as pd
import streamlit as st

import mtl
from mtl import charts
from mtl.compare import LR_FACTORS, VALIDATION_FRACTION, FaceOff, TunedFaceOff
from mtl.sweeps import DEFAULT_POINTS, MAX_SEEDS, sweep_config
from mtl.weighting import METHODS
from ui import charting
from ui.exports import csv_download
from ui.run import FaceOffRequest, SweepRequest, TunedRequest, face_off, sweep, tuned_face_off
from ui.tabs.common import FACE_OFF_REQUEST, SWEEP_REQUEST, guarded, init_state, with_front

TUNED_REQUEST = "_faceoff.tuned_request"
"""Session key of the :class:`~ui.run.TunedRequest` last asked for."""

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
    st.session_state.setdefault("faceoff.mode", "quick")
    cfg = result.config
    st.markdown(
        "**Which weighting method wins on this data?** Each chosen method trains on the same "
        "data and seeds (together in one batched population; GradDrop and MGDA-UB, which read "
        "the shared representation's gradients, each in one of their own), beside the "
        "single-task baselines (regression alone, α = 1, and classification alone, α = 0) that "
        "Δm compares against."
    )
    w_reg, w_cls = cfg.weighting.weights
    cls = METHODS[cfg.weighting.method]
    whose = "the sidebar's weights" if cls.uses_base_weights else "the default weights"
    st.caption(
        f"Static weights use {whose} ({w_reg:g}, {w_cls:g}); the sidebar's method ({cls.label}) "
        "keeps its hyper-parameters; the others use their papers' defaults."
    )
    st.segmented_control(
        "Mode",
        list(MODES),
        format_func=MODES.get,
        key="faceoff.mode",
        help="Quick: each method at the sidebar's learning rate. Tuned: each method at its best "
        "of a small grid of learning rates, chosen on validation rows, with 95% intervals and "
        "the tuned static front.",
    )
    tuned = st.session_state.get("faceoff.mode") == "tuned"
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
            "Run the tuned face-off" if tuned else "Run the face-off",
            key="faceoff.tuned_run" if tuned else "faceoff.run",
            type="primary",
            icon=":material/play_arrow:",
            disabled=not methods,
            help=f"Train {len(methods)} methods and the baselines over {seeds} seeds (seconds; "
            "a progress bar shows the epochs).",
        )
    if not methods:
        st.warning("Choose at least one method.", icon=":material/warning:")
    if tuned:
        _tuned_section(cfg, methods, seeds, clicked)
        return
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
    charting.show_panels(
        "curve_panel",
        curves,
        request.key + "|curves",
        over="metric",
        values=[m for m in charts.METRIC_TITLES if m in set(curves["metric"])],
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


# ---------------------------------------------------------------- the tuned face-off

MODES: dict[str, str] = {"quick": "Quick (defaults)", "tuned": "Tuned (learning rates)"}
"""The face-off's modes: each method at the sidebar's learning rate, or tuned on validation."""

SHAPES: tuple[str, ...] = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "triangle-down",
    "cross",
    "triangle-right",
)
"""Point shapes, paired with :data:`METHOD_COLORS`: 7 shapes and 12 colours (coprime), so every
method keeps a (colour, shape) pair of its own among the first 84."""

METHOD_SHAPES: dict[str, str] = {
    cls.label: SHAPES[i % len(SHAPES)] for i, cls in enumerate(METHODS.values())
}
"""Method label -> point shape, fixed over every method like :data:`METHOD_COLORS`."""

GROUP_WORDS: dict[str, str] = {"best": "Best", "tied": "Tied with best", "behind": "Behind"}
FRONT_WORDS: dict[str, str] = {"beyond": "Beyond", "on": "On (within noise)", "behind": "Behind"}

OUTLIER_SPREAD = 3.0
"""A method whose mean lies more than this many interquartile ranges outside the methods' middle
half (on either axis) is left off the zoomed chart and named under it."""


def _interval(mean: float, lo: float, hi: float, fmt: Any) -> str:
    """``mean [lo, hi]``; just the mean when there is no interval (one seed)."""
    if not math.isfinite(mean):
        return "—"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return fmt(mean)
    return f"{fmt(mean)} [{fmt(lo)}, {fmt(hi)}]"


def tuned_display(table: pd.DataFrame) -> pd.DataFrame:
    """The tuned face-off's table as shown: labels, intervals as texts, groups, rates, costs."""
    return pd.DataFrame(
        {
            "Method": [METHODS[m].label for m in table["method"]],
            "Group": [GROUP_WORDS[g] for g in table["group"]],
            "Δm": table["delta_m"].to_numpy(dtype=float),
            "Δm 95% interval": [
                _interval(m, lo, hi, lambda v: f"{v:+.2f}")
                for m, lo, hi in zip(
                    table["delta_m"], table["delta_m_lo"], table["delta_m_hi"], strict=True
                )
            ],
            "Test MSE": [
                _interval(m, lo, hi, lambda v: f"{v:#.4g}")
                for m, lo, hi in zip(
                    table["mse_mean"], table["mse_lo"], table["mse_hi"], strict=True
                )
            ],
            "Test accuracy": [
                _interval(m, lo, hi, lambda v: f"{v:.1%}")
                for m, lo, hi in zip(
                    table["accuracy_mean"], table["accuracy_lo"], table["accuracy_hi"], strict=True
                )
            ],
            "Learning rate": table["lr"].to_numpy(dtype=float),
            "Static front": [FRONT_WORDS[f] for f in table["front"]],
            "Cost": table["cost"].to_numpy(dtype=float),
            "Diverged": table["diverged"].astype(int).to_numpy(),
        }
    )


def zoom(table: pd.DataFrame, front: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The methods drawn on the zoomed chart and the labels of those left off (outliers).

    A method is an outlier when its mean MSE or accuracy lies more than :data:`OUTLIER_SPREAD`
    interquartile ranges beyond the methods' quartiles (the front's Pareto points count in the
    quartiles too, so the zoom always shows the front).
    """
    kept = pd.Series(True, index=table.index)
    for column in ("mse_mean", "accuracy_mean"):
        values = pd.concat([table[column], front.loc[front["pareto"], column]]).astype(float)
        q1, q3 = values.quantile(0.25), values.quantile(0.75)
        spread = max(q3 - q1, 1e-12 * max(1.0, abs(q3)))
        lo, hi = q1 - OUTLIER_SPREAD * spread, q3 + OUTLIER_SPREAD * spread
        column_values = table[column].astype(float)
        kept &= column_values.between(lo, hi) | column_values.isna()
    out = [METHODS[m].label for m in table.loc[~kept, "method"]]
    return table[kept], out


def tuned_chart(table: pd.DataFrame, front: pd.DataFrame) -> alt.LayerChart:
    """Methods (mean test MSE against accuracy, 95% intervals as bars) over the tuned front.

    Pure: frames in, chart out. Each method has its own colour and shape, the legend sits below
    the plot in columns, and the width follows the container (phone widths included). The front
    is the tuned static sweep's Pareto points joined by a line; its other α points are faint.
    """
    points = table.assign(label=[METHODS[m].label for m in table["method"]])
    labels = list(points["label"])
    palette = alt.Scale(domain=labels, range=[METHOD_COLORS[x] for x in labels])
    color = alt.Color(
        "label:N",
        title="Method",
        scale=palette,
        legend=alt.Legend(orient="bottom", columns=2, symbolLimit=0, labelLimit=160),
    )
    shape = alt.Shape(
        "label:N",
        title="Method",
        scale=alt.Scale(domain=labels, range=[METHOD_SHAPES[x] for x in labels]),
    )
    xs = pd.concat([points["mse_mean"], front.loc[front["pareto"], "mse_mean"]])
    ys = pd.concat([points["accuracy_mean"], front.loc[front["pareto"], "accuracy_mean"]])
    pad_x = 0.08 * max(float(xs.max() - xs.min()), 1e-9)
    pad_y = 0.08 * max(float(ys.max() - ys.min()), 1e-9)
    x = alt.X(
        "mse_mean:Q",
        title="Test MSE (lower is better)",
        scale=alt.Scale(domain=[float(xs.min()) - pad_x, float(xs.max()) + pad_x], zero=False),
    )
    y = alt.Y(
        "accuracy_mean:Q",
        title="Test accuracy",
        axis=alt.Axis(format=".0%"),
        scale=alt.Scale(domain=[float(ys.min()) - pad_y, float(ys.max()) + pad_y], zero=False),
    )
    tooltip = [
        alt.Tooltip("label:N", title="Method"),
        alt.Tooltip("mse_mean:Q", title="MSE", format=".4g"),
        alt.Tooltip("accuracy_mean:Q", title="Accuracy", format=".1%"),
        alt.Tooltip("delta_m:Q", title="Δm (%)", format="+.2f"),
        alt.Tooltip("group:N", title="Group"),
    ]
    base = alt.Chart(points)
    # the bars take the marks' colour channel, legend included: Vega-Lite merges the layers'
    # legends into one, and a legend=None on one layer conflicts with the others' (a console
    # warning "Conflicting legend property")
    mse_bars = base.mark_rule(opacity=0.5).encode(x=x, x2="mse_hi:Q", y=y, color=color)
    mse_bars = mse_bars.transform_filter("isValid(datum.mse_lo)").encode(x=alt.X("mse_lo:Q"))
    acc_bars = (
        base.mark_rule(opacity=0.5)
        .transform_filter("isValid(datum.accuracy_lo)")
        .encode(
            x=x,
            y=alt.Y("accuracy_lo:Q"),
            y2="accuracy_hi:Q",
            color=color,
        )
    )
    marks = base.mark_point(filled=True, size=90, opacity=0.95).encode(
        x=x, y=y, color=color, shape=shape, tooltip=tooltip
    )
    pareto = front[front["pareto"]].sort_values("mse_mean")
    front_line = (
        alt.Chart(pareto)
        .mark_line(color="#333333", point=alt.OverlayMarkDef(color="#333333", size=30))
        .encode(
            x=x,
            y=y,
            order="mse_mean:Q",
            tooltip=[
                alt.Tooltip("alpha:Q", title="α", format=".1f"),
                alt.Tooltip("lr:Q", title="Learning rate", format=".3g"),
                alt.Tooltip("mse_mean:Q", title="MSE", format=".4g"),
                alt.Tooltip("accuracy_mean:Q", title="Accuracy", format=".1%"),
            ],
        )
    )
    return (
        alt.layer(front_line, mse_bars, acc_bars, marks)
        .properties(width="container", height=360)
        .interactive()
    )


def _tuned_section(cfg: mtl.RunConfig, methods: tuple[str, ...], seeds: int, clicked: bool) -> None:
    """The tuned mode: protocol, the run button's request, and the outcome's views."""
    factors = ", ".join(f"{f:.3g}" for f in LR_FACTORS)
    st.caption(
        f"**Tuned:** every method and every α of a static sweep get the same learning rates "
        f"(the sidebar's {cfg.optim.lr:g} times {factors}) and the same seeds. "
        f"{VALIDATION_FRACTION:.0%} of the training rows are held out for validation; each "
        "method's rate is the one with the best mean validation Δm, and it is then reported on "
        "the test rows. Everything trains as one batched population."
    )
    if clicked and methods:
        st.session_state[TUNED_REQUEST] = TunedRequest(cfg, methods, seeds)
    request: TunedRequest | None = st.session_state.get(TUNED_REQUEST)
    if request is None:
        st.info(
            "Press **Run the tuned face-off** to tune and compare the chosen methods.",
            icon=":material/sports_score:",
        )
        return
    if request.cfg != cfg:
        st.warning(
            "This tuned face-off was run for an earlier configuration (the sidebar has changed "
            "since). Press **Run the tuned face-off** to run it for the current one.",
            icon=":material/history:",
        )
    outcome = guarded(tuned_face_off, request)
    if outcome is None:
        return
    _tuned_views(outcome, request)


def _tuned_views(outcome: TunedFaceOff, request: TunedRequest) -> None:
    """The tuned face-off's table with intervals and groups, its sentences and its chart."""
    table = outcome.table
    st.dataframe(
        tuned_display(table),
        hide_index=True,
        height="content",
        column_config={
            "Method": st.column_config.TextColumn(help="Best mean test Δm first."),
            "Group": st.column_config.TextColumn(
                help="Tied with best: Welch's t-test over the seeds' Δm cannot tell it from the "
                "best method at the 5% level. Behind: it can."
            ),
            "Δm": st.column_config.NumberColumn(
                "Δm (%)",
                format="%+.2f",
                help="Mean over seeds of Δm on the test rows against the tuned single-task "
                "baselines, in percent. Positive is better.",
            ),
            "Δm 95% interval": st.column_config.TextColumn(
                help="95% t-interval of the mean over seeds (none with one seed)."
            ),
            "Test MSE": st.column_config.TextColumn(help="Mean [95% t-interval] over seeds."),
            "Test accuracy": st.column_config.TextColumn(help="Mean [95% t-interval] over seeds."),
            "Learning rate": st.column_config.NumberColumn(
                format="%.3g", help="The rate chosen on the validation rows."
            ),
            "Static front": st.column_config.TextColumn(
                help="Against the tuned static front, the intervals included: beyond it (no "
                "tuned static weighting is as good on both tasks), on it within noise, or "
                "behind it (one is better on both)."
            ),
            "Cost": st.column_config.NumberColumn(
                "Cost (× static)",
                format="%.2f",
                help="Estimated time per epoch relative to static weights, from the work "
                "budget's cost model (per-step costs measured by bench/bench_budget.py).",
            ),
            "Diverged": st.column_config.NumberColumn(
                help=f"Members (of {request.seeds}) at the chosen rate whose loss became "
                "infinite or NaN."
            ),
        },
        key="faceoff.tuned_table",
    )
    base = outcome.baselines
    st.caption(
        f"Baselines (each at its own tuned rate): regression alone test MSE "
        f"{base['mse']:#.4g}; classification alone test accuracy {base['accuracy']:.1%}. "
        f"Validation: {outcome.n_validation} rows; {len(outcome.seeds)} seed(s) per setting."
    )
    if outcome.verdict:
        st.markdown(f"**Against the tuned static front:** {outcome.verdict}")
    if outcome.hint:
        st.caption(f"**More seeds?** {outcome.hint}")
    edge = table[(table["lr"] == min(outcome.lrs)) | (table["lr"] == max(outcome.lrs))]
    if len(edge):
        st.caption(
            f"{len(edge)} of {len(table)} methods chose a rate at the grid's edge: their best "
            "rate may lie beyond it (change the sidebar's learning rate to move the grid)."
        )
    shown, out = zoom(table, outcome.front)
    st.altair_chart(tuned_chart(shown, outcome.front), width="stretch", key="faceoff.tuned_chart")
    note = f" Off the chart (far from the others): {', '.join(out)}." if out else ""
    st.caption(
        "Each method's mean test MSE and accuracy with 95% intervals as bars; dark line: the "
        "tuned static front (each α at its best rate). Up and left is better. Scroll to zoom, "
        f"drag to pan.{note}"
    )
    csv_download(
        "Tuned face-off table (CSV)",
        table,
        "tuned_face_off.csv",
        "faceoff.tuned_download",
        "One row per method: chosen rate, means and 95% intervals, Δm, group, front, cost.",
        width="content",
    )
