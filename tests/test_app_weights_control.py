"""The weight control beside the headline chart (``ui.weights_control``), driven by AppTest.

It mirrors the sidebar's alpha (or the two free weights) both ways, says what the weights mean
to the method, and adds nothing to the link.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import mtl
from mtl.config import WeightingSpec
from mtl.urlstate import to_query
from mtl.weighting import METHODS
from ui import weights_control
from ui.memory import LAST_GOOD
from ui.state import DEFAULT_PRESET

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HEADLINE = weights_control.ALPHA
SIDEBAR = "weighting.alpha"


def tiny(alpha: float = 0.5) -> mtl.RunConfig:
    """The default run, 10 epochs (cheap to train), at ``alpha``."""
    weights = WeightingSpec.alpha(alpha).weights
    return mtl.preset(DEFAULT_PRESET).with_(**{"epochs": 10, "weighting.weights": weights})


def new_app(query: dict[str, str] | None = None) -> AppTest:
    """The page opened on a link (the tiny default run unless ``query`` is given)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or to_query(tiny()))
    at.run()
    assert not at.exception, at.exception
    return at


def trained(at: AppTest) -> mtl.RunConfig:
    """The configuration of the run on screen."""
    return at.session_state[LAST_GOOD][1].config


def test_the_headline_alpha_sets_the_sidebars_and_the_run():
    at = new_app()
    assert at.slider(key=HEADLINE).value == at.slider(key=SIDEBAR).value == 0.5
    at.slider(key=HEADLINE).set_value(0.73).run()
    assert not at.exception
    assert at.slider(key=SIDEBAR).value == 0.73
    assert trained(at).weighting.weights == pytest.approx((0.73, 0.27))
    assert at.query_params["weighting.weights"].startswith("0.73,")


def test_the_sidebars_alpha_and_a_preset_show_in_the_headline():
    at = new_app()
    at.slider(key=SIDEBAR).set_value(0.27).run()
    assert at.slider(key=HEADLINE).value == 0.27
    assert trained(at).weighting.weights == pytest.approx((0.27, 0.73))
    at.slider(key=HEADLINE).set_value(0.61).run()  # and back again: each way more than once
    at.slider(key=SIDEBAR).set_value(0.19).run()
    assert at.slider(key=HEADLINE).value == at.slider(key=SIDEBAR).value == 0.19
    at.selectbox(key="preset").set_value("notebook").run()  # a preset writes the sidebar's keys
    assert at.slider(key=HEADLINE).value == 0.5 == at.slider(key=SIDEBAR).value


def test_a_link_round_trip_keeps_one_weights_parameter():
    cfg = tiny(0.8)
    at = new_app(to_query(cfg))
    assert at.slider(key=HEADLINE).value == 0.8
    assert at.query_params == to_query(cfg)
    at.slider(key=HEADLINE).set_value(0.64).run()
    changed = trained(at)
    assert changed.weighting.weights == pytest.approx((0.64, 0.36))
    assert at.query_params == to_query(changed)  # the same keys: nothing from the headline
    assert not any(key.startswith("headline") for key in at.query_params)
    again = new_app(dict(at.query_params))  # opening that link restores both controls
    assert at.slider(key=SIDEBAR).value == 0.64
    assert again.slider(key=HEADLINE).value == again.slider(key=SIDEBAR).value == 0.64


def test_free_weights_show_as_two_boxes_in_step_with_the_sidebar():
    at = new_app()
    at.selectbox(key="preset").set_value("article").run()  # weights (1, 1): free form
    boxes = {task: at.number_input(key=key) for task, key in weights_control.WEIGHTS.items()}
    assert {task: box.value for task, box in boxes.items()} == {
        "regression": 1.0,
        "classification": 1.0,
    }
    assert HEADLINE not in [s.key for s in at.slider]
    at.number_input(key=weights_control.WEIGHTS["regression"]).set_value(2.5).run()
    assert not at.exception
    assert at.number_input(key="weighting.weights.regression").value == 2.5
    assert trained(at).weighting.weights == pytest.approx((2.5, 1.0))
    at.number_input(key="weighting.weights.classification").set_value(0.5).run()
    assert at.number_input(key=weights_control.WEIGHTS["classification"]).value == 0.5


def test_the_label_says_what_the_weights_mean_to_the_method():
    at = new_app()
    at.selectbox(key="weighting.method").set_value("tchebycheff").run()
    assert "preference" in at.slider(key=HEADLINE).label
    assert "not as loss multipliers" in at.slider(key=HEADLINE).help
    at.selectbox(key="weighting.method").set_value("gradnorm").run()
    assert "starting" in at.slider(key=HEADLINE).label
    at.selectbox(key="weighting.method").set_value("mgda").run()
    assert HEADLINE not in [s.key for s in at.slider]
    assert any("MGDA" in c.value and "no weights to choose here" in c.value for c in at.caption), [
        c.value for c in at.caption
    ]
    at.selectbox(key="weighting.method").set_value("static").run()
    assert at.slider(key=HEADLINE).label == "α (regression weight)"


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_has_a_meaning_that_matches_its_declaration(method: str):
    cls = METHODS[method]
    kind = weights_control.meaning(method)
    assert (kind == "none") == (not cls.uses_base_weights)
    assert (kind == "preference") == (cls.uses_base_weights and cls.preference)


def test_a_stale_headline_value_does_not_pull_the_sidebar_back():
    # Quick presses on the sidebar: a rerun replaces one that had set the headline slider to
    # 0.51 before the browser drew it, so the request still carries the headline's old 0.5
    # beside the sidebar's new 0.52. That old value is not a move of the headline.
    at = new_app()
    at.slider(key=SIDEBAR).set_value(0.51).run()
    assert at.slider(key=HEADLINE).value == 0.51
    at.slider(key=SIDEBAR).set_value(0.52)
    at.slider(key=HEADLINE).set_value(0.5)  # what the browser had not yet redrawn
    at.run()
    assert at.slider(key=SIDEBAR).value == at.slider(key=HEADLINE).value == 0.52
    assert trained(at).weighting.weights[0] == pytest.approx(0.52)
    # the browser draws the runs' values late, in order, while the sidebar keeps moving: each
    # request carries a headline value set by an earlier run, none of them a move
    for sidebar, drawn in ((0.53, 0.5), (0.54, 0.51), (0.55, 0.52), (0.56, 0.54)):
        at.slider(key=SIDEBAR).set_value(sidebar)
        at.slider(key=HEADLINE).set_value(drawn)
        at.run()
        assert at.slider(key=SIDEBAR).value == at.slider(key=HEADLINE).value == sidebar
    assert trained(at).weighting.weights[0] == pytest.approx(0.56)
    at.slider(key=SIDEBAR).set_value(0.52).run()
    # the headline moved to the very value it showed before (the sidebar left alone): a move
    at.slider(key=HEADLINE).set_value(0.51).run()
    at.slider(key=HEADLINE).set_value(0.52).run()
    at.slider(key=SIDEBAR).set_value(0.6).run()
    at.slider(key=HEADLINE).set_value(0.52).run()
    assert at.slider(key=SIDEBAR).value == at.slider(key=HEADLINE).value == 0.52
    assert trained(at).weighting.weights[0] == pytest.approx(0.52)
