"""The page's speed measures keep what it shows: memoised chart specs and the frozen GC.

``ui.charting.show`` sends a Vega-Lite spec made once per chart (Streamlit's own conversion,
without the schema validation); it must be exactly what ``st.altair_chart`` sends.
``ui.runtime.freeze_long_lived`` freezes the process's objects once, from its second run on.
"""

from __future__ import annotations

import itertools
import threading

import pytest
from streamlit.elements import vega_charts

import mtl
from mtl import charts
from ui import charting, runtime
from ui.keys import cache_key


@pytest.fixture(scope="module")
def result() -> mtl.Result:
    return mtl.train(mtl.preset("tradeoff").with_(epochs=5))


@pytest.mark.parametrize(
    "options", [{}, {"mode": "raw"}, {"log": True}, {"split": "test", "mode": "weighted"}]
)
def test_the_memoised_spec_is_what_st_altair_chart_sends(result, options):
    chart = charts.components_chart(result.history, **options)
    chart.to_dict()  # validates: the builder's spec is valid Vega-Lite
    expected = vega_charts._convert_altair_to_vega_lite_spec(chart)
    key = cache_key(result.config)
    assert charting.spec("components_chart", result.history, key, **options) == expected


def test_a_spec_is_a_fresh_copy_each_time(result):
    key = cache_key(result.config)
    first = charting.spec("components_chart", result.history, key)
    first["datasets"].clear()  # what st.vega_lite_chart does to the spec it gets
    first["layer"][0]["encoding"]["x"]["title"] = "edited"
    second = charting.spec("components_chart", result.history, key)
    assert second["datasets"]
    assert second["layer"][0]["encoding"]["x"]["title"] == "epoch"


def test_long_lived_objects_are_frozen_once_from_the_second_run(monkeypatch):
    frozen: list[int] = []
    monkeypatch.setattr(runtime, "_frozen", threading.Event())
    monkeypatch.setattr(runtime, "_runs_started", itertools.count())
    monkeypatch.setattr(runtime.gc, "freeze", lambda: frozen.append(1))
    runtime.freeze_long_lived()  # the process's first run: its imports may still be under way
    assert frozen == []
    runtime.freeze_long_lived()
    runtime.freeze_long_lived()
    assert frozen == [1]
