"""The Learn mode's steps: what each one sets up, what it says, and the figures it quotes.

All of the Learn mode's words live here; :mod:`ui.learn` only draws them. A step is a
:class:`Step`: a title, a short explanation (no result figures in it), the state its button
puts the page in (a configuration built from the core's presets, view switches, the tab to open,
and for two steps the sweep or tuned face-off to run), and three functions:

- ``figures(evidence)``: the numbers, read from the run on screen and from what the step's state
  computed (:class:`Evidence`): never typed in;
- ``claim(figures)``: the paragraph that quotes them (its wording follows the figures, so it
  stays true whatever they are);
- ``holds(figures)``: whether the step's lesson ("loss scales differ", "α trades one task for
  the other", ...) shows on these figures. The tests assert it on the core's own results, so a
  change to a preset that breaks a lesson fails a test instead of teaching something false.

No Streamlit here: the tests call these functions with results trained by the core.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import mtl
from mtl.compare import TunedFaceOff, pareto_front
from mtl.results import summary_split
from mtl.weighting import METHODS

Figures = dict[str, float]
"""A step's numbers by name."""

ALPHA_IS = "α\u00a0=\u00a0"
"""``α = `` with no-break spaces, so a narrow screen never breaks a line inside ``α = 0.5``."""


@dataclass(frozen=True)
class SweepPlan:
    """The weight sweep a step runs: ``points`` values of α on ``grid``, ``seeds`` seeds."""

    points: int
    seeds: int
    grid: str = "even"


@dataclass(frozen=True)
class TunedPlan:
    """The tuned face-off a step runs: these methods over ``seeds`` seeds."""

    methods: tuple[str, ...]
    seeds: int


@dataclass(frozen=True)
class Evidence:
    """What a step's figures are read from.

    ``result`` is the run on screen; ``companions`` the step's extra single runs (same data,
    one setting changed), by name; ``sweep`` and ``tuned`` the step's sweep or tuned face-off.
    """

    result: mtl.Result
    companions: Mapping[str, mtl.Result] = field(default_factory=dict)
    sweep: mtl.Result | None = None
    tuned: TunedFaceOff | None = None


@dataclass(frozen=True)
class Step:
    """One step of the Learn mode (see the module docstring)."""

    label: str
    """Short name on the step picker."""
    title: str
    intro: str
    """What the step is about: general facts, no figures of a result."""
    look: str
    """Where on the page to look once the step is set up."""
    button_help: str
    preset: str
    """The preset the step's configuration starts from (shown in the preset box)."""
    config: mtl.RunConfig
    figures: Callable[[Evidence], Figures]
    claim: Callable[[Figures], str]
    holds: Callable[[Figures], bool]
    view: Mapping[str, Any] = field(default_factory=dict)
    """``view.*`` switches the button sets (how the run is drawn, not the run)."""
    tab: str | None = None
    """The detail tab the button opens."""
    companions: Mapping[str, mtl.RunConfig] = field(default_factory=dict)
    sweep: SweepPlan | None = None
    tuned: TunedPlan | None = None


# ---------------------------------------------------------------- reading results


def _train_start(result: mtl.Result, epoch: int) -> pd.Series:
    """Member 0's raw loss of each component on the training rows at ``epoch``."""
    h = result.history
    rows = h[(h["member"] == 0) & (h["split"] == "train") & (h["epoch"] == epoch)]
    return rows.set_index("component")["loss"]


def _diagnostic(result: mtl.Result, name: str) -> pd.Series:
    """Member 0's diagnostic ``name`` over the logged epochs (NaNs dropped)."""
    d = result.diagnostics
    return d[(d["member"] == 0) & (d["diagnostic"] == name)]["value"].dropna()


def final_figures(result: mtl.Result) -> tuple[float, float]:
    """Member 0's final MSE and accuracy on the summary's split (test, or train without one)."""
    summary = result.summary
    split = summary_split(summary)
    row = summary.iloc[0]
    return float(row[f"{split}_mse"]), float(row[f"{split}_accuracy"])


def final_weights(result: mtl.Result) -> tuple[float, float]:
    """Member 0's regression and classification weights in force in the last epoch."""
    h = result.history
    last = h[(h["member"] == 0) & (h["split"] == "train") & (h["epoch"] == h["epoch"].max())]
    weights = last.set_index("component")["weight"]
    return float(weights["regression"]), float(weights["classification"])


