"""The main area: the headline (metrics beside the stacked loss chart) and the detail tabs.

Charts come from :mod:`mtl.charts` (pure builders); this module only lays them out, adds the
words that explain them, and holds the few view switches (``view.*`` keys), which change how a
result is drawn, never the result itself. The detail tabs live in :mod:`ui.tabs` (one list,
:data:`ui.tabs.TABS`, wires them) and run lazily: only the open tab's content is built on a
rerun, which keeps a cache hit cheap.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

import mtl
from mtl.data import DATASETS
from mtl.results import summary_split
from mtl.weighting import METHODS
from ui import inert, weights_control
from ui.charting import show as _show
from ui.keys import cache_key
from ui.sidebar import Problem, use_corrected_data
from ui.state import CSV
from ui.tabs import LABELS, TABS

MODE_LABELS: dict[str, str] = {"weighted": "Weighted (stacked)", "raw": "Raw"}


def header() -> None:
    """Title and the one-line introduction."""
    st.title("Loss weighting explorer")
    st.markdown(
        "One model learns a regression and a classification task at once, trained on a weighted "
        "sum of their losses. Change the weights, the method or the data in the sidebar and "
        "watch each loss component, the weights and the final scores respond."
    )


def problem(issue: Problem | None, waiting: str | None, has_result: bool) -> None:
    """Say why the current controls are not trained, and that the results shown are older.

    ``issue.title`` is the page's own Markdown; ``issue.message`` (the core's error, which quotes
    values a visitor chose: a link's, a CSV's column names, cells or file name) is plain text.
    """
    if issue is not None:
        st.error(f"**{issue.title}.** {inert.text(issue.message)}", icon=":material/error:")
    elif waiting is not None:
        st.info(waiting, icon=":material/upload_file:")
    if (issue is not None or waiting is not None) and has_result:
        st.caption(
            "The results below are from the previous valid configuration; they update as soon "
            "as the controls describe a run that can be trained."
        )


def notebook_note(cfg: mtl.RunConfig) -> None:
    """For the notebook's data: why accuracy sits at 50%, and a button to fix the data."""
    if cfg.data.name != "notebook":
        return
    with st.container(border=False):
        st.info(
            "**Why is the accuracy 50%?** The notebook trains its classifier on "
            "`regression_data` but with labels made for another set of inputs, "
            "`classification_data`, which it generates and never uses. The labels are unrelated "
            "to the inputs the model sees, so no weighting can beat chance. This preset keeps "
            "that quirk to reproduce the notebook's numbers exactly (see the Data tab).",
            icon=":material/info:",
        )
        st.button(
            "Use the corrected data",
            key="action.corrected_data",
            on_click=use_corrected_data,
            args=(cfg,),
            help="Switch to the 'Linear toy, done right' data (the notebook's line, with each "
            "row's own label) and keep every other control.",
            icon=":material/build:",
        )


def headline(result: mtl.Result, previous: pd.Series | None) -> DeltaGenerator:
    """Final metrics beside the stacked component chart and its weight control.

    The weight control (:mod:`ui.weights_control`) mirrors the sidebar's, both ways. Returns the
    metrics' column.

    The caller adds the pin controls under the metrics (see :func:`ui.pins.controls`).
    """
    summary = result.summary.iloc[0]
    has_test = bool((result.history["split"] == "test").any())
    if bool(summary["diverged"]):
        st.warning(
            f"The run diverged at epoch {summary['diverged_epoch']}: a loss became infinite or "
            "NaN. Lower the learning rate, or the weights (they scale the step too).",
            icon=":material/warning:",
        )
    left, right = st.columns([3, 5], gap="medium")  # room for "0.1154" beside "76.6%"
    with left:
        _metrics(result, summary, previous, has_test)
    with right:
        weights_control.render()  # the sidebar's alpha (or weights), beside the chart
        _components(result, has_test)
        st.caption(weights_in_force(result))
    scale = loss_scale_note(result)
    if scale is not None:
        st.info(scale, icon=":material/balance:")
    if result.config.optim.kind == "adam":
        st.info(ADAM_NOTE, icon=":material/info:")
    return left


