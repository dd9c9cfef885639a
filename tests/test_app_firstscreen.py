"""The first screen (issue 13): the trade-off preset, task quality, loss scales, the two page bugs.

Driven by Streamlit's AppTest; every number the page prints is checked against the core's own
result for the same configuration (``mtl.train``, deterministic).
"""

from __future__ import annotations

import pytest

import mtl
from tests.test_app import GOOD_CSV, new_app, set_and_run, shown_config, widget
from ui import csv_upload
from ui.keys import cache_key
from ui.memory import LAST_GOOD
from ui.state import DEFAULT_PRESET, PRESET_LABELS
from ui.tabs.result import conflict_caption
from ui.views import ADAM_NOTE, factor_text, loss_scale_figures, loss_scale_note, weights_in_force

# ---------------------------------------------------------------- helpers


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


# ---------------------------------------------------------------- the default preset


def test_the_default_preset_is_the_sgd_tradeoff_and_the_adam_one_is_kept():
    cfg = mtl.preset(DEFAULT_PRESET)
    assert DEFAULT_PRESET == "tradeoff"
    assert cfg.optim.kind == "sgd" and cfg.model.width == 1
    assert mtl.preset("conflicting").optim.kind == "adam"
    assert "Adam" in PRESET_LABELS["conflicting"]


def test_alpha_trades_the_tasks_beyond_seed_noise():
    """The README's figure: from alpha 0.1 to 0.9 both test metrics move > 3x their seed spread.

    Spread: max - min over seeds 0, 1, 2 at one alpha (the larger of the two); the same figures
    ``bench/bench_tradeoff.py`` prints.
    """
    cfg = mtl.preset(DEFAULT_PRESET)
    s = mtl.sweep(cfg, weights=[(0.1, 0.9), (0.9, 0.1)], seeds=[0, 1, 2]).summary
    low, high = s[s.w_regression < 0.5], s[s.w_regression > 0.5]
    for metric in ("test_mse", "test_accuracy"):
        spread = max(
            float(low[metric].max() - low[metric].min()),
            float(high[metric].max() - high[metric].min()),
        )
        move = abs(float(high[metric].mean() - low[metric].mean()))
        assert move > 3 * spread, (metric, move, spread)
    # the direction: more regression weight, lower MSE and lower accuracy
    assert high.test_mse.mean() < low.test_mse.mean()
    assert high.test_accuracy.mean() < low.test_accuracy.mean()


def test_the_adam_preset_explains_adams_near_invariance():
    at = new_app()
    assert not any("Adam hardly sees the weights" in i.value for i in at.info)
    set_and_run(at, "preset", "conflicting")
    assert any(i.value == ADAM_NOTE for i in at.info)
    assert "running RMS" in ADAM_NOTE and "ratio" in ADAM_NOTE


# ---------------------------------------------------------------- the headline


def test_the_headline_shows_r2_and_the_references_of_the_core():
    at = new_app()
    result = mtl.train(mtl.preset(DEFAULT_PRESET))
    assert shown_config(at) == cache_key(result.config)
    s, ref = result.summary.iloc[0], result.reference
    for split in ("test", "train"):
        expected = (
            f"{split.capitalize()}: R² {s[f'{split}_r2']:.3f} · predicting the training mean: "
            f"MSE {ref[f'{split}_mse']:.4g}; the majority class: {ref[f'{split}_accuracy']:.1%}"
        )
        assert expected in captions(at)
    # the default run is better than both references: no warning
    assert not any("no better than" in w for w in warnings(at))


def test_the_weights_in_force_are_stated_beside_the_chart():
    at = new_app()
    assert "Weights in force: regression 0.5, classification 0.5 (fixed)." in captions(at)
    set_and_run(at, "weighting.alpha", 0.9)
    assert "Weights in force: regression 0.9, classification 0.1 (fixed)." in captions(at)


def test_a_dynamic_method_states_its_final_weights_and_range():
    at = new_app()
    set_and_run(at, "weighting.method", "gradnorm")
    cfg = mtl.preset(DEFAULT_PRESET).with_(**{"weighting.method": "gradnorm"})
    result = mtl.train(cfg)
    text = weights_in_force(result)
    assert text in captions(at)
    h = result.history
    w = h[(h.split == "train") & (h.epoch == cfg.epochs)].set_index("component").weight
    assert f"at the end regression {w['regression']:.3g}" in text
    reg = h[(h.split == "train") & (h.component == "regression")].weight
    assert f"regression {reg.min():.3g} to {reg.max():.3g}" in text


@pytest.mark.parametrize(
    ("alpha", "seed", "task", "expected"),
    [
        # alpha 0: the regression head never learns; seed 2's random head is worse than the mean
        (0.0, 2, "regression", "**The regression is no better than predicting the training mean**"),
        # alpha 1: the classifier never learns; seed 4's random head is below the majority class
        (1.0, 4, "classification", "**The classifier is no better than always predicting the"),
    ],
)
def test_a_task_no_better_than_its_reference_is_warned_about(alpha, seed, task, expected):
    at = new_app()
    widget(at, "weighting.alpha").set_value(alpha)
    widget(at, "seed").set_value(seed)
    at.run()
    cfg = mtl.preset(DEFAULT_PRESET).with_(seed=seed, **{"weighting.weights": (alpha, 1 - alpha)})
    assert shown_config(at) == cache_key(cfg)
    result = mtl.train(cfg)
    s, ref = result.summary.iloc[0], result.reference
    if task == "regression":  # the core agrees it is no better, and the figures are quoted
        assert s.test_mse >= ref["test_mse"] and s.test_accuracy > ref["test_accuracy"]
        figures = f"test MSE {s.test_mse:.4g} against {ref['test_mse']:.4g}."
    else:
        assert s.test_accuracy <= ref["test_accuracy"] and s.test_mse < ref["test_mse"]
        figures = f"test accuracy {s.test_accuracy:.1%} against {ref['test_accuracy']:.1%}."
    shown = [w for w in warnings(at) if "no better than" in w]
    assert len(shown) == 1, shown  # only the task that is no better
    assert shown[0].startswith(expected) and figures in shown[0]


