"""Gradient geometry: the two tasks' gradients in the plane they span, and what methods do there.

The engine logs, per member and epoch, the Gram matrix ``G G^T`` of the two tasks' gradients on
the shared parameters (:mod:`mtl.results`: the ``diagnostics`` frame holds both norms and the
cosine, which is the whole ``2 x 2`` Gram matrix). Two vectors span a plane, and a ``2 x 2`` Gram
matrix fixes them in it up to a rotation (and a reflection):

    g_regression     = (|g_r|, 0)
    g_classification = |g_c| (cos theta, sin theta),  theta in [0, pi]

so :func:`plane_coordinates` draws them exactly, whatever the number of shared parameters. Every
gradient method of :data:`mtl.weighting.GRADIENT_METHODS` depends on the gradients only through
their Gram matrix (``tests/test_geometry.py`` checks each on random high-dimensional gradients),
so calling the core's own method on these 2-D vectors gives its weights exactly, and its update
direction ``w_r g_r + w_c g_c`` lies in the same plane: :func:`method_direction`. Static and equal
weights are fixed combinations. The other methods are left out, each with the reason
(:data:`EXCLUDED`): their weights come from the losses, a learned or random state, or gradients
other than this epoch's, so one epoch's two gradients do not fix them.

The run's own update direction at an epoch comes from its logged weights
(:func:`run_direction`): the step taken from the parameters after epoch e used the weights the
history logs for epoch e + 1 (the mean over that epoch's steps), so with full-batch training
``d = w_r g_r + w_c g_c`` is exactly the shared part of that step (the L2 penalty's ``2 l2 theta``
aside, which is not in the plane). With mini-batches it is the epoch's mean weights applied to
the whole split's gradients, an approximation that the note says. A method whose shared update
is not a weighted sum of this step's gradients (MoCo, DB-MTL, GradDrop) gets no arrow, with the
reason.

The directions that harm neither task, ``{d : d . g_r >= 0 and d . g_c >= 0}``, form a cone
(:func:`harmless_cone`) of width ``180 deg - theta``: a half-plane when a gradient is zero, and
only the line perpendicular to both when they are exactly opposite. A direction "harms" task t
when ``d . g_t < 0``: a small enough plain gradient step along ``-d`` (the optimiser steps
against the direction) then raises that task's loss, to first order by ``lr |d . g_t|``.

Display (:func:`chart_frame`): norms can differ by orders of magnitude, so by default every arrow
is drawn at unit length (``length="unit"``) and the true norms are in the tooltips and the table;
``length="true"`` draws them to scale, the longest at length 1.

No streamlit here; the chart is :func:`mtl.charts.geometry_chart`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import torch

from mtl.config import TASKS
from mtl.weighting import GRADIENT_METHODS, METHODS, gradient_weights

if TYPE_CHECKING:
    from mtl.results import Result

Length = Literal["unit", "true"]

FIXED_WEIGHTS: dict[str, str] = {
    "static": "the member's configured static weights",
    "equal_sum": "weights (1, 1): the plain sum of the gradients",
    "equal_mean": "weights (1/2, 1/2): the mean of the gradients",
}
"""Loss-weighting methods whose weights do not depend on the step: their direction is fixed."""

OFFERED: tuple[str, ...] = (*FIXED_WEIGHTS, *GRADIENT_METHODS)
"""The methods whose direction this view computes exactly from one epoch's Gram matrix."""

DEFAULT_METHODS: tuple[str, ...] = ("static", "pcgrad", "mgda", "cagrad")
"""The methods the view shows until the visitor chooses others."""

