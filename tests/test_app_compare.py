"""The what-if page, driven by AppTest: sweeps, face-offs, pinned runs, links and exports.

Small sweeps and face-offs (a few α points, two or three methods, two seeds) keep these quick.
AppTest shares ``st.cache_data`` between tests in this process, so a test that must train (not
hit the cache) uses a seed or setting no other test uses.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from typing import Any, ClassVar
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import pytest
import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import mtl
from mtl.budget import set_work_budget
from mtl.compare import face_off, pareto_front
from mtl.export import to_script
from mtl.sweeps import alpha_grid, sweep_config
from mtl.urlstate import from_query, to_query
from tests.test_app import (
    APP,
    MISSING_CSV,
    new_app,
    set_and_run,
    short_app,
    shown_config,
    sidebar_keys,
    widget,
)
from ui import exports, links, pins
from ui.keys import cache_key
from ui.memory import LAST_GOOD
from ui.state import (
    DEFAULT_PRESET,
    WIDGET_STEPS,
    config_from_state,
    fit_to_widgets,
    hparam_key,
    limit_key,
    load_into_widgets,
    matching_preset,
    state_from_config,
    widget_bounds,
)
from ui.tabs import sweep as sweep_tab
from ui.tabs.common import FACE_OFF_REQUEST, SWEEP_REQUEST
from ui.tabs.face_off import face_off_display
from ui.tabs.sweep import CHART_KEY, MEMBER_KEY, default_member

from .test_urlstate import EVERYTHING_SET

# ---------------------------------------------------------------- helpers


def open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state["view.tab"] = tab
    at.run()
    assert not at.exception, at.exception
    return at


def run_sweep(at: AppTest, points: int, seeds: int) -> AppTest:
    open_tab(at, "Weight sweep")
    widget(at, "sweep.points").set_value(points)
    widget(at, "sweep.seeds").set_value(seeds)
    at.run()
    at.button(key="sweep.run").click()
    at.run()
    assert not at.exception, at.exception
    return at


def run_face_off(at: AppTest, methods: list[str], seeds: int) -> AppTest:
    open_tab(at, "Method face-off")
    widget(at, "faceoff.methods").set_value(methods)
    widget(at, "faceoff.seeds").set_value(seeds)
    at.run()
    at.button(key="faceoff.run").click()
    at.run()
    assert not at.exception, at.exception
    return at


def shown(at: AppTest) -> mtl.Result:
    return at.session_state[LAST_GOOD][1]


def charts_on_page(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no table with a {column!r} column"
    return frames[0]


class RecordingStorage(MemoryMediaFileStorage):
    """AppTest's in-memory media storage, remembering every file the page hands out."""

    files: ClassVar[dict[str, bytes]] = {}

    def load_and_get_id(self, path_or_data: Any, mimetype: str, kind: Any, filename: Any = None):
        file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)
        data = path_or_data if isinstance(path_or_data, bytes) else self.get_file(file_id).content
        RecordingStorage.files[file_id] = data
        return file_id


def downloaded(at: AppTest, key: str) -> bytes:
    """The bytes behind the download button ``key`` (from the recording storage)."""
    (button,) = [b for b in at.get("download_button") if b.key == key]
    url = button.proto.url
    matches = [data for file_id, data in RecordingStorage.files.items() if file_id in url]
    assert matches, f"no file recorded for {url}"
    return matches[0]


# ---------------------------------------------------------------- pure helpers


def test_fit_to_widgets_moves_values_inside_the_controls():
    state = state_from_config(mtl.preset("conflicting"))
    state |= {"loss.huber_delta": 1e-6, "optim.momentum": 0.999999, "epochs": 10}
    state[hparam_key("dwa", "temperature")] = 1e-6
    fitted, messages = fit_to_widgets(state)
    assert fitted["loss.huber_delta"] == 0.1  # the box's lowest value (the range is open at 0)
    assert fitted["optim.momentum"] == pytest.approx(0.99)
    assert fitted[hparam_key("dwa", "temperature")] == pytest.approx(0.1)
    assert fitted["epochs"] == 10
    assert len(messages) == 3
    assert any("loss.huber_delta" in m for m in messages)
    assert fit_to_widgets(state_from_config(mtl.preset("notebook")))[1] == []


