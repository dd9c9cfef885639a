"""The catalogue of bad input, through the core: every case is refused (or flagged) with a
message that says what is wrong and where, in the page's words, and nothing else escapes; the
odd but legitimate files load."""

import io
import math
import sys

import numpy as np
import pytest

import mtl
from mtl.urlstate import from_query
from ui.exports import load_json

from .bad_inputs import (
    API_WORDS,
    BAD_CONFIG_FILES,
    BAD_CONFIGS,
    BAD_CSVS,
    BAD_LINKS,
    DIVERGING,
    ODD_CSVS,
)


@pytest.mark.parametrize("name", BAD_CSVS)
def test_bad_csv_is_a_data_error_naming_the_problem(name):
    data, features, phrases = BAD_CSVS[name]
    with pytest.raises(mtl.DataError) as info:
        mtl.load_csv(
            io.BytesIO(data), regression_target="y", classification_target="c", features=features
        )
    message = str(info.value).lower()
    for phrase in phrases:
        assert phrase.lower() in message, (name, phrase, message)
    for word in API_WORDS:
        assert word.lower() not in message, (name, word, message)


@pytest.mark.parametrize("name", ODD_CSVS)
def test_odd_but_legitimate_csv_loads(name):
    data, regression, classification, features, classes = ODD_CSVS[name]
    ds = mtl.load_csv(io.BytesIO(data), regression, classification)
    assert ds.feature_names == features
    assert ds.class_names == classes
    assert ds.n_rows == len(data.splitlines()) - 1  # no row lost to a missing-value marker
    assert bool(np.isfinite(ds.x.numpy()).all()) and bool(np.isfinite(ds.y_reg.numpy()).all())


def test_decimal_commas_are_read_as_decimals():
    data, regression, classification, _, _ = ODD_CSVS["semicolons and decimal commas"]
    ds = mtl.load_csv(io.BytesIO(data), regression, classification)
    assert ds.x[:4, 0].tolist() == [0.25, 1.25, 2.25, 3.25]
    assert ds.x[:4, 1].tolist() == [0.5, 1.5, 2.5, 3.5]
    assert "semicolon-separated, with decimal commas" in ds.description


@pytest.mark.parametrize("name", BAD_CONFIG_FILES)
def test_bad_configuration_file_is_refused_in_words(name):
    data, phrase = BAD_CONFIG_FILES[name]
    with pytest.raises(ValueError) as info:
        load_json(data)
    assert type(info.value) is ValueError  # not a RecursionError or a JSONDecodeError escaping
    message = str(info.value)
    assert phrase.lower() in message.lower(), (name, message)
    assert len(message) < 300
    for word in API_WORDS:
        assert word not in message, (name, word, message)


def test_deep_nesting_is_refused_whatever_the_recursion_limit():
    # mypy's API, run in-process by test_typecheck.py, raises the limit to 16,384: the parser
    # alone then read the 16,000-level file, and the refusal depended on which tests ran first
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(40_000)
        with pytest.raises(ValueError, match="nested"):
            load_json(BAD_CONFIG_FILES["an object nested 16,000 levels deep"][0])
    finally:
        sys.setrecursionlimit(limit)


def test_brackets_inside_strings_are_not_nesting():
    text = '{"data.name": "[[[[{{{{\\"' + "[" * 50 + '", "epochs": 3}'
    assert load_json(text.encode()) == {"data.name": '[[[[{{{{"' + "[" * 50, "epochs": "3"}


@pytest.mark.parametrize("name", BAD_LINKS)
def test_bad_link_opens_valid_with_a_message(name):
    params, field = BAD_LINKS[name]
    cfg, messages = from_query(params, base=mtl.preset("conflicting"))
    assert isinstance(cfg, mtl.RunConfig)  # always opens
    assert any(field in m for m in messages), messages
    mtl.train(cfg.with_(epochs=2))  # and the configuration it opens with trains


@pytest.mark.parametrize("name", BAD_CONFIGS)
def test_bad_config_is_a_config_error_naming_the_field(name):
    changes, field = BAD_CONFIGS[name]
    with pytest.raises(mtl.ConfigError) as info:
        mtl.preset("conflicting").with_(**changes)
    assert info.value.field == field
    assert "expected" in str(info.value)


def test_a_diverging_learning_rate_is_flagged_not_raised():
    result = mtl.train(mtl.preset("conflicting").with_(**DIVERGING))
    s = result.summary.iloc[0]
    assert bool(s.diverged) and s.diverged_epoch >= 0
    assert math.isnan(s.test_mse)


def test_data_chart_draws_columns_whose_names_are_vega_syntax():
    import re

    import pandas as pd

    from mtl import charts

    names = ["a.b", "a_b", "a:b", "it's", 'say "hi"', "[0]", "back\\slash"]
    frame = pd.DataFrame({name: [float(i), float(i + 1)] for i, name in enumerate(names)})
    frame["class"] = ["k0", "k1"]
    frame["split"] = ["train", "test"]
    spec = charts.data_chart(frame, x="it's", y="a.b", titles={"a.b": "A dot B"}).to_dict()
    encoding = spec["encoding"]
    fields = [t["field"] for t in encoding["tooltip"]]
    assert all(re.fullmatch(r"\w+", f) for f in fields), fields  # literal fields only
    rows = spec["datasets"][spec["data"]["name"]]
    assert rows[0][encoding["x"]["field"]] == 3.0 and rows[0][encoding["y"]["field"]] == 0.0
    assert encoding["x"]["title"] == "it's" and encoding["y"]["title"] == "A dot B"
    assert [t["title"] for t in encoding["tooltip"]][: len(names)] == ["A dot B", *names[1:]]
    assert list(frame.columns[: len(names)]) == names  # the caller's frame is untouched
