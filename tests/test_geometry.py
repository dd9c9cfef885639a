"""The gradient geometry (mtl.geometry) and its chart: hand-worked planes, exact method directions.

Every method drawn must give, on the 2-D plane coordinates of a Gram matrix, the same direction
as the core method on high-dimensional gradients with that Gram matrix (projected into their
plane); the run's own arrow must be the step its logged weights made.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

import mtl
from mtl import charts, geometry
from mtl.weighting import GRADIENT_METHODS, METHODS, gradient_weights


def gram(n1: float, n2: float, cos: float) -> torch.Tensor:
    dot = cos * n1 * n2
    return torch.tensor([[n1 * n1, dot], [dot, n2 * n2]], dtype=torch.float64)


def plane_of(n1: float, n2: float, cos: float) -> geometry.Plane:
    return geometry.Plane.from_gram(gram(n1, n2, cos))


def in_plane(grads: torch.Tensor, d: torch.Tensor) -> np.ndarray:
    """``d`` in the orthonormal basis of span(g_1, g_2) that plane_coordinates uses."""
    g1, g2 = grads[0], grads[1]
    e1 = g1 / g1.norm()
    rest = g2 - (g2 @ e1) * e1
    e2 = rest / rest.norm()
    return np.array([float(d @ e1), float(d @ e2)])


# -- plane coordinates ------------------------------------------------------------------------


def test_plane_coordinates_reproduce_random_grams():
    gen = torch.Generator().manual_seed(0)
    grads = torch.randn(64, 2, 30, generator=gen, dtype=torch.float64)
    grads[:, 1] *= torch.logspace(-4, 4, 64, dtype=torch.float64)[:, None]  # norm ratios 1e±4
    G = grads @ grads.mT
    coords = geometry.plane_coordinates(G)
    assert coords.shape == (64, 2, 2)
    torch.testing.assert_close(coords @ coords.mT, G, rtol=1e-10, atol=0.0)
    assert bool((coords[:, 0, 1] == 0).all()) and bool((coords[:, 1, 1] >= 0).all())


def test_orthogonal_gradients_by_hand():
    plane = plane_of(2.0, 3.0, 0.0)
    np.testing.assert_allclose(plane.coords, [[2.0, 0.0], [0.0, 3.0]], atol=1e-15)
    assert plane.cosine == 0.0 and plane.angle == pytest.approx(90.0)
    assert not plane.conflict and plane.norm_ratio == pytest.approx(2 / 3)
    assert plane.cone == pytest.approx((0.0, math.pi / 2)) and plane.cone_width == pytest.approx(90)
    static = geometry.method_direction("static", plane, static_weights=(0.5, 0.5))
    effect = geometry.effect(plane, static)
    np.testing.assert_allclose(static.vector, [1.0, 1.5])
    assert effect.dots == pytest.approx((2.0, 4.5)) and effect.harms == (False, False)
    assert effect.length == pytest.approx(0.5) and effect.turn == pytest.approx(0.0, abs=1e-12)


def test_opposite_gradients_by_hand():
    plane = plane_of(1.0, 2.0, -1.0)
    np.testing.assert_allclose(plane.coords, [[1.0, 0.0], [-2.0, 0.0]], atol=1e-15)
    assert plane.cosine == -1.0 and plane.angle == pytest.approx(180.0) and plane.conflict
    assert plane.cone_width == pytest.approx(0.0, abs=1e-12)
    assert "exactly opposite" in geometry.describe_plane(plane)
    # static (1/2, 1/2): d = (-1/2, 0), d.g_r = -1/2 (harms regression), d.g_c = 1
    static = geometry.effect(plane, geometry.method_direction("static", plane))
    assert static.dots == pytest.approx((-0.5, 1.0)) and static.harms == (True, False)
    assert static.length == pytest.approx(0.5)
    # MGDA: the min-norm point of the segment is 0, weights (2/3, 1/3)
    mgda = geometry.method_direction("mgda", plane)
    assert mgda.weights == pytest.approx((2 / 3, 1 / 3))
    assert "zero direction" in geometry.describe_effect(plane, geometry.effect(plane, mgda))
    cone = geometry.cone_frame(plane)
    assert "cone" not in set(cone["layer"])  # no interior ...
    edges = cone[cone["layer"] == "edge"]
    np.testing.assert_allclose(  # ... only the perpendicular line, both ways
        sorted(edges["up"] / geometry.CONE_RADIUS), [-1.0, 1.0, 1.0], atol=1e-12
    )


def test_parallel_gradients_by_hand():
    plane = plane_of(1.0, 2.0, 1.0)
    np.testing.assert_allclose(plane.coords, [[1.0, 0.0], [2.0, 0.0]], atol=1e-15)
    assert plane.angle == pytest.approx(0.0) and not plane.conflict
    assert plane.cone == pytest.approx((-math.pi / 2, math.pi / 2))
    pcgrad = geometry.method_direction("pcgrad", plane)
    assert pcgrad.weights == pytest.approx((1.0, 1.0))  # no conflict: the plain sum


def test_a_zero_gradient_has_no_angle_and_a_half_plane_of_harmless_directions():
    plane = plane_of(0.0, 2.0, float("nan"))
    np.testing.assert_allclose(plane.coords, [[0.0, 0.0], [2.0, 0.0]])
    assert math.isnan(plane.cosine) and math.isnan(plane.angle) and not plane.conflict
    assert plane.cone_width == pytest.approx(180.0)
    assert "regression gradient is zero" in geometry.describe_plane(plane)
    both = plane_of(0.0, 0.0, float("nan"))
    assert both.cone_width == pytest.approx(360.0)
    assert "Both gradients are zero" in geometry.describe_plane(both)
    assert geometry.chart_frame(both, []).query("layer == 'gradient'").empty  # nothing to draw


def test_a_huge_norm_ratio_stays_exact_and_readable():
    plane = plane_of(1e6, 1e-3, -0.5)
    assert plane.norms == pytest.approx((1e6, 1e-3), rel=1e-12)
    assert plane.angle == pytest.approx(120.0) and plane.norm_ratio == pytest.approx(1e9)
    assert plane.cone_width == pytest.approx(60.0)
    mgda = geometry.effect(plane, geometry.method_direction("mgda", plane))
    assert mgda.harms == (False, False)
    frame = geometry.chart_frame(plane, [mgda])
    arrows = frame[frame["layer"].isin(["gradient", "direction"])]
    np.testing.assert_allclose(np.hypot(arrows["across"], arrows["up"]), 1.0)  # unit arrows
    assert arrows["norm"].iloc[1] == pytest.approx(1e-3)  # the true norm is kept for the tooltip
    true = geometry.chart_frame(plane, [mgda], length="true")
    lengths = np.hypot(true["across"], true["up"]).iloc[:2]
    assert lengths.iloc[0] == pytest.approx(1.0) and lengths.iloc[1] == pytest.approx(1e-9)


# -- the harmless cone --------------------------------------------------------------------------


def test_the_cone_is_exactly_the_directions_that_harm_neither_task():
    gen = np.random.default_rng(1)
    for _ in range(50):
        coords = gen.normal(size=(2, 2))  # any frame, not only plane_coordinates'
        lo, hi = geometry.harmless_cone(coords)
        phis = gen.uniform(-math.pi, math.pi, 400)
        d = np.stack((np.cos(phis), np.sin(phis)), axis=1)
        harmless = ((d @ coords.T) >= 0).all(axis=1)
        inside = np.mod(phis - lo, 2 * math.pi) <= hi - lo
        assert (harmless == inside).all()


# -- the methods' directions ---------------------------------------------------------------------


def test_every_method_is_offered_or_excluded_with_a_reason():
    for name in METHODS:
        assert (name in geometry.OFFERED) != (name in geometry.EXCLUDED), name
    assert set(GRADIENT_METHODS) <= set(geometry.OFFERED)
    assert set(geometry.DEFAULT_METHODS) <= set(geometry.OFFERED)
    with pytest.raises(ValueError, match="random"):
        geometry.method_direction("rlw", plane_of(1.0, 1.0, 0.0))


@pytest.mark.parametrize("method", geometry.OFFERED)
@pytest.mark.parametrize("cos", [-0.8, 0.3])
def test_a_methods_plane_direction_is_the_core_methods_direction_projected(method, cos):
    gen = torch.Generator().manual_seed(7)
    grads = torch.randn(2, 50, generator=gen, dtype=torch.float64)
    # set the cosine and a norm ratio of 20 exactly, in 50 dimensions
    e1 = grads[0] / grads[0].norm()
    rest = grads[1] - (grads[1] @ e1) * e1
    e2 = rest / rest.norm()
    grads = torch.stack((3.0 * e1, 0.15 * (cos * e1 + math.sqrt(1 - cos * cos) * e2)))
    losses = (0.7, 0.2)
    plane = geometry.Plane.from_gram(grads @ grads.T)
    drawn = geometry.method_direction(method, plane, static_weights=(0.3, 0.7), losses=losses)
    if method in geometry.FIXED_WEIGHTS:
        weights = torch.tensor(drawn.weights, dtype=torch.float64)
    else:
        weights = gradient_weights(method, grads, torch.tensor(losses, dtype=torch.float64))
    direction = weights @ grads
    np.testing.assert_allclose(drawn.vector, in_plane(grads, direction), rtol=1e-9, atol=1e-12)
    # and the direction lies in the plane: nothing is lost in the projection
    assert np.hypot(*drawn.vector) == pytest.approx(float(direction.norm()), rel=1e-9)


def test_run_hyper_parameters_are_used_and_what_one_epoch_cannot_honour_is_dropped():
    plane = plane_of(3.0, 0.5, -0.6)
    default = geometry.method_direction("cagrad", plane)
    tuned = geometry.method_direction("cagrad", plane, params={"c": 0.9, "smoothing": 0.5})
    expected = gradient_weights("cagrad", torch.from_numpy(plane.coords)[None], c=0.9)[0]
    assert tuned.weights == pytest.approx(tuple(expected.tolist()))
    assert tuned.weights != pytest.approx(default.weights)
    assert "smoothing" in tuned.note
    mgda = geometry.method_direction("mgda", plane, params={"upper_bound": True})
    assert (
        "MGDA-UB" in mgda.note and mgda.weights == geometry.method_direction("mgda", plane).weights
    )


def test_descriptions_print_the_computed_numbers():
    plane = plane_of(2.0, 0.5, -0.25)
    text = geometry.describe_plane(plane)
    assert f"{plane.angle:.1f}° apart (cosine -0.250)" in text
    assert "the tasks conflict" in text and "ratio 4" in text
    assert f"span {180 - plane.angle:.1f}°" in text
    static = geometry.effect(plane, geometry.method_direction("static", plane))
    sentence = geometry.describe_effect(plane, static)
    assert f"{static.length:.3g}× the length" in sentence
    pcgrad = geometry.effect(plane, geometry.method_direction("pcgrad", plane))
    assert pcgrad.harms == (False, False)  # PCGrad never harms with two tasks
    assert "turned" in geometry.describe_effect(plane, pcgrad)
    assert "towards the classification gradient" in geometry.describe_effect(plane, pcgrad)
    table = geometry.effects_table([static, pcgrad])
    assert list(table["direction"]) == ["Static weights", "PCGrad"]
    assert table["harms"].tolist() == [
        ", ".join(
            t for t, h in zip(("regression", "classification"), static.harms, strict=True) if h
        )
        or "neither",
        "neither",
    ]


# -- the run's own step ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pcgrad_run() -> mtl.Result:
    return mtl.train(mtl.preset("conflicting").with_(**{"epochs": 4, "weighting.method": "pcgrad"}))


def test_the_runs_direction_is_the_step_its_method_took(pcgrad_run):
    for epoch in range(4):
        plane = geometry.plane_at(pcgrad_run, 0, epoch)
        step = geometry.run_direction(pcgrad_run, plane)
        assert step.direction is not None and "exactly" in step.note
        core = geometry.method_direction("pcgrad", plane)
        # the logged Gram matrix is float32: the same direction to about 1e-6
        np.testing.assert_allclose(step.direction.vector, core.vector, rtol=1e-4, atol=1e-6)
    last = geometry.run_direction(pcgrad_run, geometry.plane_at(pcgrad_run, 0, 4))
    assert "last step's weights" in last.note


def test_the_runs_direction_says_when_it_is_approximate_or_missing():
    cfg = mtl.preset("conflicting").with_(**{"epochs": 2, "optim.batch_size": 64})
    batches = mtl.train(cfg)
    step = geometry.run_direction(batches, geometry.plane_at(batches, 0, 0))
    assert step.direction is not None and "approximation" in step.note
    moco = mtl.train(cfg.with_(**{"weighting.method": "moco", "optim.batch_size": None}))
    step = geometry.run_direction(moco, geometry.plane_at(moco, 0, 1))
    assert step.direction is None and "not a weighted sum" in step.note


def test_gram_at_rebuilds_the_logged_norms_and_cosine(pcgrad_run):
    d = pcgrad_run.diagnostics
    at = d[(d["member"] == 0) & (d["epoch"] == 2)].set_index("diagnostic")["value"]
    G = geometry.gram_at(d, 0, 2)
    assert math.sqrt(G[0, 0]) == pytest.approx(at["grad_norm_regression"])
    assert G[0, 1] / math.sqrt(G[0, 0] * G[1, 1]) == pytest.approx(at["cosine"])
    with pytest.raises(KeyError):
        geometry.gram_at(d, 0, 99)


# -- the chart -----------------------------------------------------------------------------------


def chart_spec(plane: geometry.Plane, methods: list[str]) -> dict:
    effects = [geometry.effect(plane, geometry.method_direction(m, plane)) for m in methods]
    return charts.geometry_chart(geometry.chart_frame(plane, effects)).to_dict()


def test_geometry_chart_draws_arrows_a_cone_and_keeps_angles_true():
    spec = chart_spec(plane_of(2.0, 0.5, -0.4), ["static", "pcgrad", "mgda"])
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["area", "rule", "rule", "point", "rule", "point"]  # cone, edges, g, d
    for layer in spec["layer"]:
        for channel in ("x", "y"):
            scale = layer["encoding"][channel]["scale"]
            assert "width" in scale["domainMin"]["expr"] + scale["domainMax"]["expr"]
            assert "height" in scale["domainMin"]["expr"] + scale["domainMax"]["expr"]
    shafts = [layer for layer in spec["layer"][2:] if layer["mark"]["type"] == "rule"]
    assert [s["mark"]["strokeDash"] for s in shafts] == [[1, 0], [6, 3]]  # gradients solid
    legend = shafts[0]["encoding"]["color"]
    assert legend["scale"]["domain"] == [
        "g regression",
        "g classification",
        "Static weights",
        "PCGrad",
        "MGDA",
    ]
    assert legend["scale"]["range"][:2] == [
        charts.PALETTE["regression"],
        charts.PALETTE["classification"],
    ]
    tips = {t["field"] for t in shafts[1]["encoding"]["tooltip"]}
    assert {"norm", "w_regression", "dot_regression", "dot_classification"} <= tips
    assert spec["layer"][0]["mark"]["clip"] is True


def test_geometry_chart_of_opposite_gradients_has_no_cone_area_and_stays_valid():
    spec = chart_spec(plane_of(1.0, 1.0, -1.0), ["pcgrad"])
    assert "area" not in [layer["mark"]["type"] for layer in spec["layer"]]
    spec = chart_spec(plane_of(0.0, 0.0, float("nan")), [])
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["area"]  # everything harmless


def test_geometry_chart_is_pure():
    plane = plane_of(2.0, 0.5, -0.4)
    effects = [geometry.effect(plane, geometry.method_direction("mgda", plane))]
    frame = geometry.chart_frame(plane, effects)
    before = frame.copy()
    charts.geometry_chart(frame).to_dict()
    pd.testing.assert_frame_equal(frame, before)


def test_drawn_arrows_keep_the_angles_between_the_vectors():
    plane = plane_of(2.0, 0.5, -0.4)
    effects = [geometry.effect(plane, geometry.method_direction("cagrad", plane))]
    frame = geometry.chart_frame(plane, effects)
    drawn = frame[frame["layer"] != "cone"].dropna(subset=["series"])[["across", "up"]].to_numpy()
    true = np.stack([plane.coords[0], plane.coords[1], effects[0].direction.vector])
    unit = true / np.linalg.norm(true, axis=1, keepdims=True)
    np.testing.assert_allclose(drawn @ drawn.T, unit @ unit.T, atol=1e-12)  # a rotation only
    assert (drawn[:, 1] > 0).all()  # turned so that the gradients' bisector points up