def test_the_controls_use_the_shared_steps_and_bounds():
    at = new_app()
    checked = 0
    for kind in ("number_input", "slider"):
        for w in at.get(kind):
            if w.key in WIDGET_STEPS:
                allowed = mtl.config.LIMITS[limit_key(w.key)]
                lo, hi = widget_bounds(allowed, WIDGET_STEPS[w.key])
                assert (w.min, w.max) == (lo, hi), w.key
                checked += 1
    assert checked >= 8


def test_matching_preset():
    assert matching_preset(mtl.preset("penguins")) == "penguins"
    assert matching_preset(mtl.preset("penguins").with_(seed=5)) is None


def test_default_member_is_the_current_run_when_the_sweep_holds_it():
    cfg = mtl.preset("conflicting").with_(epochs=5, **{"weighting.weights": (0.25, 0.75)})
    result = mtl.sweep(cfg, weights=[(a, 1 - a) for a in alpha_grid(5)], seeds=[0, 1])
    summary = result.summary.assign(pareto=pareto_front(result.summary))
    assert default_member(summary, cfg) == 2  # alpha index 1, seed index 0
    dynamic = cfg.with_(**{"weighting.method": "uncertainty"})
    on_front = summary[summary["pareto"]].sort_values("test_mse")["member"].iloc[0]
    assert default_member(summary, dynamic) == on_front


def test_a_click_on_the_front_chooses_that_member(monkeypatch):
    state: dict[str, Any] = {MEMBER_KEY: 4, CHART_KEY: {"selection": {"pick": [{"member": 7}]}}}
    monkeypatch.setattr(sweep_tab.st, "session_state", state)
    sweep_tab._pick_from_chart()
    assert state[MEMBER_KEY] == 7
    state[CHART_KEY] = {"selection": {"pick": []}}  # cleared (double-click): keep the member
    sweep_tab._pick_from_chart()
    assert state[MEMBER_KEY] == 7


def test_face_off_display_formats_mean_and_spread():
    table = pd.DataFrame(
        {
            "method": ["cagrad", "static"],
            "mse_mean": [2.3891, 2.5],
            "mse_std": [0.0757, 0.0],
            "accuracy_mean": [0.9062, 0.5],
            "accuracy_std": [0.034, 0.0],
            "delta_m": [2.888, -0.117],
            "diverged": [0, 1],
            "split": ["test", "test"],
        }
    )
    shown_table = face_off_display(table)
    assert list(shown_table.columns) == ["Method", "Test MSE", "Test accuracy", "Δm", "Diverged"]
    assert shown_table["Method"].tolist() == ["CAGrad", "Static weights"]
    assert shown_table["Test MSE"][0] == "2.389 ± 0.076"
    assert shown_table["Test accuracy"][0] == "90.6% ± 3.4 pp"
    assert shown_table["Δm"].tolist() == [2.888, -0.117]


def test_pin_names_are_unique_and_clean():
    taken = {"Run 1": None, "Run 2": None, "Mine": None}
    assert pins.next_name({}) == "Run 1"
    assert pins.next_name(taken) == "Run 3"
    assert pins.unique_name("  Mine ", taken) == "Mine (2)"
    assert pins.unique_name("", taken) == "Run 3"
    assert pins.unique_name("x" * 100, {}) == "x" * pins.MAX_NAME


