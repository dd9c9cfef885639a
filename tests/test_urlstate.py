"""Links: a config survives the URL exactly; bad links open with valid values and a message."""

import pytest

import mtl
from mtl.urlstate import from_query, to_query
from mtl.weighting import METHODS

EVERYTHING_SET = mtl.preset("conflicting").with_(
    **{
        "data.n_samples": 300,
        "data.angle": 120.0,
        "data.noise": 0.7,
        "data.label_noise": 0.1,
        "data.target_scale": 3.0,
        "data.n_classes": 3,
        "data.n_features": 5,
        "data.test_fraction": 0.3,
        "data.seed": 4,
        "data.standardize": False,
        "data.standardize_target": True,
        "model.width": 12,
        "model.depth": 3,
        "model.activation": "gelu",
        "loss.regression": "huber",
        "loss.huber_delta": 0.5,
        "loss.classification": "focal",
        "loss.focal_gamma": 1.5,
        "loss.l2": 0.001,
        "optim.kind": "sgd",
        "optim.lr": 0.05,
        "optim.momentum": 0.8,
        "optim.batch_size": 64,
        "weighting.method": "mgda",
        "weighting.params": (("normalize", "l2"), ("upper_bound", True)),
    },
    epochs=25,
    seed=9,
)


BALANCED = mtl.preset("conflicting").with_(
    **{"weighting.scale": "balanced", "weighting.weights": (0.3, 0.7)}
)


@pytest.mark.parametrize("cfg", [*map(mtl.preset, mtl.PRESETS), EVERYTHING_SET, BALANCED])
def test_round_trip_is_exact_and_silent(cfg):
    query = to_query(cfg)
    assert all(isinstance(v, str) for v in query.values())
    again, messages = from_query(query)
    assert again == cfg
    assert messages == []


def test_a_link_with_every_control_set_reproduces_the_same_summary():
    cfg, _ = from_query(to_query(EVERYTHING_SET))
    assert mtl.train(cfg).summary.equals(mtl.train(EVERYTHING_SET).summary)


BAD_LINKS = [
    ({"data.name": "linear", "data.n_samples": "-5"}, "data.n_samples", 3),
    ({"data.name": "linear", "data.n_samples": "99999999999"}, "data.n_samples", 20_000),
    ({"data.name": "linear", "data.n_samples": "1e400"}, "data.n_samples", 20_000),
    ({"optim.lr": "nan"}, "optim.lr", 0.01),
    ({"optim.lr": "-1"}, "optim.lr", "open lower bound"),
    ({"optim.lr": "fast"}, "optim.lr", 0.01),
    ({"epochs": "2.5"}, "epochs", 2),
    ({"epochs": "inf"}, "epochs", 2000),
    ({"seed": "[1, 2]"}, "seed", 0),
    ({"data.standardize": "maybe"}, "data.standardize", True),
    ({"data.name": "mnist"}, "data.name", "notebook"),
    ({"model.shape": "<script>"}, "model.shape", "notebook"),
    ({"optim.batch_size": "full"}, "optim.batch_size", None),
    ({"optim.batch_size": "0"}, "optim.batch_size", 1),
]


@pytest.mark.parametrize(("params", "field", "expected"), BAD_LINKS, ids=str)
def test_bad_values_open_with_nearest_valid_values(params, field, expected):
    cfg, messages = from_query(params)
    section, _, name = field.partition(".")
    value = getattr(getattr(cfg, section), name) if name else getattr(cfg, section)
    if expected == "open lower bound":  # approached, not reached
        assert 0 < value < 1e-3
    else:
        assert value == expected
    changed = field != "optim.batch_size" or params[field] != "full"
    assert (len(messages) == 1) is changed
    if changed:
        assert field in messages[0]


def test_unknown_parameters_are_reported_and_ignored():
    cfg, messages = from_query({"utm_source": "mail", "optim.lr": "0.1"})
    assert cfg.optim.lr == 0.1
    assert messages == ["Ignored the unknown link parameter 'utm_source'."]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ("0.3,0.7", (0.3, 0.7)),
        ("0,0", (0.5, 0.5)),
        ("-1,2", (0.0, 2.0)),
        ("x", (0.5, 0.5)),
        ("1,2,3", (0.5, 0.5)),
        ("5000,1", (1000.0, 1.0)),
    ],
)
def test_weights_from_a_link(weights, expected):
    cfg, messages = from_query({"weighting.weights": weights})
    assert cfg.weighting.weights == pytest.approx(expected)
    assert bool(messages) == (weights != "0.3,0.7")


def test_method_parameters_from_a_link():
    cfg, messages = from_query(
        {
            "weighting.method": "dwa" if "dwa" in mtl.weighting.METHODS else "cagrad",
            "weighting.params.bogus": "1",
        }
    )
    assert cfg.weighting.method in ("dwa", "cagrad")
    assert "bogus" in messages[0]
    cfg, messages = from_query({"weighting.method": "cagrad", "weighting.params.c": "99"})
    assert dict(cfg.weighting.params)["c"] == mtl.weighting.METHODS["cagrad"].hparam("c").range.hi
    assert "weighting.params.c" in messages[0]
    cfg, messages = from_query({"weighting.method": "magic"})
    assert cfg.weighting.method == "static" and "magic" in messages[0]


@pytest.mark.parametrize(
    ("method", "name", "code", "expected"),
    [
        ("imtl", "mode", "0", "hybrid"),
        ("imtl", "mode", "1", "gradient"),
        ("imtl", "mode", "2", "loss"),
        ("mgda", "normalize", "1", "l2"),
    ],
)
def test_old_links_with_numeric_codes_still_open(method, name, code, expected):
    cfg, messages = from_query({"weighting.method": method, f"weighting.params.{name}": code})
    # a canonical config drops a value equal to its default: resolve it as the method does
    assert METHODS[method].resolve_params(dict(cfg.weighting.params))[name] == expected
    assert (
        len(messages) == 1 and "old numeric code" in messages[0] and repr(expected) in messages[0]
    )


def test_named_choices_and_switches_travel_in_links():
    cfg, messages = from_query(
        {
            "weighting.method": "mgda",
            "weighting.params.normalize": "l2",
            "weighting.params.upper_bound": "1",  # an old link's 1 is a valid spelling of true
        }
    )
    assert dict(cfg.weighting.params) == {"normalize": "l2", "upper_bound": True}
    assert messages == []
    cfg, messages = from_query({"weighting.method": "imtl", "weighting.params.mode": "7"})
    assert cfg.weighting.params == () and "weighting.params.mode" in messages[0]


def test_repeated_keys_take_the_last_value():
    cfg, _ = from_query({"epochs": ["5", "7"]})
    assert cfg.epochs == 7


def test_links_start_from_a_base():
    cfg, messages = from_query({"epochs": "3"}, base=mtl.preset("penguins"))
    assert cfg == mtl.preset("penguins").with_(epochs=3) and messages == []


def test_the_balanced_start_and_the_standardised_target_travel_in_links():
    query = to_query(BALANCED.with_(**{"data.standardize_target": True}))
    assert query["weighting.scale"] == "balanced" and query["data.standardize_target"] == "true"
    cfg, messages = from_query({"weighting.scale": "balanced"})
    assert cfg.weighting.scale == "balanced" and messages == []
    cfg, messages = from_query({"weighting.scale": "sideways"})
    assert cfg.weighting.scale == "raw" and "weighting.scale" in messages[0]
    cfg, _ = from_query({"weighting.method": "mgda", "weighting.scale": "balanced"})
    assert cfg.weighting.scale == "raw"  # MGDA does not read it: canonical
