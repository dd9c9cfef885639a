"""What the what-if tabs share: their remembered requests, their controls' defaults, the front.

The sweep and the face-off each cost seconds, so they run only when asked (a button) and are
cached (:func:`ui.run.sweep`, :func:`ui.run.face_off`). The last one asked for is remembered in
the session (:data:`SWEEP_REQUEST`, :data:`FACE_OFF_REQUEST`) and shown on every rerun from the
cache. When the sidebar has changed since, it is still shown (comparing is the point) under a
note that it belongs to an earlier configuration, and the button runs it again for the current
one. The face-off tab reads (and may ask for) the sweep, hence the shared keys here.

The Pareto front is taken over every member (each α and seed is a point), on the test split, or
on the training data when there is no test split (the notebook's way:
:func:`mtl.results.summary_split`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

import mtl
from mtl.compare import pareto_front
from mtl.results import summary_split
from mtl.sweeps import DEFAULT_POINTS, DEFAULT_SEEDS
from mtl.weighting import METHODS
from ui import inert
from ui.wording import config_problem

SWEEP_REQUEST = "_sweep.request"
"""Session key of the :class:`~ui.run.SweepRequest` last asked for."""


FACE_OFF_REQUEST = "_faceoff.request"
"""Session key of the :class:`~ui.run.FaceOffRequest` last asked for."""

Request = TypeVar("Request")
Outcome = TypeVar("Outcome")


def init_state() -> None:
    """Defaults of the sweep's and the face-off's controls (written once per session)."""
    defaults: dict[str, Any] = {
        "sweep.points": DEFAULT_POINTS,
        "sweep.seeds": DEFAULT_SEEDS,
        "faceoff.methods": list(METHODS),
        "faceoff.seeds": DEFAULT_SEEDS,
    }
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def with_front(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with a ``pareto`` column: the members no other member dominates."""
    split = summary_split(summary)
    front = pareto_front(summary, minimize=f"{split}_mse", maximize=f"{split}_accuracy")
    return summary.assign(pareto=front)


def guarded(compute: Callable[[Request], Outcome], request: Request) -> Outcome | None:
    """``compute(request)``, or None after showing why it cannot run (never a traceback)."""
    try:
        return compute(request)
    except (mtl.ConfigError, mtl.DataError) as error:
        message = config_problem(error) if isinstance(error, mtl.ConfigError) else str(error)
        st.error(f"**This can't be run.** {inert.text(message)}", icon=":material/error:")
        return None