_FROM_LOSSES = "its weights come from the losses"
EXCLUDED: dict[str, str] = {
    "uncertainty": f"{_FROM_LOSSES} through learned log-variances, not from the gradients",
    "dwa": f"{_FROM_LOSSES}: the ratio of the last epochs' losses",
    "rlw": "its weights are drawn at random afresh at every step",
    "famo": "its weights come from logits it learns step by step from how the losses fell",
    "gradnorm": "it learns its weights step by step (from gradient norms at the last shared "
    "layer and the losses' progress), so one epoch's gradients do not fix them",
    "gls": f"{_FROM_LOSSES} (the geometric mean of the losses)",
    "gradvac": "it aims at a moving average of past cosines (state), so one epoch's gradients "
    "do not fix its direction",
    "excess_mtl": "its weights grow from excess risks accumulated over the steps (state)",
    "graddrop": "it keeps or drops gradient signs at random, feature by feature on the shared "
    "representation, not on these parameter gradients",
    "moco": "its direction combines tracked (moving-average) gradients, not this epoch's",
    "db_mtl": "its direction combines moving averages of log-loss gradients, not this epoch's",
    "tchebycheff": f"{_FROM_LOSSES} and a preference, not from the gradients",
    "stch": f"{_FROM_LOSSES} and a preference, not from the gradients",
}
"""Method -> why its direction cannot be drawn from one epoch's two gradients."""

_OWN_DIRECTION = frozenset({"moco", "db_mtl", "graddrop"})
"""Methods whose shared update is not ``w_r g_r + w_c g_c`` of the step's gradients."""

_ZERO_TOL = 1e-12
"""A vector this small against the lengths it is a combination of is rounding's zero."""

_HARM_TOL = 1e-9
"""``d . g_t < -_HARM_TOL |d| |g_t|`` counts as harm; above it is rounding (PCGrad's exact 0)."""


def excluded_reason(method: str) -> str:
    """Why ``method``'s direction is not drawn ("" for an offered one)."""
    if method in OFFERED:
        return ""
    return EXCLUDED.get(method, "its weights need more than one epoch's two gradients")


def method_label(method: str) -> str:
    """The registry's label of ``method`` (IMTL: IMTL-G, the part drawn here)."""
    if method == "imtl":
        return "IMTL-G"
    return METHODS[method].label or method


# -- the plane ------------------------------------------------------------------------------


def plane_coordinates(gram: torch.Tensor) -> torch.Tensor:
    """The two gradients in the plane they span: ``gram [..., 2, 2] -> coordinates [..., 2, 2]``.

    Row 0 is ``g_regression = (|g_r|, 0)``, row 1 ``g_classification = |g_c| (cos, sin)`` with
    the angle in ``[0, pi]``; so ``coords @ coords^T`` reproduces ``gram`` (exactly up to
    rounding, for a positive semi-definite Gram matrix; a cosine that rounding put beyond
    ``[-1, 1]`` is clipped). A zero regression gradient puts the classification one on the x
    axis. Float64.
    """
    G = gram.to(torch.float64)
    n1 = G[..., 0, 0].clamp_min(0).sqrt()
    n2 = G[..., 1, 1].clamp_min(0).sqrt()
    both = (n1 > 0) & (n2 > 0)
    cos = torch.where(both, G[..., 0, 1] / (n1 * n2).clamp_min(1e-300), 1.0).clamp(-1.0, 1.0)
    sin = (1.0 - cos * cos).clamp_min(0).sqrt()
    zero = torch.zeros_like(n1)
    g1 = torch.stack((n1, zero), dim=-1)
    g2 = torch.stack((n2 * cos, n2 * sin), dim=-1)
    return torch.stack((g1, g2), dim=-2)


def gram_at(diagnostics: pd.DataFrame, member: int, epoch: int) -> torch.Tensor:
    """The ``[2, 2]`` float64 Gram matrix of ``member``'s task gradients at ``epoch``.

    Rebuilt from the diagnostics frame (:mod:`mtl.results`): the two norms and the cosine (NaN
    when a norm is zero, then the dot product is 0). ``KeyError`` when the epoch is not logged
    for the member (a coarse log, or after it diverged).
    """
    rows = diagnostics[(diagnostics["member"] == member) & (diagnostics["epoch"] == epoch)]
    values = dict(zip(rows["diagnostic"].astype(str), rows["value"].astype(float), strict=True))
    if not values:
        raise KeyError(f"no gradient diagnostics for member {member} at epoch {epoch}")
    n1, n2 = values["grad_norm_regression"], values["grad_norm_classification"]
    cos = values["cosine"]
    dot = 0.0 if math.isnan(cos) else cos * n1 * n2
    return torch.tensor([[n1 * n1, dot], [dot, n2 * n2]], dtype=torch.float64)


def _angle(v: np.ndarray) -> float:
    return float(math.atan2(v[1], v[0]))


