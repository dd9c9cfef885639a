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
  IMTL, whose weights only resolve the conflict on the shared parameters. A method whose shared
  update is not ``sum_t w_t g_t`` of this step's gradients (MoCo's tracked gradients, DB-MTL's
  moving averages) supplies it with :meth:`WeightingMethod.shared_direction`; its weights are
  then for display only.
* ``hparams``: one :class:`~mtl.weighting.hparams.HParam` per hyper-parameter (default, range or
  named choices, label, help). The constructor takes its values from there.
* For gradient methods with a pure form, ``from_grads(grads, gram=None, **hparams)``: weights
  from gradients alone, what :func:`mtl.weighting.gradient_weights` dispatches to. Such a method
  need not write :meth:`WeightingMethod.weights`: the default calls ``from_grads`` with the
  method's hyper-parameters (and ``losses=`` when ``from_grads`` takes them, as MGDA's does).
* CR-MOGM smoothing (:data:`SMOOTHING`), declared once here: every method of kind
  ``"gradient"`` whose weights are what the engine applies (``smoothable``) gets the
  hyper-parameter ``smoothing`` (beta, default 0 = off) appended to its ``hparams``, and its
  :meth:`~WeightingMethod.weights` and :meth:`~WeightingMethod.after_step` are wrapped (in
  ``__init_subclass__``) so that the applied weights are the moving average
  ``lambda_k = beta lambda_{k-1} + (1 - beta) w_k`` of the method's own weights ``w_k``, with
  ``lambda_1 = w_1``. ``weights()`` reads ``lambda_{k-1}``; ``after_step`` stores ``lambda_k``.

Per step the engine:

1. computes every task's loss and its gradient on all parameters, for every member, in one
   forward pass and one backward pass per task (see :mod:`mtl.engine`), and, for a
   ``"gradient"`` method, the float64 Gram matrix ``G G^T [K, T, T]`` of the shared gradients,
   once (the conflict diagnostics reuse it);
2. asks for ``w = method.weights(losses, grads, step, gram=gram)``: this reads the method's state
   and never changes it, so calling it twice gives the same weights;
3. for a method that combines gradients, asks for ``d = method.shared_direction(losses, grads,
   weights)`` (pure too; ``None``, the default, means ``sum_t w_t g_t``) and for the heads'
   weights ``method.head_weights(weights, losses)``, and updates the parameters as ``combines``
   says, with ``d`` as the shared part when given;
4. calls ``method.after_step(losses, grads, gram=gram)`` with the same inputs, where stateful
   methods update (GradNorm's weights, FAMO's logits, learned log-variances), and, at the end of
   each epoch, ``method.epoch_end(epoch, mean_losses)``. The engine never writes attributes onto a
   method.

State lives on the method object, created once per population, vectorised over members.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from mtl.limits import Range
from mtl.weighting.gradient import gram_matrix
from mtl.weighting.hparams import HParam, check_params