def sweep_means(summary: pd.DataFrame, alpha: float) -> tuple[float, float]:
    """Mean final MSE and accuracy over the seeds of the sweep's members at ``alpha``."""
    split = summary_split(summary)
    rows = summary[np.isclose(summary["w_regression"], alpha)]
    return float(rows[f"{split}_mse"].mean()), float(rows[f"{split}_accuracy"].mean())


def _times(value: float) -> str:
    """A factor as the steps write it: three significant digits, whole numbers from 1,000."""
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _mse(value: float) -> str:
    return f"{value:#.3g}"


# ---------------------------------------------------------------- 1. loss scales


def scales_figures(evidence: Evidence) -> Figures:
    """Regression / classification loss at the start and the end, and regression's share.

    ``share`` is regression's weighted gradient norm over the sum of both on the shared
    parameters before the first step: how much of the shared update it makes.
    """
    result = evidence.result
    start = _train_start(result, 0)
    end = _train_start(result, int(result.history["epoch"].max()))
    g_reg = float(_diagnostic(result, "weighted_grad_norm_regression").iloc[0])
    g_cls = float(_diagnostic(result, "weighted_grad_norm_classification").iloc[0])
    return {
        "start_ratio": float(start["regression"] / start["classification"]),
        "end_ratio": float(end["regression"] / end["classification"]),
        "share": g_reg / (g_reg + g_cls),
        "alpha": float(result.config.weighting.weights[0]),
        "epochs": float(result.config.epochs),
    }


def scales_holds(f: Figures) -> bool:
    """The losses differ more than 10x and equal weights give one task over 90% of the update."""
    return f["start_ratio"] > 10 and (f["share"] > 0.9 or f["share"] < 0.1)


def scales_claim(f: Figures) -> str:
    """Step 1's paragraph."""
    text = (
        f"Before training, regression's loss is {_times(f['start_ratio'])}× classification's; "
        f"after {f['epochs']:.0f} epochs it is {_times(f['end_ratio'])}×. At {ALPHA_IS}"
        f"{f['alpha']:g}, regression makes {_pct(f['share'])} of the first step's shared update "
        "(its weighted gradient's share of the two). "
    )
    if scales_holds(f):
        return text + (
            "Equal weights do not give the tasks an equal say: the larger loss decides. The "
            "'Balanced start' box under the weights divides each weight by its task's first "
            "loss; try it."
        )
    return text + "Here the scales are close enough that the weights give each task a fair say."


# ---------------------------------------------------------------- 2. alpha


ALPHA_LOW, ALPHA_HIGH = 0.1, 0.9
"""The two weightings step 2 compares (α on screen is the high one)."""


def alpha_figures(evidence: Evidence) -> Figures:
    """Final MSE and accuracy at α high (on screen) and α low (the companion run)."""
    mse_hi, acc_hi = final_figures(evidence.result)
    mse_lo, acc_lo = final_figures(evidence.companions["low"])
    return {
        "alpha_high": float(evidence.result.config.weighting.weights[0]),
        "alpha_low": float(evidence.companions["low"].config.weighting.weights[0]),
        "mse_high": mse_hi,
        "acc_high": acc_hi,
        "mse_low": mse_lo,
        "acc_low": acc_lo,
    }


def trades(mse_low: float, acc_low: float, mse_high: float, acc_high: float) -> bool:
    """More weight on regression lowered the MSE and lowered the accuracy: a trade."""
    return mse_high < mse_low and acc_high < acc_low


def alpha_holds(f: Figures) -> bool:
    """Moving α up traded accuracy for MSE."""
    return trades(f["mse_low"], f["acc_low"], f["mse_high"], f["acc_high"])


def alpha_claim(f: Figures) -> str:
    """Step 2's paragraph."""
    text = (
        f"On screen, {ALPHA_IS}{f['alpha_high']:g}: test MSE {_mse(f['mse_high'])}, test accuracy "
        f"{_pct(f['acc_high'])}. The same run at {ALPHA_IS}{f['alpha_low']:g} (trained for this "
        f"text, nothing else changed): test MSE {_mse(f['mse_low'])}, accuracy "
        f"{_pct(f['acc_low'])}. "
    )
    if alpha_holds(f):
        return text + (
            f"Moving α from {f['alpha_low']:g} to {f['alpha_high']:g} cut the MSE "
            f"{_times(f['mse_low'] / f['mse_high'])}× and cost "
            f"{100 * (f['acc_low'] - f['acc_high']):.1f} points of accuracy: the one shared "
            "unit serves the task with the larger weight. Move the α slider to see the values "
            "between."
        )
    return text + "Here α did not trade one task for the other."


