"""The catalogue of bad input, through the page (AppTest): each case shows a message that names
the problem, no traceback reaches the page, and the last good results stay on screen."""

from __future__ import annotations

import pytest

from .bad_inputs import BAD_CSVS, DIVERGING
from .test_app import assert_results_shown, new_app, set_and_run, widget


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
    assert_results_shown(at)
    assert at.metric[0].value == shown  # the last good result stays, not a blank page


def test_all_zero_weights_are_a_message_naming_the_weights():
    at = new_app()
    set_and_run(at, "weighting.form", "free")
    set_and_run(at, "weighting.weights.regression", 0.0)
    set_and_run(at, "weighting.weights.classification", 0.0)
    assert not at.exception
    assert at.error and "weighting.weights" in at.error[0].value
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
    from ui import run

    from .test_app import APP

    run.setup_runtime.clear()  # read once per server process: start this "server" afresh
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["work_budget"] = 0.001  # seconds: far less than any run
    try:
        set_and_run(at.run(), "epochs", 149)  # a run not in the cache, so the engine checks it
        assert not at.exception
        message = at.error[0].value if at.error else ""
        assert "of computing; the limit is 0.001 s" in message and "lower" in message.lower()
    finally:
        budget.set_work_budget(None)  # the budget is process-wide; restore it for other tests
        run.setup_runtime.clear()
