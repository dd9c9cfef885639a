"""Nash-MTL: the Nash bargaining solution between the tasks, ``G alpha = 1 / alpha``.

Navon, A., Shamsian, A., Achituve, I., Maron, H., Kawaguchi, K., Chechik, G. & Fetaya, E. (2022).
*Multi-Task Learning as a Bargaining Game*. ICML 2022 (arXiv:2202.01017); official code
github.com/AvivNavon/nash-mtl, also in LibMTL (``Nash_MTL``).

The tasks bargain over the update ``d = sum_t alpha_t g_t`` within a ball; the Nash bargaining
solution maximises ``sum_t log(g_t . d)``, and its optimality condition is, for ``alpha > 0``::

    G alpha = 1 / alpha          (elementwise),   G = J J^T / ||J J^T||_F        [K, T]

so every task's improvement ``g_t . d = 1 / alpha_t`` is inversely proportional to its weight,
and the solution does not depend on the gradients' overall scale. For two tasks it is in closed
form: with ``n_t = |g_t|`` (of the normalised Gram) and ``c = cos(g_1, g_2)``,
``alpha_t = 1 / (n_t sqrt(1 + c))``, i.e. ``d = (u_1 + u_2) / sqrt(1 + c)`` with unit ``u_t``.

What we keep of the official code / LibMTL:

* the normalisation of ``G`` by its Frobenius norm (``normalization_factor``), so the weights are
  those the official code applies;
* the weights multiply the losses (``backward()`` on ``sum_t alpha_t L_t``): heads are scaled too
  (``combines = "losses"``);
* ``update_weights_every = 1`` (its default): new weights at every step.

What we do not keep: the official solver approximates the solution by up to ``optim_niter = 20``
sequential convex (cvxpy/ECOS) problems warm-started from the previous step's weights; we solve
the equation itself, by the batched damped Newton solver of
:func:`mtl.weighting.fairgrad.solve_power_equation` (exponent 1), so the weights are a pure
function of this step's gradients (what the official iterations converge to). The official code
then clips the shared gradient's norm at ``max_norm = 1.0``: that belongs to the optimizer, and
we do not clip. Degenerate cases (a zero gradient, opposite gradients) follow that solver.
"""

from __future__ import annotations

import torch

from mtl.weighting.base import WeightingMethod
from mtl.weighting.fairgrad import solve_power_equation
from mtl.weighting.gradient import gram_matrix


def nash_mtl_weights(grads: torch.Tensor, *, gram: torch.Tensor | None = None) -> torch.Tensor:
    """Nash-MTL weights ``[..., T]``: ``G alpha = 1/alpha`` with ``G`` normalised by ``||G||_F``."""
    G = gram if gram is not None else gram_matrix(grads)
    norm = torch.linalg.matrix_norm(G)
    G = G / torch.where(norm > 0, norm, 1.0)[..., None, None]
    return solve_power_equation(G, 1.0).to(grads.dtype)


class NashMTL(WeightingMethod):
    """Nash-MTL (Navon et al., 2022): the bargaining solution ``G alpha = 1/alpha``."""

    name = "nash_mtl"
    label = "Nash-MTL"
    citation = (
        "Navon, Shamsian, Achituve, Maron, Kawaguchi, Chechik & Fetaya (2022), Multi-Task "
        "Learning as a Bargaining Game, ICML (arXiv:2202.01017)."
    )
    kind = "gradient"
    combines = "losses"
    explanation = (
        "Nash-MTL lets the tasks bargain over the update direction. The agreed direction "
        "maximises the product of the tasks' improvements, which makes every task's improvement "
        "inversely proportional to its weight: no task can be sacrificed entirely, and a task "
        "with a small gradient gets a large weight. The result does not depend on the gradients' "
        "overall scale, and the weights multiply the losses."
    )
    formula = (
        r"G\,\alpha = 1/\alpha\ \ (\text{elementwise},\ \alpha > 0),\qquad "
        r"G = \frac{J J^{\top}}{\lVert J J^{\top} \rVert_F},\qquad d = \sum_t \alpha_t\, g_t"
    )

    @classmethod
    def from_grads(
        cls, grads: torch.Tensor, gram: torch.Tensor | None = None, **hparams: object
    ) -> torch.Tensor:
        """Nash-MTL weights ``[..., T]`` from ``grads [..., T, P]`` (it has no hyper-parameters)."""
        cls.check_params(hparams)
        return nash_mtl_weights(grads, gram=gram)
