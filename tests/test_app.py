"""The page, driven by Streamlit's AppTest, and its Streamlit-free helpers.

AppTest runs ``app.py`` in this process, so ``st.cache_data`` is shared between tests: tests that
must see a cache miss use a seed no other test uses.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import mtl
from mtl.weighting import METHODS, HParam
from ui import csv_upload
from ui.keys import cache_key
from ui.memory import LAST_GOOD
from ui.run import ThrottledProgress
from ui.sidebar import LR_GRID
from ui.state import (
    DEFAULT_PRESET,
    PRESET_LABELS,
    config_from_state,
    hparam_key,
    method_defaults,
    state_from_config,
)

APP = str(Path(__file__).resolve().parents[1] / "app.py")
WIDGET_TYPES = (
    "selectbox",
    "slider",
    "number_input",
    "checkbox",
    "radio",
    "select_slider",
    "multiselect",
    "toggle",
    "segmented_control",
)

GOOD_CSV = b"height,weight,kind,age\n" + b"".join(
    f"{150 + i},{50 + (i * 7) % 30},{'ab'[i % 2]},{20 + i % 9}\n".encode() for i in range(40)
)
MISSING_CSV = GOOD_CSV.replace(b"\n152,", b"\n,", 1)


# ---------------------------------------------------------------- helpers


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


SHORT_EPOCHS = 20
"""The epochs of a page whose tests check that a control reruns cleanly, not what is learnt."""


def short_app() -> AppTest:
    """The default page with its epochs cut to :data:`SHORT_EPOCHS`.

    For tests that change a control and check that the page reruns and trains the changed run:
    the run's length is not what they test, and at the default 150 epochs the training was most
    of their time (the per-control tests trained 23 s of a 33 s total, serially).
    """
    at = new_app()
    set_and_run(at, "epochs", SHORT_EPOCHS)
    assert not at.exception, at.exception
    return at


def widget(at: AppTest, key: str) -> Any:
    for kind in WIDGET_TYPES:
        for w in at.get(kind):
            if getattr(w, "key", None) == key:
                return w
    raise KeyError(f"no widget with key {key!r} on the page")


def sidebar_keys(at: AppTest) -> list[str]:
    keys: list[str] = []

    def walk(block: Any) -> None:
        for child in getattr(block, "children", {}).values():
            if getattr(child, "key", None):
                keys.append(child.key)
            walk(child)

    walk(at.sidebar)
    return keys


def metric_labels(at: AppTest) -> list[str]:
    return [m.label for m in at.metric]


def assert_results_shown(at: AppTest) -> None:
    assert not at.exception, at.exception
    labels = metric_labels(at)
    assert any("MSE" in label for label in labels), labels
    assert any("accuracy" in label for label in labels), labels
    assert len(at.get("vega_lite_chart")) >= 1


def set_and_run(at: AppTest, key: str, value: Any) -> AppTest:
    widget(at, key).set_value(value)
    at.run()
    return at


def shown_config(at: AppTest) -> str:
    return at.session_state[LAST_GOOD][0]


# ---------------------------------------------------------------- pure helpers


@pytest.mark.parametrize("name", mtl.PRESETS)
def test_every_preset_round_trips_through_the_widget_state(name):
    cfg = mtl.preset(name)
    assert config_from_state(state_from_config(cfg)) == cfg


def test_presets_offered_are_the_core_presets():
    assert set(PRESET_LABELS) == set(mtl.PRESETS)
    assert DEFAULT_PRESET == "tradeoff"  # the first screen trades one task for the other


def test_state_gives_a_canonical_config():
    state = state_from_config(mtl.preset("notebook"))
    state |= {"model.width": 128, "optim.momentum": 0.5, "loss.huber_delta": 3.0}
    state |= {"optim.kind": "adam", "data.angle": 10.0}  # momentum, width, angle don't apply
    cfg = config_from_state(state)
    assert cfg.model == mtl.ModelSpec(shape="notebook")
    assert cfg.optim.momentum == 0.0 and cfg.loss.huber_delta == 1.0
    assert cfg.data.angle == mtl.DataSpec().angle


def test_weights_follow_the_chosen_form():
    state = state_from_config(mtl.preset("notebook"))
    state["weighting.alpha"] = 0.3
    assert config_from_state(state).weighting.weights == (0.3, 0.7)
    state |= {
        "weighting.form": "free",
        "weighting.weights.regression": 2.0,
        "weighting.weights.classification": 5.0,
    }
    assert config_from_state(state).weighting.weights == (2.0, 5.0)
    assert state_from_config(mtl.preset("article"))["weighting.form"] == "free"


def test_hyper_parameters_default_to_the_declaration_and_only_changes_are_kept():
    # every gradient method also has CR-MOGM's smoothing, declared once in the base class
    assert method_defaults("cagrad") == {"c": 0.5, "rescale": "none", "smoothing": 0.0}
    state = state_from_config(mtl.preset("conflicting"))
    state["weighting.method"] = "cagrad"
    assert config_from_state(state).weighting.params == ()
    state[hparam_key("cagrad", "c")] = 0.9
    assert config_from_state(state).weighting.params == (("c", 0.9),)
    state[hparam_key("cagrad", "smoothing")] = 0.5
    assert config_from_state(state).weighting.params == (("c", 0.9), ("smoothing", 0.5))


def test_a_bad_value_raises_a_config_error_naming_the_field():
    state = state_from_config(mtl.preset("notebook")) | {"optim.lr": 50.0}
    with pytest.raises(mtl.ConfigError) as error:
        config_from_state(state)
    assert error.value.field == "optim.lr"


def test_learning_rate_grid_is_allowed_and_holds_the_presets():
    assert all(mtl.config.LIMITS["optim.lr"].contains(lr) for lr in LR_GRID)
    assert {mtl.preset(n).optim.lr for n in mtl.PRESETS} <= set(LR_GRID)


def test_progress_is_throttled_to_twenty_updates_and_ends_at_one():
    seen: list[float] = []
    progress = ThrottledProgress(lambda fraction, text: seen.append(fraction), max_updates=20)
    for done in range(1, 2001):
        progress(done, 2000)
    assert len(seen) <= 20
    assert seen[-1] == 1.0
    few: list[float] = []
    short = ThrottledProgress(lambda fraction, text: few.append(fraction), max_updates=20)
    for done in range(1, 4):
        short(done, 3)
    assert few == [1 / 3, 2 / 3, 1.0]


def test_cache_key_identifies_the_uploaded_data():
    a = csv_upload.load(GOOD_CSV, "a.csv", "height", "kind", ["weight", "age"], False)
    b = csv_upload.load(GOOD_CSV, "a.csv", "height", "kind", ["weight"], False)
    cfg = mtl.RunConfig(data=mtl.DataSpec(name="csv", table=a))
    assert cache_key(cfg) == cache_key(mtl.RunConfig(data=mtl.DataSpec(name="csv", table=a)))
    assert cache_key(cfg) != cache_key(mtl.RunConfig(data=mtl.DataSpec(name="csv", table=b)))
    assert a.fingerprint in cache_key(cfg)


def test_csv_columns_and_defaults_from_bytes():
    columns = csv_upload.read_columns(GOOD_CSV)
    assert columns.columns == ("height", "weight", "kind", "age")
    assert columns.numeric == ("height", "weight", "age")
    assert columns.regression == "height"  # many distinct values: a measurement
    assert columns.classification == "kind"  # text with few values
    assert columns.default_features("height", "kind") == ["weight", "age"]


def test_csv_load_from_bytes_and_its_refusals():
    dataset = csv_upload.load(GOOD_CSV, "people.csv", "height", "kind", ["weight"], False)
    assert dataset.n_rows == 40 and dataset.class_names == ("a", "b")
    assert "people.csv" in dataset.description
    with pytest.raises(mtl.DataError) as error:
        csv_upload.load(MISSING_CSV, "people.csv", "height", "kind", ["weight"], False)
    assert "height" in str(error.value) and "missing" in str(error.value)
    assert csv_upload.load(MISSING_CSV, "p.csv", "height", "kind", ["weight"], True).n_rows == 39


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"a,b\n\x00\x01", "NUL"),
        (b"only\n" + b"1\n" * 12, "single column"),
        (b"a,b\n" + b"x,y\n" * 12, "no numeric"),
    ],
)
def test_csv_columns_refuse_unusable_files(data, expected):
    with pytest.raises(mtl.DataError) as error:
        csv_upload.read_columns(data)
    assert expected in str(error.value)


# ---------------------------------------------------------------- the page


def test_default_page_shows_metrics_and_the_stacked_chart():
    at = new_app()
    assert at.selectbox(key="preset").value == DEFAULT_PRESET
    assert metric_labels(at) == ["Test MSE", "Test accuracy", "Train MSE", "Train accuracy"]
    assert all(m.value not in (None, "", "—") for m in at.metric)
    # the stacked chart and the open tab's panels (Losses: one per component, two here)
    assert len(at.get("vega_lite_chart")) == 3
    assert [t.label for t in at.tabs] == [
        "Losses",
        "Metrics",
        "Weights",
        "Gradient conflict",
        "Data",
        "Method",
        "Weight sweep",
        "Method face-off",
        "Pinned runs",
        "Share & export",
    ]
    assert not at.error
    assert shown_config(at) == cache_key(mtl.preset(DEFAULT_PRESET))


@pytest.mark.parametrize("name", mtl.PRESETS)
def test_each_preset_loads_and_runs(name):
    at = new_app()
    set_and_run(at, "preset", name)
    assert_results_shown(at)
    cfg = mtl.preset(name)
    assert at.session_state["data.name"] == cfg.data.name
    assert at.session_state["epochs"] == cfg.epochs
    assert widget(at, "optim.lr").value == cfg.optim.lr
    assert widget(at, "model.shape").value == cfg.model.shape
    assert shown_config(at) == cache_key(cfg)  # the run shown is exactly the preset
    if cfg.data.test_fraction == 0:
        assert metric_labels(at) == ["Train MSE", "Train accuracy"]
        assert any("as the notebook does" in c.value for c in at.caption)


VISIBLE_CHANGES: dict[str, Any] = {
    "data.name": "linear",
    "data.n_samples": 300,
    "data.n_features": 4,
    "data.angle": 90.0,
    "data.noise": 0.5,
    "data.label_noise": 0.1,
    "data.target_scale": 2.0,
    "data.n_classes": 3,
    "data.test_fraction": 0.5,
    "data.standardize": False,
    "data.standardize_target": True,
    "data.seed": 3,
    "model.shape": "notebook",
    "model.width": 64,
    "model.depth": 2,
    "model.activation": "relu",
    "loss.regression": "l1",
    "loss.classification": "label_smoothing",
    "loss.l2": 1e-3,
    "weighting.method": "equal_mean",
    "weighting.form": "free",
    "weighting.alpha": 0.8,
    "weighting.balanced": True,
    "optim.kind": "adam",
    "optim.lr": 0.02,
    "optim.momentum": 0.9,
    "optim.full_batch": False,
    "epochs": 2 * SHORT_EPOCHS,
    "seed": 1,
}
"""A new value for every control the default page shows (the preset box has its own test); the
tests that set them start from :func:`short_app`, so the epochs' new value is not its own."""


