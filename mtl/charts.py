"""Pure Altair builders for the page: a tidy DataFrame in, an Altair chart out.

Every builder copies what it needs from its input and never modifies it, imports neither Streamlit
nor torch, and returns a chart whose ``to_dict()`` is the whole specification, so the charts can be
tested without a browser and reused in a notebook.

One palette (:data:`PALETTE`) colours the loss components in every chart, so "regression" is the
same colour in the stacked chart, the loss curves and the weights. Splits are told apart by the
line's dash (:data:`SPLIT_DASH`: train solid, test dashed) wherever both appear.

The frames follow :mod:`mtl.results`: ``history`` has ``member, epoch, split, component, loss,
weight, weighted``; ``metrics`` has ``member, epoch, split, metric, value``; ``diagnostics`` has
``member, epoch, diagnostic, value``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import altair as alt
import numpy as np
import pandas as pd

COMPONENTS: tuple[str, ...] = ("regression", "classification", "regularization")
"""The loss components in stacking order (bottom to top)."""

PALETTE: dict[str, str] = {
    "regression": "#0072B2",
    "classification": "#E69F00",
    "regularization": "#009E73",
}
"""Component -> colour (Okabe-Ito: distinguishable with the common colour-vision deficiencies)."""

SPLIT_DASH: dict[str, list[int]] = {"train": [1, 0], "test": [6, 3]}
"""Split -> stroke dash: train solid, test dashed."""

SPLIT_COLORS: dict[str, str] = {"train": "#374151", "test": "#9CA3AF"}
"""Split -> colour, for charts where the colour is not a component (the metrics)."""

METRIC_TITLES: dict[str, str] = {
    "mse": "MSE (lower is better)",
    "mae": "MAE (lower is better)",
    "r2": "R² (higher is better)",
    "accuracy": "Accuracy (higher is better)",
}
"""Metric -> facet title."""

CLASS_COLORS: tuple[str, ...] = (
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#332288",
    "#44AA99",
    "#882255",
    "#999933",
    "#88CCEE",
)
"""Colours of the classes in the data views, cycled (kept apart from the component colours)."""

CONFLICT_COLOR = "#D55E00"
"""Shading for negative cosine (conflicting gradients)."""

ComponentMode = Literal["weighted", "raw"]


def _highlight(select: alt.Parameter, on: float, off: float) -> alt.OpacityValue:
    """Opacity ``on`` for the selected components (all when none is selected), ``off`` otherwise.

    Built with ``alt.when`` and wrapped in its typed channel: Altair converts a plain-dict
    channel through ``from_dict``, which rebuilds a schema lookup table on every call (about
    7 ms each, the largest cost of building a chart).
    """
    return alt.OpacityValue(**alt.when(select).then(alt.value(on)).otherwise(alt.value(off)))


def _epoch_axis(frame: pd.DataFrame) -> alt.X:
    """The x channel: epochs from 0 to the last one, without Vega's rounding past the end."""
    last = int(frame["epoch"].max()) if len(frame) else 1
    return alt.X("epoch:Q", title="epoch", scale=alt.Scale(domain=[0, max(last, 1)], nice=False))


def _component_scale(components: list[str]) -> alt.Scale:
    """The colour scale over the components present, with their palette colours."""
    return alt.Scale(domain=components, range=[PALETTE.get(c, "#888888") for c in components])


def _present(frame: pd.DataFrame, column: str, order: tuple[str, ...]) -> list[str]:
    """Values of ``column`` present in ``frame``: those in ``order`` first, in that order."""
    seen = {str(v) for v in frame[column].unique()}
    return [c for c in order if c in seen] + sorted(seen - set(order))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with categorical columns as plain strings (stable Arrow and JSON serialisation)."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.CategoricalDtype):
            out[name] = out[name].astype(str)
    return out


def components_chart(
    history: pd.DataFrame,
    *,
    split: str = "train",
    mode: ComponentMode = "weighted",
    log: bool = False,
    member: int = 0,
    height: int = 400,
) -> alt.LayerChart:
    """The loss components of one member and split over epochs.

    ``mode="weighted"`` on a linear axis stacks ``weighted`` (``weight * loss``) by component, so
    the top edge is the total loss the optimizer minimises. ``mode="raw"`` draws each component's
    unweighted ``loss`` as a line: raw losses live on different scales and add up to nothing, so
    stacking them would mislead. ``log=True`` draws lines on a logarithmic y axis (a stack on a log
    axis is not readable); non-positive values, which a log axis cannot show, are left out.

    The legend is clickable (a point selection bound to it): unselected components fade. Every
    point has a tooltip with the epoch, component, raw loss, weight, weighted loss and total.
    """
    frame = _plain(history[(history["member"] == member) & (history["split"] == split)])
    frame = frame[["epoch", "split", "component", "loss", "weight", "weighted"]]
    frame["total"] = frame.groupby("epoch")["weighted"].transform("sum")
    components = _present(frame, "component", COMPONENTS)
    frame["stack_order"] = frame["component"].map({c: i for i, c in enumerate(components)})
    field = "weighted" if mode == "weighted" else "loss"
    if log:
        frame = frame[np.isfinite(frame[field]) & (frame[field] > 0)]
    stacked = mode == "weighted" and not log

    select = alt.selection_point(fields=["component"], bind="legend")
    color = alt.Color(
        "component:N",
        scale=_component_scale(components),
        sort=components,
        legend=alt.Legend(title="Component (click to highlight)", orient="top"),
    )
    y_title = {"weighted": "weighted loss", "raw": "raw loss"}[mode]
    y = alt.Y(
        f"{field}:Q",
        title=y_title,
        stack="zero" if stacked else None,
        scale=alt.Scale(type="log") if log else alt.Scale(zero=stacked),
    )
    x = _epoch_axis(frame)
    tooltip = [
        alt.Tooltip("epoch:Q", title="epoch"),
        alt.Tooltip("component:N", title="component"),
        alt.Tooltip("loss:Q", title="loss (raw)", format=".4g"),
        alt.Tooltip("weight:Q", title="weight", format=".4g"),
        alt.Tooltip("weighted:Q", title="weighted", format=".4g"),
        alt.Tooltip("total:Q", title="total loss", format=".4g"),
    ]
    order = alt.Order("stack_order:Q", sort="ascending")
    base = alt.Chart()  # data goes on the layer: Altair then need not compare the layers' data
    if stacked:
        marks = base.mark_area(line=True, interpolate="monotone").encode(
            x=x,
            y=y,
            color=color,
            order=order,
            opacity=_highlight(select, 0.85, 0.12),
        )
    else:
        marks = base.mark_line(strokeWidth=2.5).encode(
            x=x,
            y=y,
            color=color,
            order=order,
            opacity=_highlight(select, 1.0, 0.15),
        )
    marks = marks.add_params(select)
    points = base.mark_circle(size=50).encode(
        x=x,
        y=y,
        color=color,  # the same channel as the marks: a legend=None here conflicts with theirs
        order=order,
        opacity=alt.OpacityValue(0),
        tooltip=tooltip,
    )
    return alt.LayerChart(layer=[marks, points], data=frame).properties(height=height)


