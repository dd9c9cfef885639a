"""RunConfig validation: every field range-checked, errors name field, value and range."""

import math

import pytest

import mtl
from mtl.config import LIMITS, Range

BAD_VALUES = [
    ("epochs", 0),
    ("epochs", 2001),
    ("epochs", 1.5),
    ("seed", -1),
    ("optim.lr", 0.0),
    ("optim.lr", float("nan")),
    ("optim.lr", 11.0),
    ("optim.momentum", 1.0),
    ("optim.batch_size", 0),
    ("optim.kind", "rmsprop"),
    ("data.n_samples", 2),
    ("data.n_samples", 20_001),
    ("data.test_fraction", 0.95),
    ("data.angle", 181.0),
    ("data.n_classes", 6),
    ("data.label_noise", 0.6),
    ("data.target_scale", 0.0),
    ("data.noise", float("inf")),
    ("data.name", "mnist"),
    ("model.shape", "transformer"),
    ("model.width", 0),
    ("model.depth", 9),
    ("model.activation", "swish"),
    ("loss.regression", "log_cosh"),
    ("loss.classification", "hinge"),
    ("loss.huber_delta", 0.0),
    ("loss.label_smoothing", 1.0),
    ("loss.focal_gamma", -1.0),
    ("loss.l2", -0.1),
    ("weighting.method", "magic"),
    ("weighting.weights", (0.0, 0.0)),
    ("weighting.weights", (-1.0, 1.0)),
    ("weighting.weights", (1.0, float("nan"))),
    ("weighting.weights", (1.0,)),
    ("weighting.weights", (1.0, 2000.0)),
    ("weighting.params", (("no_such_param", 1.0),)),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES, ids=[f"{f}={v!r}" for f, v in BAD_VALUES])
def test_bad_values_raise_config_error_naming_the_field(field, value):
    with pytest.raises(mtl.ConfigError) as info:
        mtl.RunConfig().with_(**{field: value})
    err = info.value
    assert isinstance(err, ValueError)
    assert err.field.startswith(field.split(".")[0])
    assert field.rsplit(".", 1)[-1] in err.field or field.rsplit(".", 1)[-1] in str(err)
    assert "expected" in str(err) and err.allowed


def test_error_message_names_value_and_range():
    with pytest.raises(mtl.ConfigError, match=r"optim\.lr = 0\.0 .* 0 < x <= 10"):
        mtl.RunConfig().with_(**{"optim.lr": 0.0})


def test_booleans_are_not_numbers():
    with pytest.raises(mtl.ConfigError):
        mtl.RunConfig(epochs=True)
    with pytest.raises(mtl.ConfigError, match="standardize"):
        mtl.DataSpec(standardize="yes")


@pytest.mark.parametrize("name", mtl.PRESETS)
def test_presets_are_valid_and_hashable(name):
    cfg = mtl.preset(name)
    assert hash(cfg) == hash(mtl.preset(name))
    assert cfg == mtl.preset(name)
    assert {cfg: 1}[mtl.preset(name)] == 1


def test_unknown_preset():
    with pytest.raises(mtl.ConfigError, match="preset"):
        mtl.preset("nope")


def test_notebook_preset_is_the_notebooks_setup():
    cfg = mtl.preset("notebook")
    assert (cfg.optim.kind, cfg.optim.lr, cfg.optim.batch_size) == ("sgd", 0.01, None)
    assert cfg.weighting.weights == (0.5, 0.5) and cfg.epochs == 100
    assert cfg.data.test_fraction == 0.0 and not cfg.data.standardize
    assert (cfg.model.shape, cfg.loss.regression, cfg.loss.classification) == (
        "notebook",
        "mse",
        "ce",
    )


def test_alpha_form():
    spec = mtl.WeightingSpec.alpha(0.3)
    assert spec.weights == pytest.approx((0.3, 0.7))
    with pytest.raises(mtl.ConfigError, match="alpha"):
        mtl.WeightingSpec.alpha(1.5)


def test_with_changes_nested_and_top_level_fields():
    cfg = mtl.RunConfig().with_(**{"optim.lr": 0.1, "model.width": 7}, epochs=3)
    assert (cfg.optim.lr, cfg.model.width, cfg.epochs) == (0.1, 7, 3)
    assert mtl.RunConfig().optim.lr == 0.01  # the original is unchanged
    with pytest.raises(mtl.ConfigError):
        mtl.RunConfig().with_(**{"nothing.here": 1})


def test_params_are_sorted_so_equal_specs_hash_equal():
    a = mtl.WeightingSpec(method="gradnorm", params=(("weight_lr", 0.1), ("alpha", 1.5)))
    b = mtl.WeightingSpec(method="gradnorm", params=(("alpha", 1.5), ("weight_lr", 0.1)))
    assert a.params == (("alpha", 1.5), ("weight_lr", 0.1))
    assert a == b and hash(a) == hash(b)
    assert mtl.WeightingSpec(method="static", params=()) == mtl.WeightingSpec(method="static")


def test_csv_name_needs_a_table():
    with pytest.raises(mtl.ConfigError, match=r"data\.table"):
        mtl.DataSpec(name="csv")


def test_range_clamp_and_describe():
    r = Range(0.0, 10.0, lo_open=True)
    assert r.clamp(-5) > 0 and r.clamp(50) == 10.0 and r.clamp(float("inf")) == 10.0
    assert r.contains(r.clamp(float("-inf")))  # an open end is approached, never returned
    assert Range(0.0, 1.0, hi_open=True).contains(Range(0.0, 1.0, hi_open=True).clamp(math.inf))
    assert Range(1, 5, integer=True).clamp(3.6) == 4.0
    assert "integer" in Range(1, 5, integer=True).describe()
    for name, allowed in LIMITS.items():
        assert allowed.contains(allowed.clamp(allowed.lo)), name
        assert allowed.contains(allowed.clamp(allowed.hi)), name
        assert not allowed.contains(math.nan), name