def test_the_changes_cover_every_visible_control():
    at = new_app()
    assert set(sidebar_keys(at)) == {"preset", *VISIBLE_CHANGES}


@pytest.mark.parametrize(("key", "value"), list(VISIBLE_CHANGES.items()))
def test_changing_a_visible_control_reruns_cleanly(key, value):
    at = short_app()
    before = shown_config(at)
    set_and_run(at, key, value)
    assert_results_shown(at)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state[key] == value
    if key != "weighting.form":  # the free weights start equal to alpha's: the same run
        assert shown_config(at) != before  # the change trained a new run


def _other_value(h: HParam) -> Any:
    """A value of ``h`` other than its default, as its widget holds it."""
    if h.choices is not None:
        return h.choices[-1]
    if h.range is None:
        return not h.default
    if h.range.integer:
        return int(h.range.hi)
    if h.range.hi_open:  # the end is not allowed (DB-MTL's beta < 1): half way to it
        return (h.default + h.range.hi) / 2
    return min(h.range.hi, 2 * h.default or 0.5)


DEPENDENT_CHANGES: list[tuple[dict[str, Any], str, Any]] = [
    ({"loss.regression": "huber"}, "loss.huber_delta", 2.0),
    ({"loss.classification": "label_smoothing"}, "loss.label_smoothing", 0.2),
    ({"loss.classification": "focal"}, "loss.focal_gamma", 1.0),
    ({"optim.full_batch": False}, "optim.batch_size", 64),
    ({"weighting.form": "free"}, "weighting.weights.regression", 2.0),
    ({"weighting.form": "free"}, "weighting.weights.classification", 0.25),
]
"""Controls shown only when another control asks for them (a method's own settings: below)."""