# ---------------------------------------------------------------- loss scales


SCALED = {"data.target_scale": 30.0}


def test_the_loss_scale_callout_quotes_the_cores_figures():
    at = new_app()
    assert not any("Loss scales differ" in i.value for i in at.info)
    set_and_run(at, "data.target_scale", SCALED["data.target_scale"])
    result = mtl.train(mtl.preset(DEFAULT_PRESET).with_(**SCALED))
    figures = loss_scale_figures(result)
    assert figures is not None and figures["weighted_ratio"] > 10
    # the share is regression's weighted gradient norm over both, at epoch 0, from the core
    d = result.diagnostics
    start = d[d.epoch == 0].set_index("diagnostic").value
    reg, cls = start["weighted_grad_norm_regression"], start["weighted_grad_norm_classification"]
    assert figures["regression_share"] == pytest.approx(reg / (reg + cls))
    h = result.history
    h0 = h[(h.epoch == 0) & (h.split == "train")].set_index("component").loss
    ratio = h0["regression"] / h0["classification"]
    note = loss_scale_note(result)
    assert note is not None
    assert f"regression's loss is {factor_text(ratio)}× classification's" in note
    assert f"regression gets {reg / (reg + cls):.1%} of the shared update" in note
    assert note in [i.value for i in at.info]


def test_no_callout_when_the_scales_are_close():
    result = mtl.train(mtl.preset(DEFAULT_PRESET).with_(epochs=2))
    figures = loss_scale_figures(result)
    assert figures is not None and 0.1 < figures["weighted_ratio"] < 10
    assert loss_scale_note(result) is None


# ---------------------------------------------------------------- gradient conflict tab


def test_the_conflict_tab_shows_raw_and_weighted_ratios_of_the_core():
    at = new_app()
    at.session_state["view.tab"] = "Gradient conflict"
    at.run()
    result = mtl.train(mtl.preset(DEFAULT_PRESET))
    d = result.diagnostics
    raw = d[d.diagnostic == "norm_ratio"].value.median()
    weighted = d[d.diagnostic == "weighted_norm_ratio"].value.median()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Raw norm ratio (median)"] == f"{raw:.3g}"
    assert metrics["Weighted norm ratio (median)"] == f"{weighted:.3g}"
    assert conflict_caption(raw, weighted) in captions(at)


def test_the_conflict_caption_reads_the_weighted_gradients_of_a_dynamic_method():
    """The bug: a method that cut regression's weight was still said to let regression dominate.

    With a target 30x larger, the raw regression gradient is far larger than the classification
    one; GLS weights each loss by total / (2 L_t), cutting regression's weight, so at the
    weights in force regression no longer dominates, and the caption must say so.
    """
    changes = {**SCALED, "weighting.method": "gls"}
    cfg = mtl.preset(DEFAULT_PRESET).with_(**changes)
    result = mtl.train(cfg)
    d = result.diagnostics
    raw = d[d.diagnostic == "norm_ratio"].value.median()
    weighted = d[d.diagnostic == "weighted_norm_ratio"].value.median()
    h = result.history
    w = h[(h.split == "train") & (h.component == "regression")].weight
    assert raw > 2 and weighted < 2 and w.median() < 0.1  # what the caption must reflect
    at = new_app()
    widget(at, "data.target_scale").set_value(SCALED["data.target_scale"])
    widget(at, "weighting.method").set_value("gls")
    at.run()
    at.session_state["view.tab"] = "Gradient conflict"
    at.run()
    assert shown_config(at) == cache_key(cfg)
    caption = conflict_caption(raw, weighted)
    assert caption in captions(at)
    assert "the regression gradient dominates" not in caption


# ---------------------------------------------------------------- the CSV bug


def test_a_former_regression_target_is_offered_back_as_a_feature():
    """Upload, regress another column, then the first again: no column is lost for good."""
    at = new_app()
    set_and_run(at, "data.name", "csv")
    at.get("file_uploader")[0].set_value(("people.csv", GOOD_CSV, "text/csv"))
    at.run()
    assert widget(at, "data.csv.features").value == ["weight", "age"]
    set_and_run(at, "data.csv.regression_target", "weight")
    assert widget(at, "data.csv.features").value == ["height", "age"]  # height is back
    assert at.session_state["data.csv.features"] == ["height", "age"]
    set_and_run(at, "data.csv.regression_target", "height")
    assert widget(at, "data.csv.features").value == ["weight", "age"]
    assert not at.exception
    # the page trained on exactly those features
    assert at.session_state[LAST_GOOD][1].config.data.table.feature_names == ("weight", "age")


def test_features_after_keeps_the_visitors_removals():
    columns = csv_upload.read_columns(GOOD_CSV)
    # the visitor removed age; moving the regression target to weight frees height only
    after = columns.features_after(["weight"], ("height", "kind"), ("weight", "kind"))
    assert after == ["height"]
    assert columns.features_after(["weight", "age"], None, ("height", "kind")) == [
        "weight",
        "age",
    ]