def test_comparison_table_deltas_by_hand():
    cfg = mtl.preset("conflicting").with_(epochs=10)
    a = pins.make_pin("A", mtl.train(cfg), "a")
    b = pins.make_pin("B", mtl.train(cfg.with_(**{"weighting.weights": (0.8, 0.2)})), "b")
    notebook = pins.make_pin("N", mtl.train(mtl.preset("notebook").with_(epochs=5)), "n")
    table = pins.comparison_table([a, b, notebook], "A").set_index("Pin")
    assert table.loc["A", "Δ MSE (%)"] == 0 and table.loc["A", "Differs in"] == "(baseline)"
    assert table.loc["B", "Δ MSE (%)"] == pytest.approx(100 * (b.mse - a.mse) / a.mse)
    assert table.loc["B", "Δ accuracy (pp)"] == pytest.approx(100 * (b.accuracy - a.accuracy))
    assert table.loc["B", "Differs in"] == "weighting.weights = 0.8,0.2"
    assert pins.differences(a.config, a.config) == []
    assert notebook.split == "train" and math.isnan(table.loc["N", "Δ MSE (%)"])
    curves = pins.pin_curves([a, b])
    assert set(curves["series"]) == {"A", "B"} and set(curves["metric"]) == {"mse", "accuracy"}


def test_config_json_round_trips_and_bad_files_are_refused():
    cfg = mtl.preset("penguins").with_(seed=4, **{"optim.lr": 0.02})
    again, messages = from_query(exports.load_json(exports.config_json(cfg).encode()))
    assert again == cfg and messages == []
    scalars = exports.load_json(
        b'{"epochs": 30, "data.standardize": false, "optim.batch_size": null}'
    )
    assert scalars == {"epochs": "30", "data.standardize": "false", "optim.batch_size": "full"}
    for bad, reason in [(b"{nope", "not JSON"), (b"[1, 2]", "one JSON object"), (b"\xff", "JSON")]:
        with pytest.raises(ValueError, match=reason):
            exports.load_json(bad)


# ---------------------------------------------------------------- the weight sweep


def test_the_sweep_runs_from_the_page_with_one_row_per_weight_and_seed():
    at = new_app()
    set_and_run(at, "seed", 31)  # a sweep no other test runs
    assert not [e for e in at.error]
    open_tab(at, "Weight sweep")
    assert any("Run the sweep" in i.value for i in at.info)  # nothing runs until asked
    before = len(at.get("vega_lite_chart"))
    run_sweep(at, points=5, seeds=2)
    table = frame_with(at, "pareto")
    assert len(table) == 10
    pairs = set(zip(table["w_regression"], table["seed"], strict=True))
    assert pairs == set(itertools.product(alpha_grid(5), (31, 32)))
    cfg = shown(at).config
    direct = mtl.sweep(
        sweep_config(cfg), weights=[(a, 1 - a) for a in alpha_grid(5)], seeds=[31, 32]
    ).summary
    np.testing.assert_allclose(table["test_mse"], direct["test_mse"])
    assert table["pareto"].tolist() == pareto_front(direct).tolist()
    specs = charts_on_page(at)
    # the front, metrics against α (a panel each for MSE and accuracy), the member's two charts
    assert len(specs) == before + 5
    front_chart = next(
        s for s in specs if any(p.get("name") == "pick" for p in s.get("params", []))
    )
    assert front_chart["params"][0]["select"]["fields"] == ["member"]
    assert any("members are on the Pareto front" in m.value for m in at.markdown)
    assert at.session_state[SWEEP_REQUEST].points == 5


def test_choosing_a_member_draws_its_curves_and_a_changed_config_is_flagged():
    at = new_app()
    set_and_run(at, "seed", 33)
    run_sweep(at, points=3, seeds=2)
    member = widget(at, "sweep.member")
    assert member.value == 2  # the current run: alpha 0.5, seed 33
    member.set_value(5)
    at.run()
    assert not at.exception
    assert any(m.value.startswith("**α = 1.00 · seed 34") for m in at.markdown)
    set_and_run(at, "seed", 35)
    assert any("earlier configuration" in w.value for w in at.warning)
    assert frame_with(at, "pareto")["seed"].tolist() == [33, 34] * 3  # still the old sweep