def harmless_cone(coords: torch.Tensor | np.ndarray) -> tuple[float, float]:
    """The directions that harm neither task, as an angle interval ``(lo, hi)`` in radians.

    ``coords [2, 2]``: the two gradients in any 2-D frame. A direction at angle ``phi`` has
    ``d . g_t >= 0`` for both t exactly when ``lo <= phi <= hi`` (modulo 2 pi). The width
    ``hi - lo`` is ``pi - theta`` for gradients ``theta`` apart, so 0 when they are opposite
    (then the opposite ray ``lo + pi`` is harmless as well: the whole perpendicular line); ``pi``
    (a half-plane) when one gradient is zero; ``2 pi`` (everything) when both are.
    """
    g = np.asarray(coords, dtype=float)
    nonzero = [t for t in range(2) if float(np.hypot(*g[t])) > 0]
    if not nonzero:
        return (-math.pi, math.pi)
    if len(nonzero) == 1:
        phi = _angle(g[nonzero[0]])
        return (phi - math.pi / 2, phi + math.pi / 2)
    a = _angle(g[0])
    diff = math.remainder(_angle(g[1]) - a, 2 * math.pi)  # in [-pi, pi]
    b = a + diff
    return (max(a, b) - math.pi / 2, min(a, b) + math.pi / 2)


@dataclass(frozen=True)
class Plane:
    """One member's two gradients at one epoch, in the plane they span.

    Attributes:
        member, epoch: where the gradients were taken (the parameters after ``epoch`` epochs).
        coords: ``[2, 2]`` rows ``g_regression``, ``g_classification`` (:func:`plane_coordinates`).
        norms: ``(|g_r|, |g_c|)``.
        cosine: ``cos theta`` (NaN when a gradient is zero).
        angle: ``theta`` in degrees (NaN when a gradient is zero).
        cone: :func:`harmless_cone`, radians.
    """

    member: int
    epoch: int
    coords: np.ndarray
    norms: tuple[float, float]
    cosine: float
    angle: float
    cone: tuple[float, float]

    @classmethod
    def from_gram(cls, gram: torch.Tensor, member: int = 0, epoch: int = 0) -> Plane:
        """The plane of a ``[2, 2]`` Gram matrix."""
        coords = plane_coordinates(gram).numpy()
        n1, n2 = (float(np.hypot(*coords[t])) for t in range(2))
        if n1 > 0 and n2 > 0:
            cosine = float(np.clip(coords[0] @ coords[1] / (n1 * n2), -1.0, 1.0))
            angle = math.degrees(math.acos(cosine))
        else:
            cosine = angle = float("nan")
        return cls(member, epoch, coords, (n1, n2), cosine, angle, harmless_cone(coords))

    @property
    def conflict(self) -> bool:
        """Whether the tasks conflict: the cosine is negative."""
        return self.cosine < 0

    @property
    def norm_ratio(self) -> float:
        """``|g_r| / |g_c|`` (inf when only the classification gradient is zero, NaN for both)."""
        n1, n2 = self.norms
        if n2 > 0:
            return n1 / n2
        return float("inf") if n1 > 0 else float("nan")

    @property
    def cone_width(self) -> float:
        """The harmless cone's width in degrees (0 for opposite gradients, 360 for two zeros)."""
        return math.degrees(self.cone[1] - self.cone[0])


def plane_at(result: Result, member: int, epoch: int) -> Plane:
    """:class:`Plane` of ``member``'s gradients at ``epoch`` from a result's diagnostics."""
    return Plane.from_gram(gram_at(result.diagnostics, member, epoch), member, epoch)


# -- directions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Direction:
    """An update direction ``d = w_r g_r + w_c g_c`` in the plane.

    Attributes:
        key: the method's registry name, or ``"run"`` for the run's own step.
        label: what the page calls it.
        weights: ``(w_r, w_c)``.
        vector: ``d`` ``[2]`` in the plane's coordinates.
        note: how it was obtained, when that needs saying ("" otherwise).
    """

    key: str
    label: str
    weights: tuple[float, float]
    vector: np.ndarray
    note: str = ""


