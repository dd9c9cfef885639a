"""Property tests over RunConfig (Hypothesis).

Every valid configuration trains to finite histories or flags divergence; every invalid one
raises ConfigError; no other exception ever escapes. Sizes are kept small so the properties
explore many configurations quickly; the strategies cover every dataset, shape, loss, method
(with its hyper-parameters) and optimizer.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mtl
from mtl.config import CHOICES, LIMITS
from mtl.weighting import METHODS

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _in(name: str, hi: float | None = None) -> st.SearchStrategy:
    r = LIMITS[name]
    top = r.hi if hi is None else min(hi, r.hi)
    if r.integer:
        return st.integers(int(r.lo), int(top))
    return st.floats(r.lo, top, exclude_min=r.lo_open, exclude_max=r.hi_open and top == r.hi)


@st.composite
def method_specs(draw: st.DrawFn) -> mtl.WeightingSpec:
    name = draw(st.sampled_from(sorted(METHODS)))
    params = {}
    for h in METHODS[name].hparams:
        r = h.range
        if draw(st.booleans()):
            if h.choices is not None:
                params[h.name] = draw(st.sampled_from(h.choices))
            elif r is None:
                params[h.name] = draw(st.booleans())
            elif r.integer:
                params[h.name] = draw(st.integers(int(r.lo), int(r.hi)))
            else:
                params[h.name] = draw(
                    st.floats(r.lo, min(r.hi, 10.0), exclude_min=r.lo_open, exclude_max=r.hi_open)
                )
    weights = draw(st.tuples(_in("weighting.weight", 10.0), _in("weighting.weight", 10.0)))
    if sum(weights) == 0:
        weights = (weights[0], 1.0)
    return mtl.WeightingSpec(method=name, weights=weights, params=tuple(params.items()))


@st.composite
def valid_configs(draw: st.DrawFn) -> mtl.RunConfig:
    data = mtl.DataSpec(
        name=draw(st.sampled_from(sorted(mtl.DATASETS))),
        n_samples=draw(st.integers(12, 80)),
        n_features=draw(st.integers(1, 6)),
        noise=draw(_in("data.noise", 5.0)),
        label_noise=draw(_in("data.label_noise")),
        angle=draw(_in("data.angle")),
        target_scale=draw(st.floats(0.01, 100.0)),
        n_classes=draw(_in("data.n_classes")),
        test_fraction=draw(st.sampled_from([0.0, 0.2, 0.5])),
        standardize=draw(st.booleans()),
        seed=draw(st.integers(0, 1000)),
    )
    model = mtl.ModelSpec(
        shape=draw(st.sampled_from(CHOICES["model.shape"])),
        width=draw(st.integers(1, 8)),
        depth=draw(st.integers(1, 2)),
        activation=draw(st.sampled_from(CHOICES["model.activation"])),
    )
    loss = mtl.LossSpec(
        regression=draw(st.sampled_from(CHOICES["loss.regression"])),
        classification=draw(st.sampled_from(CHOICES["loss.classification"])),
        huber_delta=draw(st.floats(0.01, 10.0)),
        label_smoothing=draw(st.floats(0.0, 0.9)),
        focal_gamma=draw(_in("loss.focal_gamma")),
        l2=draw(st.sampled_from([0.0, 0.001, 0.5])),
    )
    optim = mtl.OptimSpec(
        kind=draw(st.sampled_from(CHOICES["optim.kind"])),
        lr=draw(st.floats(1e-4, 10.0)),
        momentum=draw(st.floats(0.0, 0.99)),
        batch_size=draw(st.one_of(st.none(), st.integers(1, 100))),
    )
    return mtl.RunConfig(
        data=data,
        model=model,
        loss=loss,
        weighting=draw(method_specs()),
        optim=optim,
        epochs=draw(st.integers(1, 4)),
        seed=draw(st.integers(0, 2**31 - 1)),
    )


@pytest.mark.slow
@SETTINGS
@given(cfg=valid_configs())
def test_valid_configs_train_to_finite_histories_or_flag_divergence(cfg):
    try:
        result = mtl.train(cfg)
    except mtl.ConfigError as err:  # cross-field limits known only with the data (batch, split)
        assert err.field in {"optim.batch_size", "data.test_fraction"}, err
        return
    s = result.summary.iloc[0]
    assert np.isfinite(result.history.loss).all()
    assert np.isfinite(result.history.weighted).all()
    if s.diverged:
        assert 0 <= s.diverged_epoch <= cfg.epochs
        assert math.isnan(s.train_mse)
    else:
        assert result.history.epoch.max() == cfg.epochs
        assert math.isfinite(s.train_loss)


FIELDS = sorted(LIMITS) + sorted(CHOICES)


@st.composite
def invalid_changes(draw: st.DrawFn) -> dict:
    field = draw(st.sampled_from(FIELDS))
    if field in CHOICES:
        bad = draw(
            st.one_of(st.text(max_size=8), st.integers(), st.none()).filter(
                lambda v: v not in CHOICES[field]
            )
        )
    else:
        r = LIMITS[field]
        bad = draw(
            st.one_of(
                st.sampled_from([math.nan, math.inf, -math.inf, "1", None, True]),
                st.floats(allow_nan=False).filter(lambda v: not r.contains(v)),
                st.floats(r.lo, r.hi).filter(lambda v: r.integer and not float(v).is_integer()),
            )
        )
    if field == "weighting.weight":
        return {"weighting.weights": (bad, 0.5)}
    return {field: bad}


@pytest.mark.slow
@SETTINGS
@given(changes=invalid_changes())
def test_invalid_values_raise_config_error_and_nothing_else(changes):
    try:
        mtl.RunConfig().with_(**changes)
    except mtl.ConfigError:
        return
    except Exception as err:  # pragma: no cover - the failure this test exists to catch
        raise AssertionError(f"{changes} raised {type(err).__name__}: {err}") from err
    raise AssertionError(f"{changes} was accepted")
