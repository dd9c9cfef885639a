"""The Learn mode, driven by AppTest: each step's button sets its state, and its paragraph quotes
the core's figures and teaches something the core's result bears out.

One page walks the five steps in order (module fixture). For every step the test trains the
step's runs (and its sweep or tuned face-off) with the core directly, outside the page, and
checks that the page's paragraph is exactly the step's text for those figures, that the figures
are what the core's frames say (read here independently), and that the step's lesson holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import mtl
from mtl.compare import pareto_front, tuned_face_off
from mtl.sweeps import seeds_from
from mtl.urlstate import from_query
from tests.test_app import new_app, set_and_run, widget
from ui.learn import ON, STEP, show_key, sweep_request, tuned_request
from ui.learn_steps import STEPS, Evidence, Figures, Step
from ui.memory import LAST_GOOD
from ui.state import config_from_state
from ui.tabs.common import SWEEP_REQUEST
from ui.tabs.face_off import TUNED_REQUEST

INDEX = {step.label: i for i, step in enumerate(STEPS)}


def core_evidence(step: Step) -> Evidence:
    """The step's evidence trained by the core directly (no page, no cache)."""
    sweep = tuned = None
    request = sweep_request(step)
    if request is not None:
        sweep = mtl.sweep(
            request.cfg,
            grid=request.grid,
            points=request.points,
            seeds=seeds_from(request.cfg, request.seeds),
        )
    wanted = tuned_request(step)
    if wanted is not None:
        tuned = tuned_face_off(wanted.cfg, wanted.methods, seeds_from(wanted.cfg, wanted.seeds))
    return Evidence(
        result=mtl.train(step.config),
        companions={name: mtl.train(cfg) for name, cfg in step.companions.items()},
        sweep=sweep,
        tuned=tuned,
    )


def panel_texts(at: AppTest) -> list[str]:
    """The Markdown texts of the Learn panel."""
    panel = next(b for b in at.main.children.values() if getattr(b, "key", None) == "learn.panel")
    texts: list[str] = []

    def walk(block: Any) -> None:
        for child in getattr(block, "children", {}).values():
            if getattr(child, "type", None) == "markdown":
                texts.append(child.value)
            walk(child)

    walk(panel)
    return texts


def press(at: AppTest, index: int) -> AppTest:
    """Pick step ``index`` and press its **Show me** button."""
    if at.session_state[STEP] != index:
        set_and_run(at, STEP, index)
    at.button(key=show_key(index)).click()
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def page() -> AppTest:
    at = new_app()
    at.toggle(key=ON).set_value(True)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def walked(page: AppTest) -> dict[int, dict[str, Any]]:
    """Each step pressed in turn: the page's paragraph, session values and the core's figures."""
    seen: dict[int, dict[str, Any]] = {}
    for index, step in enumerate(STEPS):
        press(page, index)
        state = page.session_state
        evidence = core_evidence(step)
        seen[index] = {
            "texts": panel_texts(page),
            "config": config_from_state(state),
            "shown": state[LAST_GOOD][1].config,
            "view": {k: state[k] for k in step.view},
            "tab": state["view.tab"],
            "link": dict(page.query_params),
            "sweep": state[SWEEP_REQUEST] if step.sweep else None,
            "tuned": state[TUNED_REQUEST] if step.tuned else None,
            "evidence": evidence,
            "figures": step.figures(evidence),
        }
    return seen


def test_the_switch_opens_the_panel_at_step_one() -> None:
    at = new_app()
    assert at.toggle(key=ON).value is False
    assert not [b for b in at.button if b.key.startswith("learn.show")]
    at.toggle(key=ON).set_value(True)
    at.run()
    assert widget(at, STEP).value == 0
    assert at.button(key=show_key(0))
    assert any("Press **Show me**" in c.value for c in at.main.caption)
    assert any(STEPS[0].title in t for t in panel_texts(at))


@pytest.mark.parametrize("index", range(len(STEPS)))
def test_each_button_loads_its_state(walked: dict[int, dict[str, Any]], index: int) -> None:
    step, seen = STEPS[index], walked[index]
    assert seen["config"] == step.config  # the controls describe the step's run
    assert seen["shown"] == step.config  # and it is the run on screen
    assert seen["view"] == dict(step.view)
    assert seen["tab"] == step.tab
    assert from_query(seen["link"])[0] == step.config  # the address bar reproduces it
    if step.sweep:
        assert seen["sweep"] == sweep_request(step)
    if step.tuned:
        assert seen["tuned"] == tuned_request(step)


@pytest.mark.parametrize("index", range(len(STEPS)))
def test_each_paragraph_quotes_the_cores_figures_and_its_lesson_holds(
    walked: dict[int, dict[str, Any]], index: int
) -> None:
    step, seen = STEPS[index], walked[index]
    figures = seen["figures"]
    assert step.claim(figures) in seen["texts"]
    assert step.holds(figures), (step.title, figures)