def losses_chart(
    history: pd.DataFrame, *, member: int = 0, height: int = 220, width: int = 900
) -> alt.FacetChart:
    """Each component's raw loss over epochs, one panel per component, train solid, test dashed.

    Panels have independent y scales: the components' losses are on different scales. ``width``
    is shared by the panels (a facet cannot stretch to its container).
    """
    frame = _plain(history[history["member"] == member])
    frame = frame[["epoch", "split", "component", "loss", "weight"]]
    components = _present(frame, "component", COMPONENTS)
    splits = _present(frame, "split", ("train", "test"))
    line: alt.Chart = (
        alt.Chart(frame)
        .mark_line(strokeWidth=2)
        .encode(
            x=_epoch_axis(frame),
            y=alt.Y("loss:Q", title="raw loss", scale=alt.Scale(zero=False)),
            color=alt.Color("component:N", scale=_component_scale(components), legend=None),
            strokeDash=alt.StrokeDash(
                "split:N",
                scale=alt.Scale(domain=splits, range=[SPLIT_DASH[s] for s in splits]),
                legend=alt.Legend(title="split", orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("epoch:Q"),
                alt.Tooltip("component:N"),
                alt.Tooltip("split:N"),
                alt.Tooltip("loss:Q", title="loss (raw)", format=".4g"),
            ],
        )
        .properties(height=height, width=_panel_width(width, len(components)))
    )
    # altair's generated resolve_scale is annotated to return Any
    chart: alt.FacetChart = line.facet(
        column=alt.Column("component:N", sort=components, title=None),
    ).resolve_scale(y="independent")
    return chart


def _split_dash(splits: list[str], legend: alt.Legend | None) -> alt.StrokeDash:
    """The dash channel over ``splits`` (train solid, test dashed)."""
    return alt.StrokeDash(
        "split:N",
        scale=alt.Scale(domain=splits, range=[SPLIT_DASH[s] for s in splits]),
        legend=legend,
    )


FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
"""Autosize of a chart whose legend sits below it (the panels, the trade-off charts): its width
fits the container, ``height`` is the plot's own height.

(Streamlit's theme fits both, so the title, axis and legend would squeeze the plot; a legend at
the side would take the width a phone does not have.)"""


def loss_panel(
    history: pd.DataFrame, *, component: str, member: int = 0, height: int = 220
) -> alt.Chart:
    """One component's raw loss over epochs, train solid, test dashed: one panel of the losses.

    A single view (unlike :func:`losses_chart`'s facet), so it stretches to its container: the
    page puts the panels in columns, which sit side by side on a wide screen and stack on a
    phone. The split's legend is below the plot, so it never widens the panel.
    """
    frame = _plain(history[(history["member"] == member) & (history["component"] == component)])
    frame = frame[["epoch", "split", "loss"]]
    splits = _present(frame, "split", ("train", "test"))
    chart: alt.Chart = (
        alt.Chart(frame, title=component)
        .mark_line(strokeWidth=2, color=PALETTE.get(component, "#888888"))
        .encode(
            x=_epoch_axis(frame),
            y=alt.Y("loss:Q", title="raw loss", scale=alt.Scale(zero=False)),
            strokeDash=_split_dash(splits, alt.Legend(title="split", orient="bottom")),
            tooltip=[
                alt.Tooltip("epoch:Q"),
                alt.Tooltip("split:N"),
                alt.Tooltip("loss:Q", title=f"{component} loss (raw)", format=".4g"),
            ],
        )
        .properties(height=height, autosize=FIT_WIDTH)
    )
    return chart


def metric_panel(
    metrics: pd.DataFrame, *, metric: str, member: int = 0, height: int = 180
) -> alt.Chart:
    """One metric over epochs, train vs test: one panel of the metrics (see :func:`loss_panel`).

    Colour and dash both tell the splits apart and share one legend, below the plot.
    """
    frame = _plain(metrics[(metrics["member"] == member) & (metrics["metric"] == metric)])
    frame = frame[np.isfinite(frame["value"])][["epoch", "split", "value"]]
    splits = _present(frame, "split", ("train", "test"))
    legend = alt.Legend(title="split", orient="bottom")
    chart: alt.Chart = (
        alt.Chart(frame, title=METRIC_TITLES.get(metric, metric))
        .mark_line(strokeWidth=2)
        .encode(
            x=_epoch_axis(frame),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "split:N",
                scale=alt.Scale(domain=splits, range=[SPLIT_COLORS[s] for s in splits]),
                legend=legend,
            ),
            strokeDash=_split_dash(splits, legend),
            tooltip=[
                alt.Tooltip("epoch:Q"),
                alt.Tooltip("split:N"),
                alt.Tooltip("value:Q", title=metric, format=".4g"),
            ],
        )
        .properties(height=height, autosize=FIT_WIDTH)
    )
    return chart


