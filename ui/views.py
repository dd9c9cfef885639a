"""The main area: the headline (metrics beside the stacked loss chart) and the detail tabs.

Charts come from :mod:`mtl.charts` (pure builders); this module only lays them out, adds the
words that explain them, and holds the few view switches (``view.*`` keys), which change how a
result is drawn, never the result itself. The tabs run lazily: only the open tab's content is
built on a rerun, which keeps a cache hit cheap.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

import mtl
from mtl.data import DATASETS
from mtl.weighting import METHODS
from ui import compare_views, exports, inert, pins
from ui.charting import show as _show
from ui.data_view import data_view
from ui.keys import cache_key
from ui.sidebar import Problem, use_corrected_data
from ui.state import CSV

TABS: tuple[str, ...] = (
    "Losses",
    "Metrics",
    "Weights",
    "Gradient conflict",
    "Data",
    "Method",
    "Weight sweep",
    "Method face-off",
    "Pinned runs",
    "Share & export",
)
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
    """Final metrics beside the stacked component chart; returns the metrics' column.

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
    left, right = st.columns([2, 5], gap="large")
    with left:
        _metrics(result, summary, previous, has_test)
    with right:
        _components(result, has_test)
    return left


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
    curves = result.metrics[result.metrics["member"] == 0]
    for split in splits:
        mse_col, acc_col = st.columns(2)
        name = split.capitalize()
        before_mse = None if previous is None else float(previous[f"{split}_mse"])
        before_acc = None if previous is None else float(previous[f"{split}_accuracy"])
        mse, acc = float(summary[f"{split}_mse"]), float(summary[f"{split}_accuracy"])
        spark = curves[curves["split"] == split]
        mse_col.metric(
            f"{name} MSE",
            _fmt_mse(mse),
            delta=_delta(mse, before_mse, percent=False),
            delta_color="inverse",
            chart_data=spark[spark["metric"] == "mse"]["value"].tolist(),
            help=f"Mean squared error of the regression head on the {split} rows after the last "
            "epoch (whatever the regression loss). Lower is better.",
        )
        acc_col.metric(
            f"{name} accuracy",
            _fmt_acc(acc),
            delta=_delta(acc, before_acc, percent=True),
            chart_data=spark[spark["metric"] == "accuracy"]["value"].tolist(),
            help=f"Share of {split} rows the classification head labels correctly after the "
            "last epoch.",
        )
    if previous is not None:
        st.caption("Arrows: the change from the previous run (green is better).")
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


def _data_label(cfg: mtl.RunConfig) -> str:
    if cfg.data.name == CSV:
        return "uploaded CSV"
    return DATASETS[cfg.data.name].label


