"""The Altair builders: the specs encode what the page promises, and the builders are pure."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest

import mtl
from mtl import charts


@pytest.fixture(scope="module")
def result() -> mtl.Result:
    """A short run with a test split and an L2 term: three components, both splits."""
    cfg = mtl.preset("conflicting").with_(**{"epochs": 12, "loss.l2": 1e-3})
    return mtl.train(cfg)


@pytest.fixture(scope="module")
def no_test() -> mtl.Result:
    return mtl.train(mtl.preset("notebook").with_(epochs=8))


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def encodings(spec: dict) -> list[dict]:
    return [layer.get("encoding", {}) for layer in layers(spec)]


def tooltip_fields(spec: dict) -> set[str]:
    fields: set[str] = set()
    for enc in encodings(spec):
        tips = enc.get("tooltip", [])
        for tip in tips if isinstance(tips, list) else [tips]:
            fields.add(tip["field"])
    return fields


def dataset_rows(spec: dict) -> list[dict]:
    (rows,) = spec["datasets"].values()
    return rows


def test_palette_covers_every_component_with_distinct_colours():
    assert set(charts.PALETTE) == set(charts.COMPONENTS)
    assert len(set(charts.PALETTE.values())) == len(charts.PALETTE)


def test_stacked_chart_stacks_weighted_by_component(result):
    chart = charts.components_chart(result.history, split="train")
    assert isinstance(chart, alt.LayerChart)
    spec = chart.to_dict()
    area = layers(spec)[0]
    assert area["mark"]["type"] == "area"
    enc = area["encoding"]
    assert enc["y"]["field"] == "weighted" and enc["y"]["stack"] == "zero"
    assert enc["color"]["field"] == "component"
    assert enc["order"]["field"] == "stack_order"
    assert enc["color"]["scale"]["domain"] == ["regression", "classification", "regularization"]
    assert enc["color"]["scale"]["range"] == [charts.PALETTE[c] for c in charts.COMPONENTS]


def test_stacked_chart_has_a_legend_bound_selection_that_fades_the_others(result):
    spec = charts.components_chart(result.history).to_dict()
    (param,) = spec["params"]
    assert param["bind"] == "legend"
    assert param["select"] == {"type": "point", "fields": ["component"]}
    opacity = layers(spec)[0]["encoding"]["opacity"]
    assert opacity["condition"][0]["param"] == param["name"]
    assert opacity["value"] < opacity["condition"][0]["value"]


def test_stacked_chart_tooltips_give_exact_values(result):
    spec = charts.components_chart(result.history).to_dict()
    assert {"epoch", "component", "loss", "weight", "weighted", "total"} <= tooltip_fields(spec)
    tips = {t["field"]: t for t in encodings(spec)[1]["tooltip"]}
    assert tips["loss"]["format"] == ".4g" and tips["weighted"]["format"] == ".4g"


def test_stacked_chart_draws_one_split_and_its_total(result):
    spec = charts.components_chart(result.history, split="test").to_dict()
    rows = dataset_rows(spec)
    assert {r["split"] for r in rows} == {"test"}
    epoch = [r for r in rows if r["epoch"] == 5]
    assert len(epoch) == 3
    assert epoch[0]["total"] == pytest.approx(sum(r["weighted"] for r in epoch))


def test_raw_mode_draws_unstacked_lines_of_the_raw_loss(result):
    spec = charts.components_chart(result.history, mode="raw").to_dict()
    line = layers(spec)[0]
    assert line["mark"]["type"] == "line"
    assert line["encoding"]["y"]["field"] == "loss"
    assert line["encoding"]["y"].get("stack") is None


def test_log_option_draws_lines_on_a_log_axis_without_non_positive_values(result):
    spec = charts.components_chart(result.history, log=True).to_dict()
    line = layers(spec)[0]
    assert line["mark"]["type"] == "line"
    assert line["encoding"]["y"]["scale"]["type"] == "log"
    assert line["encoding"]["y"].get("stack") is None
    assert all(r["weighted"] > 0 for r in dataset_rows(spec))


def test_losses_chart_facets_components_with_split_dashes(result):
    chart = charts.losses_chart(result.history)
    assert isinstance(chart, alt.FacetChart)
    spec = chart.to_dict()
    assert spec["facet"]["column"]["field"] == "component"
    assert spec["resolve"]["scale"]["y"] == "independent"
    enc = spec["spec"]["encoding"]
    assert enc["y"]["field"] == "loss"
    assert enc["strokeDash"]["field"] == "split"
    assert enc["strokeDash"]["scale"]["domain"] == ["train", "test"]
    assert enc["color"]["scale"]["range"] == [charts.PALETTE[c] for c in charts.COMPONENTS]


def test_metrics_chart_has_one_panel_per_metric_with_independent_scales(result):
    spec = charts.metrics_chart(result.metrics).to_dict()
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert spec["facet"]["field"] == "title"
    titles = {r["title"] for r in dataset_rows(spec)}
    assert titles == set(charts.METRIC_TITLES.values())
    assert {r["split"] for r in dataset_rows(spec)} == {"train", "test"}


def test_a_loss_panel_is_one_stretchable_view_of_one_component(result):
    chart = charts.loss_panel(result.history, component="classification")
    assert isinstance(chart, alt.Chart)  # a single view: it can fit its container's width
    spec = chart.to_dict()
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
    assert spec["mark"]["color"] == charts.PALETTE["classification"]
    assert spec["encoding"]["strokeDash"]["legend"]["orient"] == "bottom"
    rows = dataset_rows(spec)
    assert {r["split"] for r in rows} == {"train", "test"}
    expected = result.history[
        (result.history["member"] == 0) & (result.history["component"] == "classification")
    ]
    assert len(rows) == len(expected)


def test_a_metric_panel_merges_colour_and_dash_into_one_legend(result):
    spec = charts.metric_panel(result.metrics, metric="accuracy").to_dict()
    assert spec["title"] == charts.METRIC_TITLES["accuracy"]
    enc = spec["encoding"]
    assert enc["color"]["legend"] == enc["strokeDash"]["legend"]  # equal: no legend conflict
    assert {r["split"] for r in dataset_rows(spec)} == {"train", "test"}
    assert spec["autosize"]["type"] == "fit-x"


def test_a_curve_panel_draws_one_metric_of_every_series_with_a_one_column_legend():
    frame = pd.DataFrame(
        {
            "series": ["A", "A", "B", "B", "A"],
            "epoch": [0, 1, 0, 1, 0],
            "metric": ["mse", "mse", "mse", "mse", "accuracy"],
            "value": [2.0, 1.0, 3.0, np.nan, 0.5],
        }
    )
    spec = charts.curve_panel(frame, metric="mse", order=["B", "A"], title="Pin").to_dict()
    assert spec["title"] == charts.METRIC_TITLES["mse"]
    assert spec["autosize"]["type"] == "fit-x"
    legend = spec["encoding"]["color"]["legend"]
    assert legend["orient"] == "bottom" and legend["columns"] == 1  # never wider than a phone
    assert spec["encoding"]["color"]["scale"]["domain"] == ["B", "A"]
    rows = dataset_rows(spec)
    assert sorted((r["series"], r["epoch"]) for r in rows) == [("A", 0), ("A", 1), ("B", 0)]


def test_layered_charts_give_a_field_one_legend(result):
    """A legend=None beside a legend on the same field makes Vega-Lite warn in the console."""
    spec = charts.components_chart(result.history).to_dict()
    marks, points = layers(spec)
    assert marks["encoding"]["color"] == points["encoding"]["color"]
    spec = charts.metrics_chart(result.metrics).to_dict()["spec"]
    assert spec["encoding"]["color"]["legend"] == spec["encoding"]["strokeDash"]["legend"]


def test_weights_chart_draws_each_components_weight(result):
    spec = charts.weights_chart(result.history).to_dict()
    line = layers(spec)[0]
    assert line["encoding"]["y"]["field"] == "weight"
    assert line["encoding"]["color"]["field"] == "component"
    assert spec["params"][0]["bind"] == "legend"
    rows = dataset_rows(spec)
    assert {r["component"] for r in rows} == set(charts.COMPONENTS)
    assert len(rows) == 13 * 3  # train rows only: one per epoch and component


def test_cosine_chart_marks_zero_and_shades_conflict(result):
    spec = charts.cosine_chart(result.diagnostics).to_dict()
    shade, zero, line = layers(spec)
    assert shade["mark"]["type"] == "rect"
    assert zero["mark"]["type"] == "rule"
    assert line["encoding"]["y"]["field"] == "value"
    assert line["encoding"]["y"]["scale"]["domain"] == [-1, 1]
    shade_rows = spec["datasets"][shade["data"]["name"]]
    assert shade_rows == [{"low": -1.0, "high": 0.0}]


def test_norm_ratio_chart_is_on_a_log_axis_with_a_rule_at_one(result):
    spec = charts.norm_ratio_chart(result.diagnostics).to_dict()
    rule, line = layers(spec)
    assert spec["datasets"][rule["data"]["name"]] == [{"level": 1.0}]
    assert line["encoding"]["y"]["scale"]["type"] == "log"


def test_data_chart_colours_by_class_and_hollows_test_rows():
    frame = pd.DataFrame(
        {
            "x1": [0.0, 1.0, 2.0],
            "y": [1.0, 2.0, 0.5],
            "class": ["a", "b", "a"],
            "split": ["train", "test", "train"],
        }
    )
    spec = charts.data_chart(frame, x="x1", y="y").to_dict()
    enc = spec["encoding"]
    assert enc["x"]["field"] == "x1" and enc["y"]["field"] == "y"
    assert enc["color"]["field"] == "class"
    assert enc["color"]["scale"]["domain"] == ["a", "b"]
    assert enc["fillOpacity"]["condition"][0]["value"] == 0.0
    assert {"x1", "y", "class", "split"} <= tooltip_fields(spec)


def test_class_strip_chart_puts_classes_on_rows():
    frame = pd.DataFrame({"value": [0.1, -0.2, 1.5], "class": ["0", "0", "1"]})
    spec = charts.class_strip_chart(frame, x="value", title="t").to_dict()
    assert spec["encoding"]["y"]["field"] == "class"
    assert spec["encoding"]["x"]["field"] == "value"


def test_a_run_without_test_split_draws_train_only(no_test):
    spec = charts.losses_chart(no_test.history).to_dict()
    assert spec["spec"]["encoding"]["strokeDash"]["scale"]["domain"] == ["train"]
    spec = charts.components_chart(no_test.history).to_dict()
    assert "regularization" not in spec["layer"][0]["encoding"]["color"]["scale"]["domain"]


@pytest.mark.parametrize(
    ("builder", "frame", "kwargs"),
    [
        ("components_chart", "history", {}),
        ("components_chart", "history", {"mode": "raw", "log": True, "split": "test"}),
        ("losses_chart", "history", {}),
        ("metrics_chart", "metrics", {}),
        ("weights_chart", "history", {}),
        ("cosine_chart", "diagnostics", {}),
        ("norm_ratio_chart", "diagnostics", {}),
    ],
)
def test_builders_are_pure(result, builder, frame, kwargs):
    data = getattr(result, frame)
    before = data.copy(deep=True)
    getattr(charts, builder)(data, **kwargs).to_dict()
    pd.testing.assert_frame_equal(data, before)


def test_data_builders_are_pure():
    frame = pd.DataFrame(
        {"x": [0.0, 1.0], "y": [1.0, 2.0], "class": ["a", "b"], "split": ["train", "test"]}
    )
    before = frame.copy(deep=True)
    charts.data_chart(frame, x="x", y="y").to_dict()
    charts.class_strip_chart(frame, x="x").to_dict()
    pd.testing.assert_frame_equal(frame, before)


# ---------------------------------------------------------------- comparisons


@pytest.fixture(scope="module")
def sweep_summary() -> pd.DataFrame:
    """A 6-point x 2-seed sweep's summary with its front."""
    from mtl.compare import pareto_front

    cfg = mtl.preset("conflicting").with_(epochs=15)
    alphas = [i / 5 for i in range(6)]
    summary = mtl.sweep(cfg, weights=[(a, 1 - a) for a in alphas], seeds=[0, 1]).summary
    return summary.assign(pareto=pareto_front(summary))