def _panel_width(total: int, panels: int) -> int:
    """Width of each of ``panels`` side-by-side panels filling about ``total`` pixels."""
    return max(160, total // max(1, panels) - 70)


def metrics_chart(
    metrics: pd.DataFrame, *, member: int = 0, height: int = 180, width: int = 900
) -> alt.FacetChart:
    """MSE, MAE, R² and accuracy over epochs, one panel each (independent y), train vs test."""
    frame = _plain(metrics[metrics["member"] == member])
    frame = frame[np.isfinite(frame["value"])][["epoch", "split", "metric", "value"]]
    frame["title"] = frame["metric"].map(METRIC_TITLES).fillna(frame["metric"])
    titles = [METRIC_TITLES[m] for m in METRIC_TITLES if m in set(frame["metric"])]
    splits = _present(frame, "split", ("train", "test"))
    line: alt.Chart = (
        alt.Chart(frame)
        .mark_line(strokeWidth=2)
        .encode(
            x=_epoch_axis(frame),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            # colour and dash encode the split with the same legend: Vega-Lite merges them into
            # one (a legend=None on either one conflicts with the other's legend)
            color=alt.Color(
                "split:N",
                scale=alt.Scale(domain=splits, range=[SPLIT_COLORS[s] for s in splits]),
                legend=alt.Legend(title="split", orient="bottom"),
            ),
            strokeDash=alt.StrokeDash(
                "split:N",
                scale=alt.Scale(domain=splits, range=[SPLIT_DASH[s] for s in splits]),
                legend=alt.Legend(title="split", orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("epoch:Q"),
                alt.Tooltip("metric:N"),
                alt.Tooltip("split:N"),
                alt.Tooltip("value:Q", format=".4g"),
            ],
        )
        .properties(height=height, width=_panel_width(width, 2))
    )
    facets = line.facet(facet=alt.Facet("title:N", sort=titles, title=None), columns=2)
    chart: alt.FacetChart = facets.resolve_scale(y="independent")  # altair: Any
    return chart


def weights_chart(history: pd.DataFrame, *, member: int = 0, height: int = 320) -> alt.LayerChart:
    """The weight in force for each component over epochs (flat for static weights).

    Weights do not depend on the split, so the training split's rows are used.
    """
    frame = _plain(history[(history["member"] == member)])
    frame = frame[frame["split"] == "train"][["epoch", "component", "weight"]]
    components = _present(frame, "component", COMPONENTS)
    select = alt.selection_point(fields=["component"], bind="legend")
    base = alt.Chart().encode(
        x=_epoch_axis(frame),
        y=alt.Y("weight:Q", title="weight"),
        color=alt.Color(
            "component:N",
            scale=_component_scale(components),
            sort=components,
            legend=alt.Legend(title="Component (click to highlight)", orient="top"),
        ),
    )
    line = (
        base.mark_line(strokeWidth=2.5, interpolate="step-after")
        .encode(opacity=_highlight(select, 1.0, 0.15))
        .add_params(select)
    )
    points = base.mark_circle(size=40).encode(
        opacity=alt.OpacityValue(0),
        tooltip=[
            alt.Tooltip("epoch:Q"),
            alt.Tooltip("component:N"),
            alt.Tooltip("weight:Q", format=".4g"),
        ],
    )
    return alt.LayerChart(layer=[line, points], data=frame).properties(height=height)


def _diagnostic(diagnostics: pd.DataFrame, name: str, member: int) -> pd.DataFrame:
    """One diagnostic's finite values for one member: ``epoch, value``."""
    frame = _plain(diagnostics[(diagnostics["member"] == member)])
    frame = frame[frame["diagnostic"] == name][["epoch", "value"]]
    return frame[np.isfinite(frame["value"])]


def _reference_rule(y: float) -> alt.Chart:
    """A dashed horizontal rule at ``y`` (zero cosine, balanced norms)."""
    rule: alt.Chart = (
        alt.Chart(pd.DataFrame({"level": [y]}))
        .mark_rule(color="#6B7280", strokeDash=[4, 4])
        .encode(y=alt.Y("level:Q"))
    )
    return rule


def _diagnostic_line(
    frame: pd.DataFrame, title: str, scale: alt.Scale, label: str, fmt: str
) -> alt.Chart:
    """One diagnostic's ``value`` over epochs, with points and a tooltip."""
    line: alt.Chart = (
        alt.Chart(frame)
        .mark_line(color="#4B5563", strokeWidth=2, point=alt.OverlayMarkDef(size=12))
        .encode(
            x=_epoch_axis(frame),
            y=alt.Y("value:Q", title=title, scale=scale),
            tooltip=[alt.Tooltip("epoch:Q"), alt.Tooltip("value:Q", title=label, format=fmt)],
        )
    )
    return line


def cosine_chart(
    diagnostics: pd.DataFrame, *, member: int = 0, height: int = 280
) -> alt.LayerChart:
    """Cosine between the two task gradients on the shared parameters, over epochs.

    Below zero (shaded) the tasks pull the shared parameters in conflicting directions; a rule
    marks zero. The y axis is fixed to [-1, 1], the cosine's range.
    """
    frame = _diagnostic(diagnostics, "cosine", member)
    shade = (
        alt.Chart(pd.DataFrame({"low": [-1.0], "high": [0.0]}))
        .mark_rect(color=CONFLICT_COLOR, opacity=0.08)
        .encode(y=alt.Y("low:Q"), y2=alt.Y2("high:Q"))
    )
    zero = _reference_rule(0.0)
    line = _diagnostic_line(
        frame, "cosine between task gradients", alt.Scale(domain=[-1, 1]), "cosine", ".3f"
    )
    return alt.LayerChart(layer=[shade, zero, line]).properties(height=height)


def norm_ratio_chart(
    diagnostics: pd.DataFrame, *, member: int = 0, height: int = 280
) -> alt.LayerChart:
    """``|g_regression| / |g_classification|`` over epochs on a log axis, with a rule at 1.

    Above 1 the regression gradient dominates the shared parameters, below 1 the classification
    gradient does; a log axis shows 10x and 0.1x as equally far from balance.
    """
    frame = _diagnostic(diagnostics, "norm_ratio", member)
    frame = frame[frame["value"] > 0]
    one = _reference_rule(1.0)
    line = _diagnostic_line(
        frame, "gradient norm ratio (reg / cls)", alt.Scale(type="log"), "ratio", ".3g"
    )
    return alt.LayerChart(layer=[one, line]).properties(height=height)


_PLAIN_FIELD = re.compile(r"[^\W\d]\w*(?: \w+)*")
"""A column name Vega-Lite reads literally as a field: words and single spaces, no punctuation.

Anything else (``a.b``, ``a[0]``, ``a:b``, quotes, backslashes) means nesting, an Altair type
shorthand or an expression to Vega, so :func:`_safe_fields` renames it.
"""


def _safe_fields(
    frame: pd.DataFrame, titles: Mapping[str, str] | None
) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """Rename the columns Vega-Lite would misread; return the frame, the renaming, the titles.

    A column whose name is not plain (see :data:`_PLAIN_FIELD`) becomes ``field_<i>`` (its
    position), so every chart field is literal; ``titles`` maps each new field to what the axis,
    legend and tooltip show: ``titles[original]`` when given, else the original name.
    """
    taken = {str(c) for c in frame.columns}
    fields: dict[str, str] = {}
    for i, name in enumerate(frame.columns):
        name = str(name)
        if _PLAIN_FIELD.fullmatch(name):
            fields[name] = name
            continue
        field = f"field_{i}"
        while field in taken:
            field += "_"
        taken.add(field)
        fields[name] = field
    data = frame.set_axis([fields[str(c)] for c in frame.columns], axis=1)
    shown = {fields[name]: (titles or {}).get(name, name) for name in fields}
    return data, fields, shown


def data_chart(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    color: str = "class",
    split: str | None = "split",
    titles: Mapping[str, str] | None = None,
    height: int = 320,
) -> alt.Chart:
    """A scatter of ``y`` against ``x`` coloured by class; test rows hollow when ``split`` is set.

    Tooltips show every column of ``frame``, so a point can be traced back to its row.
    ``titles`` maps a column to the name shown for it (axis, legend, tooltip): the page keeps
    internal column names (so a feature called ``class`` cannot be mistaken for the class) and
    shows the file's names. Column names with characters Vega-Lite reads as syntax (dots,
    brackets, colons, backslashes, quotes) are renamed internally, so the chart draws whatever
    the names.
    """
    data, fields, shown = _safe_fields(_plain(frame), titles)
    x, y, color = fields[x], fields[y], fields[color]
    split = fields.get(split) if split is not None else None
    scale = _class_scale(data[color])
    extra: dict[str, object] = {}
    if split is not None:
        extra["fillOpacity"] = alt.FillOpacityValue(
            **alt.when(alt.datum[split] == "test").then(alt.value(0.0)).otherwise(alt.value(0.6))
        )
    chart: alt.Chart = (
        alt.Chart(data)
        .mark_point(filled=False, size=45, strokeWidth=1.5)
        .encode(
            x=alt.X(field=x, type="quantitative", title=shown[x], scale=alt.Scale(zero=False)),
            y=alt.Y(field=y, type="quantitative", title=shown[y], scale=alt.Scale(zero=False)),
            color=alt.Color(
                field=color,
                type="nominal",
                title=shown[color],
                scale=scale,
                legend=alt.Legend(orient="bottom"),
            ),
            # the fill shares the colour's legend (merged into one; legend=None would conflict)
            fill=alt.Fill(
                field=color,
                type="nominal",
                title=shown[color],
                scale=scale,
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip(
                    field=c,
                    type="quantitative" if _numeric(data[c]) else "nominal",
                    title=shown[c],
                )
                for c in data.columns
            ],
            **extra,
        )
        .properties(height=height)
    )
    return chart


def _class_scale(classes: pd.Series) -> alt.Scale:
    """Colour scale over the sorted class names, from :data:`CLASS_COLORS`."""
    names = sorted(str(c) for c in classes.unique())
    colors = [CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(len(names))]
    return alt.Scale(domain=names, range=colors)


def _numeric(series: pd.Series) -> bool:
    """Whether a column is numeric (and not boolean)."""
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def class_strip_chart(
    frame: pd.DataFrame,
    *,
    x: str,
    color: str = "class",
    title: str = "",
    height: int = 140,
) -> alt.Chart:
    """One row of points per class along ``x``: shows at a glance whether ``x`` separates them.

    The points are jittered vertically within their row so overlapping values stay visible.
    """
    data = _plain(frame)
    chart: alt.Chart = (
        alt.Chart(data, title=title)
        .mark_circle(size=40, opacity=0.7)
        .transform_calculate(jitter="sqrt(-2*log(random()))*cos(2*PI*random())")
        .encode(
            x=alt.X(f"{x}:Q", title=x),
            y=alt.Y(f"{color}:N", title=color),
            yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[-4, 4])),
            color=alt.Color(f"{color}:N", scale=_class_scale(data[color]), legend=None),
            tooltip=[alt.Tooltip(f"{x}:Q", format=".3g"), alt.Tooltip(f"{color}:N")],
        )
        .properties(height=height)
    )
    return chart