@pytest.mark.parametrize(
    ("parents", "key", "value"),
    DEPENDENT_CHANGES,
    ids=[key for _, key, _ in DEPENDENT_CHANGES],
)
def test_changing_a_dependent_control_reruns_cleanly(parents, key, value):
    at = short_app()
    for parent, parent_value in parents.items():
        with pytest.raises(KeyError):
            widget(at, key)  # hidden until its parent asks for it
        set_and_run(at, parent, parent_value)
    set_and_run(at, key, value)
    assert_results_shown(at)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state[key] == value


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_trains_explains_itself_and_takes_each_setting(method):
    """One session per method: pick it, read its Method tab, then change each of its settings.

    :func:`short_app`'s 20 epochs keep it cheap: what is checked is that the page trains,
    explains and reruns, not what the method learns (its arithmetic has its own tests).
    """
    at = short_app()
    settings = [(hparam_key(method, h.name), _other_value(h)) for h in METHODS[method].hparams]
    for key, _ in settings:
        with pytest.raises(KeyError):
            widget(at, key)  # hidden until the method is chosen
    set_and_run(at, "weighting.method", method)
    assert_results_shown(at)
    at.session_state["view.tab"] = "Method"
    at.run()
    assert not at.exception
    assert at.subheader[0].value == METHODS[method].label
    if getattr(METHODS[method], "formula", ""):
        assert at.latex
    base = METHODS[method].uses_base_weights
    assert any(k == "weighting.form" for k in sidebar_keys(at)) == base
    text = " ".join(m.value for m in at.markdown)
    # what the tab says the method reads follows its declared kind (GradNorm reads gradients)
    assert ("losses** alone" in text) == (METHODS[method].kind == "loss")
    for h in METHODS[method].hparams:
        assert h.label in text
    for key, value in settings:  # each setting reruns cleanly and trains what it says
        before = shown_config(at)
        set_and_run(at, key, value)
        assert_results_shown(at)
        assert not at.error, (key, [e.value for e in at.error])
        assert at.session_state[key] == value
        assert shown_config(at) != before, key


