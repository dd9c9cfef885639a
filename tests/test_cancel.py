"""Cancellation: the core stops promptly when its ``should_stop`` hook says so, returning nothing.

The hook is counted, not timed: each test asks to stop at a chosen call and counts the epochs
(``on_progress``) or optimizer steps done after that call.
"""

from __future__ import annotations

import pytest

import mtl
from mtl import engine
from mtl.compare import face_off
from mtl.engine import Cancelled

BASE = mtl.RunConfig(
    data=mtl.DataSpec(name="synthetic", n_samples=64, n_features=4, test_fraction=0.25),
    model=mtl.ModelSpec(shape="shared", width=8, depth=1),
    epochs=30,
)


class StopAfter:
    """A ``should_stop`` that answers True from its ``n``-th call on, counting its calls."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls >= self.n


class Epochs:
    """An ``on_progress`` that records every epoch reported."""

    def __init__(self) -> None:
        self.done: list[int] = []

    def __call__(self, done: int, total: int) -> None:
        self.done.append(done)


def test_train_stops_at_the_first_epoch_boundary_after_the_request() -> None:
    stop, epochs = StopAfter(6), Epochs()
    with pytest.raises(Cancelled) as caught:
        mtl.train(BASE, on_progress=epochs, should_stop=stop)
    # calls 1..5 precede epochs 0..4; the 6th, before epoch 5, stops: no epoch after it
    assert epochs.done == [1, 2, 3, 4, 5]
    assert caught.value.epoch == 5
    assert stop.calls == 6


def test_a_hook_that_never_fires_changes_nothing() -> None:
    plain = mtl.train(BASE)
    hooked = mtl.train(BASE, should_stop=lambda: False)
    assert plain.summary.equals(hooked.summary)
    assert plain.history.equals(hooked.history)


def test_sweep_and_face_off_stop_too() -> None:
    stop, epochs = StopAfter(3), Epochs()
    with pytest.raises(Cancelled):
        mtl.sweep(
            BASE,
            weights=[(0.2, 0.8), (0.8, 0.2)],
            seeds=[0, 1],
            on_progress=epochs,
            should_stop=stop,
        )
    assert epochs.done == [1, 2]
    # a face-off stops inside its second population (the mixed population of static and the
    # baselines, then MGDA-UB's own: its weights read the representation's gradients, which a
    # mixed population does not pass): nothing of it is returned
    upper_bound = BASE.with_(
        weighting=mtl.WeightingSpec(method="mgda", params=(("upper_bound", True),))
    )
    stop, epochs = StopAfter(BASE.epochs + 1 + 4), Epochs()
    with pytest.raises(Cancelled):
        face_off(
            upper_bound, ["static", "mgda"], seeds=(0, 1), on_progress=epochs, should_stop=stop
        )
    assert epochs.done[-1] == BASE.epochs + 3
    assert len(epochs.done) == BASE.epochs + 3


def test_mini_batch_epochs_are_interrupted_between_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """With batch size 1 an epoch is 48 steps; the stop lands after one step, not one epoch."""
    monkeypatch.setattr(engine, "STOP_CHECK_SECONDS", 0.0)  # check after every step
    steps: list[int] = []
    original = engine._Trainer._train_step

    def counted(self: engine._Trainer, *args: object) -> object:
        steps.append(1)
        return original(self, *args)

    monkeypatch.setattr(engine._Trainer, "_train_step", counted)
    cfg = BASE.with_(**{"optim.batch_size": 1})
    stop, epochs = StopAfter(1 + 10), Epochs()  # before epoch 0, then after each of 10 steps
    with pytest.raises(Cancelled) as caught:
        mtl.train(cfg, on_progress=epochs, should_stop=stop)
    assert len(steps) == 10  # the 10th step's check stopped it: not one step more
    assert epochs.done == []  # in the middle of the first epoch
    assert caught.value.epoch == 0


def test_a_hook_may_raise_its_own_exception() -> None:
    class Gone(BaseException):
        pass

    def hook() -> bool:
        raise Gone

    with pytest.raises(Gone):
        mtl.train(BASE, should_stop=hook)