# ---------------------------------------------------------------- 3. sweep


def sweep_figures(evidence: Evidence) -> Figures:
    """The sweep's means at α low and high, and its Pareto front (size and α range)."""
    assert evidence.sweep is not None
    summary = evidence.sweep.summary
    split = summary_split(summary)
    front = summary[pareto_front(summary, f"{split}_mse", f"{split}_accuracy")]
    mse_lo, acc_lo = sweep_means(summary, ALPHA_LOW)
    mse_hi, acc_hi = sweep_means(summary, ALPHA_HIGH)
    return {
        "members": float(len(summary)),
        "points": float(summary["w_regression"].nunique()),
        "seeds": float(summary["seed"].nunique()),
        "mse_low": mse_lo,
        "acc_low": acc_lo,
        "mse_high": mse_hi,
        "acc_high": acc_hi,
        "front": float(len(front)),
        "front_alpha_min": float(front["w_regression"].min()),
        "front_alpha_max": float(front["w_regression"].max()),
    }


def sweep_holds(f: Figures) -> bool:
    """The sweep's means trade one task for the other, and more than one member is on the front."""
    return trades(f["mse_low"], f["acc_low"], f["mse_high"], f["acc_high"]) and f["front"] > 1


def sweep_claim(f: Figures) -> str:
    """Step 3's paragraph."""
    text = (
        f"The sweep trained {f['members']:.0f} members ({f['points']:.0f} values of α × "
        f"{f['seeds']:.0f} seeds) at once. Mean over the seeds, {ALPHA_IS}{ALPHA_LOW:g}: test MSE "
        f"{_mse(f['mse_low'])}, accuracy {_pct(f['acc_low'])}; {ALPHA_IS}{ALPHA_HIGH:g}: MSE "
        f"{_mse(f['mse_high'])}, accuracy {_pct(f['acc_high'])}. "
        f"{f['front']:.0f} members are on the Pareto front (outlined), with α from "
        f"{f['front_alpha_min']:.2f} to {f['front_alpha_max']:.2f}: none of them is better at "
        "both tasks than another. "
    )
    if sweep_holds(f):
        return text + (
            "No α wins both: choosing the weights is choosing a point on this front, so decide "
            "which task matters more."
        )
    return text + "Here one weighting comes close to winning both."


# ---------------------------------------------------------------- 4. gradient conflict


def conflict_figures(evidence: Evidence) -> Figures:
    """The cosine and norm ratios of the run on screen (MGDA), and three runs' final figures."""
    result = evidence.result
    cosine = _diagnostic(result, "cosine")
    w_reg, w_cls = final_weights(result)
    figures: Figures = {
        "conflict": float((cosine < 0).mean()),
        "cosine": float(cosine.median()),
        "raw_ratio": float(_diagnostic(result, "norm_ratio").median()),
        "weighted_ratio": float(_diagnostic(result, "weighted_norm_ratio").median()),
        "w_reg": w_reg,
        "w_cls": w_cls,
    }
    figures["static_alpha"] = float(evidence.companions["static"].config.weighting.weights[0])
    runs = {"mgda": result, **evidence.companions}
    for name in ("static", "pcgrad", "mgda"):
        figures[f"{name}_mse"], figures[f"{name}_acc"] = final_figures(runs[name])
    return figures


def conflict_holds(f: Figures) -> bool:
    """The gradients conflict in most epochs, and MGDA evens out the weighted gradients.

    MGDA gives less weight to the task whose gradient is larger, so the weighted ratio lies
    nearer 1 than the raw one.
    """
    leans = (f["raw_ratio"] > 1) == (f["w_reg"] < f["w_cls"])
    evens = abs(math.log(f["weighted_ratio"])) < abs(math.log(f["raw_ratio"]))
    return f["conflict"] > 0.5 and leans and evens


