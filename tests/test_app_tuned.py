"""The face-off tab's tuned mode, driven by AppTest: the numbers it prints come from the core."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import mtl
from mtl.compare import FRONT_POINTS, tuned_face_off
from tests.test_app import new_app, set_and_run, widget
from tests.test_app_compare import charts_on_page, frame_with, open_tab, shown
from ui.tabs.face_off import METHOD_SHAPES, tuned_chart, tuned_display, zoom

METHODS = ["static", "famo", "pcgrad"]


def run_tuned(at, methods: list[str], seeds: int):
    open_tab(at, "Method face-off")
    widget(at, "faceoff.mode").set_value("tuned")
    at.run()
    widget(at, "faceoff.methods").set_value(methods)
    widget(at, "faceoff.seeds").set_value(seeds)
    at.run()
    at.button(key="faceoff.tuned_run").click()
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def page():
    at = new_app()
    set_and_run(at, "epochs", 30)
    set_and_run(at, "seed", 57)
    run_tuned(at, METHODS, seeds=2)
    cfg = shown(at).config
    return at, tuned_face_off(cfg, METHODS, seeds=(57, 58))


def test_the_tuned_table_prints_the_cores_figures(page):
    at, core = page
    table = frame_with(at, "Δm 95% interval")
    expected = core.table
    assert table["Method"].tolist() == [mtl.weighting.METHODS[m].label for m in expected.method]
    np.testing.assert_allclose(table["Δm"], expected["delta_m"], rtol=1e-6)
    np.testing.assert_allclose(table["Learning rate"], expected["lr"])
    np.testing.assert_allclose(table["Cost"], expected["cost"])
    assert table["Group"].tolist() == [
        {"best": "Best", "tied": "Tied with best", "behind": "Behind"}[g] for g in expected.group
    ]
    first = expected.iloc[0]
    assert table["Δm 95% interval"].iloc[0] == (
        f"{first.delta_m:+.2f} [{first.delta_m_lo:+.2f}, {first.delta_m_hi:+.2f}]"
    )
    assert table["Test MSE"].iloc[0].startswith(f"{first.mse_mean:#.4g} [")
    assert table["Static front"].iloc[0].split()[0].lower() == first.front


def test_the_tuned_page_states_the_verdict_baselines_and_the_chart(page):
    at, core = page
    texts = [m.value for m in at.markdown]
    assert any(core.verdict in t for t in texts)
    captions = [c.value for c in at.caption]
    assert any(f"{core.baselines['mse']:#.4g}" in c for c in captions)
    assert any(f"Validation: {core.n_validation} rows" in c for c in captions)
    spec = next(s for s in charts_on_page(at) if "accuracy_lo" in json.dumps(s))
    assert "layer" in spec
    assert len(core.front) == FRONT_POINTS


def test_the_tuned_mode_keeps_the_quick_mode_apart(page):
    at, _ = page
    widget(at, "faceoff.mode").set_value("quick")
    at.run()
    assert not at.exception
    assert at.button(key="faceoff.run")
    assert not [d for d in at.dataframe if "Δm 95% interval" in d.value.columns]
    widget(at, "faceoff.mode").set_value("tuned")
    at.run()
    assert [d for d in at.dataframe if "Δm 95% interval" in d.value.columns]


def _table(mse: list[float], acc: list[float]) -> pd.DataFrame:
    names = list(mtl.weighting.METHODS)[: len(mse)]
    return pd.DataFrame(
        {
            "method": names,
            "mse_mean": mse,
            "mse_lo": [m * 0.9 for m in mse],
            "mse_hi": [m * 1.1 for m in mse],
            "accuracy_mean": acc,
            "accuracy_lo": [a - 0.01 for a in acc],
            "accuracy_hi": [a + 0.01 for a in acc],
            "delta_m": [0.0] * len(mse),
            "delta_m_lo": [math.nan] * len(mse),
            "delta_m_hi": [math.nan] * len(mse),
            "group": ["best"] + ["tied"] * (len(mse) - 1),
            "front": ["on"] * len(mse),
            "lr": [0.01] * len(mse),
            "cost": [1.0] * len(mse),
            "diverged": [0] * len(mse),
        }
    )


def test_the_zoom_leaves_far_outliers_off_and_names_them():
    mse = [2.5, 2.6, 2.55, 2.7, 2.65, 2.58, 2.62, 2.59, 9.0]
    acc = [0.85, 0.86, 0.84, 0.85, 0.87, 0.86, 0.85, 0.84, 0.85]
    table = _table(mse, acc)
    front = pd.DataFrame(
        {"mse_mean": [2.5, 2.7], "accuracy_mean": [0.84, 0.88], "pareto": [True, True]}
    )
    kept, out = zoom(table, front)
    assert out == [mtl.weighting.METHODS[table.method.iloc[-1]].label]
    assert len(kept) == len(table) - 1
    # one seed: no intervals, shown as the mean alone
    shown = tuned_display(table)
    assert shown["Δm 95% interval"].iloc[0] == "+0.00"
    # every method drawn keeps a (colour, shape) pair of its own, the legend below the plot
    spec = tuned_chart(kept, front.assign(alpha=[0.1, 0.9], lr=[0.01, 0.01])).to_dict()
    marks = spec["layer"][-1]["encoding"]
    assert marks["color"]["legend"]["orient"] == "bottom"
    pairs = set(
        zip(marks["color"]["scale"]["range"], marks["shape"]["scale"]["range"], strict=True)
    )
    assert len(pairs) == len(kept)
    assert len(set(METHOD_SHAPES.values())) > 1
    # one legend: no layer hides its colour legend (a browser warns of conflicting legends)
    for layer in spec["layer"]:
        channel = layer.get("encoding", {}).get("color")
        assert channel is None or channel.get("legend", {}) is not None, layer