# ---------------------------------------------------------------- comparisons

SERIES_COLORS: tuple[str, ...] = (
    "#4C78A8",
    "#F58518",
    "#54A24B",
    "#E45756",
    "#72B7B2",
    "#B279A2",
    "#EECA3B",
    "#9D755D",
    "#FF9DA6",
    "#17BECF",
    "#393B79",
    "#8C564B",
)
"""Colours of compared series (methods, pinned runs), in order, cycled beyond twelve."""

FRONT_COLOR = "#111827"
"""Colour of a Pareto front's line and its members' outline."""
BACKGROUND_COLOR = "#9CA3AF"
"""Colour of context drawn behind the compared series (a sweep behind the methods)."""

OBJECTIVE_TITLES: dict[str, str] = {
    "mse": "MSE (lower is better)",
    "accuracy": "accuracy (higher is better)",
}
"""Objective -> axis title (prefixed with the split)."""


def series_colors(names: list[str]) -> dict[str, str]:
    """Name -> colour, from :data:`SERIES_COLORS` in the order given (cycled).

    Pass every possible name in a fixed order (e.g. every method) so a series keeps its colour
    whichever subset is drawn.
    """
    return {name: SERIES_COLORS[i % len(SERIES_COLORS)] for i, name in enumerate(names)}


def _series_scale(names: list[str], colors: dict[str, str] | None) -> alt.Scale:
    """A colour scale over ``names`` (their order), from ``colors`` or :data:`SERIES_COLORS`."""
    palette = colors or series_colors(names)
    fallback = series_colors(names)
    return alt.Scale(domain=names, range=[palette.get(n, fallback[n]) for n in names])


def _objective_axis(
    split: str, objective: str, log: bool = False, domain: list[float] | None = None, **axis: object
) -> dict[str, Any]:
    """Title and scale of an axis showing ``split``'s ``objective`` (log and domain optional)."""
    options: dict[str, Any] = {"type": "log"} if log else {"zero": False}
    if domain is not None:
        options |= {"domain": domain, "nice": False}
    return {
        "title": f"{split} {OBJECTIVE_TITLES[objective]}",
        "scale": alt.Scale(**options),
        **axis,
    }


def _alpha_scale() -> alt.Scale:
    """α from 0 (classification only, its palette colour) to 1 (regression only, its colour)."""
    return alt.Scale(
        domain=[0, 1],
        range=[PALETTE["classification"], PALETTE["regression"]],
        interpolate="hcl",
    )


FOCUS_QUANTILE = 0.9
"""The focused view of a trade-off chart shows at least this share of the points on each axis."""


def focus_domain(
    values: pd.Series, keep: pd.Series, *, higher_is_better: bool, pad: float = 0.06
) -> list[float]:
    """An axis domain around the interesting part of a trade-off: all of ``keep``, most of the rest.

    ``keep`` (the front, the methods) is always inside; of ``values`` (every member) the worst
    ``1 - FOCUS_QUANTILE`` are allowed to fall outside, so a few extreme members (α = 0 leaves
    the regression head untrained: its MSE is 20x the others') do not squeeze the rest into a
    corner. Padded by ``pad`` of the span on both sides; accuracy never goes beyond [0, 1].
    """
    finite = values[np.isfinite(values)]
    kept = keep[np.isfinite(keep)]
    if finite.empty and kept.empty:
        return [0.0, 1.0]
    both = pd.concat([finite, kept])
    if higher_is_better:
        lo = min(kept.min() if len(kept) else np.inf, finite.quantile(1 - FOCUS_QUANTILE))
        hi = both.max()
    else:
        lo = both.min()
        hi = max(kept.max() if len(kept) else -np.inf, finite.quantile(FOCUS_QUANTILE))
    span = (hi - lo) or abs(hi) or 1.0
    lo, hi = lo - pad * span, hi + pad * span
    if higher_is_better:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    return [float(lo), float(hi)]


def pareto_domains(summary: pd.DataFrame, split: str = "test") -> tuple[list[float], list[float]]:
    """The focused MSE and accuracy domains of :func:`pareto_chart` (needs ``pareto``)."""
    mse, acc = summary[f"{split}_mse"], summary[f"{split}_accuracy"]
    front = summary["pareto"].astype(bool)
    return (
        focus_domain(mse, mse[front], higher_is_better=False),
        focus_domain(acc, acc[front], higher_is_better=True),
    )


def outside(frame: pd.DataFrame, x: str, y: str, domains: tuple[list[float], list[float]]) -> int:
    """How many rows with finite ``x`` and ``y`` fall outside the ``(x, y)`` domains."""
    (x_lo, x_hi), (y_lo, y_hi) = domains
    finite = frame[np.isfinite(frame[x]) & np.isfinite(frame[y])]
    beyond = ~finite[x].between(x_lo, x_hi) | ~finite[y].between(y_lo, y_hi)
    return int(beyond.sum())


def _zoom() -> alt.Parameter:
    """Scroll to zoom, drag to pan (the axes are bound; double-click resets)."""
    return alt.selection_interval(bind="scales", name="zoom")


