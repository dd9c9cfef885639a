"""Memoised charts: build each :mod:`mtl.charts` chart, and its Vega-Lite spec, once.

Shared by every view module. ``st.cache_resource`` returns the same chart object on a rerun that
changes nothing (or only switches tabs back), instead of building it again (building costs tens
of milliseconds). The key names the data the frame came from (a run's or a sweep's cache key),
so the frame itself is never hashed.

What :func:`show` draws is memoised one step further, as the Vega-Lite spec ``st.altair_chart``
would send. ``st.altair_chart`` converts the chart on every rerun with ``to_dict()``, which
validates the whole spec against Vega-Lite's JSON schema: tens of milliseconds a chart (over 100 ms
under load on this 2-core machine), the largest share of a rerun's script time after training,
repeated for a chart that did not change. The spec is made
once by Streamlit's own conversion (so it is exactly what ``st.altair_chart`` sends: its theme
handling, the data as Arrow) and drawn with ``st.vega_lite_chart``, which sends the same element.
That one conversion skips the schema validation (:class:`_Unvalidated`): a builder's specs have
one structure whatever the data, and ``tests/test_charts.py`` validates the builders' specs.

The spec's datasets get stable names (:func:`stable_dataset_names`). Streamlit names each dataset
by a hash of its content, so a chart whose data changed (a new alpha) arrives with a different
spec, and the browser throws the chart away and builds it again: Vega-Lite compiles the spec, Vega
parses it, the view is laid out, for every chart on the page. With the names fixed, a chart whose
only change is its data arrives with the same spec, and Streamlit's frontend replaces the data in
the live view (``view.data(name, rows)``): the same picture, without compiling the spec or
building a view. (A modest saving per rerun, measured in ``bench/bench_latency.py``: most of the
browser's work on a rerun is Streamlit re-rendering every element.)
"""

from __future__ import annotations

import copy
import json
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.elements import vega_charts

from mtl import charts

_to_spec = getattr(vega_charts, "_convert_altair_to_vega_lite_spec", None)
"""Streamlit's Altair -> Vega-Lite conversion (what ``st.altair_chart`` runs); None if a future
Streamlit drops it, and :func:`show` then draws the chart with ``st.altair_chart``."""


@st.cache_resource(max_entries=24, show_spinner=False)
def _build(
    key: str, builder: str, options: tuple[tuple[str, Any], ...], _frame: pd.DataFrame
) -> alt.TopLevelMixin:
    """``charts.<builder>(_frame, **options)``, memoised on ``key`` and the options."""
    return getattr(charts, builder)(_frame, **dict(options))


def chart(builder: str, frame: pd.DataFrame, key: str, **options: Any) -> alt.TopLevelMixin:
    """``charts.<builder>(frame, **options)``, memoised on ``key`` (the frame's source) and options.

    Options are hashed by Streamlit's cache (plain values, lists and dicts are fine).
    """
    return _build(key, builder, tuple(sorted(options.items())), frame)


class _Unvalidated:
    """An Altair chart whose ``to_dict()`` skips the JSON-schema validation (same output)."""

    def __init__(self, chart: alt.TopLevelMixin) -> None:
        self.chart = chart

    def to_dict(self) -> dict[str, Any]:
        """``chart.to_dict(validate=False)``: what Streamlit's conversion calls."""
        return dict(self.chart.to_dict(validate=False))


DATASET_PREFIX = "dataset_"
"""Stable dataset names are this and the dataset's position. Not ``data_``: Vega-Lite names the
data sources of the Vega spec it compiles ``data_0``, ``data_1``, ... (and ``source_0``), and a
dataset of that name collides with them (the chart is then never drawn, silently)."""


@st.cache_resource(max_entries=24, show_spinner=False)
def _build_spec(
    key: str, builder: str, options: tuple[tuple[str, Any], ...], _frame: pd.DataFrame
) -> dict[str, Any]:
    """The Vega-Lite spec of ``charts.<builder>(_frame, **options)``, as Streamlit sends it."""
    assert _to_spec is not None
    return stable_dataset_names(dict(_to_spec(_Unvalidated(_build(key, builder, options, _frame)))))


def stable_dataset_names(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with its named datasets renamed ``dataset_0``, ``dataset_1``, ... in their order.

    Streamlit's conversion names a dataset by the hash of its Arrow bytes, and the names appear in
    the spec (``{"data": {"name": ...}}``), so new data means a new spec, and a new spec means the
    browser rebuilds the chart from scratch. Names by position make the spec depend on the chart's
    structure only; the frontend then swaps the data of the view it has (see the module).
    A name is replaced where it stands as a whole JSON string (the hashes are 32 hex digits, which
    no field name or label of these charts is).
    """
    datasets = spec.get("datasets")
    if not isinstance(datasets, dict) or not datasets:
        return spec
    renames = {str(old): f"{DATASET_PREFIX}{index}" for index, old in enumerate(datasets)}
    body = json.dumps({k: v for k, v in spec.items() if k != "datasets"})
    for old, new in renames.items():
        body = body.replace(json.dumps(old), json.dumps(new))
    renamed: dict[str, Any] = json.loads(body)
    renamed["datasets"] = {renames[str(old)]: data for old, data in datasets.items()}
    return renamed


def spec(builder: str, frame: pd.DataFrame, key: str, **options: Any) -> dict[str, Any]:
    """A fresh copy of the memoised Vega-Lite spec of ``charts.<builder>(frame, **options)``.

    A copy, because ``st.vega_lite_chart`` edits the spec it is given (it moves the data out).
    """
    return copy.deepcopy(_build_spec(key, builder, tuple(sorted(options.items())), frame))


def show(
    builder: str, frame: pd.DataFrame, key: str, *, canvas: bool = False, **options: Any
) -> None:
    """Draw ``charts.<builder>(frame, **options)`` at full width (memoised, see the module).

    ``canvas=True`` has the browser paint the chart on a canvas instead of building an SVG
    element per mark (Streamlit's default under 2,000 points): the same picture, tooltips and
    legend clicks, but a redraw is one paint rather than hundreds of DOM updates. The headline
    chart, redrawn on every weight change, uses it.
    """
    if _to_spec is None:
        st.altair_chart(chart(builder, frame, key, **options), width="stretch")
        return
    drawn = spec(builder, frame, key, **options)
    if canvas:
        drawn["usermeta"] = {**drawn.get("usermeta", {}), "embedOptions": {"renderer": "canvas"}}
    st.vega_lite_chart(spec=drawn, width="stretch")


def show_panels(
    builder: str,
    frame: pd.DataFrame,
    key: str,
    *,
    over: str,
    values: list[str],
    per_row: int = 2,
    **options: Any,
) -> None:
    """One ``charts.<builder>(frame, <over>=value, **options)`` panel per value, in columns.

    ``per_row`` panels a row: side by side on a wide screen; Streamlit stacks columns on a
    narrow one (a phone), where a faceted chart of fixed width would not fit. Each panel is a
    single view, so it stretches to its column.
    """
    for start in range(0, len(values), per_row):
        row = values[start : start + per_row]
        for column, value in zip(st.columns(per_row), row, strict=False):
            with column:
                show(builder, frame, key, **{over: value}, **options)
