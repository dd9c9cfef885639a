"""Session memory: the last good result, and the run shown before it (for the metrics' deltas).

Kept in ``st.session_state``, so per browser tab. :func:`remember` is called by
:func:`ui.run.train` whenever a valid configuration was trained (or found in the cache).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import mtl
from ui.keys import data_key

LAST_GOOD = "_run.last_good"
"""Session key of ``(key, Result)``: the last run trained from a valid configuration."""
PREVIOUS = "_run.previous"
"""Session key of ``(data key, summary row)``: the run shown before, for the metrics' deltas."""


def remember(key: str, result: mtl.Result) -> None:
    """Make ``result`` (of the config whose cache key is ``key``) the last good one.

    The one it replaces (if it was another configuration) becomes the previous run, whose
    summary the metrics compare against.
    """
    last = st.session_state.get(LAST_GOOD)
    if last is None or last[0] != key:
        if last is not None:
            st.session_state[PREVIOUS] = (data_key(last[1].config.data), last[1].summary.iloc[0])
        st.session_state[LAST_GOOD] = (key, result)


def last_good() -> mtl.Result | None:
    """The last result trained from a valid configuration in this session, if any."""
    last = st.session_state.get(LAST_GOOD)
    return None if last is None else last[1]


def previous_summary(current: mtl.Result) -> pd.Series | None:
    """The summary row of the run shown before ``current``, if it used the same data.

    The metrics' arrows compare the two; across different data the comparison means nothing.
    """
    previous = st.session_state.get(PREVIOUS)
    if previous is None or previous[0] != data_key(current.config.data):
        return None
    return previous[1]