ADAM_NOTE = (
    "**Adam hardly sees the weights.** Adam divides each parameter's step by the running RMS of "
    "its gradient, so multiplying both weights by the same factor c changes almost nothing: only "
    "their ratio matters, and even that weakly (it shifts the balance only where the two tasks "
    "share a parameter's gradient). With plain SGD the weights scale the step itself; the "
    "'Trade-off' preset shows alpha trading one task for the other."
)
"""Shown under the headline when the optimizer is Adam."""

SCALE_GAP = 10.0
"""Weighted losses or weighted shared gradients further apart than this get the scale callout."""


def _final_weights(result: mtl.Result) -> pd.DataFrame:
    """Member 0's weight of each task per epoch on the training split (rows: epochs)."""
    history = result.history
    rows = history[
        (history["member"] == 0)
        & (history["split"] == "train")
        & (history["component"].isin(("regression", "classification")))
    ]
    return rows.pivot(index="epoch", columns="component", values="weight")


def weights_in_force(result: mtl.Result) -> str:
    """The weights the run used, in words: fixed values, or a dynamic method's final and range."""
    weights = _final_weights(result)
    if weights.empty:
        return "No weights logged (the run diverged before its first epoch)."
    cls = METHODS[result.config.weighting.method]
    final = weights.iloc[-1]
    if cls.name in ("static", "equal_sum", "equal_mean"):
        return (
            f"Weights in force: regression {final['regression']:.3g}, classification "
            f"{final['classification']:.3g} (fixed)."
        )
    spans = ", ".join(
        f"{task} {weights[task].min():.3g} to {weights[task].max():.3g}"
        for task in ("regression", "classification")
    )
    return (
        f"Weights in force ({cls.label}, changing every step): at the end regression "
        f"{final['regression']:.3g}, classification {final['classification']:.3g}; over the "
        f"epochs {spans}."
    )


def loss_scale_figures(result: mtl.Result) -> dict[str, float] | None:
    """Member 0's loss and gradient scales at epoch 0 (before training), from the core's logs.

    ``loss_ratio`` (raw regression loss / classification loss), ``weighted_ratio`` (the same
    for the weighted losses), ``grad_ratio`` (weighted shared-gradient norms, regression over
    classification) and ``regression_share`` (regression's weighted gradient norm over the sum
    of both: its share of the shared update). None when epoch 0 is not logged or a figure is
    not finite and positive.
    """
    history, diagnostics = result.history, result.diagnostics
    start = history[
        (history["member"] == 0) & (history["epoch"] == 0) & (history["split"] == "train")
    ].set_index("component")
    grads = diagnostics[(diagnostics["member"] == 0) & (diagnostics["epoch"] == 0)].set_index(
        "diagnostic"
    )["value"]
    try:
        pairs = [
            (float(start["loss"]["regression"]), float(start["loss"]["classification"])),
            (float(start["weighted"]["regression"]), float(start["weighted"]["classification"])),
            (
                float(grads["weighted_grad_norm_regression"]),
                float(grads["weighted_grad_norm_classification"]),
            ),
        ]
    except KeyError:
        return None
    if not all(math.isfinite(v) and v > 0 for pair in pairs for v in pair):
        return None  # a zero weight, a diverged start: nothing to compare
    (loss_r, loss_c), (weighted_r, weighted_c), (g_reg, g_cls) = pairs
    return {
        "loss_ratio": loss_r / loss_c,
        "weighted_ratio": weighted_r / weighted_c,
        "grad_ratio": g_reg / g_cls,
        "regression_share": g_reg / (g_reg + g_cls),
    }


def factor_text(factor: float) -> str:
    """A factor >= 1 as the callout writes it: 3 significant digits, whole from 1,000."""
    return f"{factor:,.0f}" if factor >= 1000 else f"{factor:.3g}"