@pytest.fixture(scope="module")
def face_off_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "method": ["static", "mgda"],
            "label": ["Static weights", "MGDA"],
            "mse_mean": [2.5, 4.5],
            "mse_std": [0.1, 0.2],
            "accuracy_mean": [0.9, 0.87],
            "accuracy_std": [0.02, 0.01],
        }
    )


def layer_rows(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def test_series_colours_are_stable_and_distinct():
    names = [f"m{i}" for i in range(12)]
    colors = charts.series_colors(names)
    assert len(set(colors.values())) == 12
    assert charts.series_colors(names[:3]) == {n: colors[n] for n in names[:3]}
    assert charts.series_colors(["a"] * 1 + [f"x{i}" for i in range(12)])["x11"] == colors["m0"]


def test_pareto_chart_highlights_and_connects_the_front_in_order_of_mse(sweep_summary):
    spec = charts.pareto_chart(sweep_summary).to_dict()
    line, points, rings = layers(spec)
    assert line["mark"]["type"] == "line"
    front = sweep_summary[sweep_summary["pareto"]].sort_values("test_mse")
    drawn = layer_rows(spec, line)
    assert [r["member"] for r in drawn] == front["member"].tolist()
    assert [r["front_order"] for r in drawn] == list(range(len(front)))
    assert line["encoding"]["order"]["field"] == "front_order"
    assert [r["member"] for r in layer_rows(spec, rings)] == front["member"].tolist()
    assert len(layer_rows(spec, points)) == len(sweep_summary)  # every member is a point
    opacity = points["encoding"]["opacity"]
    assert opacity["condition"][0]["test"] == "datum.pareto"
    assert opacity["value"] < opacity["condition"][0]["value"]  # dominated members fade
    assert points["encoding"]["color"]["field"] == "w_regression"


def test_pareto_chart_tooltip_and_member_selection(sweep_summary):
    spec = charts.pareto_chart(sweep_summary, selected=3).to_dict()
    assert {"w_regression", "w_classification", "seed", "test_mse", "test_accuracy"} <= (
        tooltip_fields(spec)
    )
    pick = next(p for p in spec["params"] if p["name"] == "pick")
    assert pick["select"]["type"] == "point" and pick["select"]["fields"] == ["member"]
    zoom = next(p for p in spec["params"] if p["name"] == "zoom")
    assert zoom["bind"] == "scales"
    ring = layers(spec)[-1]
    assert [r["member"] for r in layer_rows(spec, ring)] == [3]
    assert len(layers(charts.pareto_chart(sweep_summary).to_dict())) == 3  # no ring


def test_pareto_chart_focuses_on_the_front_and_leaves_out_diverged_members(sweep_summary):
    frame = sweep_summary.copy()
    frame.loc[0, ["test_mse", "test_accuracy"]] = np.nan  # a diverged member
    frame.loc[0, "pareto"] = False
    spec = charts.pareto_chart(frame, split="test").to_dict()
    points = layers(spec)[1]
    assert 0 not in [r["member"] for r in layer_rows(spec, points)]
    x_lo, x_hi = points["encoding"]["x"]["scale"]["domain"]
    y_lo, y_hi = points["encoding"]["y"]["scale"]["domain"]
    front = frame[frame["pareto"]]
    assert (front["test_mse"].between(x_lo, x_hi)).all()
    assert (front["test_accuracy"].between(y_lo, y_hi)).all()
    assert y_lo >= 0 and y_hi <= 1
    unfocused = charts.pareto_chart(frame, focus=False).to_dict()
    assert "domain" not in layers(unfocused)[1]["encoding"]["x"]["scale"]


def test_focus_domain_keeps_what_matters_and_drops_far_outliers():
    values = pd.Series([2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 40.0])
    keep = pd.Series([2.0, 2.2])
    lo, hi = charts.focus_domain(values, keep, higher_is_better=False)
    assert lo < 2.0 and 2.9 < hi < 40.0
    lo, hi = charts.focus_domain(values, pd.Series([40.0]), higher_is_better=False)
    assert hi > 40.0  # a kept value is always inside
    acc = pd.Series([0.2, 0.85, 0.9, 0.92, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0, 0.88])
    lo, hi = charts.focus_domain(acc, pd.Series([0.95]), higher_is_better=True)
    assert 0.2 < lo < 0.85 and hi == 1.0
    domains = ([2.0, 3.0], [0.8, 1.0])
    frame = pd.DataFrame({"x": [2.5, 40.0, 2.5, np.nan], "y": [0.9, 0.9, 0.2, 0.5]})
    assert charts.outside(frame, "x", "y", domains) == 2


def test_a_sweep_metric_panel_is_the_concatenations_panel_fitting_its_width(sweep_summary):
    whole = charts.sweep_metrics_chart(sweep_summary, alpha=0.4).to_dict()
    for index, objective in enumerate(("mse", "accuracy")):
        panel = charts.sweep_metric_panel(sweep_summary, objective=objective, alpha=0.4).to_dict()
        assert panel["autosize"]["type"] == "fit-x"
        expected = whole["hconcat"][index]
        assert [layer["mark"] for layer in panel["layer"]] == [
            layer["mark"] for layer in expected["layer"]
        ]
        assert panel["title"] == expected["title"]
    assert whole["autosize"] == {"type": "pad"}  # a concatenation cannot fit (Vega-Lite warns)


def test_sweep_metrics_chart_draws_the_mean_and_the_min_max_band(sweep_summary):
    spec = charts.sweep_metrics_chart(sweep_summary, alpha=0.4).to_dict()
    mse_panel, acc_panel = spec["hconcat"]
    band, dots, line, rule = mse_panel["layer"]
    assert dots["mark"]["type"] == "circle"
    assert band["mark"]["type"] == "area"
    assert band["encoding"]["y"]["field"] == "low" and band["encoding"]["y2"]["field"] == "high"
    assert line["encoding"]["y"]["field"] == "mean"
    assert mse_panel["layer"][1]["encoding"]["y"]["scale"]["type"] == "log"
    stats = layer_rows(spec, band)
    by_hand = sweep_summary.groupby("w_regression")["test_mse"]
    for row in stats:
        group = by_hand.get_group(row["w_regression"])
        assert row["mean"] == pytest.approx(group.mean())
        assert (row["low"], row["high"]) == (group.min(), group.max())
        assert row["seeds"] == 2
    assert layer_rows(spec, rule) == [{"alpha": 0.4}]
    assert [layer["mark"]["type"] for layer in acc_panel["layer"]][:3] == ["area", "circle", "line"]
    assert len(charts.sweep_metrics_chart(sweep_summary).to_dict()["hconcat"][0]["layer"]) == 3


def test_face_off_chart_draws_the_front_behind_the_methods(face_off_table, sweep_summary):
    colors = {"Static weights": "#111111", "MGDA": "#222222"}
    spec = charts.face_off_chart(face_off_table, front=sweep_summary, colors=colors).to_dict()
    kinds = [layer["mark"]["type"] for layer in layers(spec)]
    assert kinds == ["circle", "line", "rule", "rule", "point"]  # sweep, front, bars, methods
    background, front_line = layers(spec)[:2]
    assert len(layer_rows(spec, background)) == len(sweep_summary)
    assert len(layer_rows(spec, front_line)) == int(sweep_summary["pareto"].sum())
    points = layers(spec)[-1]
    assert points["encoding"]["x"]["field"] == "mse_mean"
    assert points["encoding"]["color"]["scale"]["domain"] == ["Static weights", "MGDA"]
    assert points["encoding"]["color"]["scale"]["range"] == ["#111111", "#222222"]
    bars = layer_rows(spec, layers(spec)[2])
    assert bars[0]["mse_low"] == pytest.approx(2.4) and bars[0]["mse_high"] == pytest.approx(2.6)
    x_lo, x_hi = points["encoding"]["x"]["scale"]["domain"]
    assert x_lo <= 2.4 and x_hi >= 4.7  # every method and its bar is in view
    alone = charts.face_off_chart(face_off_table).to_dict()
    assert [layer["mark"]["type"] for layer in layers(alone)] == ["rule", "rule", "point"]


def test_curves_chart_overlays_one_colour_per_series():
    frame = pd.DataFrame(
        {
            "series": ["b", "b", "a", "a"] * 2,
            "epoch": [0, 1, 0, 1] * 2,
            "metric": ["mse"] * 4 + ["accuracy"] * 4,
            "value": [3.0, 2.0, 4.0, 1.0, 0.5, 0.6, 0.4, np.nan],
        }
    )
    spec = charts.curves_chart(frame, order=["a", "b"], title="Method").to_dict()
    enc = spec["spec"]["encoding"]
    assert enc["color"]["field"] == "series"
    assert enc["color"]["scale"]["domain"] == ["a", "b"]
    assert spec["facet"]["field"] == "title"
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert spec["params"][0]["bind"] == "legend"
    assert enc["opacity"]["condition"][0]["param"] == spec["params"][0]["name"]
    assert len(dataset_rows(spec)) == 7  # the NaN is dropped


@pytest.mark.parametrize(
    ("builder", "kwargs"),
    [
        ("pareto_chart", {"selected": 1}),
        ("sweep_metrics_chart", {"alpha": 0.2}),
    ],
)
def test_comparison_builders_are_pure(sweep_summary, face_off_table, builder, kwargs):
    before = sweep_summary.copy(deep=True)
    getattr(charts, builder)(sweep_summary, **kwargs).to_dict()
    table_before = face_off_table.copy(deep=True)
    charts.face_off_chart(face_off_table, front=sweep_summary).to_dict()
    pd.testing.assert_frame_equal(sweep_summary, before)
    pd.testing.assert_frame_equal(face_off_table, table_before)