def test_a_hidden_control_keeps_its_value():
    at = new_app()
    set_and_run(at, "model.width", 64)
    set_and_run(at, "model.shape", "article")
    with pytest.raises(KeyError):
        widget(at, "model.width")
    set_and_run(at, "model.shape", "shared")
    assert widget(at, "model.width").value == 64


def test_a_preset_fills_controls_after_changes():
    at = new_app()
    set_and_run(at, "epochs", 20)
    set_and_run(at, "preset", "penguins")
    set_and_run(at, "preset", "conflicting")
    assert widget(at, "epochs").value == mtl.preset("conflicting").epochs
    assert not [c for c in at.sidebar.caption if "Changed from the preset" in c.value]
    set_and_run(at, "seed", 4)
    assert [c for c in at.sidebar.caption if "`seed`" in c.value]


@pytest.mark.parametrize("tab", ["Losses", "Metrics", "Weights", "Gradient conflict", "Data"])
def test_every_tab_draws_its_charts(tab):
    at = new_app()
    at.session_state["view.tab"] = tab
    at.run()
    assert not at.exception
    charts = len(at.get("vega_lite_chart"))
    # the stacked chart and the tab's: a panel per component (two here) or per metric (four);
    # the conflict tab: cosine, norm ratio and the gradient geometry
    assert charts == 1 + {"Losses": 2, "Metrics": 4, "Gradient conflict": 3}.get(tab, 1)


