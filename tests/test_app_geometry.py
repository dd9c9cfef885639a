"""The gradient-geometry view in the Gradient conflict tab, driven by AppTest.

What the page prints (the sentences, the table) must be what :mod:`mtl.geometry` computes from the
result on screen, at the epoch, member and methods chosen.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import mtl
from mtl import geometry
from ui import inert
from ui.memory import LAST_GOOD

APP = str(Path(__file__).resolve().parents[1] / "app.py")
KEYS = ("geometry.epoch", "geometry.methods", "geometry.length")


@pytest.fixture(scope="module")
def at() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=90)
    app.run()
    app.session_state["view.tab"] = "Gradient conflict"
    app.run()
    assert not app.exception, app.exception
    return app


def shown(at: AppTest) -> mtl.Result:
    return at.session_state[LAST_GOOD][1]


def widget(at: AppTest, key: str) -> Any:
    for kind in ("select_slider", "multiselect", "radio", "selectbox"):
        for w in at.get(kind):
            if getattr(w, "key", None) == key:
                return w
    raise KeyError(key)


def expected(result: mtl.Result, epoch: int, methods: list[str]) -> tuple[str, list[str], list]:
    """The sentence, the bullets and the effects the core gives for what the page shows."""
    plane = geometry.plane_at(result, 0, epoch)
    summary = result.summary.iloc[0]
    static = (float(summary["w_regression"]), float(summary["w_classification"]))
    h = result.history
    rows = h[(h["member"] == 0) & (h["epoch"] == epoch) & (h["split"] == "train")]
    loss = dict(zip(rows["component"].astype(str), rows["loss"], strict=True))
    losses = (float(loss["regression"]), float(loss["classification"]))
    directions = [
        geometry.method_direction(m, plane, static_weights=static, losses=losses) for m in methods
    ]
    step = geometry.run_direction(result, plane)
    assert step.direction is not None
    effects = [geometry.effect(plane, d) for d in [*directions, step.direction]]
    bullets = ["- " + inert.text(geometry.describe_effect(plane, e)) for e in effects]
    return inert.text(geometry.describe_plane(plane)), bullets, effects


def check_page(at: AppTest, epoch: int, methods: list[str]) -> None:
    result = shown(at)
    sentence, bullets, effects = expected(result, epoch, methods)
    texts = [m.value for m in at.markdown]
    assert sentence in texts
    assert "\n".join(bullets) in texts
    (table,) = [d.value for d in at.dataframe if "d·g_regression" in d.value.columns]
    core = geometry.effects_table(effects)
    assert list(table["direction"]) == list(core["direction"])
    for column in ("w_regression", "w_classification", "norm", "d·g_regression", "turn (°)"):
        np.testing.assert_allclose(table[column], core[column], rtol=1e-12)
    assert list(table["harms"]) == list(core["harms"])


def test_the_view_has_its_controls_with_help_and_a_third_chart(at):
    for key in KEYS:
        assert widget(at, key).help, key
    assert widget(at, "geometry.methods").value == list(geometry.DEFAULT_METHODS)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(specs) == 1 + 3  # the stacked chart, cosine, norm ratio and the geometry
    assert any(m.value.startswith("- ") and "Random Loss Weighting" in m.value for m in at.markdown)


def test_the_page_prints_the_cores_numbers_at_the_first_conflict(at):
    result = shown(at)
    d = result.diagnostics
    cosine = d[(d["member"] == 0) & (d["diagnostic"] == "cosine")]
    first = int(cosine.loc[cosine["value"] < 0, "epoch"].min())
    assert widget(at, "geometry.epoch").value == first  # it opens on the first conflict
    check_page(at, first, list(geometry.DEFAULT_METHODS))
    assert "the tasks conflict" in geometry.describe_plane(geometry.plane_at(result, 0, first))


def test_another_epoch_and_methods_redraw_with_the_cores_numbers(at):
    last = shown(at).config.epochs
    widget(at, "geometry.epoch").set_value(last)
    widget(at, "geometry.methods").set_value(["mgda", "imtl", "equal_sum"])
    widget(at, "geometry.length").set_value("true")
    at.run()
    assert not at.exception, at.exception
    check_page(at, last, ["mgda", "imtl", "equal_sum"])
    assert any("last step's weights" in c.value for c in at.caption)


def several_members() -> None:
    """A page of the view alone, over a two-member sweep (the script AppTest runs)."""
    import mtl
    from ui.tabs.geometry import geometry_view

    cfg = mtl.preset("conflicting").with_(epochs=3)
    geometry_view(mtl.sweep(cfg, weights=[(0.2, 0.8), (0.9, 0.1)], seeds=[0]))


def test_a_result_of_several_members_offers_a_member_and_draws_its_gradients():
    app = AppTest.from_function(several_members, default_timeout=90)
    app.run()
    assert not app.exception, app.exception
    member = widget(app, "geometry.member")
    assert member.help and len(member.options) == 2
    member.set_value(1)
    app.run()
    assert not app.exception, app.exception
    cfg = mtl.preset("conflicting").with_(epochs=3)
    result = mtl.sweep(cfg, weights=[(0.2, 0.8), (0.9, 0.1)], seeds=[0])
    epoch = widget(app, "geometry.epoch").value
    plane = geometry.plane_at(result, 1, epoch)
    assert inert.text(geometry.describe_plane(plane)) in [m.value for m in app.markdown]
    static = geometry.method_direction("static", plane, static_weights=(0.9, 0.1))
    sentence = geometry.describe_effect(plane, geometry.effect(plane, static))
    assert any(inert.text(sentence) in m.value for m in app.markdown)
