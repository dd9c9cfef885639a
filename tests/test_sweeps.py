"""The weight sweep's definition in the core, shared by the page and the command line."""

import numpy as np
import pytest

import mtl
from mtl.config import LIMITS
from mtl.sweeps import (
    DEFAULT_POINTS,
    DEFAULT_SEEDS,
    MAX_POINTS,
    MAX_SEEDS,
    alpha_grid,
    seeds_from,
    sweep_config,
    sweep_weights,
)


def test_alpha_grid_is_even_from_0_to_1_with_exact_values():
    assert alpha_grid(5) == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert len(alpha_grid(101)) == 101 and alpha_grid(101)[37] == 0.37
    assert alpha_grid(np.int64(3)) == (0.0, 0.5, 1.0)
    assert len(alpha_grid(DEFAULT_POINTS)) == DEFAULT_POINTS


@pytest.mark.parametrize("points", [1, 0, -3, MAX_POINTS + 1, 2.0, True, "5"])
def test_alpha_grid_refuses_what_is_not_2_to_101_points(points):
    with pytest.raises(mtl.ConfigError, match=r"sweep\.points"):
        alpha_grid(points)


def test_sweep_weights_are_alpha_and_its_complement():
    assert sweep_weights(3) == [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]


def test_seeds_start_at_the_runs_own_and_end_at_the_largest_allowed():
    cfg = mtl.preset("conflicting")
    assert seeds_from(cfg.with_(seed=7), 3) == (7, 8, 9)
    top = int(LIMITS["seed"].hi)
    assert seeds_from(cfg.with_(seed=top), 3) == (top - 2, top - 1, top)
    assert len(seeds_from(cfg, DEFAULT_SEEDS)) == DEFAULT_SEEDS


@pytest.mark.parametrize("count", [0, MAX_SEEDS + 1, 1.5, False])
def test_seeds_refuse_a_count_outside_1_to_10(count):
    with pytest.raises(mtl.ConfigError, match=r"sweep\.seeds"):
        seeds_from(mtl.preset("conflicting"), count)


def test_sweep_config_drops_method_and_weights():
    cfg = mtl.preset("conflicting").with_(
        **{"weighting.method": "cagrad", "weighting.params": (("c", 0.9),)}
    )
    assert sweep_config(cfg).weighting == mtl.WeightingSpec()
    assert sweep_config(cfg).with_(weighting=cfg.weighting) == cfg  # nothing else changes
    moved = mtl.preset("conflicting").with_(**{"weighting.weights": (0.2, 0.8)})
    assert sweep_config(moved) == sweep_config(mtl.preset("conflicting"))


def test_the_page_and_the_command_line_use_the_cores_definition():
    import mtl.__main__ as cli
    import ui.run
    import ui.tabs.common
    import ui.tabs.face_off
    import ui.tabs.sweep

    modules = (ui.run, ui.tabs.common, ui.tabs.sweep, ui.tabs.face_off, cli)
    for module in modules:
        for name in ("alpha_grid", "seeds_from", "sweep_config", "sweep_weights"):
            if hasattr(module, name):
                assert getattr(module, name) is getattr(mtl.sweeps, name), (module, name)
    assert ui.tabs.sweep.MAX_POINTS == MAX_POINTS and ui.tabs.sweep.MAX_SEEDS == MAX_SEEDS
    assert ui.tabs.face_off.MAX_SEEDS == MAX_SEEDS
