"""RunConfig validation and canonical form.

Every field is range-checked, errors name field, value and range; a field the run does not read
is normalised, so two configurations of one run are one config (hash, link, page cache key).
"""

import dataclasses
import io
import math

import pytest

import mtl
from mtl.config import DATA_GENERATION, LIMITS, Range
from mtl.data import DATASETS
from mtl.urlstate import from_query, to_query
from mtl.weighting import METHODS
from ui.keys import cache_key

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
    ("weighting.scale", "log"),
    ("data.standardize_target", 1),
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
    changes = {"optim.lr": 0.1, "model.shape": "shared", "model.width": 7}
    cfg = mtl.RunConfig().with_(**changes, epochs=3)
    assert (cfg.optim.lr, cfg.model.width, cfg.epochs) == (0.1, 7, 3)
    assert mtl.RunConfig().optim.lr == 0.01  # the original is unchanged
    with pytest.raises(mtl.ConfigError):
        mtl.RunConfig().with_(**{"nothing.here": 1})


def test_params_are_sorted_so_equal_specs_hash_equal():
    a = mtl.WeightingSpec(method="gradnorm", params=(("weight_lr", 0.1), ("alpha", 2.0)))
    b = mtl.WeightingSpec(method="gradnorm", params=(("alpha", 2.0), ("weight_lr", 0.1)))
    assert a.params == (("alpha", 2.0), ("weight_lr", 0.1))
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


# ---------------------------------------------------------------- canonical form


OTHER_VALUE = {
    "n_samples": 150,
    "n_features": 3,
    "noise": 0.5,
    "label_noise": 0.2,
    "angle": 45.0,
    "target_scale": 2.0,
    "n_classes": 3,
    "seed": 9,
}
"""A valid value different from the default for each data-generation field."""

CSV_BYTES = b"a,b,y,k\n" + b"".join(
    f"{i},{(i * 7) % 11},{i * 0.5},{'xy'[i % 2]}\n".encode() for i in range(30)
)


def csv_table() -> mtl.Dataset:
    return mtl.load_csv(io.BytesIO(CSV_BYTES), regression_target="y", classification_target="k")


def assert_same_run(a: mtl.RunConfig, b: mtl.RunConfig) -> None:
    """One run: equal, hash equal, one link, one page cache key."""
    assert a == b
    assert hash(a) == hash(b)
    assert cache_key(a) == cache_key(b)
    if a.data.name != "csv":
        assert to_query(a) == to_query(b)


def assert_other_run(a: mtl.RunConfig, b: mtl.RunConfig) -> None:
    assert a != b
    assert cache_key(a) != cache_key(b)
    if a.data.name != "csv":
        assert to_query(a) != to_query(b)


def _ignored_cases() -> list[tuple[str, mtl.RunConfig, dict]]:
    """(id, base config, a change to a field the base's run does not read)."""
    cases = []
    for shape in ("notebook", "article"):
        base = mtl.RunConfig().with_(**{"model.shape": shape})
        for field, value in (("width", 64), ("depth", 3), ("activation", "tanh")):
            cases.append((f"{shape}-{field}", base, {f"model.{field}": value}))
    adam = mtl.RunConfig().with_(**{"optim.kind": "adam"})
    cases.append(("adam-momentum", adam, {"optim.momentum": 0.9}))
    for regression in ("mse", "l1"):
        base = mtl.RunConfig().with_(**{"loss.regression": regression})
        cases.append((f"{regression}-huber_delta", base, {"loss.huber_delta": 2.5}))
    for classification, unread in (
        ("ce", ("label_smoothing", "focal_gamma")),
        ("label_smoothing", ("focal_gamma",)),
        ("focal", ("label_smoothing",)),
    ):
        base = mtl.RunConfig().with_(**{"loss.classification": classification})
        for field in unread:
            value = 0.3 if field == "label_smoothing" else 1.0
            cases.append((f"{classification}-{field}", base, {f"loss.{field}": value}))
    for name, entry in DATASETS.items():
        base = mtl.RunConfig().with_(**{"data.name": name})
        for field in DATA_GENERATION:
            if field not in entry.params:
                cases.append((f"{name}-{field}", base, {f"data.{field}": OTHER_VALUE[field]}))
    for method, cls in METHODS.items():
        if not cls.uses_base_weights:
            base = mtl.RunConfig().with_(**{"weighting.method": method})
            cases.append((f"{method}-weights", base, {"weighting.weights": (0.2, 0.8)}))
        if not (cls.uses_base_weights and cls.balances_base_weights):
            base = mtl.RunConfig().with_(**{"weighting.method": method})
            cases.append((f"{method}-scale", base, {"weighting.scale": "balanced"}))
    return cases


IGNORED = _ignored_cases()


@pytest.mark.parametrize(("base", "change"), [c[1:] for c in IGNORED], ids=[c[0] for c in IGNORED])
def test_a_field_the_run_does_not_read_is_normalised(base, change):
    changed = base.with_(**change)
    assert_same_run(changed, base)
    key = next(iter(change))
    section, _, name = key.partition(".")
    assert getattr(getattr(changed, section), name) == getattr(
        getattr(mtl.RunConfig(), section), name
    )


