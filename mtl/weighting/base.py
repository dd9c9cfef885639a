"""The contract between the engine and a weighting method.

A method turns each member's task losses ``[K, T]`` and, if it reads them, the per-task gradients
on the shared parameters ``[K, T, P]`` into task weights ``[K, T]``, once per optimisation step.
A method class declares:

* ``kind``: what it reads. ``"loss"`` methods read the losses only; ``"gradient"`` methods read
  the per-task gradients (and their Gram matrix), GradNorm included.
* ``combines``: how the engine applies the weights. ``"losses"``: every parameter, shared or not,
  gets ``sum_t w_t g_t``, exactly what ``backward()`` on ``sum_t w_t L_t`` gives (loss-based
  methods and GradNorm). ``"gradients"``: the shared parameters get the method's combination
  ``(w.unsqueeze(-1) * G).sum(-2)`` (the TorchJD convention) and each head its own task's
  gradient scaled by :meth:`WeightingMethod.head_weights` (ones by default): PCGrad, MGDA, CAGrad,
  IMTL, whose weights only resolve the conflict on the shared parameters.
* ``hparams``: one :class:`~mtl.weighting.hparams.HParam` per hyper-parameter (default, range or
  named choices, label, help). The constructor takes its values from there.
* For gradient methods with a pure form, ``from_grads(grads, gram=None, **hparams)``: weights
  from gradients alone, what :func:`mtl.weighting.gradient_weights` dispatches to.

Per step the engine:

1. computes every task's loss and its gradient on all parameters, for every member, in one
   forward pass and one backward pass per task (see :mod:`mtl.engine`), and, for a
   ``"gradient"`` method, the float64 Gram matrix ``G G^T [K, T, T]`` of the shared gradients,
   once (the conflict diagnostics reuse it);
2. asks for ``w = method.weights(losses, grads, step, gram=gram)``: this reads the method's state
   and never changes it, so calling it twice gives the same weights;
3. updates the parameters as ``combines`` says;
4. calls ``method.after_step(losses, grads, gram=gram)`` with the same inputs, where stateful
   methods update (GradNorm's weights, FAMO's logits, learned log-variances), and, at the end of
   each epoch, ``method.epoch_end(epoch, mean_losses)``. The engine never writes attributes onto a
   method.

State lives on the method object, created once per population, vectorised over members.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from mtl.weighting.gradient import gram_matrix
from mtl.weighting.hparams import HParam, check_params


@dataclass(frozen=True)
class MethodContext:
    """What a method may know about the population it weights.

    Attributes:
        n_members: K.
        n_tasks: T.
        base_weights: ``[K, T]`` the configured static weights of each member.
        seeds: ``[K]`` int64 member seeds, for methods that draw random numbers.
        lr: the model optimizer's learning rate (methods with learnable state may use it): one
            float, or in a mixed population whose members differ in it a ``[K, 1]`` float64
            tensor of each member's rate (arithmetic with it broadcasts over the tasks).
        optimizer: ``"sgd"`` or ``"adam"``, the model optimizer's kind.
        last_shared: the slice of the flattened shared-parameter axis P that holds the last shared
            layer (GradNorm measures gradient norms there).
        steps_per_epoch: optimisation steps in one epoch.
    """

    n_members: int
    n_tasks: int
    base_weights: torch.Tensor
    seeds: torch.Tensor
    lr: float | torch.Tensor
    optimizer: str
    last_shared: slice
    steps_per_epoch: int


class WeightingMethod:
    """Base class: static behaviour, the hyper-parameter plumbing and the hooks' defaults.

    Subclasses set the class attributes, declare their hyper-parameters in ``hparams``, read
    their values from ``self.params`` (defaults filled in, validated) and override
    :meth:`weights` and, when stateful, :meth:`after_step` / :meth:`epoch_end`.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    step_cost: ClassVar[float] = 250e-6
    """The method's own fixed seconds per optimizer step, beyond the engine's work, for the work
    budget (:mod:`mtl.budget`); measured by ``bench/bench_budget.py --fit``. The default is a
    cautious figure for a method not yet measured."""
    kind: ClassVar[Literal["loss", "gradient"]] = "loss"
    """What the method reads: the losses alone, or the per-task gradients too."""
    combines: ClassVar[Literal["losses", "gradients"]] = "losses"
    """How the engine applies the weights: as loss weights on every parameter (``backward()`` on
    the weighted sum), or as the combination of the shared gradients (see the module docs)."""
    uses_base_weights: ClassVar[bool] = False
    """Whether the configured static weights mean anything to this method."""
    hparams: ClassVar[tuple[HParam, ...]] = ()
    """The method's hyper-parameters, each declared once."""
    from_grads: ClassVar[Callable[..., torch.Tensor] | None] = None
    """For gradient methods with a pure form: ``from_grads(grads, gram=None, **hparams)`` ->
    weights ``[..., T]`` (a staticmethod or classmethod); what ``gradient_weights`` calls."""
    gradients_of: str = "parameters"
    """Which per-task gradients :meth:`weights` receives: ``"parameters"`` (the shared
    parameters, ``[K, T, P]``) or ``"representation"`` (the shared representation, the output of
    the shared layers over the batch, ``[K, T, N * H]``: MGDA-UB). The update always combines the
    parameter gradients. An instance may set it from its hyper-parameters."""
    explanation: ClassVar[str] = ""
    """A few plain sentences for learners, which the page shows beside the method."""
    formula: ClassVar[str] = ""
    """The method's weighting or update rule as a LaTeX string, which the page renders."""

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        """Validate ``params`` against :attr:`hparams` and fill in the declared defaults.

        Raises:
            ConfigError: an unknown hyper-parameter or a value not allowed (wrong type included).
        """
        self.ctx = ctx
        self.params: dict[str, Any] = self.resolve_params(params)

    @classmethod
    def hparam(cls, name: str) -> HParam:
        """The declaration of hyper-parameter ``name`` (``KeyError`` if there is none)."""
        for h in cls.hparams:
            if h.name == name:
                return h
        raise KeyError(name)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """``{name: default}`` of every declared hyper-parameter, in declaration order."""
        return {h.name: h.default for h in cls.hparams}

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """Raise :class:`ConfigError` for an unknown hyper-parameter or a value not allowed."""
        check_params(cls.label or cls.name, cls.hparams, params)

    @classmethod
    def resolve_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Checked ``params`` over the defaults, each in its canonical type (int, float, ...)."""
        cls.check_params(params)
        merged = cls.defaults() | params
        return {h.name: h.normalise(merged[h.name]) for h in cls.hparams}

    @staticmethod
    def gram_of(grads: torch.Tensor, gram: torch.Tensor | None) -> torch.Tensor:
        """``gram`` when the engine passed it, else the float64 Gram matrix of ``grads``."""
        return gram if gram is not None else gram_matrix(grads)

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Task weights ``[K, T]`` for this step; reads the state and never changes it.

        Args:
            losses: ``[K, T]`` the members' task losses on this step's batch (detached).
            grads: ``[K, T, P]`` the per-task gradients on the flattened shared parameters (or
                the shared representation, see :attr:`gradients_of`).
            step: the global step index, from 0.
            gram: ``[K, T, T]`` float64 ``grads @ grads^T``, computed once by the engine for
                ``"gradient"`` methods; ``None`` means compute it from ``grads`` if needed.
        """
        raise NotImplementedError

    def head_weights(self, weights: torch.Tensor) -> torch.Tensor:
        """Weights ``[K, T]`` on each task's gradient on its own head, given this step's weights.

        By default the task weights when the method combines losses (what ``backward()`` on
        ``sum_t w_t L_t`` gives) and ones when it combines gradients, whose weights only combine
        the shared gradients. A method that also rescales losses (IMTL-L) overrides it.
        """
        return torch.ones_like(weights) if self.combines == "gradients" else weights

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """Called after each optimisation step with that step's inputs to :meth:`weights`.

        ``losses`` ``[K, T]``; ``grads`` and ``gram`` as :meth:`weights` received them (a method
        that learns from gradients needs ``grads``). Stateful methods update here.
        """

    def epoch_end(self, epoch: int, mean_losses: torch.Tensor) -> None:
        """Called after epoch ``epoch`` (from 1) with its ``[K, T]`` mean training losses."""