@pytest.mark.parametrize(
    ("key", "value", "caption"),
    [
        ("view.mode", "raw", "do not add up"),
        ("view.log", True, "log axis"),
        ("view.split", "test", "stack to the total"),
    ],
)
def test_view_switches_redraw_without_retraining(key, value, caption):
    at = new_app()
    before = shown_config(at)
    set_and_run(at, key, value)
    assert not at.exception
    assert shown_config(at) == before
    assert any(caption in c.value for c in at.caption)


def test_a_rerun_that_changes_nothing_does_not_train(monkeypatch):
    calls: list[mtl.RunConfig] = []
    real_train = mtl.train

    def counting(
        cfg: mtl.RunConfig, on_progress: Any = None, should_stop: Any = None
    ) -> mtl.Result:
        calls.append(cfg)
        return real_train(cfg, on_progress, should_stop)

    at = new_app()  # the default run may or may not be cached already: count from here
    monkeypatch.setattr(mtl, "train", counting)
    set_and_run(at, "seed", 987_654)  # a seed no other test trains: a cache miss
    assert len(calls) == 1
    at.run()
    set_and_run(at, "view.mode", "raw")
    at.session_state["view.tab"] = "Metrics"
    at.run()
    assert len(calls) == 1
    set_and_run(at, "seed", 987_655)
    assert len(calls) == 2
    set_and_run(at, "seed", 987_654)  # back to a cached run
    assert len(calls) == 2
    assert not at.exception


def test_freed_memory_is_released_after_training_and_not_on_a_cache_hit(monkeypatch):
    from ui import run

    releases: list[int] = []
    at = new_app()
    monkeypatch.setattr(run, "release_memory", lambda: releases.append(1) or True)
    set_and_run(at, "seed", 987_700)  # a seed no other test trains: a cache miss
    assert releases == [1]
    at.run()
    set_and_run(at, "view.mode", "raw")
    assert releases == [1]  # reruns from the cache release nothing
    set_and_run(at, "epochs", 1)  # a refusal-free miss again
    assert releases == [1, 1]
    assert not at.exception


def test_notebook_explains_its_accuracy_and_offers_the_corrected_data():
    at = new_app()
    set_and_run(at, "preset", "notebook")
    assert any("50%" in info.value for info in at.info)
    assert at.metric[1].value == "50.0%"
    at.session_state["view.tab"] = "Data"
    at.run()
    assert len(at.get("vega_lite_chart")) == 4  # stacked chart, scatter, the two strips
    at.button(key="action.corrected_data").click()
    at.run()
    assert_results_shown(at)
    assert at.session_state["data.name"] == "linear"
    assert at.session_state["model.shape"] == "notebook"  # the other controls stay
    assert at.session_state["optim.lr"] == mtl.preset("notebook").optim.lr
    assert not any("50%" in info.value for info in at.info)


