"""The catalogue of bad input, through the page (AppTest): each case shows a message that names
the problem in the page's words, no traceback reaches the page, and the last good results stay
on screen; odd but legitimate files train and draw their data under their own names; an
unexpected failure is an apology with an id, logged on the server."""

from __future__ import annotations

import io
import json
import logging
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st

import mtl

from .bad_inputs import API_WORDS, BAD_CONFIG_FILES, BAD_CSVS, DIVERGING, ODD_CSVS
from .test_app import assert_results_shown, new_app, set_and_run, short_app, widget

APOLOGY = re.compile(
    r"Something went wrong on our side \(error id ([0-9a-f]{8})\)\. Your settings are kept; "
    r"try again or change a control\."
)


def _texts(at) -> list[str]:
    """Every text the page shows (messages, markdown, captions, code, exceptions)."""
    kinds = ("error", "warning", "info", "success", "markdown", "caption", "code", "exception")
    texts: list[str] = []
    for kind in kinds:
        for element in at.get(kind):
            value = getattr(element, "value", None)
            texts.append(str(value if value is not None else getattr(element, "message", "")))
    return texts


def _assert_no_api_words(texts: list[str]) -> None:
    for text in texts:
        for word in API_WORDS:
            assert word not in text, (word, text)


def _upload(at, name: str, data: bytes) -> None:
    at.get("file_uploader")[0].set_value((f"{name}.csv", data, "text/csv"))
    at.run()


@pytest.mark.parametrize("name", BAD_CSVS)
def test_bad_csv_is_a_message_and_the_last_results_stay(name):
    data, features, phrases = BAD_CSVS[name]
    at = new_app()
    set_and_run(at, "data.name", "csv")
    steps = [lambda: _upload(at, name, data)]
    # when the file itself is readable, pick the columns as a person would
    steps.append(lambda: set_and_run(at, "data.csv.classification_target", "c"))
    steps.append(lambda: set_and_run(at, "data.csv.regression_target", "y"))
    if features is not None:
        steps.append(lambda: set_and_run(at, "data.csv.features", features))
    for step in steps:
        shown = at.metric[0].value  # what is on screen before this step
        step()
        if at.error:
            break
    assert not at.exception, at.exception
    assert at.error, f"{name}: no message"
    message = " ".join(e.value for e in at.error).lower()
    for phrase in phrases:
        assert phrase.lower() in message, (name, phrase, message)
    _assert_no_api_words([e.value for e in at.error])
    assert_results_shown(at)
    assert at.metric[0].value == shown  # the last good result stays, not a blank page


def _data_chart(at) -> tuple[dict, pd.DataFrame]:
    """The Data tab's scatter: its Vega-Lite spec and the data it draws."""
    at.session_state["view.tab"] = "Data"
    at.run()
    assert not at.exception, at.exception
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if spec.get("mark", {}).get("type") == "point" and "fillOpacity" in spec["encoding"]:
            table = pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all()
            return spec, table.to_pandas()
    raise AssertionError("no data scatter in the Data tab")


@pytest.mark.parametrize("name", ODD_CSVS)
def test_odd_csv_trains_and_the_data_tab_draws_its_own_columns(name):
    data, regression, classification, features, classes = ODD_CSVS[name]
    at = short_app()  # each of the four steps below trains: what is drawn is the file's, not learnt
    set_and_run(at, "data.name", "csv")
    _upload(at, name, data)
    set_and_run(at, "data.csv.classification_target", classification)
    set_and_run(at, "data.csv.regression_target", regression)
    set_and_run(at, "data.csv.features", list(features))
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert_results_shown(at)
    spec, drawn = _data_chart(at)
    encoding = spec["encoding"]
    fields = [encoding[c]["field"] for c in ("x", "y", "color")]
    fields += [t["field"] for t in encoding["tooltip"]]
    for field in fields:  # literal field names: nothing Vega-Lite reads as nesting or syntax
        assert re.fullmatch(r"\w+", field), field
        assert field in drawn.columns, field
    titles = {t["field"]: t["title"] for t in encoding["tooltip"]}
    assert [titles[f] for f in drawn.columns[: len(features)]] == list(features)
    assert titles[encoding["y"]["field"]] == regression == encoding["y"]["title"]
    # the points are the file's own values: each feature, the target and the class
    ds = mtl.load_csv(io.BytesIO(data), regression, classification, features=list(features))
    for j, feature in enumerate(features):
        field = next(f for f, t in titles.items() if t == feature)
        np.testing.assert_array_equal(drawn[field].to_numpy(), ds.x[:, j].double().numpy())
    np.testing.assert_array_equal(
        drawn[encoding["y"]["field"]].to_numpy(), ds.y_reg[:, 0].double().numpy()
    )
    names = np.asarray(ds.class_names, dtype=object)[ds.y_cls.numpy()]
    assert drawn[encoding["color"]["field"]].tolist() == names.tolist()
    assert sorted(set(drawn[encoding["color"]["field"]])) == sorted(classes)