def _times(ratio: float) -> tuple[str, str, str]:
    """(larger task, smaller task, factor) for a regression / classification ratio."""
    if ratio >= 1:
        return "regression", "classification", factor_text(ratio)
    return "classification", "regression", factor_text(1 / ratio)


def loss_scale_note(result: mtl.Result) -> str | None:
    """The callout when the weighted losses or weighted shared gradients differ > 10x at the start.

    "regression's loss is N x classification's; at these weights regression gets X% of the
    shared update", X being regression's weighted gradient norm over the sum of both norms on
    the shared layers (epoch 0, training rows).
    """
    figures = loss_scale_figures(result)
    if figures is None:
        return None
    gaps = (figures["weighted_ratio"], figures["grad_ratio"])
    if all(1 / SCALE_GAP <= g <= SCALE_GAP for g in gaps):
        return None
    big, small, factor = _times(figures["loss_ratio"])
    w_big, w_small, w_factor = _times(figures["weighted_ratio"])
    return (
        f"**Loss scales differ.** At the start, {big}'s loss is {factor}× {small}'s "
        f"(weighted, {w_big}'s is {w_factor}× {w_small}'s); at these weights regression gets "
        f"{figures['regression_share']:.1%} of the shared update (its weighted gradient's share "
        "of the two weighted gradient norms on the shared layers). The weights act on these "
        "scales: equal weights do not give the tasks equal shares."
    )


def _fmt_mse(value: float) -> str | None:
    return None if not math.isfinite(value) else f"{value:#.4g}"


def _fmt_acc(value: float) -> str | None:
    return None if not math.isfinite(value) else f"{value:.1%}"


def _delta(value: float, before: float | None, percent: bool) -> str | None:
    """``+0.012`` or ``+1.5 pp`` against the previous run, or None when there is none."""
    if before is None or not (math.isfinite(value) and math.isfinite(before)):
        return None
    change = value - before
    if abs(change) < 1e-12 * max(1.0, abs(before)):
        return None
    return f"{change * 100:+.1f} pp" if percent else f"{change:+.3g}"


def _metrics(
    result: mtl.Result, summary: pd.Series, previous: pd.Series | None, has_test: bool
) -> None:
    splits = ("test", "train") if has_test else ("train",)
    for split in splits:
        mse_col, acc_col = st.columns(2)
        name = split.capitalize()
        before_mse = None if previous is None else float(previous[f"{split}_mse"])
        before_acc = None if previous is None else float(previous[f"{split}_accuracy"])
        mse, acc = float(summary[f"{split}_mse"]), float(summary[f"{split}_accuracy"])
        mse_col.metric(
            f"{name} MSE",
            _fmt_mse(mse),
            delta=_delta(mse, before_mse, percent=False),
            delta_color="inverse",
            help=f"Mean squared error of the regression head on the {split} rows after the last "
            "epoch (whatever the regression loss). Lower is better.",
        )
        acc_col.metric(
            f"{name} accuracy",
            _fmt_acc(acc),
            delta=_delta(acc, before_acc, percent=True),
            help=f"Share of {split} rows the classification head labels correctly after the "
            "last epoch.",
        )
        st.caption(_quality(result, summary, split))
    if previous is not None:
        st.caption("Arrows: the change from the previous run (green is better).")
    for text in no_better_than_reference(result):
        st.warning(text, icon=":material/warning:")
    if not has_test:
        st.caption(
            "Evaluated on the training data, as the notebook does (test fraction 0): these "
            "figures say how well the model fits, not how well it generalises."
        )
    cfg = result.config
    st.caption(
        f"{cfg.epochs} epochs · {METHODS[cfg.weighting.method].label} · "
        f"{_data_label(cfg)} · trained in {result.seconds:.2f} s"
    )


def _quality(result: mtl.Result, summary: pd.Series, split: str) -> str:
    """R² of the regression head and the two reference scores on ``split``, one line."""
    r2 = float(summary[f"{split}_r2"])
    ref = result.reference
    parts = [f"R² {r2:.3f}" if math.isfinite(r2) else "R² n/a"]
    if ref:
        parts.append(
            f"predicting the training mean: MSE {ref[f'{split}_mse']:.4g}; the majority "
            f"class: {ref[f'{split}_accuracy']:.1%}"
        )
    return f"{split.capitalize()}: " + " · ".join(parts)


