"""A bare page for tests/e2e/test_inert_browser.py: every hostile string of tests/test_inert.py,
made inert three ways (a list item, after a bold title in a warning, a code span in a caption),
for a real browser to check that Streamlit renders each literally."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from tests.test_inert import HOSTILE
from ui import inert

for i, value in enumerate(HOSTILE):
    with st.container(key=f"text{i}"):
        st.markdown("- " + inert.text(value))
    with st.container(key=f"warn{i}"):
        st.warning("**Title.** " + inert.text(value))
    with st.container(key=f"code{i}"):
        st.caption("Code: " + inert.code(value))

# Widgets a CSV's column names reach as options: Streamlit shows options as plain text.
st.selectbox("Column", HOSTILE[:3], key="pick")
st.multiselect("Columns", HOSTILE[:3], default=list(HOSTILE[:3]), key="picks")