def _combine(plane: Plane, weights: tuple[float, float]) -> np.ndarray:
    """``w_r g_r + w_c g_c`` ``[2]`` in the plane's coordinates."""
    return np.asarray(weights[0] * plane.coords[0] + weights[1] * plane.coords[1], dtype=float)


def method_params(method: str, params: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    """The hyper-parameters a method is drawn with, from a run's (or ``None``: the defaults).

    Drops what one epoch's gradients cannot honour and says so: CR-MOGM ``smoothing`` (an
    average over steps), MGDA's ``upper_bound`` (the representation's gradients, not logged) and
    IMTL's loss scales (only IMTL-G is drawn). Returns ``(params, note)``.
    """
    if not params:
        return {}, ""
    kept, dropped = dict(params), []
    if kept.pop("smoothing", 0.0):
        dropped.append("CR-MOGM smoothing (it averages weights over steps)")
    if method == "mgda" and kept.pop("upper_bound", False):
        dropped.append("MGDA-UB (it reads the representation's gradients, which are not logged)")
    if method == "imtl" and kept.pop("mode", "gradient") != "gradient":
        dropped.append("IMTL-L's learned loss scales (only IMTL-G is drawn)")
    note = ("without " + " and ".join(dropped)) if dropped else ""
    return kept, note


def method_direction(
    method: str,
    plane: Plane,
    *,
    static_weights: tuple[float, float] = (0.5, 0.5),
    losses: tuple[float, float] | None = None,
    params: dict[str, Any] | None = None,
) -> Direction:
    """``method``'s update direction for the gradients of ``plane``, computed by the core.

    ``method`` is one of :data:`OFFERED`. Fixed weights: ``static_weights`` for ``"static"``,
    ``(1, 1)`` and ``(1/2, 1/2)`` for the equal weights. A gradient method: its own
    :func:`~mtl.weighting.gradient_weights` on the ``[1, 2, 2]`` plane coordinates, with
    ``params`` (see :func:`method_params`; its defaults when ``None``) and the task
    ``losses`` ``(L_r, L_c)`` at that epoch for the normalisations that read them.

    Raises:
        ValueError: ``method`` is not offered (the reason is :func:`excluded_reason`).
    """
    if method not in OFFERED:
        raise ValueError(f"{method!r} cannot be drawn from one epoch: {excluded_reason(method)}")
    label = method_label(method)
    if method in FIXED_WEIGHTS:
        weights = {"static": static_weights, "equal_sum": (1.0, 1.0)}.get(method, (0.5, 0.5))
        weights = (float(weights[0]), float(weights[1]))
        return Direction(method, label, weights, _combine(plane, weights))
    kept, note = method_params(method, params)
    grads = torch.from_numpy(plane.coords).unsqueeze(0)  # [1, T=2, P=2]
    loss_tensor = None if losses is None else torch.tensor([losses], dtype=torch.float64)
    w = gradient_weights(method, grads, loss_tensor, **kept)[0].tolist()
    weights = (float(w[0]), float(w[1]))
    return Direction(method, label, weights, _combine(plane, weights), note)


@dataclass(frozen=True)
class RunStep:
    """The run's own step from an epoch: its direction, or why there is none to draw.

    Attributes:
        direction: ``d`` from the logged weights, or ``None``.
        note: how exact it is, or why it is missing.
    """

    direction: Direction | None
    note: str


def run_direction(result: Result, plane: Plane) -> RunStep:
    """The run's own update direction from the parameters after ``plane.epoch`` epochs.

    From the weights the history logs for the epoch after (see the module docstring); at the
    last epoch no step follows, so the last step's weights are used and the note says so.
    """
    cfg = result.config
    cls = METHODS[cfg.weighting.method]
    label = f"This run ({cls.label or cls.name})"
    if cls.name in _OWN_DIRECTION:
        return RunStep(
            None,
            f"{cls.label}'s shared update is not a weighted sum of this epoch's two gradients "
            f"({EXCLUDED.get(cls.name, '')}); its logged weights are for display only.",
        )
    history = result.history
    rows = history[(history["member"] == plane.member) & (history["split"] == "train")]
    epochs = np.sort(rows["epoch"].unique())
    after = epochs[epochs > plane.epoch]
    source = int(after[0]) if len(after) else int(epochs[-1])
    at = rows[rows["epoch"] == source]
    logged = dict(zip(at["component"].astype(str), at["weight"].astype(float), strict=True))
    weights = (logged[TASKS[0]], logged[TASKS[1]])
    notes: list[str] = []
    if not len(after):
        notes.append(
            f"no step follows the last epoch: drawn with the last step's weights (epoch {source})"
        )
    elif source != plane.epoch + 1:
        notes.append(
            f"with the weights logged for epoch {source} (this log keeps every k-th epoch)"
        )
    if cfg.optim.batch_size is not None:
        notes.append(
            "mini-batches: the epoch's mean weights applied to the whole split's gradients, "
            "an approximation of steps taken on batch gradients"
        )
    if cfg.loss.l2 > 0:
        notes.append("the L2 penalty's own term is not in this plane and is left out")
    if not notes:
        notes.append(
            f"exactly the shared gradient the run gave its optimiser at epoch {plane.epoch}"
        )
    direction = Direction("run", label, weights, _combine(plane, weights), "; ".join(notes))
    return RunStep(direction, direction.note)


# -- what a direction does ------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """What a direction does to the two tasks, to first order.

    Attributes:
        direction: the direction assessed.
        norm: ``|d|``.
        dots: ``(d . g_r, d . g_c)``: how fast a step against ``d`` lowers each loss.
        harms: ``d . g_t < 0`` (beyond rounding) for each task.
        length: ``|d| / |g_r + g_c|``, the length against the plain sum (NaN when it is 0).
        turn: the signed angle in degrees from ``g_r + g_c`` to ``d`` (positive: towards the
            classification gradient; NaN when either is 0).
    """

    direction: Direction
    norm: float
    dots: tuple[float, float]
    harms: tuple[bool, bool]
    length: float
    turn: float


def effect(plane: Plane, direction: Direction) -> Effect:
    """:class:`Effect` of ``direction`` on the gradients of ``plane``.

    A direction (or plain sum) no longer than :data:`_ZERO_TOL` times the sum of the lengths it
    is made of is rounding's residue of a zero vector (MGDA's weights on opposite gradients) and
    counts as zero: no length, no dot products, no harm, no turn.
    """
    d = np.asarray(direction.vector, dtype=float)
    n1, n2 = plane.norms
    w1, w2 = direction.weights
    norm = float(np.hypot(*d))
    if norm <= _ZERO_TOL * (abs(w1) * n1 + abs(w2) * n2):
        d, norm = np.zeros(2), 0.0
    dots = (float(d @ plane.coords[0]), float(d @ plane.coords[1]))
    harms = (dots[0] < -_HARM_TOL * norm * n1, dots[1] < -_HARM_TOL * norm * n2)
    total = plane.coords[0] + plane.coords[1]
    total_norm = float(np.hypot(*total))
    if total_norm <= _ZERO_TOL * (n1 + n2):
        total_norm = 0.0
    length = norm / total_norm if total_norm > 0 else float("nan")
    if total_norm > 0 and norm > 0:
        turn = math.degrees(
            math.atan2(total[0] * d[1] - total[1] * d[0], float(total @ d))
        )  # counter-clockwise, the side g_classification lies on (its angle is in [0, pi])
    else:
        turn = float("nan")
    return Effect(direction, norm, dots, harms, length, turn)


def _g(value: float) -> str:
    return f"{value:.3g}"


def describe_plane(plane: Plane) -> str:
    """Plain sentences: the angle, the cosine, whether the tasks conflict, the norms, the cone."""
    n1, n2 = plane.norms
    head = f"At epoch {plane.epoch}: |g_regression| = {_g(n1)}, |g_classification| = {_g(n2)}"
    if n1 == 0 and n2 == 0:
        return head + ". Both gradients are zero: every direction harms neither task."
    if n1 == 0 or n2 == 0:
        zero, other = (
            ("regression", "classification") if n1 == 0 else ("classification", "regression")
        )
        return (
            head + f". The {zero} gradient is zero, so there is no angle and no conflict; "
            f"every direction within 90° of the {other} gradient harms neither task."
        )
    ratio = plane.norm_ratio
    text = head + f" (ratio {_g(ratio)}). "
    text += f"They are {plane.angle:.1f}° apart (cosine {plane.cosine:.3f}): "
    if plane.conflict:
        text += (
            "the tasks conflict: following either task's gradient alone raises the other's loss. "
        )
    elif plane.cosine == 0:
        text += (
            "orthogonal, no conflict: following either gradient alone leaves the other loss "
            "unchanged to first order. "
        )
    else:
        text += "no conflict: following either task's gradient alone also lowers the other's loss. "
    if plane.cone_width <= 1e-9:
        text += (
            "The gradients are exactly opposite: no direction lowers both losses; only steps "
            "perpendicular to both leave them unchanged (to first order)."
        )
    else:
        text += f"The directions that harm neither task span {plane.cone_width:.1f}° (shaded)."
    return text


def describe_effect(plane: Plane, item: Effect) -> str:
    """One sentence: the direction's weights, whom it harms and by how much, its length and turn."""
    d = item.direction
    text = f"{d.label}: weights {_g(d.weights[0])}, {_g(d.weights[1])}; "
    if item.norm == 0:
        return text + "a zero direction, no step at all (to first order nothing changes)."
    harmed = [f"{task} (d·g = {_g(item.dots[t])})" for t, task in enumerate(TASKS) if item.harms[t]]
    text += ("harms " + " and ".join(harmed)) if harmed else "harms neither task"
    if math.isnan(item.length):
        text += "; the plain sum g_r + g_c is zero here, so there is nothing to compare it with."
        return text
    text += f"; {item.length:.3g}× the length of the plain sum g_r + g_c"
    if abs(item.turn) < 0.05:
        text += ", in the same direction."
    else:
        side = "classification" if item.turn > 0 else "regression"
        parallel = plane.cone_width <= 1e-9 or math.isnan(plane.angle) or plane.angle == 0
        towards = "" if parallel else f" towards the {side} gradient"
        text += f", turned {abs(item.turn):.1f}°{towards}."
    return text