def no_better_than_reference(result: mtl.Result) -> list[str]:
    """A warning per task whose headline figure is no better than predicting without inputs.

    Read on the summary's split (test, or train without one), member 0; a diverged run has no
    figures and gets none.
    """
    summary = result.summary.iloc[0]
    ref = result.reference
    split = summary_split(result.summary)
    mse, acc = float(summary[f"{split}_mse"]), float(summary[f"{split}_accuracy"])
    warnings: list[str] = []
    if not ref:
        return warnings
    base_mse, base_acc = ref[f"{split}_mse"], ref[f"{split}_accuracy"]
    if math.isfinite(mse) and math.isfinite(base_mse) and mse >= base_mse:
        warnings.append(
            f"**The regression is no better than predicting the training mean**: {split} MSE "
            f"{mse:.4g} against {base_mse:.4g}. Its weight may be too small, or training too "
            "short."
        )
    if math.isfinite(acc) and math.isfinite(base_acc) and acc <= base_acc:
        warnings.append(
            f"**The classifier is no better than always predicting the most frequent class**: "
            f"{split} accuracy {acc:.1%} against {base_acc:.1%}. Its weight may be too small, or "
            "training too short."
        )
    return warnings


def _data_label(cfg: mtl.RunConfig) -> str:
    if cfg.data.name == CSV:
        return "uploaded CSV"
    return DATASETS[cfg.data.name].label


def _components(result: mtl.Result, has_test: bool) -> None:
    mode_col, split_col, log_col = st.columns([3, 2, 2], vertical_alignment="bottom")
    # the value lives in the session state (no default=), so a callback may set it (ui.learn)
    st.session_state.setdefault("view.mode", "weighted")
    with mode_col:
        mode = st.segmented_control(
            "Components",
            list(MODE_LABELS),
            format_func=MODE_LABELS.__getitem__,
            required=True,
            key="view.mode",
            help="Weighted: weight × loss, stacked, so the top edge is the total loss the "
            "optimizer minimises. Raw: each loss before weighting.",
        )
    with split_col:
        if has_test:
            split = st.segmented_control(
                "Split",
                ["train", "test"],
                format_func=str.capitalize,
                default="train",
                required=True,
                key="view.split",
                help="Losses on the training rows (what is optimised) or the held-out test rows.",
            )
        else:
            split = "train"
            st.caption("Train split only (no test rows).")
    with log_col:
        log = st.toggle(
            "Log scale",
            key="view.log",
            help="Lines on a logarithmic y axis: shows the late, small changes a linear axis "
            "flattens.",
        )
    _show(
        "components_chart",
        result.history,
        cache_key(result.config),
        canvas=True,  # redrawn on every weight change: one paint, no DOM per mark
        split=split,
        mode=mode,
        log=log,
    )
    if mode == "raw":
        st.caption(
            "Raw losses are on different scales and do not add up to anything (the optimizer "
            "sees only the weighted sum), so they are drawn as separate lines, not stacked."
        )
    elif log:
        st.caption(
            "Weighted components as lines: a stack cannot be read on a log axis. Click a legend "
            "entry to highlight a component; hover for exact values."
        )
    else:
        st.caption(
            "The weighted components stack to the total loss the optimizer minimises. Click a "
            "legend entry to highlight a component; hover for the epoch, raw loss, weight and "
            "weighted loss."
        )


def details(result: mtl.Result) -> None:
    """The detail tabs (:data:`ui.tabs.TABS`); only the open one is built.

    ``on_change="rerun"`` makes them lazy: a closed tab reports ``open is False`` and is skipped.
    """
    tabs = st.tabs(list(LABELS), key="view.tab", on_change="rerun")
    for tab, (_, view) in zip(tabs, TABS, strict=True):
        if tab.open is False:
            continue
        with tab:
            view(result)