APPLIED = [
    ("shared-width", {"model.shape": "shared"}, {"model.width": 64}),
    ("shared-activation", {"model.shape": "shared"}, {"model.activation": "tanh"}),
    ("sgd-momentum", {"optim.kind": "sgd"}, {"optim.momentum": 0.9}),
    ("huber-delta", {"loss.regression": "huber"}, {"loss.huber_delta": 2.5}),
    ("smoothing", {"loss.classification": "label_smoothing"}, {"loss.label_smoothing": 0.3}),
    ("focal-gamma", {"loss.classification": "focal"}, {"loss.focal_gamma": 1.0}),
    ("linear-n_samples", {"data.name": "linear"}, {"data.n_samples": 150}),
    ("synthetic-angle", {"data.name": "synthetic"}, {"data.angle": 45.0}),
    ("notebook-seed", {"data.name": "notebook"}, {"data.seed": 9}),
    ("gradnorm-weights", {"weighting.method": "gradnorm"}, {"weighting.weights": (0.2, 0.8)}),
    ("cagrad-c", {"weighting.method": "cagrad"}, {"weighting.params": (("c", 0.9),)}),
    ("batch", {}, {"optim.batch_size": 16}),
    ("static-balanced", {}, {"weighting.scale": "balanced"}),
    ("standardised-target", {}, {"data.standardize_target": True}),
    ("linear-standardised-target", {"data.name": "linear"}, {"data.standardize_target": True}),
]


@pytest.mark.parametrize(("setup", "change"), [c[1:] for c in APPLIED], ids=[c[0] for c in APPLIED])
def test_a_field_the_run_reads_still_distinguishes_it(setup, change):
    base = mtl.RunConfig().with_(**setup)
    assert_other_run(base.with_(**change), base)


def test_a_hyper_parameter_at_its_default_is_the_same_as_none_and_numbers_are_typed():
    cagrad = mtl.RunConfig().with_(**{"weighting.method": "cagrad"})
    default_c = METHODS["cagrad"].defaults()["c"]
    assert_same_run(cagrad.with_(**{"weighting.params": (("c", default_c),)}), cagrad)
    assert cagrad.with_(**{"weighting.params": (("c", default_c),)}).weighting.params == ()
    assert_same_run(
        cagrad.with_(**{"weighting.params": (("c", 1),)}),
        cagrad.with_(**{"weighting.params": (("c", 1.0),)}),
    )
    (pair,) = cagrad.with_(**{"weighting.params": (("c", 1),)}).weighting.params
    assert pair == ("c", 1.0) and isinstance(pair[1], float)
    mgda = mtl.RunConfig().with_(**{"weighting.method": "mgda"})
    assert mgda.with_(**{"weighting.params": (("normalize", "none"),)}).weighting.params == ()
    # an int where a float is declared, a float where an int is: one repr, one link
    one = mtl.RunConfig().with_(**{"optim.lr": 1, "data.test_fraction": 0, "loss.l2": 0}, epochs=50)
    other = mtl.RunConfig().with_(
        **{"optim.lr": 1.0, "data.test_fraction": 0.0, "loss.l2": 0.0}, epochs=50.0
    )
    assert_same_run(one, other)
    assert isinstance(one.optim.lr, float) and isinstance(other.epochs, int)
    assert_same_run(
        mtl.RunConfig(weighting=mtl.WeightingSpec(weights=(1, 0))),
        mtl.RunConfig(weighting=mtl.WeightingSpec(weights=(1.0, 0.0))),
    )


def test_an_uploaded_csv_reads_no_generation_field_and_its_seed_only_for_a_split():
    table = csv_table()
    base = mtl.RunConfig(data=mtl.DataSpec(name="csv", table=table))
    for field, value in OTHER_VALUE.items():
        assert_same_run(base.with_(**{f"data.{field}": value}), base)
    split = base.with_(**{"data.test_fraction": 0.25})
    assert_other_run(split.with_(**{"data.seed": 9}), split)  # the seed draws the split
    assert_other_run(split, base)


def test_a_value_out_of_range_is_refused_even_where_it_does_not_apply():
    with pytest.raises(mtl.ConfigError, match=r"model\.width"):
        mtl.ModelSpec(shape="notebook", width=0)
    with pytest.raises(mtl.ConfigError, match=r"optim\.momentum"):
        mtl.OptimSpec(kind="adam", momentum=1.0)
    with pytest.raises(mtl.ConfigError, match=r"weighting\.weights"):
        mtl.WeightingSpec(method="dwa", weights=(0.0, 0.0))


def test_a_batch_as_large_as_the_training_rows_stays_a_distinct_config():
    """Documented choice: the row count is known only with the data, so no normalisation here;
    the engine trains such a batch exactly as full batch."""
    cfg = mtl.preset("linear").with_(epochs=3)  # 200 rows, a quarter held out: 150 to train
    full = mtl.train(cfg)
    whole = mtl.train(cfg.with_(**{"optim.batch_size": 150}))
    assert cfg != cfg.with_(**{"optim.batch_size": 150})
    assert full.summary.drop(columns="seconds", errors="ignore").equals(
        whole.summary.drop(columns="seconds", errors="ignore")
    )


@pytest.mark.parametrize("name", mtl.PRESETS)
def test_presets_are_canonical(name):
    cfg = mtl.preset(name)
    again, messages = from_query(to_query(cfg))
    assert again == cfg and messages == []
    for section in ("data", "model", "loss", "weighting", "optim"):  # normalising is idempotent
        spec = getattr(cfg, section)
        assert repr(dataclasses.replace(spec)) == repr(spec)