def _start_ratio(result: mtl.Result, epoch: int) -> float:
    h = result.history
    rows = h[(h.member == 0) & (h.split == "train") & (h.epoch == epoch)]
    loss = dict(zip(rows.component, rows.loss, strict=True))
    return loss["regression"] / loss["classification"]


def test_step_one_figures_are_the_histories(walked: dict[int, dict[str, Any]]) -> None:
    f: Figures = walked[INDEX["1 Scales"]]["figures"]
    result = walked[INDEX["1 Scales"]]["evidence"].result
    assert f["start_ratio"] == pytest.approx(_start_ratio(result, 0))
    assert f["end_ratio"] == pytest.approx(_start_ratio(result, result.config.epochs))
    d = result.diagnostics
    first = d[(d.member == 0) & (d.epoch == 0)].set_index("diagnostic")["value"]
    g_reg = first["weighted_grad_norm_regression"]
    g_cls = first["weighted_grad_norm_classification"]
    assert f["share"] == pytest.approx(g_reg / (g_reg + g_cls))
    assert f["start_ratio"] > 10  # "loss scales differ"


def test_step_two_figures_are_the_summaries(walked: dict[int, dict[str, Any]]) -> None:
    seen = walked[INDEX["2 Weights"]]
    f, evidence = seen["figures"], seen["evidence"]
    on_screen, low = evidence.result.summary.iloc[0], evidence.companions["low"].summary.iloc[0]
    assert (f["mse_high"], f["acc_high"]) == (on_screen.test_mse, on_screen.test_accuracy)
    assert (f["mse_low"], f["acc_low"]) == (low.test_mse, low.test_accuracy)
    assert on_screen.w_regression > low.w_regression
    model, optim = evidence.result.config.model, evidence.result.config.optim
    assert (model.width, model.depth, optim.kind) == (1, 1, "sgd")  # what the intro says
    # "alpha trades one task for the other": more regression weight, lower MSE and accuracy
    assert on_screen.test_mse < low.test_mse and on_screen.test_accuracy < low.test_accuracy


def test_step_three_figures_are_the_sweeps(walked: dict[int, dict[str, Any]]) -> None:
    seen = walked[INDEX["3 Sweep"]]
    f, summary = seen["figures"], seen["evidence"].sweep.summary
    means = summary.groupby("w_regression")[["test_mse", "test_accuracy"]].mean()
    low = means.loc[np.isclose(means.index, 0.1)].iloc[0]
    high = means.loc[np.isclose(means.index, 0.9)].iloc[0]
    assert f["mse_low"] == pytest.approx(low.test_mse)
    assert f["acc_high"] == pytest.approx(high.test_accuracy)
    front = summary[pareto_front(summary)]
    assert f["front"] == len(front) > 1
    assert f["front_alpha_min"] == front.w_regression.min()
    assert f["members"] == len(summary) == 11 * 3


def test_step_four_figures_are_the_diagnostics(walked: dict[int, dict[str, Any]]) -> None:
    seen = walked[INDEX["4 Conflict"]]
    f, result = seen["figures"], seen["evidence"].result
    assert result.config.weighting.method == "mgda"
    d = result.diagnostics
    cosine = d[(d.member == 0) & (d.diagnostic == "cosine")]["value"].dropna()
    assert f["conflict"] == pytest.approx((cosine < 0).mean())
    assert f["conflict"] > 0.5  # the tasks' gradients conflict in most epochs
    pcgrad = seen["evidence"].companions["pcgrad"].summary.iloc[0]
    assert (f["pcgrad_mse"], f["pcgrad_acc"]) == (pcgrad.test_mse, pcgrad.test_accuracy)


def test_step_five_figures_are_the_tuned_table(walked: dict[int, dict[str, Any]]) -> None:
    seen = walked[INDEX["5 Face-off"]]
    f, tuned = seen["figures"], seen["evidence"].tuned
    counts = tuned.table["front"].value_counts()
    assert f["beyond"] == counts.get("beyond", 0) == 0  # no method beats the tuned front
    assert f["on"] + f["behind"] == len(tuned.table) == len(STEPS[-1].tuned.methods)
    assert f["rates"] == len(tuned.lrs)


def test_a_changed_control_stops_the_quoting(page: AppTest) -> None:
    press(page, INDEX["2 Weights"])
    set_and_run(page, "seed", 7)
    texts = panel_texts(page)
    captions = [c.value for c in page.main.caption]
    assert any("no longer shows this step's run (changed since: Seed)" in c for c in captions)
    assert not any("On screen, α" in t for t in texts)  # no figures quoted for another run
