"""The work budget: whole requests priced before any training, refusals that say what to lower."""

import re

import pytest

import mtl
from mtl import api, budget, compare
from mtl.budget import DataShape, Request, population_counts, price
from mtl.weighting import METHODS
from ui.state import DEFAULT_PRESET


@pytest.fixture(autouse=True)
def _restore(monkeypatch):
    monkeypatch.delenv("MTL_WORK_BUDGET", raising=False)
    monkeypatch.delenv("MTL_LOG_BUDGET", raising=False)
    yield
    budget.set_work_budget(None)


REPORTED = mtl.preset("conflicting").with_(
    epochs=2000, **{"data.n_samples": 20_000, "optim.batch_size": 1}
)
"""The reported case: batch size 1 on 20,000 rows for 2,000 epochs (hours of training)."""


# ---------------------------------------------------------------- the cost model


def test_steps_follow_the_batch_size():
    cfg = mtl.preset("conflicting").with_(epochs=10)  # 192 training rows, 64 test rows
    shape = DataShape.of(cfg.data)
    assert (shape.n_train, shape.n_test) == (192, 64)
    full = population_counts(cfg, 3, shape)
    assert full["step"] == 10 and full["pass"] == 1
    mini = population_counts(cfg.with_(**{"optim.batch_size": 32}), 3, shape)
    assert mini["step"] == 10 * 6 and mini["pass"] == 11  # + a train evaluation per epoch
    one = population_counts(cfg.with_(**{"optim.batch_size": 1}), 3, shape)
    assert one["step"] == 10 * 192
    assert one["shuffle"] == 10 * 3 * 192 and full["shuffle"] == 0


def test_gradient_methods_and_wider_models_cost_more():
    cfg = mtl.preset("conflicting")
    static = Request.run(cfg).seconds()
    for method in ("pcgrad", "mgda", "cagrad", "imtl"):
        spec = mtl.WeightingSpec(method=method)
        assert Request.run(cfg.with_(weighting=spec)).seconds() > static
        counts = population_counts(cfg.with_(weighting=spec), 5, DataShape.of(cfg.data))
        assert counts["gradient"] > 0
    assert Request.run(cfg.with_(**{"model.width": 128})).seconds() > static
    assert Request.sweep(cfg, 11, 3).seconds() > Request.sweep(cfg, 11, 1).seconds()


def test_resized_shape_matches_the_built_dataset():
    for name, n in (("synthetic", 1000), ("linear", 333), ("article", 7)):
        spec = mtl.DataSpec(name=name, n_samples=n, test_fraction=0.25)
        small = DataShape.of(mtl.DataSpec(name=name, n_samples=50, test_fraction=0.25))
        assert small.resized(n, 0.25) == DataShape.of(spec)


# ---------------------------------------------------------------- the budget's setting


def test_the_budget_is_in_seconds_from_the_environment_or_the_override(monkeypatch):
    assert budget.work_budget() == budget.DEFAULT_WORK_BUDGET == 20.0
    monkeypatch.setenv("MTL_WORK_BUDGET", "0.5")
    assert budget.work_budget() == 0.5
    monkeypatch.setenv("MTL_WORK_BUDGET", "5e10")  # the old default, in the old work units
    assert budget.work_budget() == pytest.approx(20.0)
    monkeypatch.setenv("MTL_WORK_BUDGET", "lots")
    assert budget.work_budget() == budget.DEFAULT_WORK_BUDGET
    budget.set_work_budget(3)
    assert budget.work_budget() == 3.0
    with pytest.raises(mtl.ConfigError):
        budget.set_work_budget(-1)


def test_zero_disables_the_work_check(monkeypatch):
    monkeypatch.setenv("MTL_WORK_BUDGET", "0")
    assert price(Request.run(REPORTED)).fits


# ---------------------------------------------------------------- refusals


def test_the_reported_case_is_refused_before_training(monkeypatch):
    trained = []
    monkeypatch.setattr(api, "train_population", lambda *a, **k: trained.append(a))
    with pytest.raises(mtl.ConfigError) as info:
        mtl.train(REPORTED)
    assert info.value.field == "work"
    assert not trained
    assert price(Request.run(REPORTED)).seconds > 60 * budget.work_budget()


def _suggestions(message: str) -> dict[str, tuple[str, int]]:
    """'lower the epochs from 2000 to at most 290' -> {'the epochs': ('lower', 290)}."""
    pattern = r"(lower|raise) (the [\w α]+?) from \d+ to at (?:most|least) (\d+)"
    found = re.findall(pattern, message, flags=re.IGNORECASE)
    return {what: (verb.lower(), int(value)) for verb, what, value in found}


@pytest.mark.parametrize("epochs", [2000, 200])
def test_the_message_says_what_to_lower_with_numbers_that_fit(epochs):
    cfg = REPORTED.with_(epochs=epochs)
    quote = price(Request.run(cfg))
    message = quote.message
    assert message.startswith("This run needs about")
    assert "; the limit is 20 s." in message
    for api_name in ("optim", "batch_size", "n_samples", "epochs=", "None"):
        assert api_name not in message
    advice = _suggestions(message)
    assert {"the epochs", "the samples"} <= set(advice)
    if epochs == 200:  # a larger batch is enough here (at 2000 epochs even full batch is not)
        assert "the batch size" in advice
    changes = {
        "the epochs": "epochs",
        "the batch size": "optim.batch_size",
        "the samples": "data.n_samples",
    }
    for what, (verb, value) in advice.items():
        assert price(Request.run(cfg.with_(**{changes[what]: value}))).fits, what
        step = 1 if verb == "lower" else -1  # one step further would not fit: the advice is tight
        assert not price(Request.run(cfg.with_(**{changes[what]: value + step}))).fits