def pareto_chart(
    summary: pd.DataFrame,
    *,
    split: str = "test",
    selected: int | None = None,
    focus: bool = True,
    log_x: bool = False,
    select_name: str = "pick",
    height: int = 400,
) -> alt.LayerChart:
    """The trade-off of a weight sweep: final MSE (x) against accuracy (y), one point per member.

    ``summary`` is a sweep's summary (``member, seed, w_regression, w_classification``,
    ``<split>_mse``, ``<split>_accuracy``) with a boolean ``pareto`` column marking the
    non-dominated members (``mtl.compare.pareto_front``). Members are coloured by α =
    ``w_regression`` (the classification colour at 0, the regression colour at 1); dominated
    members are faded; the front's members are outlined and connected in order of MSE (a step
    line: the best accuracy reachable at each MSE), so the line is the best trade-off the sweep
    found. ``selected`` (a member) gets a red ring.

    ``focus`` starts the view around the front (:func:`pareto_domains`); marks outside it are
    clipped, and the chart zooms (scroll) and pans (drag) to reach them. The points carry a
    point selection named ``select_name`` on ``member`` (click a point; double-click clears),
    for ``st.altair_chart(on_select=...)``. Members without finite figures (diverged) and, on a
    log axis, with MSE <= 0 are left out. The tooltip gives the weights, the seed and both
    figures.
    """
    mse, acc = f"{split}_mse", f"{split}_accuracy"
    frame = _plain(summary)[
        ["member", "seed", "w_regression", "w_classification", mse, acc, "pareto"]
    ].copy()
    frame = frame[np.isfinite(frame[mse]) & np.isfinite(frame[acc])]
    if log_x:
        frame = frame[frame[mse] > 0]
    frame["pareto"] = frame["pareto"].astype(bool)
    frame["front"] = np.where(frame["pareto"], "on the front", "dominated")
    front = frame[frame["pareto"]].sort_values([mse, acc], ascending=[True, False])
    front = front.assign(front_order=np.arange(len(front)))
    x_domain, y_domain = pareto_domains(frame, split) if focus and len(frame) else (None, None)

    x = alt.X(f"{mse}:Q", **_objective_axis(split, "mse", log_x, x_domain))
    y = alt.Y(
        f"{acc}:Q", **_objective_axis(split, "accuracy", False, y_domain, axis=alt.Axis(format="%"))
    )
    color = alt.Color(
        "w_regression:Q",
        scale=_alpha_scale(),
        legend=alt.Legend(title="α (regression weight)", orient="bottom", gradientLength=160),
    )
    tooltip = [
        alt.Tooltip("w_regression:Q", title="w_regression (α)", format=".3g"),
        alt.Tooltip("w_classification:Q", title="w_classification", format=".3g"),
        alt.Tooltip("seed:Q", title="seed"),
        alt.Tooltip(f"{mse}:Q", title=mse, format=".4g"),
        alt.Tooltip(f"{acc}:Q", title=acc, format=".2%"),
        alt.Tooltip("front:N", title="Pareto"),
        alt.Tooltip("member:Q", title="member"),
    ]
    pick = alt.selection_point(name=select_name, fields=["member"], on="click", clear="dblclick")
    points = (
        alt.Chart(frame)
        .mark_circle(size=70, clip=True)
        .encode(
            x=x,
            y=y,
            color=color,
            opacity=alt.OpacityValue(
                **alt.when(alt.datum.pareto).then(alt.value(0.95)).otherwise(alt.value(0.3))
            ),
            tooltip=tooltip,
        )
        .add_params(pick, _zoom())
    )
    line = (
        alt.Chart(front)
        .mark_line(color=FRONT_COLOR, strokeWidth=1.5, interpolate="step-after", clip=True)
        .encode(x=x, y=y, order=alt.Order("front_order:Q"))
    )
    rings = (
        alt.Chart(front)
        .mark_point(
            size=110, shape="circle", filled=False, color=FRONT_COLOR, strokeWidth=1.5, clip=True
        )
        .encode(x=x, y=y, tooltip=tooltip)
    )
    layers: list[alt.Chart] = [line, points, rings]
    if selected is not None and (frame["member"] == selected).any():
        chosen = frame[frame["member"] == selected]
        layers.append(
            alt.Chart(chosen)
            .mark_point(
                size=320, shape="circle", filled=False, color="#DC2626", strokeWidth=2.5, clip=True
            )
            .encode(x=x, y=y, tooltip=tooltip)
        )
    return alt.LayerChart(layer=layers).properties(height=height, autosize=FIT_WIDTH)


def _sweep_panel(
    frame: pd.DataFrame,
    objective: str,
    *,
    along: str,
    x_title: str,
    split: str,
    alpha: float | None,
    log_mse: bool,
    log_ratio: bool,
    height: int,
) -> alt.LayerChart:
    """One objective's panel of :func:`sweep_metrics_chart` (``frame`` already prepared)."""
    column = f"{split}_{objective}"
    data = frame[[along, "seed", column]].rename(columns={column: "value"})
    data = data[np.isfinite(data["value"])]
    log = log_mse and objective == "mse"
    if log:
        data = data[data["value"] > 0]
    stats = (
        data.groupby(along)["value"]
        .agg(mean="mean", low="min", high="max", seeds="count")
        .reset_index()
    )
    fmt = ".2%" if objective == "accuracy" else ".4g"
    x = alt.X(
        f"{along}:Q",
        title=x_title,
        scale=alt.Scale(type="log") if log_ratio else alt.Scale(domain=[0, 1], nice=False),
    )
    y_axis = _objective_axis(split, objective, log)
    y_axis["axis"] = (
        alt.Axis(title=None, format="%") if objective == "accuracy" else alt.Axis(title=None)
    )
    band = (
        alt.Chart(stats)
        .mark_area(opacity=0.25, color=BACKGROUND_COLOR)
        .encode(x=x, y=alt.Y("low:Q", **y_axis), y2=alt.Y2("high:Q"))
    )
    dots = (
        alt.Chart(data)
        .mark_circle(size=14, opacity=0.35, color="#6B7280")
        .encode(x=x, y=alt.Y("value:Q", **y_axis))
    )
    line = (
        alt.Chart(stats)
        .mark_line(color=FRONT_COLOR, strokeWidth=2, point=alt.OverlayMarkDef(size=16))
        .encode(
            x=x,
            y=alt.Y("mean:Q", **y_axis),
            tooltip=[
                alt.Tooltip(
                    f"{along}:Q", title="w_reg / w_cls" if log_ratio else "α", format=".3g"
                ),
                alt.Tooltip("mean:Q", title="mean over seeds", format=fmt),
                alt.Tooltip("low:Q", title="min", format=fmt),
                alt.Tooltip("high:Q", title="max", format=fmt),
                alt.Tooltip("seeds:Q", title="seeds"),
            ],
        )
    )
    layers: list[alt.Chart] = [band, dots, line]
    if alpha is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"alpha": [float(alpha)]}))
            .mark_rule(color="#DC2626", strokeDash=[4, 3])
            .encode(
                x=alt.X("alpha:Q"),
                tooltip=[
                    alt.Tooltip(
                        "alpha:Q", title="current w_reg / w_cls" if log_ratio else "current α"
                    )
                ],
            )
        )
    return alt.LayerChart(layer=layers).properties(height=height, title=y_axis["title"])


def _sweep_frame(
    summary: pd.DataFrame, alpha: float | None, log_ratio: bool
) -> tuple[pd.DataFrame, str, str, float | None]:
    """The sweep's members along α or the weight ratio: frame, x field, x title, current x."""
    frame = _plain(summary)
    along = "ratio" if log_ratio else "w_regression"
    if log_ratio:
        frame = frame.assign(ratio=frame["w_regression"] / frame["w_classification"])
        frame = frame[np.isfinite(frame["ratio"]) & (frame["ratio"] > 0)]
        if alpha is not None:
            alpha = alpha / (1 - alpha) if 0 < alpha < 1 else None
    x_title = "w_regression / w_classification" if log_ratio else "α (regression weight)"
    return frame, along, x_title, alpha


def sweep_metric_panel(
    summary: pd.DataFrame,
    *,
    objective: str,
    split: str = "test",
    alpha: float | None = None,
    log_mse: bool = True,
    log_ratio: bool = False,
    height: int = 240,
) -> alt.LayerChart:
    """One panel of :func:`sweep_metrics_chart` (``objective`` "mse" or "accuracy") alone.

    A layered view fits its container's width (see :func:`loss_panel`): the page puts the two
    panels in columns, side by side on a wide screen and stacked on a phone.
    """
    frame, along, x_title, alpha = _sweep_frame(summary, alpha, log_ratio)
    panel = _sweep_panel(
        frame,
        objective,
        along=along,
        x_title=x_title,
        split=split,
        alpha=alpha,
        log_mse=log_mse,
        log_ratio=log_ratio,
        height=height,
    )
    chart: alt.LayerChart = panel.properties(autosize=FIT_WIDTH)
    return chart