def test_the_sweep_of_a_dynamic_method_varies_static_weights():
    at = new_app()
    set_and_run(at, "seed", 36)
    set_and_run(at, "weighting.method", "uncertainty")
    run_sweep(at, points=2, seeds=1)
    assert any("varies static weights" in c.value for c in at.caption)
    assert at.session_state[SWEEP_REQUEST].cfg.weighting.method == "static"
    assert len(frame_with(at, "pareto")) == 2


def test_a_sweep_over_the_work_budget_is_a_message():
    at = new_app()
    set_and_run(at, "seed", 37)
    set_work_budget(0.001)  # seconds: less than any sweep
    try:
        run_sweep(at, points=4, seeds=2)
    finally:
        set_work_budget(None)
    assert not at.exception
    assert at.error and "This sweep needs about" in at.error[0].value
    assert not [d for d in at.dataframe if "pareto" in d.value.columns]


def test_a_sweep_where_every_member_diverges_says_so():
    at = new_app()
    set_and_run(at, "preset", "notebook")
    set_and_run(at, "optim.lr", 10.0)
    run_sweep(at, points=2, seeds=1)
    assert any("Every one of the 2 members diverged" in w.value for w in at.warning)
    assert frame_with(at, "pareto")["diverged"].all()


# ---------------------------------------------------------------- the method face-off


def test_the_face_off_runs_and_shows_its_table_with_delta_m():
    at = new_app()
    set_and_run(at, "seed", 41)
    open_tab(at, "Method face-off")
    assert widget(at, "faceoff.methods").value == list(mtl.weighting.METHODS)  # all by default
    run_face_off(at, ["static", "uncertainty", "mgda"], seeds=2)
    table = frame_with(at, "Δm")
    expected = face_off(shown(at).config, ["static", "uncertainty", "mgda"], seeds=(41, 42)).table
    assert table["Method"].tolist() == [mtl.weighting.METHODS[m].label for m in expected["method"]]
    np.testing.assert_allclose(table["Δm"], expected["delta_m"])
    assert any("Positive is better" in c.value for c in at.caption)
    assert at.button(key="faceoff.sweep")  # no sweep of this config yet: offered
    specs = charts_on_page(at)
    assert any("mse_mean" in json.dumps(s) for s in specs)  # the methods' points
    assert any('"series"' in json.dumps(s) for s in specs)  # the overlaid curves


def test_the_face_off_draws_the_sweeps_front_behind_the_methods():
    at = new_app()
    set_and_run(at, "seed", 43)
    run_sweep(at, points=3, seeds=2)
    run_face_off(at, ["static", "rlw"], seeds=2)
    assert not [b for b in at.get("button") if b.key == "faceoff.sweep"]
    assert any("Grey: the weight sweep's members" in c.value for c in at.caption)
    face = next(s for s in charts_on_page(at) if "mse_mean" in json.dumps(s))
    first = face["layer"][0]
    assert first["mark"]["type"] == "circle" and first["encoding"]["x"]["field"] == "test_mse"


def test_a_baseline_that_trains_badly_is_pointed_out():
    at = new_app()
    set_and_run(at, "preset", "notebook")  # unscaled data: a weight of 1 on the MSE blows up
    run_face_off(at, ["static"], seeds=1)
    assert frame_with(at, "Δm")["Train MSE"].str.contains("±").all()  # no test split: train
    assert any("trains badly here" in c.value for c in at.caption)


def test_a_face_off_without_methods_asks_for_one():
    at = new_app()
    open_tab(at, "Method face-off")
    widget(at, "faceoff.methods").set_value([])
    at.run()
    assert not at.exception
    assert any("at least one method" in w.value for w in at.warning)
    assert at.button(key="faceoff.run").disabled
    assert FACE_OFF_REQUEST not in at.session_state


# ---------------------------------------------------------------- pinned runs


