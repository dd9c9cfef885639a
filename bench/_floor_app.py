"""The least page ``bench/bench_latency.py`` can measure: the floor under the real page's latency.

A sidebar slider with the real page's key (``weighting.alpha``), one metric, one 150-point Altair
line chart and the caption naming the weights, and nothing else: no training, no tabs. What a
change of alpha costs here is Streamlit's own round trip and redraw on this machine (the
websocket, the script run, the browser's update), which the real page pays before any of its
own work. ``python bench/bench_latency.py --floor`` measures it beside the page in one sitting.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

alpha = st.sidebar.slider("alpha", 0.0, 1.0, 0.5, 0.01, key="weighting.alpha")
st.metric("Test MSE", f"{3 * alpha:.3f}")
curve = pd.DataFrame({"epoch": range(150), "loss": [alpha / (1 + e) for e in range(150)]})
st.altair_chart(alt.Chart(curve).mark_line().encode(x="epoch", y="loss"), width="stretch")
st.caption(f"regression {alpha:.3g}, classification {1 - alpha:.3g}")