def conflict_claim(f: Figures) -> str:
    """Step 4's paragraph."""
    larger = "regression" if f["raw_ratio"] > 1 else "classification"
    ratio = f["raw_ratio"] if f["raw_ratio"] > 1 else 1 / f["raw_ratio"]
    less = "regression" if f["w_reg"] < f["w_cls"] else "classification"
    lean = "less" if less == larger else "more"
    text = (
        f"The cosine between the two tasks' gradients on the shared layers is below 0 in "
        f"{f['conflict']:.0%} of the epochs (median {f['cosine']:.2f}): a step that helps one "
        "task hurts the other. MGDA, on screen, steps along the shortest weighted average of "
        f"the two gradients: its weights end at regression {f['w_reg']:.2f}, classification "
        f"{f['w_cls']:.2f}, {lean} for {larger}, whose gradient is {_times(ratio)}× larger "
        f"(median raw norm ratio); weighted, the ratio is {f['weighted_ratio']:#.3g}. PCGrad "
        "instead removes from each gradient the part that points against the other. Test MSE "
        f"and accuracy: static weights ({ALPHA_IS}{f['static_alpha']:g}) "
        f"{_mse(f['static_mse'])} and {_pct(f['static_acc'])}; "
        f"PCGrad {_mse(f['pcgrad_mse'])} and {_pct(f['pcgrad_acc'])}; "
        f"MGDA {_mse(f['mgda_mse'])} and {_pct(f['mgda_acc'])}. "
    )
    bought = all(
        f[f"{m}_acc"] > f["static_acc"] and f[f"{m}_mse"] > f["static_mse"]
        for m in ("pcgrad", "mgda")
    )
    if bought:
        text += (
            "Both bought accuracy with MSE: they moved along the trade-off. Whether they beat it "
            "is step 5's question."
        )
    return text


# ---------------------------------------------------------------- 5. tuned face-off


FACE_OFF_METHODS: tuple[str, ...] = ("uncertainty", "pcgrad", "mgda")
"""The dynamic methods step 5 tunes against the static front."""


def face_off_figures(evidence: Evidence) -> Figures:
    """How many methods land beyond, on and behind the tuned static front, and the protocol."""
    assert evidence.tuned is not None
    outcome = evidence.tuned
    where = outcome.table["front"].value_counts()
    return {
        "methods": float(len(outcome.table)),
        "alphas": float(len(outcome.front)),
        "rates": float(len(outcome.lrs)),
        "seeds": float(len(outcome.seeds)),
        "validation": float(outcome.n_validation),
        "beyond": float(where.get("beyond", 0)),
        "on": float(where.get("on", 0)),
        "behind": float(where.get("behind", 0)),
    }


def face_off_holds(f: Figures) -> bool:
    """No dynamic method lands beyond the tuned static front."""
    return f["beyond"] == 0


def face_off_claim(f: Figures) -> str:
    """Step 5's paragraph."""
    labels = ", ".join(METHODS[m].label for m in FACE_OFF_METHODS)
    text = (
        f"Each of the {f['methods']:.0f} methods ({labels}) and each of the {f['alphas']:.0f} "
        f"static α values trained at {f['rates']:.0f} learning rates over {f['seeds']:.0f} "
        f"seeds and kept its best rate, chosen on {f['validation']:.0f} validation rows. "
        f"Against the tuned static front: {f['beyond']:.0f} beyond it, {f['on']:.0f} on it "
        f"within seed noise, {f['behind']:.0f} behind it. "
    )
    if face_off_holds(f):
        return text + (
            f"None of these {f['methods']:.0f} beats a tuned static α here: before crediting a "
            "dynamic method, tune the static weights and the learning rate as carefully."
        )
    return text + "Here a dynamic method beats every tuned static α, beyond seed noise."


# ---------------------------------------------------------------- the steps


SWEEP_PLAN = SweepPlan(points=11, seeds=3)
"""Step 3's sweep: α = 0, 0.1, ..., 1, so both α of step 2 are on its grid."""
TUNED_PLAN = TunedPlan(methods=FACE_OFF_METHODS, seeds=3)
"""Step 5's tuned face-off."""