SMOOTHING = HParam(
    "smoothing",
    0.0,
    label="CR-MOGM smoothing β",
    help=(
        "Applies a moving average of the method's weights instead of this step's weights: "
        "λ = β · previous λ + (1 − β) · this step's weights (Zhou et al., 2022, CR-MOGM). "
        "0 turns it off; near 1 the weights change slowly and step-to-step noise averages out."
    ),
    range=Range(0.0, 1.0, hi_open=True),
)
"""CR-MOGM's smoothing beta, the one hyper-parameter every smoothable gradient method shares.

Zhou, S., Zhang, W., Jiang, J., Zhong, W., Gu, J. & Zhu, W. (2022). *On the Convergence of
Stochastic Multi-Objective Gradient Manipulation and Beyond*. NeurIPS 2022: averaging the
weights over steps reduces their correlation with the stochastic gradients they are applied to,
which is what lets such methods converge. Applied by the wrappers :func:`_smooth_weights` and
:func:`_smooth_after_step`."""


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
        scale: ``"raw"`` or ``"balanced"``, what ``base_weights`` are relative to
            (:attr:`~mtl.config.WeightingSpec.scale`); read by methods that declare
            :attr:`WeightingMethod.balances_base_weights`.
    """

    n_members: int
    n_tasks: int
    base_weights: torch.Tensor
    seeds: torch.Tensor
    lr: float | torch.Tensor
    optimizer: str
    last_shared: slice
    steps_per_epoch: int
    scale: str = "raw"


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
    preference: ClassVar[bool] = False
    """Whether the configured weights are a preference between the tasks (the Tchebycheff
    methods: how far each task may stay from its ideal), not multipliers of the losses."""
    balances_base_weights: ClassVar[bool] = False
    """Whether the method honours ``WeightingSpec.scale == "balanced"`` (weights relative to the
    first step's losses, ``ctx.scale``); the config sets ``scale`` to ``"raw"`` for the others."""
    hparams: ClassVar[tuple[HParam, ...]] = ()
    """The method's hyper-parameters, each declared once."""
    from_grads: ClassVar[Callable[..., torch.Tensor] | None] = None
    """For gradient methods with a pure form: ``from_grads(grads, gram=None, **hparams)`` ->
    weights ``[..., T]`` (a staticmethod or classmethod); what ``gradient_weights`` calls and
    what the default :meth:`weights` calls. It may also take ``losses=`` (MGDA)."""
    smoothable: ClassVar[bool] = True
    """For a method of kind ``"gradient"``: whether it offers CR-MOGM smoothing
    (:data:`SMOOTHING`). False for a method whose weights are not what the engine applies (one
    with its own ``shared_direction``, or GradDrop, whose weights are always ones)."""
    gradients_of: str = "parameters"
    """Which per-task gradients :meth:`weights` receives: ``"parameters"`` (the shared
    parameters, ``[K, T, P]``) or ``"representation"`` (the shared representation, the output of
    the shared layers over the batch, ``[K, T, N * H]``: MGDA-UB). The update always combines the
    parameter gradients. An instance may set it from its hyper-parameters."""
    combines_representation: ClassVar[bool] = False
    """A method whose shared update is its own combination of the per-task gradients on the
    shared representation, back-propagated through the shared layers (GradDrop): the engine keeps
    the pass's graph and calls :meth:`representation_gradient`. Needs ``gradients_of =
    "representation"`` and ``combines = "gradients"`` (the heads get their own gradients)."""
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
        self.smoothing = float(self.params.get(SMOOTHING.name, 0.0))
        """CR-MOGM's beta (0 when off or not offered)."""
        self.smoothed: torch.Tensor | None = None
        """``lambda_{k-1}`` ``[K, T]`` float64, the weights applied at the last step, when
        smoothing is on (``None`` before the first step)."""
        self.smoothed_steps = 0
        """Steps taken with smoothing on: the step index ``after_step`` recomputes weights at."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give a smoothable gradient method the :data:`SMOOTHING` hyper-parameter and wrappers."""
        super().__init_subclass__(**kwargs)
        own_direction = cls.shared_direction is not WeightingMethod.shared_direction
        if cls.kind != "gradient" or not cls.smoothable or own_direction:
            return
        if all(h.name != SMOOTHING.name for h in cls.hparams):
            cls.hparams = (*cls.hparams, SMOOTHING)
        cls.weights = _smooth_weights(cls.weights)  # type: ignore[method-assign]
        cls.after_step = _smooth_after_step(cls.after_step)  # type: ignore[method-assign]

    @classmethod
    def from_grads_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` without the ones :class:`WeightingMethod` itself applies (smoothing)."""
        return {k: v for k, v in params.items() if k != SMOOTHING.name}

    @classmethod
    @functools.cache
    def from_grads_reads_losses(cls) -> bool:
        """Whether :attr:`from_grads` takes ``losses=`` (MGDA's loss normalisations)."""
        if cls.from_grads is None:
            return False
        return "losses" in inspect.signature(cls.from_grads).parameters

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

        The default serves the methods with a pure :attr:`from_grads`: it calls it with this
        method's hyper-parameters (and ``losses`` when it reads them); any other method
        overrides it.
        """
        from_grads = type(self).from_grads
        if from_grads is None:
            raise NotImplementedError(f"{type(self).__name__} has no from_grads: override weights")
        params = self.from_grads_params(self.params)
        if self.from_grads_reads_losses():
            return from_grads(grads, gram, losses=losses, **params)
        return from_grads(grads, gram, **params)

    def representation_gradient(
        self, rep_grads: torch.Tensor, rep: torch.Tensor, step: int
    ) -> torch.Tensor:
        """The gradient ``[K, N, H]`` to back-propagate from the shared representation.

        Only for a method that :attr:`combines_representation`. ``rep_grads`` ``[K, T, N, H]``
        are the per-task gradients on the representation ``rep`` ``[K, N, H]`` (its values,
        detached); ``step`` is the global step index, as :meth:`weights` received it. Reads the
        state and never changes it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not combine representations")

    def head_weights(
        self, weights: torch.Tensor, losses: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Weights ``[K, T]`` on each task's gradient on its own head, given this step's weights.

        By default the task weights when the method combines losses (what ``backward()`` on
        ``sum_t w_t L_t`` gives) and ones when it combines gradients, whose weights only combine
        the shared gradients. A method that also rescales losses overrides it: IMTL-L (its
        learned scales), DB-MTL (``1 / L_t``, the gradient of ``log L_t``, from ``losses``, the
        step's ``[K, T]`` task losses, which the engine always passes).
        """
        return torch.ones_like(weights) if self.combines == "gradients" else weights

    def shared_direction(
        self, losses: torch.Tensor, grads: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor | None:
        """The shared parameters' update direction ``[K, P]``, or ``None`` for ``sum_t w_t g_t``.

        The hook for a method that combines gradients but whose shared update is not a weighted
        sum of this step's gradients: MoCo combines tracked (moving-average) estimates of them,
        DB-MTL moving averages of the log-loss gradients. The engine calls it after
        :meth:`weights`, with the same ``losses`` ``[K, T]`` and ``grads`` ``[K, T, P]`` and the
        ``weights`` ``[K, T]`` it returned, and applies the result to the shared parameters in
        place of ``(w.unsqueeze(-1) * grads).sum(-2)``; the weights are then only logged and
        drawn. Like :meth:`weights` it reads the state and never changes it (the state moves in
        :meth:`after_step`). Only called when :attr:`combines` is ``"gradients"``; a method that
        returns a direction reads the parameter gradients (:attr:`gradients_of` ``"parameters"``).
        The default, ``None``, keeps the weighted sum.
        """
        return None

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


def _identity(t: torch.Tensor | None) -> tuple[Any, ...] | None:
    """What tells one tensor's current values from another's without reading them."""
    if t is None:
        return None
    return (t.data_ptr(), t.shape, t.stride(), t.dtype, t.device, t._version)


class PendingMemo:
    """A step's pending update, computed once for the method's hooks of that step.

    A stateful method computes the update its ``after_step`` will apply (its "pending" state)
    already in :meth:`WeightingMethod.weights` and, for some, in
    :meth:`WeightingMethod.shared_direction`, from the same inputs and the same state. The memo
    keeps the last result with the inputs it came from: :meth:`get` returns it while the inputs
    are the same tensors with the same values (same memory, shape, strides, dtype, device and
    version counter, which every in-place write bumps; the memo holds the inputs, so their
    memory cannot pass to other tensors meanwhile), and recomputes otherwise. The method calls
    :meth:`clear` whenever the state the computation reads changes.
    """

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.inputs: tuple[torch.Tensor | None, ...] = ()
        self.value: Any = None

    def get(self, inputs: tuple[torch.Tensor | None, ...], compute: Callable[[], Any]) -> Any:
        """``compute()``'s value for ``inputs``, computed at most once while they stay the same."""
        key = tuple(_identity(t) for t in inputs)
        if self.key is not None and key == self.key:
            return self.value
        self.value = compute()
        self.key, self.inputs = key, inputs
        return self.value

    def clear(self) -> None:
        """Forget the kept result (the state it was computed from changed)."""
        self.key, self.inputs, self.value = None, (), None


WeightsFn = Callable[..., torch.Tensor]
AfterStepFn = Callable[..., None]


def _smooth_weights(raw: WeightsFn) -> WeightsFn:
    """``weights`` returning ``beta lambda_{k-1} + (1 - beta) w_k`` (``w_k`` from ``raw``).

    Only the outermost wrapper of an instance's class smooths (a subclass's wrapper calling its
    parent's through ``super()`` gets the parent's raw weights), so weights are smoothed once.
    """

    @functools.wraps(raw)
    def weights(
        self: WeightingMethod,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        w = raw(self, losses, grads, step, gram=gram)
        outermost = type(self).weights is weights
        if not outermost or self.smoothing == 0.0 or self.smoothed is None:
            return w
        beta = self.smoothing
        return (beta * self.smoothed + (1.0 - beta) * w.to(torch.float64)).to(w.dtype)

    return weights


def _smooth_after_step(raw: AfterStepFn) -> AfterStepFn:
    """``after_step`` that, with smoothing on, stores this step's applied weights ``lambda_k``.

    They are recomputed (with the state as it was when the engine asked for them, so before
    ``raw`` updates it) at the step index counted here: the engine's steps run 0, 1, 2, ...
    """

    @functools.wraps(raw)
    def after_step(
        self: WeightingMethod,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        outermost = type(self).after_step is after_step
        applied = None
        if outermost and self.smoothing > 0.0:
            if grads is None:
                raise ValueError("CR-MOGM smoothing needs this step's gradients in after_step")
            applied = self.weights(losses, grads, self.smoothed_steps, gram=gram)
        raw(self, losses, grads, gram=gram)
        if applied is not None:
            self.smoothed = applied.detach().to(torch.float64)
            self.smoothed_steps += 1

    return after_step