def sweep_metrics_chart(
    summary: pd.DataFrame,
    *,
    split: str = "test",
    alpha: float | None = None,
    log_mse: bool = True,
    log_ratio: bool = False,
    height: int = 240,
    width: int = 900,
) -> alt.HConcatChart:
    """Final MSE and accuracy against α = ``w_regression``: the mean over seeds and its range.

    One panel per objective. The line is the mean over the seeds at each α; the band spans the
    **minimum to the maximum** over the seeds (with a handful of seeds a standard deviation is
    itself too noisy to draw; the range shows exactly where every seed landed); the seeds are
    drawn as faint dots. ``alpha`` draws a rule at the current run's α. MSE is on a log axis by
    default: at α = 0 the regression head is not trained and its MSE dwarfs the rest.

    ``log_ratio`` (for a log-spaced sweep grid) puts the weight ratio ``w_regression /
    w_classification`` on a log x axis instead of α (members with a zero weight are left out).
    """
    frame, along, x_title, alpha = _sweep_frame(summary, alpha, log_ratio)
    panels = [
        _sweep_panel(
            frame,
            objective,
            along=along,
            x_title=x_title,
            split=split,
            alpha=alpha,
            log_mse=log_mse,
            log_ratio=log_ratio,
            height=height,
        ).properties(width=_panel_width(width, 2))
        for objective in ("mse", "accuracy")
    ]
    # autosize "pad": Streamlit's theme asks every chart to "fit", which Vega-Lite cannot do for
    # a concatenation (it warns in the browser's console); the panels keep their widths
    chart: alt.HConcatChart = (
        alt.hconcat(*panels)
        .resolve_scale(y="independent")
        .properties(autosize=alt.AutoSizeParams(type="pad"))
    )  # altair: Any
    return chart


def face_off_chart(
    table: pd.DataFrame,
    *,
    split: str = "test",
    front: pd.DataFrame | None = None,
    colors: dict[str, str] | None = None,
    focus: bool = True,
    log_x: bool = False,
    height: int = 420,
) -> alt.LayerChart:
    """Each method's mean final MSE (x) and accuracy (y) over seeds, ± one standard deviation.

    ``table`` has ``label, mse_mean, mse_std, accuracy_mean, accuracy_std`` (the face-off's table
    with a display ``label`` per method); its points are coloured by ``label`` (``colors``) and
    drawn with bars of ± one standard deviation. When ``front`` is given (a static-weight sweep's
    summary with a ``pareto`` column), its members are drawn behind the methods in grey and its
    front as a dark step line: a method above and left of the line beats every static weighting
    the sweep tried. ``focus`` starts the view on every method and the front (the sweep's
    extreme members may fall outside; scroll to zoom, drag to pan).
    """
    mse, acc = f"{split}_mse", f"{split}_accuracy"
    data = _plain(table)[["label", "mse_mean", "mse_std", "accuracy_mean", "accuracy_std"]].copy()
    data = data[np.isfinite(data["mse_mean"]) & np.isfinite(data["accuracy_mean"])]
    data[["mse_std", "accuracy_std"]] = data[["mse_std", "accuracy_std"]].fillna(0.0)
    data["mse_low"] = data["mse_mean"] - data["mse_std"]
    data["mse_high"] = data["mse_mean"] + data["mse_std"]
    if log_x:
        data = data[data["mse_mean"] > 0]
        data["mse_low"] = data["mse_low"].where(data["mse_low"] > 0, data["mse_mean"])
    data["accuracy_low"] = data["accuracy_mean"] - data["accuracy_std"]
    data["accuracy_high"] = data["accuracy_mean"] + data["accuracy_std"]
    labels = list(data["label"])

    sweep = None
    if front is not None:
        sweep = _plain(front)[["w_regression", "seed", mse, acc, "pareto"]]
        sweep = sweep[np.isfinite(sweep[mse]) & np.isfinite(sweep[acc])]
        if log_x:
            sweep = sweep[sweep[mse] > 0]
    x_domain = y_domain = None
    if focus and len(data):
        keep_x = pd.concat([data["mse_low"], data["mse_high"]])
        keep_y = pd.concat([data["accuracy_low"], data["accuracy_high"]])
        all_x, all_y = keep_x, keep_y
        if sweep is not None and len(sweep):
            on_front = sweep["pareto"].astype(bool)
            keep_x = pd.concat([keep_x, sweep.loc[on_front, mse]])
            keep_y = pd.concat([keep_y, sweep.loc[on_front, acc]])
            all_x, all_y = sweep[mse], sweep[acc]
        x_domain = focus_domain(all_x, keep_x, higher_is_better=False)
        y_domain = focus_domain(all_y, keep_y, higher_is_better=True)
    x_axis = _objective_axis(split, "mse", log_x, x_domain)
    y_axis = _objective_axis(split, "accuracy", False, y_domain, axis=alt.Axis(format="%"))
    color = alt.Color(
        "label:N",
        scale=_series_scale(labels, colors),
        sort=labels,
        legend=alt.Legend(title="Method", orient="bottom", columns=1, labelLimit=280),
    )
    layers: list[alt.Chart] = []
    if sweep is not None:
        line = sweep[sweep["pareto"].astype(bool)].sort_values([mse, acc], ascending=[True, False])
        sweep_x = alt.X(f"{mse}:Q", **x_axis)
        sweep_y = alt.Y(f"{acc}:Q", **y_axis)
        layers += [
            alt.Chart(sweep)
            .mark_circle(size=22, color=BACKGROUND_COLOR, opacity=0.45, clip=True)
            .encode(
                x=sweep_x,
                y=sweep_y,
                tooltip=[
                    alt.Tooltip("w_regression:Q", title="static α", format=".3g"),
                    alt.Tooltip("seed:Q"),
                ],
            ),
            alt.Chart(line.assign(order=np.arange(len(line))))
            .mark_line(
                color=FRONT_COLOR, strokeWidth=1.5, opacity=0.7, interpolate="step-after", clip=True
            )
            .encode(x=sweep_x, y=sweep_y, order=alt.Order("order:Q")),
        ]
    x = alt.X("mse_mean:Q", **x_axis)
    y = alt.Y("accuracy_mean:Q", **y_axis)
    layers += [
        alt.Chart(data)
        .mark_rule(strokeWidth=1.5, clip=True)
        .encode(x=alt.X("mse_low:Q", **x_axis), x2=alt.X2("mse_high:Q"), y=y, color=color),
        alt.Chart(data)
        .mark_rule(strokeWidth=1.5, clip=True)
        .encode(
            x=x, y=alt.Y("accuracy_low:Q", **y_axis), y2=alt.Y2("accuracy_high:Q"), color=color
        ),
        alt.Chart(data)
        .mark_point(size=130, filled=True, opacity=1.0, stroke="white", strokeWidth=1, clip=True)
        .encode(
            x=x,
            y=y,
            color=color,
            # shape and colour share one legend (legend=None on the shape would conflict)
            shape=alt.Shape(
                "label:N",
                sort=labels,
                legend=alt.Legend(title="Method", orient="bottom", columns=1, labelLimit=280),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="method"),
                alt.Tooltip("mse_mean:Q", title=f"{mse} (mean)", format=".4g"),
                alt.Tooltip("mse_std:Q", title=f"{mse} (std)", format=".3g"),
                alt.Tooltip("accuracy_mean:Q", title=f"{acc} (mean)", format=".2%"),
                alt.Tooltip("accuracy_std:Q", title=f"{acc} (std)", format=".2%"),
            ],
        )
        .add_params(_zoom()),
    ]
    return alt.LayerChart(layer=layers).properties(height=height, autosize=FIT_WIDTH)


