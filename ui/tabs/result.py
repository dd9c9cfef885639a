"""The tabs about the run on screen: its losses, metrics, weights, gradient conflict, data, method.

Charts come from :mod:`mtl.charts` (through :mod:`ui.charting`); these functions lay them out and
add the words that explain them.
"""

from __future__ import annotations

import math

import streamlit as st

import mtl
from mtl import charts
from mtl.config import WeightingSpec
from mtl.snippets import snippet, unavailable
from mtl.weighting import METHODS
from ui import inert
from ui.charting import show as _show
from ui.charting import show_panels
from ui.data_view import data_view
from ui.keys import cache_key
from ui.state import CSV
from ui.tabs.geometry import geometry_view


def losses(result: mtl.Result) -> None:
    """Each component's raw loss over the epochs, train and test, one panel each.

    One chart per column: side by side on a wide screen, stacked on a phone.
    """
    key, history = cache_key(result.config), result.history
    present = set(history.loc[history["member"] == 0, "component"].astype(str))
    components = [c for c in charts.COMPONENTS if c in present] + sorted(
        present - set(charts.COMPONENTS)
    )
    show_panels(
        "loss_panel", history, key, over="component", values=components, per_row=len(components)
    )
    st.caption(
        "Each component's raw (unweighted) loss, training rows solid, test rows dashed; every "
        "panel has its own scale. A test curve that turns up while its training curve keeps "
        "falling is overfitting."
    )


def metric_curves(result: mtl.Result) -> None:
    """The regression and classification metrics after every epoch, two panels a row.

    One chart per column: side by side on a wide screen, stacked on a phone.
    """
    key, frame = cache_key(result.config), result.metrics
    present = set(frame.loc[frame["member"] == 0, "metric"].astype(str))
    names = [m for m in charts.METRIC_TITLES if m in present]
    show_panels("metric_panel", frame, key, over="metric", values=names)
    st.caption(
        "MSE, MAE and R² of the regression head and accuracy of the classifier after every "
        "epoch (epoch 0 is the untrained model); independent y scales."
    )


def weights(result: mtl.Result) -> None:
    """The weights the method applied over the epochs, and what they mean for it."""
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
        if cls.combines_representation:
            text += (
                f" {cls.label} has no task weights: it keeps or drops parts of the task gradients "
                "feature by feature, so each task shows 1."
            )
        elif cls.combines == "gradients":
            text += (
                " A gradient-based method weights the task gradients on the shared layers, so "
                "these are the coefficients of that combination."
            )
    if result.config.loss.l2 > 0:
        text += " The regularisation term keeps its fixed coefficient."
    st.caption(text)


def conflict(result: mtl.Result) -> None:
    """Gradient conflict: the cosine between the task gradients and their norm ratio."""
    diagnostics = result.diagnostics[result.diagnostics["member"] == 0]
    cosine = diagnostics[diagnostics["diagnostic"] == "cosine"]["value"].dropna()
    ratio = diagnostics[diagnostics["diagnostic"] == "norm_ratio"]["value"].dropna()
    weighted = diagnostics[diagnostics["diagnostic"] == "weighted_norm_ratio"]["value"].dropna()
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
            raw_col, weighted_col = st.columns(2)
            raw_col.metric(
                "Raw norm ratio (median)",
                f"{ratio.median():.3g}",
                help="|g_regression| / |g_classification| on the shared parameters, before the "
                "weights: how the two losses' scales compare.",
            )
            weighted_median = weighted.median() if len(weighted) else float("nan")
            weighted_col.metric(
                "Weighted norm ratio (median)",
                f"{weighted_median:.3g}",
                help="|w_regression g_regression| / |w_classification g_classification|, with "
                "the weights in force each epoch: what the optimiser's shared update is made of.",
            )
            st.caption(conflict_caption(ratio.median(), weighted_median))
    geometry_view(result)


def conflict_caption(raw: float, weighted: float) -> str:
    """What the two medians say; who dominates is read on the weighted gradients.

    The raw ratio compares the losses' own scales; the shared update is made of the weighted
    gradients, so only the weighted ratio says which task drives it (a dynamic method that cut
    regression's weight to 0.01 leaves its raw gradient large and its share small).
    """
    text = (
        f"The line: how much larger the regression gradient is than the classification one "
        f"before weighting (log axis; 1 is balance), median {raw:.3g}. "
    )
    if math.isnan(weighted):  # no weighted figures
        return text
    text += f"At the weights in force the ratio is {weighted:.3g} (median): "
    if weighted > 2:
        text += "the regression gradient dominates the shared update."
    elif weighted < 0.5:
        text += "the classification gradient dominates the shared update."
    else:
        text += "neither dominates the shared update (within a factor of 2)."
    return text


def data(result: mtl.Result) -> None:
    """The data: a scatter of the target against a feature, and the dataset's note."""
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


def method(result: mtl.Result) -> None:
    """The method on screen: its formula, what it reads, its hyper-parameters, its source."""
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
    elif cls.combines_representation:
        reads = (
            "Combines the per-task **gradients** on the shared layers' output, feature by "
            "feature, and back-propagates the result through the shared layers (one backward "
            "pass per task, and one more)."
        )
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
    own_loop_snippet(weighting)
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


def own_loop_snippet(weighting: WeightingSpec) -> None:
    """The method's update in plain PyTorch for one's own training loop, with a copy button."""
    st.markdown("**In your own training loop**")
    params = dict(weighting.params)
    reason = unavailable(weighting.method, params)
    if reason is not None:
        st.caption(reason)
        return
    st.caption(
        "This method's update in plain PyTorch (it needs only torch), with the settings "
        "above; copy it with the button at the code's top right."
    )
    source = snippet(weighting.method, params, weights=weighting.weights, scale=weighting.scale)
    st.code(source, language="python")