def pin(at: AppTest, name: str) -> None:
    at.text_input(key="pins.name").set_value(name)
    at.button(key="pins.add").click()
    at.run()
    assert not at.exception, at.exception


def test_pins_compare_with_deltas_survive_errors_and_unpin():
    at = new_app()
    first = shown(at).summary.iloc[0]
    assert at.text_input(key="pins.name").value == "Run 1"
    pin(at, "")  # an empty name becomes the default one
    set_and_run(at, "weighting.alpha", 0.8)
    second = shown(at).summary.iloc[0]
    pin(at, "Alpha 0.8")
    assert at.text_input(key="pins.name").value == "Run 2"
    open_tab(at, "Pinned runs")
    table = frame_with(at, "Δ MSE (%)").set_index("Pin")
    assert list(table.index) == ["Run 1", "Alpha 0.8"]
    assert table.loc["Run 1", "Δ MSE (%)"] == 0
    expected = 100 * (second["test_mse"] - first["test_mse"]) / first["test_mse"]
    assert table.loc["Alpha 0.8", "Δ MSE (%)"] == pytest.approx(expected)
    assert table.loc["Alpha 0.8", "Δ accuracy (pp)"] == pytest.approx(
        100 * (second["test_accuracy"] - first["test_accuracy"])
    )
    # the stacked chart and the pins' curves: a panel per metric (MSE, accuracy)
    assert len(at.get("vega_lite_chart")) == 3

    widget(at, "pins.baseline").set_value("Alpha 0.8")
    at.run()
    table = frame_with(at, "Δ MSE (%)").set_index("Pin")
    assert table.loc["Alpha 0.8", "Δ MSE (%)"] == 0

    set_and_run(at, "optim.full_batch", False)
    set_and_run(at, "optim.batch_size", 5000)  # the engine refuses: an error message
    assert at.error and "Batch size" in at.error[0].value
    assert not at.exception
    assert list(frame_with(at, "Δ MSE (%)")["Pin"]) == ["Run 1", "Alpha 0.8"]
    set_and_run(at, "data.name", "csv")
    at.get("file_uploader")[0].set_value(("broken.csv", MISSING_CSV, "text/csv"))
    at.run()
    assert at.error and not at.exception
    assert list(frame_with(at, "Δ MSE (%)")["Pin"]) == ["Run 1", "Alpha 0.8"]

    at.button(key="pins.unpin.Run 1").click()
    at.run()
    assert not at.exception
    assert list(frame_with(at, "Δ MSE (%)")["Pin"]) == ["Alpha 0.8"]
    at.button(key="pins.unpin.Alpha 0.8").click()
    at.run()
    assert any("No pinned runs yet" in i.value for i in at.info)


def test_a_pin_loads_its_settings_back():
    at = new_app()
    pin(at, "Start")
    set_and_run(at, "weighting.alpha", 0.3)
    set_and_run(at, "epochs", 60)
    open_tab(at, "Pinned runs")
    at.button(key="pins.load.Start").click()
    at.run()
    assert not at.exception
    assert at.session_state["weighting.alpha"] == 0.5 and at.session_state["epochs"] == 150
    assert shown_config(at) == cache_key(mtl.preset(DEFAULT_PRESET))


def test_sessions_do_not_share_pins():
    at = new_app()
    pin(at, "Mine")
    other = new_app()
    open_tab(other, "Pinned runs")
    assert any("No pinned runs yet" in i.value for i in other.info)


# ---------------------------------------------------------------- links


def test_the_address_bar_holds_the_run_shown():
    at = new_app()
    assert at.query_params == to_query(mtl.preset(DEFAULT_PRESET))
    set_and_run(at, "weighting.alpha", 0.7)
    assert at.query_params["weighting.weights"] == to_query(shown(at).config)["weighting.weights"]
    assert from_query(at.query_params)[0] == shown(at).config
    set_and_run(at, "optim.full_batch", False)
    assert at.query_params["optim.batch_size"] == "32"
    set_and_run(at, "optim.batch_size", 5000)  # refused: the URL keeps the last valid run
    assert at.error
    assert at.query_params["optim.batch_size"] == "32"


