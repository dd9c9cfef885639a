"""Every registered weighting method trains the ``conflicting`` preset end to end.

The preset: a synthetic pair of tasks whose directions are 150 degrees apart, a shared MLP
(2 x 32, ReLU), Adam lr 0.01, a 25 % test split, 200 epochs. Parametrised over
:data:`mtl.weighting.METHODS`, so methods registered later are covered automatically.
"""

import math

import numpy as np
import pytest

import mtl
from mtl.budget import face_off_config
from mtl.compare import trains_alone
from mtl.config import WeightingSpec
from mtl.engine import Population, train_population
from mtl.weighting import METHODS

STATIC = {"static", "equal_sum", "equal_mean"}
EPOCHS = 200


def _config(method: str, epochs: int = EPOCHS) -> mtl.RunConfig:
    return mtl.preset("conflicting").with_(
        epochs=epochs, seed=0, **{"weighting.method": method, "data.seed": 0}
    )


def _task_weights(result: mtl.Result, member: int = 0) -> np.ndarray:
    """``[epochs + 1, T]`` weights of the training split's task components."""
    h = result.history
    rows = h[(h.split == "train") & (h.member == member)]
    table = rows.pivot(index="epoch", columns="component", values="weight")
    return table[list(mtl.TASKS)].to_numpy()


def _mixed(specs: list[WeightingSpec]) -> mtl.Result:
    """One mixed population of the preset's 200-epoch runs, member ``i`` weighted by ``specs[i]``
    (seed 0 and the preset's static weights for every member)."""
    cfg = _config("static")
    population = Population(
        weights=tuple(cfg.weighting.weights for _ in specs),
        seeds=tuple(0 for _ in specs),
        methods=tuple(specs),
    )
    return train_population(cfg, population)


@pytest.fixture(scope="module")
def trained() -> dict[str, tuple[mtl.Result, int]]:
    """Every method's 200-epoch run: ``method -> (result, member)``.

    Every method that a face-off mixes trains as a member of ONE mixed population
    (:mod:`mtl.mixed`; each member trains exactly as its solo run, which ``tests/test_mixed.py``
    checks; GradDrop included), the others (:func:`mtl.compare.trains_alone`) alone.
    """
    cfg = _config("static")
    together = [m for m in METHODS if not trains_alone(cfg, m)]
    mixed = _mixed([face_off_config(cfg, m).weighting for m in together])
    runs = {m: (mixed, k) for k, m in enumerate(together)}
    for method in METHODS:
        if method not in runs:
            runs[method] = (mtl.train(_config(method)), 0)
    return runs


@pytest.mark.parametrize("method", list(METHODS))
def test_trains_the_conflicting_preset_200_epochs(trained, method):
    result, member = trained[method]
    row = result.summary.iloc[member]
    assert not bool(row.diverged)
    assert math.isfinite(row.test_accuracy)
    assert math.isfinite(row.test_mse)
    assert row.test_accuracy > 0.6  # well above chance on two balanced classes
    weights = _task_weights(result, member)
    assert weights.shape == (EPOCHS + 1, len(mtl.TASKS))
    assert np.isfinite(weights).all()
    regression = weights[:, 0]
    if method in STATIC or method == "graddrop":  # GradDrop has no task weights: always ones
        assert np.ptp(regression) == 0.0
    else:
        # A dynamic method's weights move. CAGrad keeps the regression weight at exactly 1/T on
        # this preset (its min-norm part puts all weight on classification), so the check is on
        # the regression weight or, failing that, the classification weight.
        assert np.ptp(regression) > 1e-6 or np.ptp(weights[:, 1]) > 1e-6
        # DualProj too: only the task the mean gradient conflicts with (classification here)
        # gets more than its preference 1/T.
        if method not in ("cagrad", "dualproj"):
            assert np.ptp(regression) > 1e-6


SOLO_METHODS = tuple(m for m in METHODS if m not in STATIC)
"""Methods whose population members must reproduce their solo runs: every dynamic method."""


def test_every_listed_method_is_registered():
    # a renamed or removed method must fail here, not silently drop out of the tests below
    assert set(SOLO_METHODS) | STATIC <= set(METHODS)


@pytest.mark.parametrize("method", SOLO_METHODS)
def test_a_population_member_reproduces_its_solo_run(method):
    # Member k of a 3-seed population trains exactly like a K = 1 run with its seed: the
    # method's state is per member (RLW's draws included). The first and the last member are
    # checked (an offset into the members' state shows in the last; the middle adds nothing).
    cfg = _config(method, epochs=30)
    seeds = [0, 1, 2]
    population = mtl.sweep(cfg, seeds=seeds)
    for k in (0, len(seeds) - 1):
        solo = mtl.train(cfg.with_(seed=seeds[k]))
        tol = (
            {"rtol": 1e-5, "atol": 1e-5}
            if METHODS[method].kind == "gradient"
            else {"rtol": 1e-4, "atol": 1e-6}
        )
        np.testing.assert_allclose(_task_weights(population, k), _task_weights(solo), **tol)
    if method != "graddrop":  # GradDrop's weights are always ones (its draws: test_graddrop.py)
        assert not np.allclose(_task_weights(population, 0), _task_weights(population, 1))


# gradmethods: the new hyper-parameter choices train too, and members match their solo runs
VARIANTS = [
    ("mgda", (("normalize", "loss"),)),
    ("mgda", (("normalize", "loss+"),)),
    ("cagrad", (("rescale", "one_plus_c2"),)),
    ("cagrad", (("rescale", "one_plus_c"),)),
    ("aligned_mtl", (("scale_mode", "rmse"),)),
    ("aligned_mtl", (("scale_mode", "median"),)),
]


@pytest.fixture(scope="module")
def variants() -> mtl.Result:
    """Every variant's 200-epoch run, member ``i`` for ``VARIANTS[i]``: one mixed population.

    Each member trains exactly as its solo run (``tests/test_mixed.py``); the short runs below
    check that again for each variant.
    """
    return _mixed(
        [
            face_off_config(_config(m).with_(**{"weighting.params": p}), m).weighting
            for m, p in VARIANTS
        ]
    )


@pytest.mark.parametrize(
    ("method", "params"), VARIANTS, ids=[f"{m}-{p[0][1]}" for m, p in VARIANTS]
)
def test_hyper_parameter_variants_train_and_match_their_solo_runs(variants, method, params):
    cfg = _config(method).with_(**{"weighting.params": params})
    member = VARIANTS.index((method, params))
    row = variants.summary.iloc[member]
    assert not bool(row.diverged) and row.test_accuracy > 0.6 and math.isfinite(row.test_mse)
    assert np.isfinite(_task_weights(variants, member)).all()
    short = cfg.with_(epochs=30)
    population = mtl.sweep(short, seeds=[0, 1])
    np.testing.assert_allclose(
        _task_weights(population, 1), _task_weights(mtl.train(short.with_(seed=1))), atol=1e-5
    )