def test_a_model_too_wide_is_told_to_shrink():
    cfg = mtl.preset("conflicting").with_(
        epochs=2000, **{"data.n_samples": 20_000, "model.width": 512, "model.depth": 8}
    )
    with pytest.raises(mtl.ConfigError, match="the width") as info:
        mtl.train(cfg)
    advice = _suggestions(str(info.value))
    width = advice["the width"][1]
    assert price(Request.run(cfg.with_(**{"model.width": width}))).fits


def test_a_face_off_over_budget_is_refused_before_any_training(monkeypatch):
    cfg = mtl.preset("conflicting").with_(epochs=400)
    request = Request.face_off(cfg, tuple(METHODS), 3)
    whole = request.seconds()
    # each population alone fits (the engine's check passed them, one by one), the whole does not
    largest = max(
        budget.population_seconds(pop_cfg, k, request.data_shape())
        for pop_cfg, k in request.populations()
    )
    budget.set_work_budget((largest + whole) / 2)
    trained, progress = [], []
    monkeypatch.setattr(compare, "train_population", lambda *a, **k: trained.append(a))
    with pytest.raises(mtl.ConfigError) as info:
        compare.face_off(cfg, list(METHODS), seeds=(0, 1, 2), on_progress=progress.append)
    assert info.value.field == "work"
    assert not trained and not progress
    message = str(info.value)
    assert message.startswith("This face-off needs about")
    dropped = re.search(r"leave out ([^.;]+)", message)
    assert dropped, message
    labels = {cls.label: name for name, cls in METHODS.items()}
    left_out = {labels[x.strip()] for x in re.split(r",| and ", dropped.group(1))}
    kept = tuple(m for m in METHODS if m not in left_out)
    assert price(Request.face_off(cfg, kept, 3)).fits
    advice = _suggestions(message)
    epochs = advice["the epochs"][1]
    assert price(Request.face_off(cfg.with_(epochs=epochs), tuple(METHODS), 3)).fits
    if "the seeds" in advice:  # fewer seeds save little where per-step overhead dominates
        assert price(Request.face_off(cfg, tuple(METHODS), advice["the seeds"][1])).fits


def test_a_sweep_over_budget_is_refused_before_any_training(monkeypatch):
    cfg = mtl.preset("conflicting")
    request = Request.sweep(cfg, 101, 3)
    budget.set_work_budget(request.seconds() / 4)
    trained = []
    monkeypatch.setattr(api, "train_population", lambda *a, **k: trained.append(a))
    with pytest.raises(mtl.ConfigError) as info:
        mtl.sweep(cfg, weights=[(a / 100, 1 - a / 100) for a in range(101)], seeds=[0, 1, 2])
    assert info.value.field == "work" and not trained
    advice = _suggestions(str(info.value))
    assert price(Request.sweep(cfg, advice["the α points"][1], 3)).fits
    assert price(Request.sweep(cfg.with_(epochs=advice["the epochs"][1]), 101, 3)).fits


def test_the_engine_still_checks_a_population_on_its_own():
    from mtl.engine import Population, train_population

    budget.set_work_budget(1e-6)
    with pytest.raises(mtl.ConfigError, match="of computing"):
        train_population(mtl.preset("notebook"), Population(((0.5, 0.5),), (0,)))


def test_logged_member_epochs_are_bounded(monkeypatch):
    monkeypatch.setenv("MTL_LOG_BUDGET", "500")
    cfg = mtl.preset("notebook").with_(epochs=99)  # 100 member-epochs per member
    mtl.sweep(cfg, weights=[(0.5, 0.5)] * 5)
    with pytest.raises(mtl.ConfigError, match="logged member-epochs") as info:
        mtl.sweep(cfg, weights=[(0.5, 0.5)] * 6)
    assert info.value.field == "work"
    assert "6 members x 100 epochs" in str(info.value)
    assert "lower the epochs from 99 to at most 82" in str(info.value).lower()


# ---------------------------------------------------------------- what the page asks for


@pytest.mark.parametrize("name", mtl.PRESETS)
def test_every_preset_run_fits_comfortably(name):
    quote = price(Request.run(mtl.preset(name)))
    assert quote.fits and quote.seconds < quote.budget / 20


def test_the_default_sweep_and_face_off_fit_comfortably():
    cfg = mtl.preset(DEFAULT_PRESET)  # the page's default preset
    sweep = price(Request.sweep(cfg, 101, 3))
    assert sweep.fits and sweep.seconds < sweep.budget / 2
    assert sweep.logged < sweep.log_limit
    face_off = price(Request.face_off(cfg, tuple(METHODS), 3))
    assert face_off.fits and face_off.seconds < face_off.budget / 2


def test_result_bytes_grow_with_member_epochs():
    small = mtl.train(mtl.preset("notebook").with_(epochs=10))
    large = mtl.train(mtl.preset("notebook").with_(epochs=100))
    assert 0 < small.nbytes < large.nbytes
    per_member_epoch = large.nbytes / 101
    assert 100 < per_member_epoch < 1000  # ~480 bytes with two splits, less with one