FREE_WEIGHTS = mtl.preset("linear").with_(
    **{
        "data.n_samples": 150,
        "data.noise": 1.5,
        "loss.classification": "label_smoothing",
        "loss.label_smoothing": 0.2,
        "optim.kind": "adam",
        "optim.lr": 0.002,
        "weighting.weights": (2.0, 0.5),
    },
    epochs=40,
    seed=12,
)


@pytest.mark.parametrize("cfg", [EVERYTHING_SET, FREE_WEIGHTS], ids=["everything", "free"])
def test_a_link_with_every_control_set_reproduces_the_run(cfg):
    assert config_from_state(state_from_config(cfg)) == cfg  # the page can show it exactly
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(to_query(cfg))
    at.run()
    assert not at.exception, at.exception
    # no message about the link (a task no better than its reference is the run's own warning)
    assert not [w for w in at.warning if "no better than" not in w.value] and not at.error
    assert shown_config(at) == cache_key(cfg)
    core = mtl.train(cfg).summary
    assert shown(at).summary.equals(core)
    row = core.iloc[0]
    assert at.metric[0].value == f"{row['test_mse']:#.4g}"
    assert at.query_params == to_query(cfg)
    set_and_run(at, "seed", 10)  # the link is read once: a changed control stays changed
    assert at.session_state["seed"] == 10 and shown(at).config.seed == 10


def test_a_link_to_a_preset_shows_that_preset():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(to_query(mtl.preset("penguins")))
    at.run()
    assert not at.exception
    assert at.selectbox(key="preset").value == "penguins"
    assert not [c for c in at.sidebar.caption if "Changed from the preset" in c.value]


BAD_LINK = {
    "optim.lr": "-1",
    "data.n_samples": "nan",
    "epochs": "-3",
    "data.test_fraction": "5",
    "model.width": "wide",
    "weighting.method": "magic",
    "weighting.weights": "abc",
    "loss.regression": "huber",
    "loss.huber_delta": "0.01",
    "data.standardize": "maybe",
    "nonsense": "1",
    "seed": "1e400",
}


def test_a_link_with_bad_values_opens_with_a_warning_and_no_exception():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(BAD_LINK)
    at.run()
    assert not at.exception, at.exception
    # one message about the link (the run's own "no better than" warnings are not about it)
    link = [w for w in at.warning if "no better than" not in w.value]
    assert len(link) == 1
    text = link[0].value
    assert "adjusted" in text
    for key in BAD_LINK:
        if key != "loss.regression":  # a valid value: kept silently
            assert key in text, key
    cfg = shown(at).config
    assert cfg.epochs == 1 and cfg.data.test_fraction == 0.9
    assert cfg.loss.regression == "huber" and cfg.loss.huber_delta == 0.1
    assert cfg.weighting.method == mtl.preset(DEFAULT_PRESET).weighting.method
    assert cfg.seed == mtl.config.LIMITS["seed"].hi
    assert at.query_params == to_query(cfg)  # the URL now holds the valid run
    set_and_run(at, "epochs", 20)
    assert not [w for w in at.warning if "adjusted" in w.value]  # the note goes on a change


def test_a_link_made_on_an_uploaded_csv_says_it_cannot_travel():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"data.name": "csv", "epochs": "30"})
    at.run()
    assert not at.exception
    assert at.warning and "cannot travel in a link" in at.warning[0].value
    assert shown(at).config.data.name == mtl.preset(DEFAULT_PRESET).data.name
    assert shown(at).config.epochs == 30


def test_the_share_tab_shows_the_link():
    at = new_app()
    open_tab(at, "Share & export")
    (code,) = at.code
    assert code.value == "?" + urlencode(to_query(shown(at).config), safe=",")


