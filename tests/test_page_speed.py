"""The page's speed measures keep what it shows: memoised chart specs and the frozen GC.

``ui.charting.show`` sends a Vega-Lite spec made once per chart (Streamlit's own conversion,
without the schema validation); it must be what ``st.altair_chart`` sends, with its datasets
named by position rather than by a hash of their content, so that new data alone leaves the spec
unchanged (the browser then swaps the data of the chart it has instead of building it again).
``ui.runtime.freeze_long_lived`` freezes the process's objects once, from its second run on.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import replace

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
    (hashed,) = expected["datasets"]
    assert len(hashed) == 32 and hashed in _body(expected)  # Streamlit's content hash
    key = cache_key(result.config)
    got = charting.spec("components_chart", result.history, key, **options)
    assert got["datasets"] == {"dataset_0": expected["datasets"][hashed]}
    assert _body(got) == _body(expected).replace(f'"{hashed}"', '"dataset_0"')
    assert hashed not in _body(got)


def _body(spec: dict) -> str:
    """The spec without its datasets (Arrow bytes), as JSON."""
    return json.dumps({k: v for k, v in spec.items() if k != "datasets"}, sort_keys=True)


def test_new_data_alone_leaves_the_spec_the_browser_compares_unchanged(result):
    other = mtl.train(
        result.config.with_(weighting=replace(result.config.weighting, weights=(0.7, 0.3)))
    )
    first = charting.spec("components_chart", result.history, cache_key(result.config))
    second = charting.spec("components_chart", other.history, cache_key(other.config))
    assert first["datasets"]["dataset_0"] != second["datasets"]["dataset_0"]  # the data did change
    assert _body(first) == _body(second)
    # Streamlit's own names differ with the data: the browser would rebuild the chart
    hashed = [
        vega_charts._convert_altair_to_vega_lite_spec(charts.components_chart(r.history))
        for r in (result, other)
    ]
    assert set(hashed[0]["datasets"]) != set(hashed[1]["datasets"])


def test_every_reference_to_a_dataset_is_renamed_and_nothing_else():
    a, b = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
    spec = {
        "layer": [
            {"data": {"name": a}, "mark": "line", "title": "dataset_0 is a label, left alone"},
            {
                "data": {"name": b},
                "transform": [{"lookup": "k", "from": {"data": {"name": a}, "key": "k"}}],
            },
        ],
        "datasets": {a: b"rows of a", b: b"rows of b"},
    }
    got = charting.stable_dataset_names(spec)
    assert got["datasets"] == {"dataset_0": b"rows of a", "dataset_1": b"rows of b"}
    assert got["layer"][0]["data"] == {"name": "dataset_0"}
    assert got["layer"][1]["data"] == {"name": "dataset_1"}
    assert got["layer"][1]["transform"][0]["from"]["data"] == {"name": "dataset_0"}
    assert got["layer"][0]["title"] == "dataset_0 is a label, left alone"
    assert charting.stable_dataset_names({"mark": "bar"}) == {"mark": "bar"}


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
