"""Memoised chart objects: build each :mod:`mtl.charts` chart once per result and options.

Shared by every view module. ``st.cache_resource`` returns the same chart object on a rerun that
changes nothing (or only switches tabs back), instead of building it again (building costs tens
of milliseconds; Streamlit still serialises it). The key names the data the frame came from (a
run's or a sweep's cache key), so the frame itself is never hashed.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from mtl import charts


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


def show(builder: str, frame: pd.DataFrame, key: str, **options: Any) -> None:
    """Draw ``charts.<builder>(frame, **options)`` at full width (memoised, see :func:`chart`)."""
    st.altair_chart(chart(builder, frame, key, **options), width="stretch")


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
