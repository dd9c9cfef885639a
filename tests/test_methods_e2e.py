"""Every registered weighting method trains the ``conflicting`` preset end to end.

The preset: a synthetic pair of tasks whose directions are 150 degrees apart, a shared MLP
(2 x 32, ReLU), Adam lr 0.01, a 25 % test split. Parametrised over :data:`mtl.weighting.METHODS`,
so methods registered later are covered automatically.
"""

import math

import numpy as np
import pytest

import mtl
from mtl.weighting import METHODS

STATIC = {"static", "equal_sum", "equal_mean"}


def _config(method: str, epochs: int = 200) -> mtl.RunConfig:
    return mtl.preset("conflicting").with_(
        epochs=epochs, seed=0, **{"weighting.method": method, "data.seed": 0}
    )


def _task_weights(result: mtl.Result, member: int = 0) -> np.ndarray:
    """``[epochs + 1, T]`` weights of the training split's task components."""
    h = result.history
    rows = h[(h.split == "train") & (h.member == member)]
    table = rows.pivot(index="epoch", columns="component", values="weight")
    return table[list(mtl.TASKS)].to_numpy()


@pytest.mark.parametrize("method", list(METHODS))
def test_trains_the_conflicting_preset(method):
    result = mtl.train(_config(method))
    row = result.summary.iloc[0]
    assert not bool(row.diverged)
    assert math.isfinite(row.test_accuracy)
    assert math.isfinite(row.test_mse)
    assert row.test_accuracy > 0.6  # well above chance on two balanced classes
    weights = _task_weights(result)
    assert weights.shape == (201, len(mtl.TASKS))
    assert np.isfinite(weights).all()
    regression = weights[:, 0]
    if method in STATIC:
        assert np.ptp(regression) == 0.0
    else:
        # A dynamic method's weights move. CAGrad keeps the regression weight at exactly 1/T on
        # this preset (its min-norm part puts all weight on classification), so the check is on
        # the regression weight or, failing that, the classification weight.
        assert np.ptp(regression) > 1e-6 or np.ptp(weights[:, 1]) > 1e-6
        if method != "cagrad":
            assert np.ptp(regression) > 1e-6


SOLO_CHECKED = (
    "uncertainty",
    "gradnorm",
    "dwa",
    "rlw",
    "famo",
    # moremethods: begin
    "gls",
    "nash_mtl",
    "fairgrad",
    "gradvac",
    "excess_mtl",
    # moremethods: end
)


@pytest.mark.parametrize("method", [m for m in SOLO_CHECKED if m in METHODS])
def test_a_population_member_reproduces_its_solo_run(method):
    # Member k of a 3-seed population trains exactly like a K = 1 run with its seed: the
    # method's state is per member (RLW's draws included).
    cfg = _config(method, epochs=30)
    seeds = [0, 1, 2]
    population = mtl.sweep(cfg, seeds=seeds)
    for k, seed in enumerate(seeds):
        solo = mtl.train(cfg.with_(seed=seed))
        np.testing.assert_allclose(
            _task_weights(population, k), _task_weights(solo), rtol=1e-4, atol=1e-6
        )
    assert not np.allclose(_task_weights(population, 0), _task_weights(population, 1))
