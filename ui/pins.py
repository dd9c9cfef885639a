"""Pinned runs: keep the current run under a name, then compare the pinned runs.

Pins live in ``st.session_state`` (:data:`PINS`), so each browser session has its own and no
session ever sees another's. Only the buttons here change them: a rerun, a bad value in the
sidebar, a broken CSV or an engine refusal leaves them as they were. A pin keeps what the
comparison needs and nothing more: the configuration, the final summary row, and the run's
(small) history and metrics frames; at most :data:`MAX_PINS` of them, to bound a session's memory
on a shared server.

The comparison: curves of every pin overlaid, and a table with each pin's final figures and
their change against a chosen baseline pin (MSE relative, in percent; accuracy in percentage
points), with the settings in which each pin differs from the baseline.

The pure helpers (:func:`make_pin`, :func:`next_name`, :func:`unique_name`,
:func:`comparison_table`, :func:`pin_curves`) take no Streamlit and are tested directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

import mtl
from mtl.charts import METRIC_TITLES, series_colors
from mtl.results import summary_split
from mtl.urlstate import to_query
from mtl.weighting import METHODS
from ui import charting, inert
from ui.state import CSV, load_into_widgets

PINS = "_pins.runs"
"""Session key of the pins: ``dict[name, Pin]`` in the order they were pinned."""
FLASH = "_pins.flash"
"""Session key of a one-off confirmation (Markdown; pin names in it made inert) after a callback."""
NAME_KEY = "pins.name"
BASELINE_KEY = "pins.baseline"
MAX_PINS = 12
"""Most pins a session keeps."""
MAX_NAME = 40
"""Longest pin name."""


@dataclass(frozen=True)
class Pin:
    """A pinned run.

    Attributes:
        name: what the person called it.
        config: the configuration it was trained with.
        key: the run's cache key (its identity, uploaded data included).
        summary: its summary row (final train and test figures).
        history: its component losses (member 0 of :attr:`mtl.Result.history`).
        metrics: its metrics over epochs (member 0 of :attr:`mtl.Result.metrics`).
    """

    name: str
    config: mtl.RunConfig
    key: str
    summary: pd.Series
    history: pd.DataFrame
    metrics: pd.DataFrame

    @property
    def split(self) -> str:
        """The split its figures are read on: ``test``, or ``train`` when it has no test rows."""
        return summary_split(self.summary)

    @property
    def mse(self) -> float:
        """Final MSE on :attr:`split`."""
        return float(self.summary[f"{self.split}_mse"])

    @property
    def accuracy(self) -> float:
        """Final accuracy on :attr:`split`."""
        return float(self.summary[f"{self.split}_accuracy"])


def make_pin(name: str, result: mtl.Result, key: str) -> Pin:
    """A pin of ``result`` (member 0) under ``name``; copies, so the cached result is untouched."""
    history = result.history[result.history["member"] == 0].reset_index(drop=True)
    metrics = result.metrics[result.metrics["member"] == 0].reset_index(drop=True)
    return Pin(name, result.config, key, result.summary.iloc[0].copy(), history, metrics)


def next_name(pins: Mapping[str, Pin]) -> str:
    """The first free ``Run n`` (n from 1)."""
    n = 1
    while f"Run {n}" in pins:
        n += 1
    return f"Run {n}"


def unique_name(name: str, pins: Mapping[str, Pin]) -> str:
    """``name`` made usable: a free, clean name for a new pin.

    Whitespace is collapsed, at most :data:`MAX_NAME` characters are kept, an empty name becomes
    the next free ``Run n``, and `` (2)``, `` (3)``... is added when a pin already has it.
    """
    base = " ".join(name.split())[:MAX_NAME] or next_name(pins)
    candidate, n = base, 2
    while candidate in pins:
        candidate, n = f"{base} ({n})", n + 1
    return candidate


def describe(cfg: mtl.RunConfig) -> str:
    """The method and, where it uses them, the weights: ``Static weights (0.3, 0.7)``."""
    cls = METHODS[cfg.weighting.method]
    if not cls.uses_base_weights:
        return cls.label
    w_reg, w_cls = cfg.weighting.weights
    return f"{cls.label} ({w_reg:g}, {w_cls:g})"


def differences(cfg: mtl.RunConfig, base: mtl.RunConfig) -> list[str]:
    """The settings in which ``cfg`` differs from ``base``, as ``key = value`` in link terms.

    Link keys (:func:`mtl.urlstate.to_query`) name each setting once (the weights as one pair,
    not as α and two free weights); an uploaded table that differs is ``data.table``.
    """
    mine, theirs = to_query(cfg), to_query(base)
    changed = [f"{k} = {v}" for k, v in mine.items() if theirs.get(k) != v]
    changed += [f"{k} = (default)" for k in theirs if k not in mine]
    if cfg.data.table != base.data.table:
        changed.append("data.table")
    return changed


def comparison_table(pins: list[Pin], baseline: str) -> pd.DataFrame:
    """One row per pin: its figures, their change against the pin ``baseline``, what differs.

    Columns: ``Pin, Method, Split, MSE, Δ MSE (%), Accuracy, Δ accuracy (pp), Differs in``.
    ``Δ MSE`` is relative (MSE scales differ by orders of magnitude between settings), negative
    is better; ``Δ accuracy`` is in percentage points, positive is better. Deltas are NaN when
    the two pins are read on different splits (one has no test rows).
    """
    base = next(p for p in pins if p.name == baseline)
    rows = []
    for pin in pins:
        comparable = pin.split == base.split
        changed = differences(pin.config, base.config)
        rows.append(
            {
                "Pin": pin.name,
                "Method": describe(pin.config),
                "Split": pin.split,
                "MSE": pin.mse,
                "Δ MSE (%)": 100 * (pin.mse - base.mse) / base.mse
                if comparable and base.mse != 0
                else np.nan,
                "Accuracy": pin.accuracy,
                "Δ accuracy (pp)": 100 * (pin.accuracy - base.accuracy) if comparable else np.nan,
                "Differs in": "(baseline)"
                if pin.name == baseline
                else (
                    ", ".join(changed[:5]) + (f" +{len(changed) - 5}" if len(changed) > 5 else "")
                )
                or "nothing",
            }
        )
    return pd.DataFrame(rows)


def pin_curves(pins: list[Pin]) -> pd.DataFrame:
    """Every pin's MSE and accuracy per epoch on its split.

    Columns ``series`` (the pin's name), ``epoch``, ``metric``, ``value``, ``split``.
    """
    frames = []
    for pin in pins:
        metrics = pin.metrics
        chosen = metrics[
            (metrics["split"] == pin.split) & metrics["metric"].isin(["mse", "accuracy"])
        ]
        frames.append(chosen[["epoch", "metric", "value"]].assign(series=pin.name, split=pin.split))
    return pd.concat(frames, ignore_index=True)


def pinned() -> dict[str, Pin]:
    """This session's pins (created empty on first use)."""
    return st.session_state.setdefault(PINS, {})


def _pin(result: mtl.Result, key: str) -> None:
    """``on_click`` of the pin button: pin ``result`` under the name typed (made unique)."""
    pins = pinned()
    if len(pins) >= MAX_PINS:
        st.session_state[FLASH] = f"At most {MAX_PINS} pins: unpin one first."
        return
    name = unique_name(str(st.session_state.get(NAME_KEY, "")), pins)
    pins[name] = make_pin(name, result, key)
    st.session_state[NAME_KEY] = next_name(pins)
    st.session_state[FLASH] = (
        f"Pinned “{inert.text(name)}” ({len(pins)} pinned: see the Pinned runs tab)."
    )


def _unpin(name: str) -> None:
    """``on_click`` of an unpin button."""
    pinned().pop(name, None)
    if st.session_state.get(BASELINE_KEY) == name:
        del st.session_state[BASELINE_KEY]


def _load(name: str) -> None:
    """``on_click`` of a "load settings" button: write the pin's configuration into the sidebar."""
    pin = pinned().get(name)
    if pin is None:
        return
    load_into_widgets(pin.config, st.session_state)
    st.session_state[FLASH] = f"Loaded the settings of “{inert.text(name)}”."


def controls(result: mtl.Result, key: str) -> None:
    """The name box and the pin button, under the metrics; confirms the last pin."""
    pins = pinned()
    st.session_state.setdefault(NAME_KEY, next_name(pins))
    st.text_input(
        "Pin as",
        key=NAME_KEY,
        max_chars=MAX_NAME,
        help="A name for the current run in the Pinned runs tab, where pinned runs are "
        "compared. Pins last for this browser session.",
    )
    st.button(
        "Pin this run",
        key="pins.add",
        icon=":material/push_pin:",
        on_click=_pin,
        args=(result, key),
        disabled=len(pins) >= MAX_PINS,
        help="Keep this run to compare it with others: change the controls, pin again, and "
        "open the Pinned runs tab."
        + (f" (At most {MAX_PINS} pins: unpin one first.)" if len(pins) >= MAX_PINS else ""),
    )
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.toast(flash, icon=":material/push_pin:")
        st.caption(flash)


def pinned_tab(result: mtl.Result) -> None:
    """The pinned runs: a table with deltas against a baseline pin, overlaid curves, unpinning."""
    pins = pinned()
    if not pins:
        st.info(
            "No pinned runs yet. Pin the current run with **Pin this run** under the metrics, "
            "change some controls, pin again, and compare them here.",
            icon=":material/push_pin:",
        )
        return
    names = list(pins)
    if st.session_state.get(BASELINE_KEY) not in names:
        st.session_state[BASELINE_KEY] = names[0]
    st.selectbox(
        "Baseline",
        names,
        key=BASELINE_KEY,
        help="The pin the others are compared with: the deltas in the table are each pin's "
        "figures minus the baseline's.",
    )
    baseline = str(st.session_state[BASELINE_KEY])
    ordered = list(pins.values())
    st.dataframe(
        comparison_table(ordered, baseline),
        hide_index=True,
        height="content",
        column_config={
            "MSE": st.column_config.NumberColumn(format="%.4g", help="Final MSE on the split."),
            "Δ MSE (%)": st.column_config.NumberColumn(
                format="%+.1f",
                help="Relative change of the MSE against the baseline, in percent: negative is "
                "better.",
            ),
            "Accuracy": st.column_config.NumberColumn(format="percent"),
            "Δ accuracy (pp)": st.column_config.NumberColumn(
                format="%+.1f",
                help="Change of the accuracy against the baseline, in percentage points: "
                "positive is better.",
            ),
            "Split": st.column_config.TextColumn(
                help="Where the figures are measured: the test rows, or the training rows when "
                "the run has no test split."
            ),
            "Differs in": st.column_config.TextColumn(
                help="The settings in which this pin differs from the baseline."
            ),
        },
        key="pins.table",
    )
    st.caption(
        f"Deltas against “{inert.text(baseline)}”: MSE as a relative change (lower is better), "
        "accuracy in percentage points (higher is better); empty when the two are measured on "
        "different splits. Runs on different data (see “Differs in”) are not directly comparable."
    )
    curves_key = "|".join(f"{p.name}={p.key}" for p in ordered)
    curves = pin_curves(ordered)
    charting.show_panels(
        "curve_panel",
        curves,
        curves_key,
        over="metric",
        values=[m for m in METRIC_TITLES if m in set(curves["metric"])],
        order=names,
        colors=series_colors(names),
        title="Pin",
    )
    st.caption("Each pin's MSE and accuracy over the epochs. Click a legend entry to highlight.")
    st.markdown("**Pins**")
    for name, pin in pins.items():
        text_col, load_col, unpin_col = st.columns([6, 2, 2], vertical_alignment="center")
        text_col.markdown(
            f"**{inert.text(name)}** · {describe(pin.config)} · {pin.split} MSE {pin.mse:#.4g} · "
            f"accuracy {pin.accuracy:.1%}"
        )
        csv = pin.config.data.name == CSV
        load_col.button(
            "Load settings",
            key=f"pins.load.{name}",
            icon=":material/settings_backup_restore:",
            on_click=_load,
            args=(name,),
            disabled=csv,
            help="Put this pin's settings back in the sidebar."
            + (" (An uploaded CSV cannot be restored: upload it again.)" if csv else ""),
            width="stretch",
        )
        unpin_col.button(
            "Unpin",
            key=f"pins.unpin.{name}",
            icon=":material/close:",
            on_click=_unpin,
            args=(name,),
            help="Remove this pin.",
            width="stretch",
        )