# ---------------------------------------------------------------- exports


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> type[RecordingStorage]:
    RecordingStorage.files = {}
    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", RecordingStorage)
    return RecordingStorage


def test_the_downloads_hold_the_runs_data_config_and_script(recording):
    at = new_app()
    set_and_run(at, "weighting.alpha", 0.6)
    open_tab(at, "Share & export")
    result = shown(at)
    assert downloaded(at, "share.script").decode() == to_script(result.config)
    assert downloaded(at, "share.history").decode() == result.history.to_csv(index=False)
    assert downloaded(at, "share.summary").decode() == result.summary.to_csv(index=False)
    assert downloaded(at, "share.metrics").decode() == result.metrics.to_csv(index=False)
    loaded = exports.load_json(downloaded(at, "share.config"))
    assert from_query(loaded) == (result.config, [])


def test_a_run_with_too_much_data_to_embed_shows_why_there_is_no_script():
    """Every method exports; a dataset too large to embed in a script is the refusal left."""
    at = new_app()
    set_and_run(at, "epochs", 2)  # the page still trains the run: keep it short
    set_and_run(at, "data.n_features", 50)
    set_and_run(at, "data.n_samples", 4000)  # 4000 x (50 + 2) numbers: more than 200,000
    open_tab(at, "Share & export")
    assert not [b for b in at.get("download_button") if b.key == "share.script"]
    assert any(
        "No script for this run" in i.value and "embedded numbers" in i.value for i in at.info
    )


@pytest.mark.parametrize(
    ("method", "update_rule"),
    [
        ("nash_mtl", "def solve_power_equation"),  # once not written out: a solver, in torch
        ("uncertainty", "class UncertaintyWeighting"),
    ],
)
def test_a_dynamic_method_has_a_script_with_its_update_written_out(recording, method, update_rule):
    at = new_app()
    set_and_run(at, "weighting.method", method)
    open_tab(at, "Share & export")
    script = downloaded(at, "share.script").decode()
    assert script == to_script(shown(at).config) and update_rule in script


def test_loading_a_configuration_file_fills_the_controls():
    at = new_app()
    pin(at, "Kept")
    open_tab(at, "Share & export")
    target = mtl.preset("autompg").with_(epochs=30, seed=2)
    at.get("file_uploader")[0].set_value(
        ("setup.json", exports.config_json(target).encode(), "application/json")
    )
    at.run()
    assert not at.exception, at.exception
    assert shown_config(at) == cache_key(target)
    assert any("Loaded the settings of setup.json" in s.value for s in at.success)
    at.get("file_uploader")[0].set_value(("bad.json", b"{not json", "application/json"))
    at.run()
    assert not at.exception
    assert any("Can't load bad.json" in e.value for e in at.error)
    assert shown_config(at) == cache_key(target)  # nothing changed
    assert list(at.session_state[pins.PINS]) == ["Kept"]


def test_links_apply_is_the_single_path_for_outside_settings():
    # ``links.apply`` needs a Streamlit session; the pure half is state + fit, checked here.
    cfg, messages = from_query({"loss.regression": "huber", "loss.huber_delta": "0.01"})
    state, fitted = fit_to_widgets(state_from_config(cfg))
    assert messages == [] and len(fitted) == 1
    assert config_from_state(state).loss.huber_delta == 0.1
    assert links.CSV_MESSAGE.startswith("It was made on an uploaded CSV")


# ---------------------------------------------------------------- config -> widgets, one path

# Every place that writes a configuration into the controls calls ``ui.state.load_into_widgets``;
# each test checks, for one of those places, that afterwards the controls show exactly the
# configuration: the config rebuilt from every control equals it, each visible control holds the
# value ``state_from_config`` gives, and the run shown is that configuration's.

SIDE_CHANGES = {"epochs": 10, "seed": 3, "weighting.alpha": 0.7, "optim.lr": 0.002}
"""Controls changed before loading, which the loaded configuration must overwrite."""


