"""The main area's tabs, one module each, and :data:`TABS`: the one list that wires them.

- :mod:`ui.tabs.result`: the tabs about the run on screen (losses, metrics, weights, gradient
  conflict, data, method).
- :mod:`ui.tabs.sweep`: the weight sweep and its Pareto front.
- :mod:`ui.tabs.face_off`: the method face-off.
- :mod:`ui.tabs.common`: what the sweep and face-off tabs share.
- The pinned runs' tab is :func:`ui.pins.pinned_tab` and the share & export tab
  :func:`ui.exports.share_tab` (each beside the rest of its feature).
"""

from __future__ import annotations

from collections.abc import Callable

import mtl
from ui import exports, pins
from ui.tabs import face_off, result, sweep

Tab = Callable[[mtl.Result], None]
"""A tab's content: drawn for the run on screen, inside the open tab."""

TABS: tuple[tuple[str, Tab], ...] = (
    ("Losses", result.losses),
    ("Metrics", result.metric_curves),
    ("Weights", result.weights),
    ("Gradient conflict", result.conflict),
    ("Data", result.data),
    ("Method", result.method),
    ("Weight sweep", sweep.sweep_tab),
    ("Method face-off", face_off.face_off_tab),
    ("Pinned runs", pins.pinned_tab),
    ("Share & export", exports.share_tab),
)
"""Every detail tab in order: its label (also the ``view.tab`` value) and its content."""

LABELS: tuple[str, ...] = tuple(label for label, _ in TABS)
"""The tabs' labels, in order (derived from :data:`TABS`)."""