def _steps() -> tuple[Step, ...]:
    tradeoff = mtl.preset("tradeoff")
    return (
        Step(
            label="1 Scales",
            title="1. Loss scales differ",
            intro="A mean squared error is in the target's squared units; a cross-entropy of "
            "a fair guess between two classes is about 0.69. Summed with equal weights, the "
            "larger loss usually makes most of the gradient.",
            look="the loss chart under the metrics, with Components: Raw and Log scale on; "
            "and the callout below it.",
            button_help="Load the 'Linear toy, done right' preset and draw its raw losses on a "
            "log scale.",
            preset="linear",
            config=mtl.preset("linear"),
            view={"view.mode": "raw", "view.log": True},
            tab="Losses",
            figures=scales_figures,
            claim=scales_claim,
            holds=scales_holds,
        ),
        Step(
            label="2 Weights",
            title="2. Weighting trades one task for the other",
            intro=f"Two tasks {tradeoff.data.angle:g}° apart share a single "
            f"{tradeoff.model.activation} unit trained with plain SGD: the unit can follow only "
            "one task's direction, and α decides which.",
            look="the test MSE and accuracy at the top; then move the α slider in the sidebar.",
            button_help=f"Load the 'Trade-off' preset at α = {ALPHA_HIGH:g}; the run at "
            f"α = {ALPHA_LOW:g} is trained for comparison (a fraction of a second).",
            preset="tradeoff",
            config=tradeoff.with_(**{"weighting.weights": (ALPHA_HIGH, 1 - ALPHA_HIGH)}),
            companions={"low": tradeoff.with_(**{"weighting.weights": (ALPHA_LOW, 1 - ALPHA_LOW)})},
            view={"view.mode": "weighted", "view.log": False},
            tab="Metrics",
            figures=alpha_figures,
            claim=alpha_claim,
            holds=alpha_holds,
        ),
        Step(
            label="3 Sweep",
            title="3. The sweep and its Pareto front",
            intro="A weight sweep trains one model per α (and per seed) in one batched "
            "population. A member is on the Pareto front when no other is better at both tasks.",
            look="the Weight sweep tab: the front chart, then MSE and accuracy against α.",
            button_help=f"Load the 'Trade-off' preset and run a weight sweep of "
            f"{SWEEP_PLAN.points} values of α × {SWEEP_PLAN.seeds} seeds (a few seconds).",
            preset="tradeoff",
            config=tradeoff,
            tab="Weight sweep",
            sweep=SWEEP_PLAN,
            figures=sweep_figures,
            claim=sweep_claim,
            holds=sweep_holds,
        ),
        Step(
            label="4 Conflict",
            title="4. Gradient conflict: PCGrad and MGDA",
            intro="When the tasks' gradients on the shared layers point apart, a step for one is "
            "a step against the other. Gradient-based methods look at both gradients before "
            "each step.",
            look="the Gradient conflict tab (the cosine and the norm ratios), then the Weights "
            "tab.",
            button_help="Load the 'Trade-off' preset with MGDA; static weights and PCGrad on the "
            "same data are trained for comparison (about a second).",
            preset="tradeoff",
            config=tradeoff.with_(**{"weighting.method": "mgda"}),
            companions={
                "static": tradeoff,
                "pcgrad": tradeoff.with_(**{"weighting.method": "pcgrad"}),
            },
            tab="Gradient conflict",
            figures=conflict_figures,
            claim=conflict_claim,
            holds=conflict_holds,
        ),
        Step(
            label="5 Face-off",
            title="5. A dynamic method against a tuned static sweep",
            intro="A fair comparison tunes everyone: each method and each static α gets the "
            "same learning rates and seeds, picks its rate on validation rows, and is judged on "
            "test rows with the seeds' noise shown.",
            look="the Method face-off tab (Tuned): the table's Static front column and the "
            "chart's dark line.",
            button_help="Load the 'Trade-off' preset and run the tuned face-off of "
            f"{', '.join(METHODS[m].label for m in TUNED_PLAN.methods)} over "
            f"{TUNED_PLAN.seeds} seeds (several seconds).",
            preset="tradeoff",
            config=tradeoff,
            tab="Method face-off",
            tuned=TUNED_PLAN,
            figures=face_off_figures,
            claim=face_off_claim,
            holds=face_off_holds,
        ),
    )


STEPS: tuple[Step, ...] = _steps()
"""The Learn mode's steps, in order."""
