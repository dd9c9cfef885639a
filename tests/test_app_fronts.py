"""The sweep tab's overlay of a preference (Tchebycheff) sweep on the linear one, via AppTest."""

from __future__ import annotations

import json

import mtl
from mtl.compare import front_reference, hypervolume, pareto_front
from mtl.sweeps import alpha_grid, sweep_config
from tests.test_app import new_app, set_and_run, widget
from tests.test_app_compare import charts_on_page, run_sweep, shown
from ui.tabs.sweep import OVERLAY_KEY


def test_the_overlay_draws_both_fronts_with_the_cores_hypervolumes():
    at = new_app()
    set_and_run(at, "seed", 41)  # a sweep no other test runs
    run_sweep(at, points=5, seeds=1)
    before = charts_on_page(at)
    assert any("Tchebycheff sweep reads α as a preference" in c.value for c in at.caption)
    set_and_run(at, OVERLAY_KEY, "tchebycheff")
    assert not at.exception, at.exception
    assert not at.error
    specs = charts_on_page(at)
    assert len(specs) == len(before) + 1
    # the overlay chart: a colour per sweep and a shaded region layer
    overlay = next(s for s in specs if "Sweep" in json_text(s))
    assert "area" in json_text(overlay)

    cfg = shown(at).config
    weights = [(a, 1 - a) for a in alpha_grid(5)]
    linear = mtl.sweep(sweep_config(cfg), weights=weights, seeds=[41]).summary
    pref_cfg = sweep_config(cfg).with_(weighting=mtl.WeightingSpec(method="tchebycheff"))
    pref = mtl.sweep(pref_cfg, weights=weights, seeds=[41]).summary
    assert pareto_front(pref).any()
    reference = front_reference(linear, pref)
    text = "\n".join(m.value for m in at.markdown)
    for frame in (linear, pref):
        assert f"hypervolume **{hypervolume(frame, reference):#.4g}**" in text
    assert f"MSE {reference[0]:#.4g}" in text
    assert any("wide model" in c.value for c in at.caption)
    # back to none: the overlay goes, the sweep stays
    set_and_run(at, OVERLAY_KEY, "none")
    assert len(charts_on_page(at)) == len(before)
    assert widget(at, OVERLAY_KEY).value == "none"


def json_text(spec: dict) -> str:
    """A chart's spec as one string, to look for marks and titles in it."""
    return json.dumps(spec)


def test_the_sidebar_says_a_preference_method_reads_the_weights_as_a_preference():
    at = new_app()
    hint = "reads these weights as a preference between the tasks"
    assert not any(hint in c.value for c in at.sidebar.caption)  # static weights: loss weights
    set_and_run(at, "weighting.method", "tchebycheff")
    assert not at.exception, at.exception
    assert any(hint in c.value for c in at.sidebar.caption)