def _series_lines(
    base: alt.Chart,
    data: pd.DataFrame,
    *,
    names: list[str],
    colors: dict[str, str] | None,
    title: str,
    value_title: str | None,
    legend_columns: int,
    label_limit: int,
) -> alt.Chart:
    """Lines of ``data``'s ``value`` over epochs, one colour per ``series`` (in ``names``' order).

    What :func:`curves_chart` and :func:`curve_panel` share: the legend (titled ``title``, below
    the plot, ``legend_columns`` wide) is clickable and fades the other series; the tooltip names
    the series, the epoch, the value (titled ``value_title``; None: ``data`` holds several
    metrics, and the tooltip names the row's) and the split when ``data`` has one.
    """
    select = alt.selection_point(fields=["series"], bind="legend")
    tooltip = [alt.Tooltip("series:N", title=title.lower()), alt.Tooltip("epoch:Q")]
    if value_title is None:
        tooltip += [alt.Tooltip("metric:N"), alt.Tooltip("value:Q", format=".4g")]
    else:
        tooltip.append(alt.Tooltip("value:Q", title=value_title, format=".4g"))
    if "split" in data:
        tooltip.append(alt.Tooltip("split:N"))
    lines: alt.Chart = (
        base.mark_line(strokeWidth=2)
        .encode(
            x=_epoch_axis(data),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "series:N",
                scale=_series_scale(names, colors),
                sort=names,
                legend=alt.Legend(
                    title=f"{title} (click to highlight)",
                    orient="bottom",
                    columns=legend_columns,
                    labelLimit=label_limit,
                ),
            ),
            opacity=_highlight(select, 1.0, 0.12),
            tooltip=tooltip,
        )
        .add_params(select)
    )
    return lines


def _series_names(data: pd.DataFrame, order: list[str] | None) -> list[str]:
    """The series to draw: ``order`` (else those present), less those without data."""
    names = order or _present(data, "series", ())
    return [n for n in names if n in set(data["series"])]


def curves_chart(
    frame: pd.DataFrame,
    *,
    order: list[str] | None = None,
    colors: dict[str, str] | None = None,
    title: str = "Run",
    height: int = 240,
    width: int = 900,
) -> alt.FacetChart:
    """Several runs' metric curves overlaid: one colour per ``series``, one panel per metric.

    ``frame`` has ``series, epoch, metric, value`` (``metric`` in :data:`METRIC_TITLES`, e.g.
    the mean over seeds of each method's test MSE and accuracy, or each pinned run's); optional
    ``split`` is shown in the tooltip. Panels have independent y scales. The legend (titled
    ``title``) is clickable: the other series fade.
    """
    columns = ["series", "epoch", "metric", "value"] + (["split"] if "split" in frame else [])
    data = _plain(frame)[columns]
    data = data[np.isfinite(data["value"])].copy()
    data["title"] = data["metric"].map(METRIC_TITLES).fillna(data["metric"])
    titles = [METRIC_TITLES[m] for m in METRIC_TITLES if m in set(data["metric"])]
    line = _series_lines(
        alt.Chart(data),
        data,
        names=_series_names(data, order),
        colors=colors,
        title=title,
        value_title=None,
        legend_columns=4,
        label_limit=240,
    ).properties(height=height, width=_panel_width(width, 2))
    facets = line.facet(facet=alt.Facet("title:N", sort=titles, title=None), columns=2)
    chart: alt.FacetChart = facets.resolve_scale(y="independent")  # altair: Any
    return chart


def curve_panel(
    frame: pd.DataFrame,
    *,
    metric: str,
    order: list[str] | None = None,
    colors: dict[str, str] | None = None,
    title: str = "Run",
    height: int = 240,
) -> alt.Chart:
    """One metric's curves of several runs: one panel of :func:`curves_chart`, as a single view.

    It fits its container's width (see :func:`loss_panel`); the legend lists the series in one
    column below the plot, so it never makes the panel wider than a phone. The legend is
    clickable: the other series fade.
    """
    columns = ["series", "epoch", "value"] + (["split"] if "split" in frame else [])
    data = _plain(frame[frame["metric"] == metric])[columns]
    data = data[np.isfinite(data["value"])].copy()
    chart: alt.Chart = _series_lines(
        alt.Chart(data, title=METRIC_TITLES.get(metric, metric)),
        data,
        names=_series_names(data, order),
        colors=colors,
        title=title,
        value_title=metric,
        legend_columns=1,
        label_limit=280,
    ).properties(height=height, autosize=FIT_WIDTH)
    return chart


REGION_COLOR = "#E69F00"
"""Colour of the shaded region a preference front reaches beyond the linear front's hull."""


def fronts_chart(
    summary: pd.DataFrame,
    *,
    split: str = "test",
    region: pd.DataFrame | None = None,
    height: int = 420,
) -> alt.LayerChart:
    """Two weight sweeps' fronts on one trade-off chart: linear weights against preferences.

    ``summary`` holds both sweeps' members with a ``sweep`` column (its label; the first label is
    the linear sweep), ``w_regression``, ``seed``, ``<split>_mse``, ``<split>_accuracy``, and
    boolean ``pareto`` (on its own sweep's front) and ``supported`` (on that front's convex hull,
    :func:`mtl.compare.supported`) columns. Each sweep's members are dots in its colour, faded
    when dominated, its front a step line; the linear sweep's convex hull (the chain through its
    supported points) is dashed. ``region`` (``mse, low, high``, from
    :func:`mtl.compare.region_beyond_hull`) is shaded: what the other front reaches beyond that
    hull. The view starts around both fronts (scroll to zoom, drag to pan).
    """
    mse, acc = f"{split}_mse", f"{split}_accuracy"
    frame = _plain(summary)[["sweep", "w_regression", "seed", mse, acc, "pareto", "supported"]]
    frame = frame[np.isfinite(frame[mse]) & np.isfinite(frame[acc])].copy()
    frame["pareto"] = frame["pareto"].astype(bool)
    labels = list(dict.fromkeys(frame["sweep"]))
    front = frame[frame["pareto"]]
    x_domain = focus_domain(frame[mse], front[mse], higher_is_better=False)
    y_domain = focus_domain(frame[acc], front[acc], higher_is_better=True)
    x_axis = _objective_axis(split, "mse", False, x_domain)
    y_axis = _objective_axis(split, "accuracy", False, y_domain, axis=alt.Axis(format="%"))
    x, y = alt.X(f"{mse}:Q", **x_axis), alt.Y(f"{acc}:Q", **y_axis)
    color = alt.Color(
        "sweep:N",
        scale=_series_scale(labels, None),
        sort=labels,
        legend=alt.Legend(title="Sweep", orient="bottom", columns=1, labelLimit=280),
    )
    layers: list[alt.Chart] = []
    if region is not None and len(region):
        layers.append(
            alt.Chart(_plain(region)[["mse", "low", "high"]])
            .mark_area(color=REGION_COLOR, opacity=0.35, clip=True)
            .encode(
                x=alt.X("mse:Q", **x_axis),
                y=alt.Y("low:Q", **y_axis),
                y2=alt.Y2("high:Q"),
            )
        )
    if labels:
        hull = front[(front["sweep"] == labels[0]) & front["supported"].astype(bool)]
        hull = hull.sort_values(mse)
        layers.append(
            alt.Chart(hull.assign(order=np.arange(len(hull))))
            .mark_line(color=FRONT_COLOR, strokeDash=[5, 4], strokeWidth=1.2, clip=True)
            .encode(x=x, y=y, order=alt.Order("order:Q"))
        )
    ordered = front.sort_values(["sweep", mse, acc], ascending=[True, True, False])
    layers += [
        alt.Chart(frame)
        .mark_circle(size=45, clip=True)
        .encode(
            x=x,
            y=y,
            color=color,
            opacity=alt.OpacityValue(
                **alt.when(alt.datum.pareto).then(alt.value(0.95)).otherwise(alt.value(0.25))
            ),
            tooltip=[
                alt.Tooltip("sweep:N"),
                alt.Tooltip("w_regression:Q", title="α (preference or weight)", format=".3g"),
                alt.Tooltip("seed:Q"),
                alt.Tooltip(f"{mse}:Q", title=mse, format=".4g"),
                alt.Tooltip(f"{acc}:Q", title=acc, format=".2%"),
                alt.Tooltip("supported:N", title="on its front's convex hull"),
            ],
        )
        .add_params(_zoom()),
        alt.Chart(ordered.assign(order=np.arange(len(ordered))))
        .mark_line(strokeWidth=1.8, interpolate="step-after", clip=True)
        .encode(x=x, y=y, color=color, detail="sweep:N", order=alt.Order("order:Q")),
    ]
    return alt.LayerChart(layer=layers).properties(height=height, autosize=FIT_WIDTH)


