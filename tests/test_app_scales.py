"""The page's loss-scale controls, driven by AppTest: balanced start, standardised target, grids.

Each test uses a seed no other test uses, so AppTest's shared cache cannot hand it another test's
result; epochs are cut to keep them quick.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import mtl
from mtl.sweeps import grid_alphas, seeds_from, sweep_config
from mtl.urlstate import from_query, to_query
from tests.test_app import APP, new_app, set_and_run, sidebar_keys, widget
from ui.memory import LAST_GOOD
from ui.tabs.common import SWEEP_REQUEST
from ui.views import _fmt_mse


def shown(at: AppTest) -> mtl.Result:
    return at.session_state[LAST_GOOD][1]


def quick_app(seed: int) -> AppTest:
    at = new_app()
    set_and_run(at, "epochs", 20)
    return set_and_run(at, "seed", seed)


def test_balanced_start_from_the_sidebar_equalises_the_first_weighted_losses_and_travels():
    at = quick_app(61)
    assert "weighting.balanced" in sidebar_keys(at)
    set_and_run(at, "weighting.balanced", True)
    assert not at.exception, at.exception
    result = shown(at)
    assert result.config.weighting.scale == "balanced"
    h = result.history
    first = h[(h["epoch"] == 0) & (h["split"] == "train")].set_index("component")["weighted"]
    assert first["regression"] == pytest.approx(first["classification"], rel=1e-5)  # alpha 0.5
    core = mtl.train(result.config).summary.iloc[0]
    assert at.metric[0].label == "Test MSE" and at.metric[0].value == _fmt_mse(core["test_mse"])
    assert at.query_params["weighting.scale"] == "balanced"
    assert from_query(at.query_params)[0] == result.config
    # a link opens with the box ticked
    linked = AppTest.from_file(APP, default_timeout=60)
    linked.query_params.update(to_query(result.config))
    linked.run()
    assert not linked.exception, linked.exception
    assert widget(linked, "weighting.balanced").value is True
    # a method that sets its own weights shows no box and its runs are raw
    set_and_run(at, "weighting.method", "uncertainty")
    assert "weighting.balanced" not in sidebar_keys(at)
    assert shown(at).config.weighting.scale == "raw"


def test_a_standardised_target_from_the_sidebar_still_shows_the_mse_in_the_targets_units():
    at = quick_app(62)
    set_and_run(at, "data.target_scale", 40.0)
    plain = shown(at).summary.iloc[0]
    set_and_run(at, "data.standardize_target", True)
    assert not at.exception, at.exception
    result = shown(at)
    assert result.config.data.standardize_target
    core = mtl.train(result.config).summary.iloc[0]
    assert at.metric[0].value == _fmt_mse(core["test_mse"])
    # in the target's units (std ~ 40): the same order as the raw run's, not a z-score's
    assert core["test_mse"] > 0.1 * plain["test_mse"] and core["test_mse"] > 10
    h = result.history
    start = h[(h["epoch"] == 0) & (h["split"] == "train") & (h["component"] == "regression")]
    assert float(start["loss"].iloc[0]) < 5  # the loss the optimiser sees: standardised
    assert at.query_params["data.standardize_target"] == "true"


@pytest.mark.parametrize("grid", ["log", "balanced"])
def test_the_sweep_tab_offers_the_log_and_balanced_grids(grid):
    at = quick_app(63 if grid == "log" else 64)
    at.session_state["view.tab"] = "Weight sweep"
    at.run()
    assert not at.exception, at.exception
    grid_radio = widget(at, "sweep.grid")
    assert grid_radio.options == ["Even α", "Log ratio", "Balanced α"]
    assert "1e-4" in grid_radio.help
    grid_radio.set_value(grid)
    widget(at, "sweep.points").set_value(3)
    widget(at, "sweep.seeds").set_value(1)
    at.run()
    at.button(key="sweep.run").click()
    at.run()
    assert not at.exception, at.exception
    request = at.session_state[SWEEP_REQUEST]
    assert request.grid == grid
    cfg = shown(at).config
    assert request.cfg == sweep_config(cfg, grid)
    table = next(d.value for d in at.dataframe if "pareto" in d.value.columns)
    assert table["w_regression"].tolist() == pytest.approx(grid_alphas(grid, 3))
    direct = mtl.sweep(
        sweep_config(cfg, grid), grid=grid, points=3, seeds=seeds_from(cfg, 1)
    ).summary
    np.testing.assert_allclose(table["test_mse"], direct["test_mse"])
    specs = [json.dumps(json.loads(c.proto.spec)) for c in at.get("vega_lite_chart")]
    ratio_axis = any('"w_regression / w_classification"' in s for s in specs)
    assert ratio_axis == (grid == "log")  # a log axis of the ratio only for the log grid
    if grid == "log":
        assert any('"type": "log"' in s and "ratio" in s for s in specs)
        assert any("log axis" in c.value for c in at.caption)
    else:
        assert any("Balanced grid" in c.value for c in at.caption)
    # choosing another grid says the sweep on screen is of the old one
    widget(at, "sweep.grid").set_value("even")
    at.run()
    assert not at.exception, at.exception
    assert any("grid. Press **Run the sweep** for the Even α grid" in i.value for i in at.info)
