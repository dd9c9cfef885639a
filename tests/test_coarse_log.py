"""Coarse logs: a large population logs every k-th epoch, with exactly the full log's figures."""

from __future__ import annotations

import pandas as pd
import pytest

import mtl
from mtl.compare import face_off
from mtl.engine import Population, train_population
from mtl.results import log_stride

BASE = mtl.RunConfig(
    data=mtl.DataSpec(name="synthetic", n_samples=64, n_features=4, test_fraction=0.25),
    model=mtl.ModelSpec(shape="shared", width=8, depth=1),
    loss=mtl.LossSpec(l2=1e-3),
    epochs=23,
)
POPULATION = Population(weights=((0.2, 0.8), (0.7, 0.3), (0.5, 0.5)), seeds=(0, 1, 2))


def test_log_stride_keeps_the_logged_member_epochs_within_the_limit() -> None:
    assert log_stride(303, 150, 100_000) == 1  # the default sweep: a full log
    assert log_stride(1010, 395, 0) == 1  # 0: always a full log
    for members, epochs, limit in [(1010, 395, 100_000), (1024, 2000, 100_000), (7, 50, 30)]:
        k = log_stride(members, epochs, limit)
        logged = len(range(0, epochs + 1, k)) + (1 if epochs % k else 0)
        assert k > 1
        assert members * logged <= limit


def test_a_coarse_log_holds_the_full_logs_figures_at_its_epochs() -> None:
    full = train_population(BASE, POPULATION)
    coarse = train_population(BASE, POPULATION, log_limit=3 * 8)  # 8 rows per member at most
    k = coarse.log_every
    assert full.log_every == 1
    assert k == log_stride(3, BASE.epochs, 3 * 8) > 1
    epochs = sorted(coarse.history.epoch.unique())
    assert epochs == sorted({*range(0, BASE.epochs + 1, k), BASE.epochs})
    pd.testing.assert_frame_equal(coarse.summary, full.summary)
    for name in ("history", "metrics", "diagnostics"):
        frame = getattr(full, name)
        expected = frame[frame.epoch.isin(epochs)].reset_index(drop=True)
        pd.testing.assert_frame_equal(getattr(coarse, name), expected)


def test_a_diverged_member_keeps_its_logged_rows_before_it_diverged() -> None:
    cfg = BASE.with_(**{"optim.lr": 10.0, "epochs": 40})
    population = Population(weights=((0.5, 0.5),), seeds=(0,))
    full = train_population(cfg, population)
    assert bool(full.summary.diverged.iloc[0])  # a learning rate of 10 blows up
    coarse = train_population(cfg, population, log_limit=10)
    pd.testing.assert_frame_equal(coarse.summary, full.summary)
    kept = full.history[full.history.epoch.isin(coarse.history.epoch.unique())]
    assert coarse.history.epoch.max() == kept.epoch.max()
    assert coarse.history.epoch.max() < full.summary.diverged_epoch.iloc[0]


@pytest.mark.parametrize("limit", ["40", "0"])
def test_face_off_shares_one_allowance(monkeypatch: pytest.MonkeyPatch, limit: str) -> None:
    monkeypatch.setenv("MTL_FULL_LOG", limit)
    outcome = face_off(BASE, ["static", "dwa"], seeds=(0, 1))
    every = {r.log_every for r in [*outcome.results.values(), outcome.baseline]}
    logged = sum(
        r.history[["member", "epoch"]].drop_duplicates().shape[0]
        for r in [*outcome.results.values(), outcome.baseline]
    )
    if limit == "0":
        assert every == {1}
    else:
        assert min(every) > 1
        assert logged <= 40


def test_the_page_says_when_a_sweep_was_logged_coarsely(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_app import new_app, set_and_run
    from tests.test_app_compare import run_sweep

    monkeypatch.setenv("MTL_FULL_LOG", "300")  # 6 members x 151 epochs is over it
    at = new_app()
    set_and_run(at, "seed", 987_900)  # a sweep no other test runs
    run_sweep(at, points=3, seeds=2)
    notes = [c.value for c in at.caption if "logged every" in c.value]
    assert len(notes) == 1
    assert "6-member result" in notes[0]
    assert any("members are on the Pareto front" in m.value for m in at.markdown)