def effects_table(items: list[Effect]) -> pd.DataFrame:
    """One row per direction: weights, ``|d|``, dot products, harm, length and turn."""
    return pd.DataFrame(
        {
            "direction": [e.direction.label for e in items],
            "w_regression": [e.direction.weights[0] for e in items],
            "w_classification": [e.direction.weights[1] for e in items],
            "norm": [e.norm for e in items],
            "d·g_regression": [e.dots[0] for e in items],
            "d·g_classification": [e.dots[1] for e in items],
            "harms": [
                ", ".join(t for t, h in zip(TASKS, e.harms, strict=True) if h) or "neither"
                for e in items
            ],
            "length vs sum": [e.length for e in items],
            "turn (°)": [e.turn for e in items],
        }
    )


# -- what the chart draws --------------------------------------------------------------------

CONE_RADIUS = 1.15
"""Radius of the shaded cone (arrows are at most 1 long)."""


def _convex_slices(points: np.ndarray) -> pd.DataFrame:
    """Vertical slices ``across, low, high`` (x, the y band) of a convex polygon ``points [N, 2]``.

    Vega-Lite draws an area as y bands over x; a convex polygon is one band per x.
    """
    xs = np.unique(points[:, 0])  # both boundaries are straight between vertices: exact
    a, b = points, np.roll(points, -1, axis=0)
    lo = np.full(len(xs), np.inf)
    hi = np.full(len(xs), -np.inf)
    for (x0, y0), (x1, y1) in zip(a, b, strict=True):
        if x0 == x1:
            inside = xs == x0
            lo[inside] = np.minimum(lo[inside], min(y0, y1))
            hi[inside] = np.maximum(hi[inside], max(y0, y1))
            continue
        t = (xs - x0) / (x1 - x0)
        inside = (t >= -1e-12) & (t <= 1 + 1e-12)
        y = y0 + t * (y1 - y0)
        lo[inside] = np.minimum(lo[inside], y[inside])
        hi[inside] = np.maximum(hi[inside], y[inside])
    keep = np.isfinite(lo) & np.isfinite(hi)
    return pd.DataFrame({"across": xs[keep], "low": lo[keep], "high": hi[keep]})