def assert_controls_show(at: AppTest, cfg: mtl.RunConfig) -> None:
    assert not at.exception, at.exception
    expected = state_from_config(cfg)
    values = {key: at.session_state[key] for key in expected if key in at.session_state}
    assert config_from_state(values) == cfg
    visible = [key for key in sidebar_keys(at) if key in expected]
    assert len(visible) >= 10, visible
    for key in visible:
        assert widget(at, key).value == expected[key], key
    assert shown_config(at) == cache_key(cfg)


def change_some_controls(at: AppTest) -> None:
    for key, value in SIDE_CHANGES.items():
        set_and_run(at, key, value)
    assert shown(at).config.epochs == SIDE_CHANGES["epochs"]


def test_the_preset_box_writes_exactly_the_preset():
    at = new_app()
    change_some_controls(at)
    set_and_run(at, "model.width", 64)  # a hidden control after the switch: reset too
    set_and_run(at, "preset", "penguins")
    assert_controls_show(at, mtl.preset("penguins"))
    assert at.session_state["model.width"] == mtl.preset("penguins").model.width


def test_restoring_a_pin_writes_exactly_its_config():
    at = short_app()  # what is restored is the configuration, whatever it learnt
    set_and_run(at, "model.depth", 2)
    set_and_run(at, "loss.regression", "huber")
    set_and_run(at, "optim.kind", "sgd")
    set_and_run(at, "optim.momentum", 0.5)
    pinned_cfg = shown(at).config
    assert pinned_cfg.optim.momentum == 0.5 and pinned_cfg.loss.regression == "huber"
    pin(at, "Start")
    change_some_controls(at)
    set_and_run(at, "optim.kind", "adam")
    set_and_run(at, "preset", "autompg")
    open_tab(at, "Pinned runs")
    at.button(key="pins.load.Start").click()
    at.run()
    assert_controls_show(at, pinned_cfg)


def test_a_link_writes_exactly_its_config():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(to_query(FREE_WEIGHTS))
    at.run()
    assert_controls_show(at, FREE_WEIGHTS)
    assert at.selectbox(key="preset").value == DEFAULT_PRESET  # not a preset: the box keeps its


def test_the_corrected_data_button_writes_the_run_with_the_linear_data():
    at = new_app()
    set_and_run(at, "preset", "notebook")
    change_some_controls(at)
    before = shown(at).config
    at.button(key="action.corrected_data").click()
    at.run()
    corrected = dataclasses.replace(before, data=mtl.preset("linear").data)
    assert_controls_show(at, corrected)
    assert at.selectbox(key="preset").value == "notebook"


def test_a_loaded_configuration_file_writes_exactly_its_config():
    at = new_app()
    change_some_controls(at)
    target = EVERYTHING_SET.with_(epochs=12)
    open_tab(at, "Share & export")
    at.get("file_uploader")[0].set_value(
        ("setup.json", exports.config_json(target).encode(), "application/json")
    )
    at.run()
    assert_controls_show(at, target)


def test_load_into_widgets_fits_the_controls_and_sets_the_preset_box():
    state: dict[str, Any] = {"preset": "notebook"}
    cfg = mtl.preset("conflicting").with_(**{"loss.regression": "huber", "loss.huber_delta": 0.01})
    messages = load_into_widgets(cfg, state)
    assert len(messages) == 1 and "loss.huber_delta" in messages[0]
    assert state["loss.huber_delta"] == 0.1 and state["preset"] == "notebook"
    assert config_from_state(state) == cfg.with_(**{"loss.huber_delta": 0.1})
    assert load_into_widgets(mtl.preset("penguins"), state) == []
    assert state["preset"] == "penguins"
    assert config_from_state(state) == mtl.preset("penguins")
    fresh: dict[str, Any] = {}
    load_into_widgets(FREE_WEIGHTS, fresh)
    assert fresh["preset"] == DEFAULT_PRESET
