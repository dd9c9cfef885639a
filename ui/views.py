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
from mtl.weighting import METHODS
from ui import inert
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
    """The detail tabs (:data:`ui.tabs.TABS`); only the open one is built.

    ``on_change="rerun"`` makes them lazy: a closed tab reports ``open is False`` and is skipped.
    """
    tabs = st.tabs(list(LABELS), key="view.tab", on_change="rerun")
    for tab, (_, view) in zip(tabs, TABS, strict=True):
        if tab.open is False:
            continue
        with tab:
            view(result)