def display_turn(plane: Plane) -> float:
    """The rotation (radians) that points the two gradients' bisector straight up.

    The plane's rotation means nothing, so the drawing turns it to show the gradients
    symmetrically about the vertical: then the harmless cone, both gradients and every direction
    with non-negative weights lie in the upper half (a zero gradient: the other points up).
    """
    g = plane.coords
    nonzero = [t for t in range(2) if plane.norms[t] > 0]
    if not nonzero:
        return 0.0
    a = _angle(g[nonzero[0]])
    if len(nonzero) == 2:
        a += math.remainder(_angle(g[1]) - a, 2 * math.pi) / 2
    return math.pi / 2 - a


def cone_frame(plane: Plane, radius: float = CONE_RADIUS, turn: float = 0.0) -> pd.DataFrame:
    """The harmless cone as vertical slices (``layer = "cone"``) and its edges as rays.

    Slices: ``across`` (x), ``low`` and ``high`` (the y band there). Rays (``layer = "edge"``,
    from the origin to ``across, up``): the cone's two edges, and for opposite gradients the
    whole perpendicular line. ``turn`` rotates it (radians, counter-clockwise).
    """
    lo, hi = plane.cone[0] + turn, plane.cone[1] + turn
    frames: list[pd.DataFrame] = []
    if hi - lo > 1e-9:
        arc = np.linspace(lo, hi, 61)
        ring = np.stack((np.cos(arc), np.sin(arc)), axis=1) * radius
        points = ring if hi - lo >= 2 * math.pi - 1e-9 else np.vstack(([0.0, 0.0], ring))
        frames.append(_convex_slices(points).assign(layer="cone"))
    edges = [] if hi - lo >= 2 * math.pi - 1e-9 else [lo, hi]
    if hi - lo <= 1e-9:
        edges.append(lo + math.pi)
    if edges:
        frames.append(
            pd.DataFrame(
                {
                    "layer": "edge",
                    "edge": np.arange(len(edges)),
                    "across": radius * np.cos(edges),
                    "up": radius * np.sin(edges),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def chart_frame(plane: Plane, effects: list[Effect], length: Length = "unit") -> pd.DataFrame:
    """What :func:`mtl.charts.geometry_chart` draws: arrows, then the cone.

    Arrow rows (``layer`` ``"gradient"`` for the two task gradients, ``"direction"`` for the
    others): ``series`` (its name), ``across, up`` (its tip's x and y as drawn), ``heading``
    (the tip's marker angle, degrees clockwise from up), ``norm`` (its true length), ``w_regression,
    w_classification, dot_regression, dot_classification`` (NaN for the gradients). With
    ``length="unit"`` every non-zero arrow is drawn 1 long; with ``"true"`` to scale, the longest
    1 long. A zero vector has no arrow. Cone rows: :func:`cone_frame`. Everything is turned by
    :func:`display_turn` (the gradients' bisector up).
    """
    turn = display_turn(plane)
    rotate = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    names = ["g " + t for t in TASKS] + [e.direction.label for e in effects]
    layers = ["gradient", "gradient"] + ["direction"] * len(effects)
    vectors = [plane.coords[0], plane.coords[1]] + [np.asarray(e.direction.vector) for e in effects]
    norms = np.array([float(np.hypot(*v)) for v in vectors])
    nan = float("nan")
    weights = [(nan, nan)] * 2 + [e.direction.weights for e in effects]
    dots = [(nan, nan)] * 2 + [e.dots for e in effects]
    longest = norms.max() if len(norms) and norms.max() > 0 else 1.0
    rows = []
    for name, layer, v, n, w, dot in zip(names, layers, vectors, norms, weights, dots, strict=True):
        if n == 0:
            continue
        scale = 1.0 / n if length == "unit" else 1.0 / longest
        x, y = (float(c) for c in rotate @ (np.asarray(v, dtype=float) * scale))
        rows.append(
            {
                "layer": layer,
                "series": name,
                "across": x,
                "up": y,
                "heading": (90.0 - math.degrees(math.atan2(y, x))) % 360.0,
                "norm": float(n),
                "w_regression": float(w[0]),
                "w_classification": float(w[1]),
                "dot_regression": float(dot[0]),
                "dot_classification": float(dot[1]),
            }
        )
    arrows = pd.DataFrame(rows)
    return pd.concat([arrows, cone_frame(plane, turn=turn)], ignore_index=True)