def test_an_engine_refusal_is_a_message_naming_the_field_and_results_stay():
    at = new_app()
    set_and_run(at, "optim.full_batch", False)
    set_and_run(at, "optim.batch_size", 5000)  # more than the training rows
    assert not at.exception
    # in the page's words: the control's label, never the API's dotted name
    assert at.error and "Batch size" in at.error[0].value
    assert "optim.batch_size" not in at.error[0].value
    assert_results_shown(at)
    assert any("previous valid configuration" in c.value for c in at.caption)


def test_a_split_refusal_names_the_test_fraction():
    at = new_app()
    set_and_run(at, "preset", "article")  # 3 rows
    set_and_run(at, "data.test_fraction", 0.9)
    assert at.error and "Test fraction" in at.error[0].value
    assert "data.test_fraction" not in at.error[0].value
    assert_results_shown(at)


def test_csv_upload_trains_and_a_bad_csv_keeps_the_last_results():
    at = new_app()
    good_mse = at.metric[0].value
    set_and_run(at, "data.name", "csv")
    assert any("Upload a CSV" in info.value for info in at.info)
    assert_results_shown(at)  # the previous run stays while waiting for a file
    uploader = at.get("file_uploader")[0]
    assert uploader.allowed_type == [".csv"]
    uploader.set_value(("people.csv", GOOD_CSV, "text/csv"))
    at.run()
    assert_results_shown(at)
    assert not at.error, [e.value for e in at.error]
    assert widget(at, "data.csv.regression_target").value == "height"
    assert widget(at, "data.csv.classification_target").value == "kind"
    assert widget(at, "data.csv.features").value == ["weight", "age"]
    assert at.session_state[LAST_GOOD][1].config.data.name == "csv"
    csv_mse = at.metric[0].value
    assert csv_mse != good_mse

    at.get("file_uploader")[0].set_value(("broken.csv", MISSING_CSV, "text/csv"))
    at.run()
    assert not at.exception
    assert at.error, "a bad CSV must show a message"
    message = at.error[0].value
    assert "height" in message and "missing" in message
    assert_results_shown(at)
    assert at.metric[0].value == csv_mse  # the last good results stay on screen
    assert any("previous valid configuration" in c.value for c in at.caption)

    set_and_run(at, "data.csv.drop_invalid", True)  # the fix the message suggests
    assert not at.error
    assert_results_shown(at)


def test_a_csv_that_is_not_a_table_names_the_problem():
    at = new_app()
    set_and_run(at, "data.name", "csv")
    at.get("file_uploader")[0].set_value(("sheet.csv", b"PK\x03\x04\x00\x00binary", "text/csv"))
    at.run()
    assert not at.exception
    assert at.error and "NUL" in at.error[0].value
    assert_results_shown(at)


def test_metrics_show_the_change_from_the_previous_run_on_the_same_data():
    at = new_app()
    set_and_run(at, "weighting.alpha", 0.9)
    deltas = [m.delta for m in at.metric]
    assert any(deltas), deltas
    assert any("previous run" in c.value for c in at.caption)
    set_and_run(at, "preset", "penguins")  # other data: a comparison would mean nothing
    assert not any(m.delta for m in at.metric)


def test_no_stray_text_of_the_script_reaches_the_page():
    # Streamlit's "magic" draws any bare string expression of app.py: the page's own text must
    # come from the views, never from a comment-like string in the script
    at = new_app()
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert not any("standard error" in text or "traceback" in text.lower() for text in shown)
    assert not any("served by the app itself" in text for text in shown)
    # and none can: no statement of the script but its docstring is a bare string
    body = ast.parse(Path(APP).read_text(encoding="utf-8")).body
    bare = [
        node.lineno
        for node in body[1:]
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    ]
    assert not bare, f"bare strings at lines {bare} of app.py would be drawn on the page"
