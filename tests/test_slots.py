"""Training slots and cancellation on the page (:mod:`ui.runtime`, :mod:`ui.run`): waiting,
leaving, no leaks.

Threads are synchronised with events (their time-outs only guard against a hang); nothing here
asserts a duration.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import mtl
from mtl.engine import Cancelled
from ui import run, runtime

APP = str(Path(__file__).resolve().parents[1] / "app.py")
GUARD = 30.0  # seconds: only a guard against a hang


class Placeholder:
    """Stands in for ``st.empty()``: records what it was asked to show."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.waiting = threading.Event()

    def info(self, text: str, **_: Any) -> None:
        self.shown.append(text)
        self.waiting.set()


def test_a_second_computation_waits_for_the_slot_and_says_so() -> None:
    slots = threading.BoundedSemaphore(1)
    assert slots.acquire(blocking=False)  # the first computation holds the only slot
    placeholder, inside = Placeholder(), threading.Event()

    def second() -> None:
        with runtime.training_slot(placeholder, stop=lambda: False, slots=slots):
            inside.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert placeholder.waiting.wait(GUARD)
    assert not inside.is_set()  # still waiting while the slot is held
    assert runtime.WAITING in placeholder.shown[0]
    slots.release()  # the first one ends
    thread.join(GUARD)
    assert inside.is_set()
    assert slots.acquire(blocking=False)  # the second gave its slot back


def test_a_free_slot_is_taken_without_a_message() -> None:
    slots, placeholder = threading.BoundedSemaphore(1), Placeholder()
    with runtime.training_slot(placeholder, stop=lambda: False, slots=slots):
        assert not slots.acquire(blocking=False)  # held inside
    assert placeholder.shown == []
    assert slots.acquire(blocking=False)


def test_a_waiting_computation_that_is_cancelled_leaves_without_a_slot() -> None:
    slots = threading.BoundedSemaphore(1)
    assert slots.acquire(blocking=False)
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) >= 3

    trained: list[int] = []
    with pytest.raises(Cancelled), runtime.training_slot(Placeholder(), stop=stop, slots=slots):
        trained.append(1)
    assert trained == []
    assert len(asked) == 3
    slots.release()  # only the holder's slot was ever taken: a second release would raise
    with pytest.raises(ValueError):
        slots.release()


def test_max_trainings_reads_the_environment_else_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(runtime.ENV_MAX_TRAININGS, "3")
    assert runtime.max_trainings() == 3
    for bad in ("0", "-2", "many", ""):
        monkeypatch.setenv(runtime.ENV_MAX_TRAININGS, bad)
        assert runtime.max_trainings() == runtime.usable_cores()
    assert runtime.usable_cores() >= 1


def test_should_stop_outside_a_script_run_is_false() -> None:
    assert run.should_stop() is False


def test_a_page_whose_wait_is_cancelled_stops_quietly_and_the_next_run_trains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """N = 1 with the slot taken: the page waits, is cancelled, trains nothing, shows no error."""
    monkeypatch.setenv(runtime.ENV_MAX_TRAININGS, "1")
    calls: list[mtl.RunConfig] = []
    real_train = mtl.train

    def counting(cfg: mtl.RunConfig, **kwargs: Any) -> mtl.Result:
        calls.append(cfg)
        return real_train(cfg, **kwargs)

    monkeypatch.setattr(mtl, "train", counting)
    asked: list[int] = []
    monkeypatch.setattr(run, "should_stop", lambda: bool(asked.append(1)) or len(asked) >= 3)
    slots = runtime._slots(1)
    assert slots.acquire(timeout=GUARD)  # another computation holds the only slot
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params["seed"] = "987800"  # a seed no other test trains: a cache miss
        at.run()
        assert not at.exception, at.exception
        assert calls == []  # it never trained
        assert len(asked) == 3  # it waited, asking each poll, until it was cancelled
        assert not at.metric  # the run stopped before drawing results
    finally:
        slots.release()
    monkeypatch.setattr(run, "should_stop", lambda: False)
    at.run()  # the next run finds the slot free, trains and draws; nothing was cached before
    assert not at.exception, at.exception
    assert len(calls) == 1
    assert any("MSE" in m.label for m in at.metric)
    assert slots.acquire(blocking=False)  # the slot was given back
    slots.release()
