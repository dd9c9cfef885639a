"""Tchebycheff and smooth Tchebycheff (STCH) scalarisation: preferences, not linear weights.

Tchebycheff: Miettinen, K. (1999). *Nonlinear Multiobjective Optimization*, Kluwer (the weighted
Tchebycheff problem, section 3.4); Zhang, Q. & Li, H. (2007). *MOEA/D: A Multiobjective
Evolutionary Algorithm Based on Decomposition*, IEEE Trans. Evol. Comput. 11(6), eq. (2).
Smooth Tchebycheff: Lin, X., Zhang, X., Yang, Z., Liu, F., Wang, Z. & Zhang, Q. (2024). *Smooth
Tchebycheff Scalarization for Multi-Objective Optimization*, ICML 2024 (arXiv:2402.19078), eq. (5).

The configured weights ``p = (p_1, ..., p_T)`` (the sidebar's, or a sweep's ``(alpha, 1 - alpha)``)
are read as a **preference**, not as loss weights. With each loss normalised, ``x_t = L_t / n_t``,
and a reference (ideal) point ``z``, the member minimises::

    Tchebycheff:  max_t p_t (x_t - z_t)
    STCH:         mu log sum_t exp(p_t (x_t - z_t) / mu)       (-> the max as mu -> 0)

A weighted sum ``sum_t p_t L_t`` only reaches the points of the Pareto front where the front is
convex (its supporting lines); the Tchebycheff problem has every Pareto-optimal point as the
minimiser for some ``p`` (Miettinen 1999, Theorem 3.4.5), so a sweep over ``p`` can reach the
balanced points of a non-convex front that no linear weights reach.

Both are loss weightings (``kind = "loss"``, ``combines = "losses"``): the gradient of the
scalarised objective is ``sum_t w_t grad L_t`` with

* Tchebycheff (a subgradient): ``w_t = p_t / n_t`` for the task(s) attaining the max, 0 for the
  others; on an exact tie the max's subgradient is split equally between the tied tasks (the
  ``mu -> 0`` limit of STCH);
* STCH: ``w_t = softmax_t(p_t (x_t - z_t) / mu) * p_t / n_t`` (computed with a stable softmax).

Normalisation (``normalize``): ``"initial"`` divides each task's loss by the member's own loss of
that task on its first optimisation step (``n_t = L_t`` at step 0, so every ``x_t`` starts at 1),
which makes an MSE in squared target units and a cross-entropy in nats comparable; ``"none"`` uses
the raw losses (``n_t = 1``). A first-step loss of 0 (or below ``1e-12``) is taken as ``1e-12``.

Reference point (``reference``), in normalised units:

* ``"zero"``: ``z_t = 0``, the ideal point of non-negative losses (the default).
* ``"best_seen"``: MOEA/D's running ideal point: ``z_t`` is the lowest ``x_t`` the member has had
  on any step so far, this step included (so every term is ``>= 0``); it moves only down.

(The member's *initial* losses are not offered as a reference point: below the starting point
every term ``p_t (x_t - z_t)`` is negative, and the max then favours the task with the *smaller*
preference, inverting the preference. They serve as the normalisation instead.)

LibMTL's ``STCH`` (after Lin et al.'s code) differs: it averages the losses over a warm-up epoch
for its nadir vector, takes ``log`` of the normalised losses, and multiplies by ``T``; here the
paper's eq. (5) is used as written, on losses normalised by their first step.

State per member (float64): the first-step losses ``n [K, T]`` and, for ``"best_seen"``, the
running minimum ``[K, T]``; both are set in :meth:`after_step`, and :meth:`weights` previews them
on the first step, so a member's weights depend on its own losses only (a population member
equals its solo run).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.limits import Range
from mtl.weighting.base import MethodContext, WeightingMethod
from mtl.weighting.hparams import HParam

FLOOR = 1e-12
"""First-step losses below this are taken as this value in the normalisation."""

_NORMALIZE = HParam(
    "normalize",
    "initial",
    label="Loss normalisation",
    help="'initial' divides each task's loss by its value on the member's first step, so both "
    "start at 1 and an MSE and a cross-entropy are comparable; 'none' uses the raw losses.",
    choices=("initial", "none"),
    choice_labels=("by the first step's loss", "none (raw losses)"),
)
_REFERENCE = HParam(
    "reference",
    "zero",
    label="Reference point z*",
    help="The ideal point the distances are measured from, in normalised units: 'zero' (losses "
    "cannot go below 0) or 'best_seen', the lowest normalised loss each task has reached so far "
    "(MOEA/D's running ideal point).",
    choices=("zero", "best_seen"),
    choice_labels=("zero", "best seen so far"),
)


def tchebycheff_terms(
    losses: torch.Tensor, preference: torch.Tensor, scale: torch.Tensor, reference: torch.Tensor
) -> torch.Tensor:
    """``p_t (L_t / n_t - z_t)``, all ``[..., T]`` (broadcast), in float64."""
    x = losses.to(torch.float64) / scale
    return preference.to(torch.float64) * (x - reference)


def tchebycheff_weights(
    losses: torch.Tensor, preference: torch.Tensor, scale: torch.Tensor, reference: torch.Tensor
) -> torch.Tensor:
    """Subgradient weights of ``max_t p_t (L_t / n_t - z_t)`` with respect to ``L``: ``[..., T]``.

    ``p_t / n_t`` on the task(s) attaining the max (split equally on an exact tie), 0 elsewhere.
    """
    terms = tchebycheff_terms(losses, preference, scale, reference)
    top = terms == terms.amax(-1, keepdim=True)
    share = top.to(torch.float64) / top.sum(-1, keepdim=True).clamp_min(1)
    return share * preference.to(torch.float64) / scale


def stch_weights(
    losses: torch.Tensor,
    preference: torch.Tensor,
    scale: torch.Tensor,
    reference: torch.Tensor,
    mu: float,
) -> torch.Tensor:
    """Gradient of ``mu log sum_t exp(p_t (L_t / n_t - z_t) / mu)`` with respect to ``L``.

    ``softmax_t(p_t (L_t / n_t - z_t) / mu) * p_t / n_t``, ``[..., T]``, float64.
    """
    terms = tchebycheff_terms(losses, preference, scale, reference)
    return torch.softmax(terms / mu, dim=-1) * preference.to(torch.float64) / scale


class _Preference(WeightingMethod):
    """Shared state and plumbing of :class:`Tchebycheff` and :class:`STCH`."""

    kind = "loss"
    combines = "losses"
    uses_base_weights = True
    preference = True
    step_cost = 30e-6

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.normalize: str = self.params["normalize"]
        self.reference: str = self.params["reference"]
        self.scale: torch.Tensor | None = None  # n [K, T], float64, from the first step
        self.best: torch.Tensor | None = None  # running min of x [K, T], float64

    def _pending(self, losses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(n, z)`` ``[K, T]`` in force for a step with these ``losses`` (nothing is stored)."""
        raw = losses.detach().to(torch.float64)
        if self.normalize == "none":
            scale = torch.ones_like(raw)
        else:
            scale = self.scale if self.scale is not None else raw.clamp_min(FLOOR)
        if self.reference == "zero":
            return scale, torch.zeros_like(raw)
        x = raw / scale
        best = x if self.best is None else torch.minimum(self.best, x)
        return scale, best

    def _inputs(self, losses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Preference ``p``, normalisation ``n`` and reference ``z``, each ``[K, T]`` float64."""
        scale, reference = self._pending(losses)
        return self.ctx.base_weights.to(torch.float64), scale, reference

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """Keep the first step's losses (the normalisation) and the running ideal point."""
        scale, reference = self._pending(losses)
        if self.normalize != "none" and self.scale is None:
            self.scale = scale
        if self.reference == "best_seen":
            # a non-finite loss (a diverged member, frozen by the engine) never moves the ideal
            finite = torch.isfinite(reference)
            self.best = (
                reference if self.best is None else torch.where(finite, reference, self.best)
            )


class Tchebycheff(_Preference):
    """Weighted Tchebycheff scalarisation: minimise ``max_t p_t (L_t / n_t - z_t)``."""

    name = "tchebycheff"
    label = "Tchebycheff (preference)"
    citation = (
        "Miettinen (1999), Nonlinear Multiobjective Optimization, Kluwer, section 3.4; Zhang & "
        "Li (2007), MOEA/D: A Multiobjective Evolutionary Algorithm Based on Decomposition, IEEE "
        "Transactions on Evolutionary Computation 11(6)."
    )
    hparams: ClassVar[tuple[HParam, ...]] = (_NORMALIZE, _REFERENCE)
    explanation = (
        "The weights you set are read as a preference between the tasks, not as loss weights. "
        "Each loss is first divided by its value at the first step, so both start at 1. At "
        "every step the model then works only on the task that is worst off: the one whose "
        "normalised loss, times its preference, is largest (the distance from the reference "
        "point). The tasks thus end up balanced in the proportion the preference asks for. "
        "Unlike a weighted sum, a sweep of preferences can reach every Pareto-optimal trade-off, "
        "including the balanced ones in a dent of a non-convex front."
    )
    formula = (
        r"\min\ \max_t\ p_t \Big(\frac{L_t}{n_t} - z_t\Big), \qquad "
        r"w_t = \frac{p_t}{n_t}\,[t = \arg\max_s p_s (L_s / n_s - z_s)]"
    )

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``[K, T]``: ``p_t / n_t`` on the worst-off task (split on a tie), 0 elsewhere."""
        p, n, z = self._inputs(losses)
        return tchebycheff_weights(losses, p, n, z).to(losses.dtype)


class STCH(_Preference):
    """Smooth Tchebycheff (Lin et al., 2024): ``mu log sum_t exp(p_t (L_t / n_t - z_t) / mu)``."""

    name = "stch"
    label = "Smooth Tchebycheff (STCH)"
    citation = (
        "Lin, Zhang, Yang, Liu, Wang & Zhang (2024), Smooth Tchebycheff Scalarization for "
        "Multi-Objective Optimization, ICML (arXiv:2402.19078)."
    )
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "mu",
            0.1,
            label="Smoothing (mu)",
            help="How soft the max is: near 0 the method is plain Tchebycheff (all weight on "
            "the worst-off task); larger values share the weight between the tasks.",
            range=Range(1e-3, 10.0),
        ),
        _NORMALIZE,
        _REFERENCE,
    )
    """``mu``: the smoothing parameter (0.1, a value the paper's experiments use)."""
    explanation = (
        "A smooth version of Tchebycheff: instead of working only on the worst-off task, every "
        "task gets a share of the step that grows exponentially with how far its normalised "
        "loss, times its preference, is from the reference point; mu sets how sharp the shares "
        "are. As mu goes to 0 it becomes plain Tchebycheff; it keeps its ability to reach "
        "trade-offs a weighted sum cannot, with a gradient that does not jump between tasks."
    )
    formula = (
        r"\min\ \mu \log \sum_t \exp\!\Big(\frac{p_t (L_t / n_t - z_t)}{\mu}\Big), \qquad "
        r"w_t = \operatorname{softmax}_t\!\Big(\frac{p_t (L_t / n_t - z_t)}{\mu}\Big) "
        r"\frac{p_t}{n_t}"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.mu: float = self.params["mu"]

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``[K, T]``: the soft-max shares of the distances, times ``p_t / n_t``."""
        p, n, z = self._inputs(losses)
        return stch_weights(losses, p, n, z, self.mu).to(losses.dtype)
