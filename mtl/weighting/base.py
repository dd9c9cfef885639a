"""The contract between the engine and a weighting method.

A method turns each member's task losses ``[K, T]`` and per-task gradients on the shared
parameters ``[K, T, P]`` into task weights ``[K, T]``, once per optimisation step. The engine:

1. computes every task's loss and its gradient on all parameters, for every member, in one
   backward pass (see :meth:`mtl.models.PopulationModel.forward_per_task`);
2. asks the method for weights ``w = method.weights(losses, grads, step)``;
3. updates the shared parameters along ``(w.unsqueeze(-1) * grads).sum(-2)`` (the TorchJD
   convention) and each task head along its own task's gradient: scaled by ``w_t`` for
   loss-based methods (exactly what ``backward()`` on ``sum_t w_t L_t`` does), unscaled for
   gradient-based methods (``uses_gradients = True``), whose weights only resolve the conflict on
   the shared parameters;
4. calls ``method.after_step(losses)`` and, at the end of each epoch,
   ``method.epoch_end(epoch, mean_losses)`` so stateful methods (learned log-variances, loss
   histories, logits) update themselves. The engine never writes attributes onto a method.

State lives on the method object, created once per population, vectorised over members.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from mtl.config import Range
from mtl.errors import ConfigError


@dataclass(frozen=True)
class MethodContext:
    """What a method may know about the population it weights.

    Attributes:
        n_members: K.
        n_tasks: T.
        base_weights: ``[K, T]`` the configured static weights of each member.
        seeds: ``[K]`` int64 member seeds, for methods that draw random numbers.
        lr: the model optimizer's learning rate (methods with learnable state may use it).
        optimizer: ``"sgd"`` or ``"adam"``, the model optimizer's kind.
        last_shared: the slice of the flattened shared-parameter axis P that holds the last shared
            layer (GradNorm measures gradient norms there).
        steps_per_epoch: optimisation steps in one epoch.
    """

    n_members: int
    n_tasks: int
    base_weights: torch.Tensor
    seeds: torch.Tensor
    lr: float
    optimizer: str
    last_shared: slice
    steps_per_epoch: int


@functools.cache
def _declared_defaults(cls: type[WeightingMethod]) -> dict[str, Any]:
    """:meth:`WeightingMethod.defaults`, read from the signature once per class.

    Every ``WeightingSpec`` asks, and ``inspect.signature`` costs tens of microseconds.
    """
    parameters = inspect.signature(cls.__init__).parameters
    defaults: dict[str, Any] = {}
    for name, allowed in cls.hparams.items():
        default = parameters[name].default if name in parameters else inspect.Parameter.empty
        if default is inspect.Parameter.empty:
            default = allowed.clamp(allowed.lo)
        defaults[name] = int(default) if allowed.integer else float(default)
    return defaults


class WeightingMethod:
    """Base class: static behaviour and the hooks' defaults.

    Subclasses set the class attributes, declare their hyper-parameters in ``hparams`` (name ->
    allowed :class:`~mtl.config.Range`, defaults on the constructor), and override
    :meth:`weights` and, when stateful, :meth:`after_step` / :meth:`epoch_end`.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    uses_gradients: ClassVar[bool] = False
    """Gradient-based: the weights combine per-task gradients on the shared parameters only."""
    uses_base_weights: ClassVar[bool] = False
    """Whether the configured static weights mean anything to this method."""
    hparams: ClassVar[dict[str, Range]] = {}
    gradients_of: str = "parameters"
    """Which per-task gradients :meth:`weights` receives: ``"parameters"`` (the shared
    parameters, ``[K, T, P]``) or ``"representation"`` (the shared representation, the output of
    the shared layers over the batch, ``[K, T, N * H]``: MGDA-UB). The update always combines the
    parameter gradients. An instance may set it from its hyper-parameters."""
    explanation: ClassVar[str] = ""
    """A few plain sentences for learners, which the page shows beside the method."""
    formula: ClassVar[str] = ""
    """The method's weighting or update rule as a LaTeX string, which the page renders."""

    def __init__(self, ctx: MethodContext) -> None:
        self.ctx = ctx

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Each declared hyper-parameter's default: the constructor's (the paper's value).

        A hyper-parameter without a constructor default gets the lowest value its range allows.
        Integer-coded ones are ``int``, the others ``float``, as a canonical config holds them.
        """
        return dict(_declared_defaults(cls))

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """Raise :class:`ConfigError` for an unknown or out-of-range hyper-parameter."""
        for key, value in params.items():
            if key not in cls.hparams:
                allowed = ", ".join(cls.hparams) or "none"
                raise ConfigError(f"weighting.params.{key}", value, f"one of: {allowed}")
            if not cls.hparams[key].contains(value):
                raise ConfigError(f"weighting.params.{key}", value, cls.hparams[key].describe())

    def weights(self, losses: torch.Tensor, grads: torch.Tensor, step: int) -> torch.Tensor:
        """Task weights ``[K, T]`` for this step.

        Args:
            losses: ``[K, T]`` the members' task losses on this step's batch (detached).
            grads: ``[K, T, P]`` the per-task gradients on the flattened shared parameters.
            step: the global step index, from 0.
        """
        raise NotImplementedError

    def head_weights(self, weights: torch.Tensor) -> torch.Tensor:
        """Weights ``[K, T]`` on each task's gradient on its own head, given this step's weights.

        By default a loss-based method's task weights (what ``backward()`` on ``sum_t w_t L_t``
        gives) and ones for a gradient-based method, whose weights only combine the shared
        gradients. A method that also rescales losses (IMTL-L) overrides it.
        """
        return torch.ones_like(weights) if self.uses_gradients else weights

    def after_step(self, losses: torch.Tensor) -> None:
        """Called after each optimisation step with that step's ``[K, T]`` losses."""

    def epoch_end(self, epoch: int, mean_losses: torch.Tensor) -> None:
        """Called after epoch ``epoch`` (from 1) with its ``[K, T]`` mean training losses."""