GEOMETRY_EXTENT = (1.3, 0.4)
"""The gradient-geometry view's least reach, in drawn units (arrows are at most 1 long): 1.3
left, right and up, 0.4 down (the drawing points the gradients' bisector up, so what is drawn
lies in the upper half)."""

CONE_COLOR = "#009E73"
"""Shading of the directions that harm neither task."""

RUN_COLOR = "#111827"
"""The run's own update direction in the gradient-geometry view."""

DIRECTION_COLORS: tuple[str, ...] = (
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#7F3C8D",
    "#8C564B",
    "#E45756",
    "#17BECF",
    "#999933",
    "#882255",
    "#44AA99",
    "#393B79",
    "#9D755D",
    "#B279A2",
)
"""Colours of the update directions, in the order drawn (kept apart from the components' blue
and orange, the cone's green and the run's near-black)."""


def _equal_aspect(axis: str) -> alt.Scale:
    """A scale of the geometry view that keeps one unit equally long on both axes.

    The view stretches to its container while its height is fixed, so the domains follow the
    plot's ``width`` and ``height`` (Vega signals): units per pixel are the larger of what the
    width and the height need to show :data:`GEOMETRY_EXTENT`, and the other axis shows more.
    Angles on screen are then the true angles between the vectors.
    """
    reach, below = GEOMETRY_EXTENT
    per_pixel = f"max({2 * reach} / width, {reach + below} / height)"
    if axis == "x":
        low, high = f"-width * {per_pixel} / 2", f"width * {per_pixel} / 2"
    else:
        low, high = f"-{below}", f"-{below} + height * {per_pixel}"
    return alt.Scale(
        domainMin=alt.ExprRef(expr=low), domainMax=alt.ExprRef(expr=high), nice=False, zero=False
    )


def geometry_chart(frame: pd.DataFrame, *, height: int = 240) -> alt.LayerChart:
    """The two task gradients and the chosen update directions as arrows from the origin.

    ``frame`` is :func:`mtl.geometry.chart_frame`'s: arrow rows (``layer`` ``gradient`` or
    ``direction``; ``series, across, up, heading, norm`` and the weights and dot products for the
    tooltip), the harmless cone's vertical slices (``layer`` ``cone``: ``across, low, high``)
    and its edges (``layer`` ``edge``: ``across, up``, rays from the origin). The task gradients
    are solid and take the components' colours; the directions are dashed, a series named
    ``This run ...`` near-black and the others :data:`DIRECTION_COLORS` in the order drawn. Both
    axes have the same unit length (:func:`_equal_aspect`), so the angles on screen are the true
    ones; the plane's rotation is arbitrary, so no axis is drawn.
    """
    columns = ["layer", "series", "across", "up", "low", "high", "heading", "norm"]
    columns += ["w_regression", "w_classification", "dot_regression", "dot_classification"]
    data = _plain(frame).reindex(columns=columns)  # a layer absent leaves its columns out
    data["origin"] = 0.0
    present = set(data["layer"].dropna())
    arrows = data[data["layer"].isin(["gradient", "direction"])]
    names = [str(s) for s in arrows["series"]]
    colors: dict[str, str] = {}
    drawn = 0
    for name in names:
        if name.startswith("g "):
            colors[name] = PALETTE.get(name[2:], "#888888")
        elif name.startswith("This run"):
            colors[name] = RUN_COLOR
        else:
            colors[name] = DIRECTION_COLORS[drawn % len(DIRECTION_COLORS)]
            drawn += 1
    color = alt.Color(
        "series",
        type="nominal",
        title=None,
        scale=alt.Scale(domain=names, range=[colors[n] for n in names]),
        legend=alt.Legend(orient="bottom", columns=2, labelLimit=150, symbolType="stroke"),
    )
    sx, sy = _equal_aspect("x"), _equal_aspect("y")
    tip_x = alt.X("across", type="quantitative", scale=sx, axis=None)
    tip_y = alt.Y("up", type="quantitative", scale=sy, axis=None)
    ray = {
        "x": alt.X("origin", type="quantitative", scale=sx, axis=None),
        "y": alt.Y("origin", type="quantitative", scale=sy, axis=None),
        "x2": alt.X2("across"),
        "y2": alt.Y2("up"),
    }

    def only(layer: str) -> alt.FieldEqualPredicate:
        return alt.FieldEqualPredicate(field="layer", equal=layer)

    layers: list[alt.Chart] = []
    if "cone" in present:
        layers.append(
            alt.Chart()
            .mark_area(color=CONE_COLOR, opacity=0.16, clip=True)
            .transform_filter(only("cone"))
            .encode(
                x=tip_x,
                y=alt.Y("low", type="quantitative", scale=sy, axis=None),
                y2=alt.Y2("high"),
            )
        )
    if "edge" in present:
        layers.append(
            alt.Chart()
            .mark_rule(color=CONE_COLOR, strokeDash=[4, 3], strokeWidth=1.2, clip=True)
            .transform_filter(only("edge"))
            .encode(**ray)
        )
    length = alt.Tooltip("norm", type="quantitative", title="length", format=".4g")
    tooltips = {
        "gradient": [alt.Tooltip("series", type="nominal", title="gradient"), length],
        "direction": [
            alt.Tooltip("series", type="nominal", title="direction"),
            length,
            *(
                alt.Tooltip(field, type="quantitative", title=title, format=".4g")
                for field, title in (
                    ("w_regression", "w regression"),
                    ("w_classification", "w classification"),
                    ("dot_regression", "d·g regression"),
                    ("dot_classification", "d·g classification"),
                )
            ),
        ],
    }
    for layer, width, dash in (("gradient", 3.5, [1, 0]), ("direction", 2.0, [6, 3])):
        if layer not in present:
            continue
        layers += [
            alt.Chart()
            .mark_rule(strokeWidth=width, strokeDash=dash, clip=True)
            .transform_filter(only(layer))
            .encode(**ray, color=color, tooltip=tooltips[layer]),
            alt.Chart()
            .mark_point(shape="triangle-up", filled=True, size=110, opacity=1, clip=True)
            .transform_filter(only(layer))
            .encode(
                x=tip_x,
                y=tip_y,
                color=color,
                angle=alt.Angle("heading", type="quantitative", scale=None),
                tooltip=tooltips[layer],
            ),
        ]
    records = [
        {
            key: value
            for key, value in row.items()
            if not (isinstance(value, float) and value != value)
        }
        for row in data.to_dict(orient="records")
    ]  # plain values without NaN: no pandas type inference or sanitising on every to_dict
    return alt.LayerChart(layer=layers, data=alt.InlineData(values=records)).properties(
        height=height, autosize=FIT_WIDTH
    )