def _components(result: mtl.Result, has_test: bool) -> None:
    mode_col, split_col, log_col = st.columns([3, 2, 2], vertical_alignment="bottom")
    with mode_col:
        mode = st.segmented_control(
            "Components",
            list(MODE_LABELS),
            format_func=MODE_LABELS.__getitem__,
            default="weighted",
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
    """The detail tabs; only the open one is built (``on_change="rerun"`` makes them lazy)."""
    tabs = st.tabs(list(TABS), key="view.tab", on_change="rerun")
    views = (
        _losses,
        _metric_curves,
        _weights,
        _conflict,
        _data,
        _method,
        compare_views.sweep_tab,
        compare_views.face_off_tab,
        pins.pinned_tab,
        exports.share_tab,
    )
    for tab, view in zip(tabs, views, strict=True):
        if tab.open is False:
            continue
        with tab:
            view(result)


def _losses(result: mtl.Result) -> None:
    _show("losses_chart", result.history, cache_key(result.config))
    st.caption(
        "Each component's raw (unweighted) loss, training rows solid, test rows dashed; every "
        "panel has its own scale. A test curve that turns up while its training curve keeps "
        "falling is overfitting."
    )


def _metric_curves(result: mtl.Result) -> None:
    _show("metrics_chart", result.metrics, cache_key(result.config))
    st.caption(
        "MSE, MAE and R² of the regression head and accuracy of the classifier after every "
        "epoch (epoch 0 is the untrained model); independent y scales."
    )


def _weights(result: mtl.Result) -> None:
    cls = METHODS[result.config.weighting.method]
    _show("weights_chart", result.history, cache_key(result.config))
    history = result.history
    last = history[(history["split"] == "train") & (history["epoch"] == history["epoch"].max())]
    final = ", ".join(f"{row.component} {row.weight:.3g}" for row in last.itertuples())
    if cls.name in ("static", "equal_sum", "equal_mean"):
        text = (
            f"{cls.label}: the weights stay where they were set ({final}); equal weights draw "
            "one line over the other."
        )
    else:
        text = (
            f"The weights {cls.label} applied in each epoch (the mean over the epoch's steps); "
            f"at the end: {final}."
        )
        if cls.combines == "gradients":
            text += (
                " A gradient-based method weights the task gradients on the shared layers, so "
                "these are the coefficients of that combination."
            )
    if result.config.loss.l2 > 0:
        text += " The regularisation term keeps its fixed coefficient."
    st.caption(text)


def _conflict(result: mtl.Result) -> None:
    diagnostics = result.diagnostics[result.diagnostics["member"] == 0]
    cosine = diagnostics[diagnostics["diagnostic"] == "cosine"]["value"].dropna()
    ratio = diagnostics[diagnostics["diagnostic"] == "norm_ratio"]["value"].dropna()
    left, right = st.columns(2)
    with left:
        _show("cosine_chart", result.diagnostics, cache_key(result.config))
        if len(cosine):
            st.caption(
                f"Cosine between the two tasks' gradients on the shared parameters. Below zero "
                f"(shaded) a step that helps one task hurts the other: here in "
                f"{(cosine < 0).mean():.0%} of the epochs."
            )
    with right:
        _show("norm_ratio_chart", result.diagnostics, cache_key(result.config))
        if len(ratio):
            st.caption(
                f"How much larger the regression gradient is than the classification one (log "
                f"axis; 1 is balance). Median {ratio.median():.3g}: "
                + (
                    "the regression loss dominates the shared update unless its weight is small."
                    if ratio.median() > 1
                    else "the classification loss dominates the shared update."
                )
            )


def _data(result: mtl.Result) -> None:
    view = data_view(result.config.data)
    key = cache_key(result.config)
    _show(
        "data_chart",
        view.frame,
        key,
        x=view.x,
        y=view.y,
        color="class",
        split="split",
        titles=view.titles,
    )
    st.caption(view.caption)  # names in it are code spans (ui.data_view builds it with inert.code)
    if view.extras is not None:
        st.markdown("**The notebook's mismatch.**")
        used, unused = st.columns(2)
        with used:
            _show(
                "class_strip_chart",
                view.extras[view.extras["source"] == "inputs used"],
                key,
                x="value",
                title="The inputs the classifier sees (regression_data)",
            )
        with unused:
            _show(
                "class_strip_chart",
                view.extras[view.extras["source"] == "classification_data"],
                key,
                x="value",
                title="The inputs the labels were made for (classification_data, unused)",
            )
        st.caption(
            "Left: the two classes overlap completely along the input the model sees, so 50% is "
            "all it can get. Right: along `classification_data` they separate cleanly; the "
            "notebook generates it and never uses it."
        )
    with st.expander("About this dataset"):
        if result.config.data.name == CSV:  # the file's name, columns and classes: plain text
            st.markdown(inert.text(view.description))
            st.caption(inert.text(view.source))
        else:  # a bundled dataset's own Markdown
            st.markdown(view.description)
            st.caption(view.source)


def _method(result: mtl.Result) -> None:
    weighting = result.config.weighting
    cls = METHODS[weighting.method]
    st.subheader(cls.label)
    formula = getattr(cls, "formula", "")
    if formula:
        st.latex(formula)
    explanation = getattr(cls, "explanation", "") or (cls.__doc__ or "").strip().split("\n\n")[0]
    if explanation:
        st.markdown(explanation)
    if cls.kind == "loss":
        reads = "Works from the **losses** alone (one backward pass per step)."
    elif cls.combines == "gradients":
        reads = (
            "Combines the per-task **gradients** on the shared parameters (one backward pass per "
            "task)."
        )
    else:
        reads = (
            "Reads the per-task **gradients** to set its weights, then applies them to the losses "
            "as a weighted sum does."
        )
    facts = [
        reads,
        "Uses the weights you set in the sidebar."
        if cls.uses_base_weights
        else "Ignores the static weights: it sets its own.",
    ]
    if cls.hparams:
        current = cls.resolve_params(dict(weighting.params))
        facts.append(
            "Hyper-parameters: "
            + ", ".join(f"{h.label} = {h.format(current[h.name])}" for h in cls.hparams)
            + "."
        )
    st.markdown("\n".join(f"- {fact}" for fact in facts))
    if cls.citation:
        st.caption(f"Source: {cls.citation}")
    st.divider()
    st.markdown("Whatever the method, the loss the optimizer sees is")
    st.latex(
        r"L = w_{\mathrm{reg}}\,L_{\mathrm{reg}} + w_{\mathrm{cls}}\,L_{\mathrm{cls}}"
        r" + \lambda \lVert \theta \rVert^2"
    )
    st.caption(
        "with the weights w in force at that step (drawn in the Weights tab) and λ the L2 "
        "coefficient. Gradient-based methods apply their weights to the task gradients on the "
        "shared layers instead."
    )