def _upload_config(at, name: str, data: bytes) -> None:
    at.session_state["view.tab"] = "Share & export"
    at.run()
    uploader = next(u for u in at.get("file_uploader") if u.key == "share.config_file")
    uploader.set_value((f"{name}.json", data, "application/json"))
    at.run()


@pytest.mark.parametrize("name", BAD_CONFIG_FILES)
def test_bad_configuration_file_is_a_message_in_words(name):
    data, phrase = BAD_CONFIG_FILES[name]
    at = new_app()
    shown = at.metric[0].value
    _upload_config(at, name, data)
    assert not at.exception, at.exception
    assert at.error, f"{name}: no message"
    message = " ".join(e.value for e in at.error)
    assert phrase.lower() in message.lower(), (name, message)
    _assert_no_api_words([m.value for m in [*at.error, *at.warning]])
    assert_results_shown(at)
    assert at.metric[0].value == shown


def test_an_unexpected_error_is_an_apology_with_an_id_and_is_logged(monkeypatch, caplog):
    from ui import views

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError('boom at File "/srv/secret/path.py", line 1')

    monkeypatch.setattr(views, "details", broken)
    with caplog.at_level(logging.ERROR, logger="loss_weighting_explorer"):
        at = new_app()
    assert not at.exception
    apologies = [APOLOGY.fullmatch(e.value) for e in at.error]
    assert any(apologies), [e.value for e in at.error]
    error_id = next(m for m in apologies if m).group(1)
    for text in _texts(at):
        for leak in ("Traceback", 'File "', "/srv/secret", "boom", "RuntimeError"):
            assert leak not in text, (leak, text)
    # logged on the server under the same id, with the traceback
    records = [r for r in caplog.records if error_id in r.getMessage()]
    assert records and records[0].exc_info and records[0].exc_info[0] is RuntimeError
    # what was drawn before the failure stays, and so do the controls
    assert metric_labels_present(at)
    assert widget(at, "optim.lr").value > 0


def metric_labels_present(at) -> bool:
    return any("MSE" in m.label for m in at.metric)


def test_streamlit_control_flow_is_not_swallowed(monkeypatch):
    from ui import views

    def stop(*args: object, **kwargs: object) -> None:
        st.stop()

    monkeypatch.setattr(views, "details", stop)
    at = new_app()
    assert not at.exception
    assert not [e for e in at.error if APOLOGY.fullmatch(e.value)]  # a stop is not a failure
    assert metric_labels_present(at)  # the page up to the stop is drawn


def test_all_zero_weights_are_a_message_naming_the_weights():
    at = new_app()
    set_and_run(at, "weighting.form", "free")
    set_and_run(at, "weighting.weights.regression", 0.0)
    set_and_run(at, "weighting.weights.classification", 0.0)
    assert not at.exception
    assert at.error and "“Weights”" in at.error[0].value  # the page's words ...
    assert "weighting.weights" not in at.error[0].value  # ... not the API's
    assert_results_shown(at)


def test_a_diverging_learning_rate_is_explained_not_raised():
    at = new_app()
    set_and_run(at, "optim.kind", DIVERGING["optim.kind"])
    set_and_run(at, "data.target_scale", DIVERGING["data.target_scale"])
    set_and_run(at, "optim.lr", DIVERGING["optim.lr"])
    assert not at.exception
    shown = " ".join(w.value for w in at.warning) + " ".join(e.value for e in at.error)
    assert "diverged" in shown.lower()
    assert "learning rate" in shown.lower() or "optim.lr" in shown
    assert widget(at, "optim.lr").value == DIVERGING["optim.lr"]


def test_a_mostly_numeric_column_with_stray_text_is_offered_and_then_reported():
    from ui import csv_upload

    data, _, _ = BAD_CSVS["text in a feature"]
    columns = csv_upload.read_columns(data)
    assert "x1" in columns.numeric  # not silently dropped from the pickers
    assert "c" not in columns.numeric  # a real text column still is not numeric


def test_a_work_budget_from_secrets_is_enforced_with_a_message():
    from streamlit.testing.v1 import AppTest

    from mtl import budget
    from ui import runtime

    from .test_app import APP

    runtime.setup_runtime.clear()  # read once per server process: start this "server" afresh
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["work_budget"] = 0.001  # seconds: far less than any run
    try:
        set_and_run(at.run(), "epochs", 149)  # a run not in the cache, so the engine checks it
        assert not at.exception
        message = at.error[0].value if at.error else ""
        assert "of computing; the limit is 0.001 s" in message and "lower" in message.lower()
    finally:
        budget.set_work_budget(None)  # the budget is process-wide; restore it for other tests
        runtime.setup_runtime.clear()
