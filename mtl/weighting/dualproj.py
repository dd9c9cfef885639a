"""DualProj: project the mean gradient onto the dual cone of the task gradients.

Quinton, P. & Rey, V. (2024). *Jacobian Descent for Multi-Objective Optimization*.
arXiv:2406.16232 (the TorchJD paper), where it serves as a baseline; the projection is
Equation 11 of Lopez-Paz, D. & Ranzato, M. (2017), *Gradient Episodic Memory for Continual
Learning*, NeurIPS 2017.

Update rule, for the ``[T, P]`` gradient matrix ``J`` and ``G = J J^T``::

    d = proj_cone(g_0),   g_0 = (1/T) sum_t g_t,   cone = {x : x . g_t >= 0 for every t}
    d = J^T v,            v = argmin_{v >= 1/T} v^T G v

the point of the dual cone nearest to the mean gradient: ``d . g_t >= 0`` for every task (no task
loss increases to first order), and ``d = g_0`` when ``g_0`` conflicts with no task. The weights
are ``v``; the solver is UPGrad's (:func:`mtl.weighting.upgrad.project_dual_cone`, exact active-set
enumeration for ``T <= 6``, closed forms for ``T = 2``), on the trace-normalised Gram matrix, so
the weights are scale-invariant.

TorchJD (0.18) ``DualProjWeighting`` solves the same QP with quadprog after a ``1e-4`` ridge on
the trace-normalised Gram matrix (see :mod:`mtl.weighting.upgrad`): with its defaults the two
differ by up to ``~1e-4`` relative; with a ``1e-12`` ridge they agree to solver rounding.

Shapes: ``grads [..., T, P] -> weights [..., T]``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.weighting.base import WeightingMethod
from mtl.weighting.gradient import gram_matrix
from mtl.weighting.hparams import HParam
from mtl.weighting.upgrad import project_dual_cone


def dualproj_weights(grads: torch.Tensor, gram: torch.Tensor | None = None) -> torch.Tensor:
    """DualProj weights: ``grads [..., T, P] -> weights [..., T]`` (see the module docstring).

    ``gram``: ``[..., T, T]`` float64 ``grads @ grads^T`` if already computed.
    """
    G = gram if gram is not None else gram_matrix(grads)
    T = G.shape[-1]
    mean = torch.full((1, T), 1.0 / T, dtype=G.dtype, device=G.device)
    return project_dual_cone(mean, G).squeeze(-2).to(grads.dtype)


class DualProj(WeightingMethod):
    """DualProj: the mean gradient projected onto the dual cone of the task gradients."""

    name = "dualproj"
    label = "DualProj"
    citation = (
        "Quinton & Rey (2024), Jacobian Descent for Multi-Objective Optimization, "
        "arXiv:2406.16232 (TorchJD); the projection of Lopez-Paz & Ranzato (2017), Gradient "
        "Episodic Memory for Continual Learning, NeurIPS."
    )
    kind = "gradient"
    combines = "gradients"
    hparams: ClassVar[tuple[HParam, ...]] = ()
    explanation = (
        "DualProj starts from the plain average of the task gradients. If that step would make "
        "some task worse, it moves the step to the nearest direction that makes no task worse "
        "(a direction with a non-negative dot product with every task gradient). Without "
        "conflict it is the plain mean."
    )
    formula = (
        r"d = \pi_C\Big(\frac{1}{T} \sum_t g_t\Big), \quad C = \{x : x \cdot g_t \ge 0\ "
        r"\forall t\}, \quad d = J^\top \arg\min_{v \ge \mathbf{1}/T} v^\top J J^\top v"
    )

    @classmethod
    def from_grads(
        cls, grads: torch.Tensor, gram: torch.Tensor | None = None, **hparams: Any
    ) -> torch.Tensor:
        """DualProj weights ``[..., T]`` from ``grads [..., T, P]`` (and their Gram, if known)."""
        cls.check_params(hparams)
        return dualproj_weights(grads, gram)
