"""The training loop over a population of K members.

One call trains every member at once. There is no Python loop over members on the training path:
the forward pass is batched over the member dimension, and every task's gradient for every member
comes from one backward pass per task through that one graph (members never mix, so the gradient
of a task's loss summed over members is every member's own).

Per step (see :mod:`mtl.weighting.base` for the method's side):

1. forward and task losses ``L [K, T]``; a member with a non-finite loss (here or in any
   evaluation) is frozen and flagged, and the others go on;
2. one backward pass per task gives its gradient ``g_t [K, P]`` on all parameters;
3. ``w = method.weights(L, G, step, gram=G G^T)`` with ``G [K, T, P_shared]`` the shared part of
   the ``g_t`` and its float64 Gram matrix ``[K, T, T]``, formed once per step (for methods of
   kind ``"gradient"``, and whenever the conflict diagnostics are recorded, which reuse it);
4. the update direction: for a method that ``combines`` losses every parameter gets
   ``sum_t w_t g_t`` (what ``backward()`` on the weighted sum gives); for one that combines
   gradients the shared parameters get ``sum_t w_t g_t`` of the shared gradients and a task's
   head ``g_t`` (times :meth:`~mtl.weighting.WeightingMethod.head_weights`), unless the method
   supplies the shared direction itself
   (:meth:`~mtl.weighting.WeightingMethod.shared_direction`: MoCo, DB-MTL); every weight matrix
   also gets the L2 penalty's ``2 * l2 * theta``;
5. one optimizer step (:mod:`mtl.optim`: element-wise, hence per member), then
   ``method.after_step`` with the same inputs (the method's state changes only there).

A method that ``combines_representation`` (GradDrop) builds its shared update on the shared
representation ``z`` instead: the pass keeps its graph, the method combines the per-task
representation gradients into one ``[K, N, H]`` gradient
(:meth:`~mtl.weighting.WeightingMethod.representation_gradient`), and the shared parameters get
its vector-Jacobian product ``dz/dtheta^T`` (one more backward pass through the shared layers).
In a mixed population (:mod:`mtl.mixed`) only such a method's own members pay for that: the
population's pass keeps no graph and takes no extra output (a hook on ``z`` keeps the per-task
gradients the backward passes compute there on their way to ``theta``), and each such group
recomputes its own members' representation (a forward pass of its ``k`` members) and
back-propagates its combination through it (one vector-Jacobian product of ``k`` members).

Evaluation: at epoch 0 (before any step) and after every epoch, every component and metric is
evaluated on the whole train and test splits. In full-batch mode the forward pass of step e *is*
the evaluation of the training split after e epochs, so it is reused rather than repeated, and
the conflict diagnostics come from that step's gradients. With mini-batches the training split
is re-evaluated, with gradients, at each epoch boundary.

Cancellation: work nobody waits for should stop within about a second. The caller passes
``should_stop() -> bool`` (the page: "has the tab closed, or has a newer rerun superseded this
one?"). The loop calls it before every epoch and, inside an epoch of mini-batches, after a step
whenever :data:`STOP_CHECK_SECONDS` of work have passed since the last check (a clock read per
step, so a batch-size-1 epoch of thousands of steps is still interrupted within ~0.2 s). When it
returns True the loop raises :class:`Cancelled`; nothing partial is returned, so a caller that
caches results caches nothing. The hook must be cheap (no I/O, no messages) and may also raise
an exception of its own, which propagates unchanged. ``on_progress`` is separate: it reports,
``should_stop`` decides.

Devices: the core runs on any torch device. The choice is a ``device`` keyword of
:func:`train_population` (and of ``mtl.train``, ``mtl.sweep``, ``mtl.compare.face_off``), or the
environment variable ``MTL_DEVICE`` when the keyword is ``None``; the default is the CPU. It is
deliberately *not* a :class:`~mtl.config.RunConfig` field: where a run is computed is not what the
run is, so it changes neither a result's identity (its cache key) nor its link. The members'
parameters, the optimizer's state and the data go on that device; the weighting method's small
``[K, T]`` arithmetic and the recorder stay on the CPU (what they read is copied there, a no-op on
the CPU), so results always come back as CPU pandas frames. Asking for a device that is absent
raises :class:`~mtl.errors.ConfigError` (field ``device``) before any work. Per-task gradients
take one backward pass per task over one parameter matrix (``bench/bench_engine_layout.py``
compares that with a population duplicated per task).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

import torch

from mtl.budget import DataShape, check_population
from mtl.config import MAX_MEMBERS, TASKS, ConfigError, RunConfig, WeightingSpec
from mtl.counter_rng import STREAM_BATCHES, permutations
from mtl.data import Split, build_dataset, split_dataset
from mtl.losses import classification_loss, regression_loss
from mtl.mixed import MixedMethod
from mtl.models import PopulationModel
from mtl.optim import make_optimizer, member_rates
from mtl.results import Recorder, Result, log_stride
from mtl.weighting import METHODS, MethodContext, WeightingMethod
from mtl.weighting.gradient import gram_matrix

ProgressFn = Callable[[int, int], None]
"""``on_progress(done, total)``: epochs done out of the run's epochs."""
StopFn = Callable[[], bool]
"""``should_stop()``: True when nobody waits for the work any more (see the module docstring)."""

STOP_CHECK_SECONDS = 0.2
"""Seconds of work inside an epoch between two calls of ``should_stop`` (mini-batch mode)."""


class Cancelled(Exception):  # noqa: N818 (a request, not an error: the name says what happened)
    """Training stopped because ``should_stop()`` returned True; no result exists.

    Attributes:
        epoch: the epoch at which it stopped (0 = before the first step).
    """

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        super().__init__(f"training cancelled at epoch {epoch}")


ENV_DEVICE = "MTL_DEVICE"
"""Environment variable naming the torch device to train on when no ``device`` is passed."""


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The torch device to train on: ``device``, else ``$MTL_DEVICE``, else the CPU.

    Accepts ``"cpu"``, ``"cuda"``/``"cuda:N"`` and ``"mps"``. Raises
    :class:`~mtl.errors.ConfigError` (field ``device``) for anything else, and for a device this
    machine does not have, saying what is available.
    """
    if device is None:
        device = os.environ.get(ENV_DEVICE, "").strip() or "cpu"
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError("device", device, "'cpu', 'cuda', 'cuda:N' or 'mps'") from None
    if chosen.type == "cpu":
        return chosen
    if chosen.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(
                "device", device, "'cpu': this machine has no CUDA GPU that torch can use"
            )
        if chosen.index is not None and chosen.index >= count:
            raise ConfigError("device", device, f"'cpu' or 'cuda:0' to 'cuda:{count - 1}'")
        return chosen
    if chosen.type == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError("device", device, "'cpu': this machine has no MPS device")
        return chosen
    raise ConfigError("device", device, "'cpu', 'cuda', 'cuda:N' or 'mps'")


@dataclass(frozen=True)
class Population:
    """Per-member values: static task weights ``[K][T]`` and seeds ``[K]``.

    A *mixed* population also gives each member its own learning rate (``lrs``, else every
    member uses ``cfg.optim.lr``) and its own weighting method (``methods``: one
    :class:`~mtl.config.WeightingSpec` per member, whose ``weights`` are ignored in favour of
    ``weights``; else every member uses ``cfg.weighting``). A mixed population trains each member
    exactly as its solo run would (:mod:`mtl.mixed`); ``None`` keeps the single-method fast path.
    """

    weights: tuple[tuple[float, ...], ...]
    seeds: tuple[int, ...]
    lrs: tuple[float, ...] | None = None
    methods: tuple[WeightingSpec, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.seeds) or not self.seeds:
            raise ConfigError("population", len(self.seeds), "one weight pair per seed, K >= 1")
        if len(self.seeds) > MAX_MEMBERS:
            raise ConfigError("population.members", len(self.seeds), f"at most {MAX_MEMBERS}")
        if self.lrs is not None and len(self.lrs) != len(self.seeds):
            raise ConfigError(
                "population.lrs", len(self.lrs), f"one per member ({len(self.seeds)})"
            )
        if self.methods is not None and len(self.methods) != len(self.seeds):
            raise ConfigError(
                "population.methods", len(self.methods), f"one per member ({len(self.seeds)})"
            )


@dataclass
class _Step:
    """What one forward/backward pass produced (all detached)."""

    losses: torch.Tensor  # [K, T]
    reg: torch.Tensor  # [K, N, R]
    logits: torch.Tensor  # [K, N, C]
    grads: torch.Tensor  # [T, K, P] each task's gradient on all parameters
    G: torch.Tensor  # [K, T, P_shared]
    rep: torch.Tensor | None  # [K, T, N * H] gradients on the shared representation, if asked
    l2: torch.Tensor | None  # [K] the L2 penalty at the same parameters, when it is on
    graph: tuple[torch.Tensor, torch.Tensor] | None = None  # (z, theta), graph kept: GradDrop
    # each task's gradient [K, N, H] on the representation, as the backward passes went through
    # it on their way to theta (no extra output): a mixed population's GradDrop groups read it
    z_grads: list[torch.Tensor] | None = None

    @cached_property
    def gram(self) -> torch.Tensor:
        """``G G^T [K, T, T]`` in float64, formed at most once per pass (method and diagnostics).

        :func:`~mtl.weighting.gradient.gram_matrix`'s arithmetic without its input checks (the
        engine's gradients are valid by construction; the checks cost more than the product).
        """
        g = self.G.to(torch.float64)
        return g @ g.mT

    @cached_property
    def rep_gram(self) -> torch.Tensor:
        """The Gram matrix of the representation gradients ``[K, T, T]`` (MGDA-UB)."""
        assert self.rep is not None
        return gram_matrix(self.rep)

    def method_inputs(self, kind: str, of: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The gradients a method reads and their Gram (``None`` for a ``"loss"`` method).

        ``of``: the method's :attr:`~mtl.weighting.WeightingMethod.gradients_of`; the
        representation's gradients when it reads them and the pass took them.
        """
        if self.rep is not None and of == "representation":
            return self.rep, self.rep_gram if kind == "gradient" else None
        return self.G, self.gram if kind == "gradient" else None


class _Trainer:
    """Holds one population's model, method, optimizer and data while it trains."""

    def __init__(
        self,
        cfg: RunConfig,
        population: Population,
        log_limit: int | None = None,
        device: torch.device | None = None,
        split: Split | None = None,
    ) -> None:
        """Build the population's model, method, optimizer and data.

        ``split`` replaces the configuration's own train/test split (a tuned face-off trains on
        the training rows less a validation part, which it evaluates as the "test" split).
        """
        self.cfg = cfg
        self.device = torch.device("cpu") if device is None else device
        dataset = build_dataset(cfg.data) if split is None else split.dataset
        cpu_split = (
            split_dataset(
                dataset,
                cfg.data.test_fraction,
                cfg.data.seed,
                cfg.data.standardize,
                cfg.data.standardize_target,
            )
            if split is None
            else split
        )
        dev = self.device
        self.split: Split = (
            cpu_split
            if dev.type == "cpu"
            else replace(
                cpu_split,
                **{
                    name: getattr(cpu_split, name).to(dev)
                    for name in (
                        "x_train",
                        "y_reg_train",
                        "y_cls_train",
                        "x_test",
                        "y_reg_test",
                        "y_cls_test",
                    )
                },
            )
        )
        n_train = self.split.x_train.shape[0]
        batch = cfg.optim.batch_size
        if batch is not None and batch > n_train:
            raise ConfigError("optim.batch_size", batch, f"at most the {n_train} training rows")
        self.batch_size = batch if batch is not None and batch < n_train else None
        self.steps_per_epoch = 1 if self.batch_size is None else -(-n_train // self.batch_size)
        self.seeds = torch.tensor(population.seeds, dtype=torch.int64)
        self.configured_weights = torch.tensor(population.weights, dtype=torch.float64)
        self.model = PopulationModel(
            cfg.model,
            dataset.n_features,
            dataset.n_regression,
            dataset.n_classes,
            list(population.seeds),
            dataset.rng_preamble,
        )
        self.model.to(dev)  # initialised on the CPU (the same draws everywhere), then moved
        k = len(population.seeds)
        # a safety net: mtl.train, mtl.sweep and mtl.compare.face_off price the whole request first
        check_population(
            cfg,
            k,
            DataShape(
                n_train=n_train,
                n_test=self.split.x_test.shape[0],
                n_features=dataset.n_features,
                n_regression=dataset.n_regression,
                n_classes=dataset.n_classes,
            ),
        )
        ctx = MethodContext(
            n_members=k,
            n_tasks=len(TASKS),
            base_weights=torch.tensor(population.weights, dtype=torch.float32),
            seeds=self.seeds,
            lr=cfg.optim.lr if population.lrs is None else member_rates(population.lrs),
            optimizer=cfg.optim.kind,
            last_shared=self.model.last_shared_slice(),
            steps_per_epoch=self.steps_per_epoch,
            scale=cfg.weighting.scale,
        )
        if population.methods is None:
            self.method: WeightingMethod = METHODS[cfg.weighting.method](
                ctx, **dict(cfg.weighting.params)
            )
        else:
            self.method = MixedMethod(ctx, population.methods)
        self.reg_loss = regression_loss(cfg.loss)
        self.cls_loss = classification_loss(cfg.loss)
        self.optimizer = make_optimizer(
            cfg.optim,
            self.model.theta,
            None if population.lrs is None else member_rates(population.lrs, self.device),
        )
        self.l2_scale = 2 * cfg.loss.l2 * self.model.decay if cfg.loss.l2 > 0 else None
        s = cpu_split  # the recorder works on the CPU
        targets = {"train": (s.y_reg_train_units, s.y_cls_train)}  # metrics in the target's units
        if s.has_test:
            targets["test"] = (s.y_reg_test_units, s.y_cls_test)
        self.recorder = Recorder(
            epochs=cfg.epochs,
            members=k,
            targets=targets,
            with_regularization=cfg.loss.l2 > 0,
            every=log_stride(k, cfg.epochs, log_limit),
            target_scale=s.target_scale,
        )
        self.active = torch.ones(k, dtype=torch.bool)
        self.should_stop: StopFn | None = None
        self.next_check = 0.0  # time.monotonic() of the next stop check inside an epoch
        self.all_active = True  # mirrors ``active.all()`` without a tensor op per step
        self.ones = torch.ones(k, device=self.device)  # d(sum over members)/d(member's loss)
        self.representation_groups = (
            self.method.representation_groups if isinstance(self.method, MixedMethod) else []
        )
        """A mixed population's groups whose method combines representations (GradDrop):
        each gets its shared update from a pass of its own (:meth:`_group_direction`)."""

    # -- one forward/backward ------------------------------------------------------------

    def _forward_backward(
        self,
        x: torch.Tensor,
        y_reg: torch.Tensor,
        y_cls: torch.Tensor,
        epoch: int,
        for_step: bool = False,
    ) -> _Step:
        """Losses and every task's gradient: one forward pass, one backward pass per task.

        ``x`` is ``[N, D]`` (whole split) or ``[K, B, D]`` (each member's mini-batch). Members
        never mix, so the gradient of a task's loss summed over members is every member's own.
        ``for_step``: the pass feeds an update, so a method that ``combines_representation``
        gets the graph kept (``_Step.graph``), and a mixed population with GradDrop groups the
        per-task gradients on the representation that the backward passes compute on their way
        to ``theta`` (``_Step.z_grads``, seen by a hook: no extra output, no kept graph).
        """
        model = self.model
        theta = model.theta.detach().requires_grad_()
        reg, logits, z = model.forward_rep(x, theta)
        task_losses = (self.reg_loss(reg, y_reg), self.cls_loss(logits, y_cls))
        losses = torch.stack(task_losses, dim=-1).detach()
        if not math.isfinite(float(losses.sum())):
            self._check_finite(losses, epoch)
        method = self.method
        wants_rep = method.gradients_of == "representation" or method.combines_representation
        inputs = (theta, z) if wants_rep else (theta,)
        keep = for_step and method.combines_representation
        last = len(task_losses) - 1
        z_grads: list[torch.Tensor] | None = None
        if for_step and self.representation_groups:  # GradDrop in a mixed population
            z_grads = []
            z.register_hook(z_grads.append)  # type: ignore[no-untyped-call]  # dL_t/dz, computed anyway
        # grad_outputs of ones: the gradient of the loss summed over members, without the sum
        per_task = [
            torch.autograd.grad(loss, inputs, self.ones, retain_graph=keep or t < last)
            for t, loss in enumerate(task_losses)
        ]
        grads = torch.stack([g[0] for g in per_task])  # [T, K, P]
        rep = (
            torch.stack([g[1].reshape(model.n_members, -1) for g in per_task], dim=1)
            if wants_rep
            else None
        )
        return _Step(
            losses=losses,
            reg=reg.detach(),
            logits=logits.detach(),
            grads=grads,
            G=grads[:, :, model.shared].transpose(0, 1),
            rep=rep,
            l2=model.l2() if self.l2_scale is not None else None,  # before any update
            graph=(z, theta) if keep else None,
            z_grads=z_grads,
        )

    def _update(
        self,
        weights: torch.Tensor,
        step: _Step,
        shared: torch.Tensor | None = None,
    ) -> None:
        """Combine the task gradients as the method says and take one optimizer step.

        A task's gradient is exactly zero on the other task's head, so one weighted sum over
        tasks with the method's head weights (:meth:`WeightingMethod.head_weights`: the task
        weights when the method combines losses, ones when it combines gradients) gives every
        head its own task's gradient. When the method combines losses that sum is the whole
        direction; when it combines gradients the shared part is replaced by its combination,
        or by ``shared`` ``[K, P_shared]``, the method's own shared direction, when it gave one
        (:meth:`WeightingMethod.shared_direction`, or GradDrop's back-propagated combination of
        the representation gradients, :meth:`_representation_direction` and
        :meth:`_group_direction`).
        """
        model = self.model
        head_weights = self.method.head_weights(weights, step.losses).to(weights)
        direction = (step.grads * head_weights.t().unsqueeze(-1)).sum(0)
        if shared is not None:
            direction[:, model.shared] = shared
        elif self.method.combines == "gradients":
            direction[:, model.shared] = torch.bmm(weights.unsqueeze(1), step.G).squeeze(1)
        if self.l2_scale is not None:
            direction.addcmul_(model.theta, self.l2_scale)
        if self.all_active:
            self.optimizer.step(direction)
            return
        frozen = (~self.active).to(self.device)  # keep diverged members where they stopped
        kept = model.theta[frozen].clone()
        direction[frozen] = 0.0
        self.optimizer.step(direction)
        model.theta[frozen] = kept

    def _back_propagate(
        self,
        method: WeightingMethod,
        rep_grads: torch.Tensor,
        z: torch.Tensor,
        theta: torch.Tensor,
        index: int,
    ) -> torch.Tensor:
        """The shared update ``[M, P_shared]`` of a method that ``combines_representation``.

        ``method`` combines the per-task gradients ``rep_grads [M, T, N, H]`` on the
        representation ``z`` for step ``index``; the combination goes back through the shared
        layers as one vector-Jacobian product ``(dz/dtheta)^T g~`` on ``z``'s graph.
        """
        combined = method.representation_gradient(rep_grads, z.detach(), index)
        return torch.autograd.grad(z, theta, combined)[0][:, self.model.shared]

    def _representation_direction(self, result: _Step, index: int) -> torch.Tensor:
        """The shared update ``[K, P_shared]`` of GradDrop's own population (not mixed).

        Back-propagated on the graph its pass kept.
        """
        assert result.graph is not None and result.rep is not None
        z, theta = result.graph
        rep_grads = result.rep.reshape(*result.rep.shape[:2], *z.shape[1:])  # [K, T, N, H]
        return self._back_propagate(self.method, rep_grads, z, theta, index)

    def _group_direction(
        self,
        members: slice,
        method: WeightingMethod,
        result: _Step,
        x: torch.Tensor,
        index: int,
    ) -> torch.Tensor:
        """The shared update ``[k, P_shared]`` of a mixed population's GradDrop group.

        ``members``: the group's slice of the member axis; ``method``: its sub-method, which
        combines representations; ``result``: the population's pass, whose ``z_grads`` hold
        every member's per-task gradients on the representation ``z`` (its backward passes went
        through ``z`` anyway). The method combines the group's rows, and the combination goes
        back through the shared layers of the group's members alone: a forward pass of their
        ``k`` rows of ``theta`` (on their mini-batches, ``x[members]``, or the shared split) and
        one vector-Jacobian product. The population's pass keeps no graph for it, and the
        other members take no part.
        """
        assert result.z_grads is not None and len(result.z_grads) == len(TASKS)
        theta = self.model.theta[members].detach().requires_grad_()
        if x.dim() == 3:  # [K, B, D]: each member's own mini-batch
            x = x[members]
        _, _, z = self.model.forward_rep(x, theta)
        rep_grads = torch.stack([g[members] for g in result.z_grads], dim=1)  # [k, T, N, H]
        return self._back_propagate(method, rep_grads, z, theta, index)

    def _train_step(
        self, x: torch.Tensor, y_reg: torch.Tensor, y_cls: torch.Tensor, step: int, epoch: int
    ) -> tuple[_Step, torch.Tensor]:
        """One optimisation step; returns the pass's results and the weights applied.

        The shared direction is the method's (:meth:`WeightingMethod.shared_direction`), or
        GradDrop's back-propagated combination on the graph its own population's pass kept; in
        a mixed population each GradDrop group's members get theirs back-propagated through a
        forward pass of the group alone (:meth:`_group_direction`), the other members what they
        would get without it.
        """
        result = self._forward_backward(x, y_reg, y_cls, epoch, for_step=True)
        grads, gram = result.method_inputs(self.method.kind, self.method.gradients_of)
        losses = result.losses
        if self.device.type != "cpu":  # the method's state lives on the CPU
            losses, grads = losses.cpu(), grads.cpu()
            gram = None if gram is None else gram.cpu()
        weights = self.method.weights(losses, grads, step, gram=gram)
        if step == 0:  # epoch 0's row shows the weights the first step used
            self.recorder.record_weights(0, weights)
        shared: torch.Tensor | None
        if result.graph is not None:  # GradDrop's own population
            shared = self._representation_direction(result, step)
        else:
            shared = (
                self.method.shared_direction(losses, grads, weights)
                if self.method.combines == "gradients"
                else None
            )
            if shared is not None:
                shared = shared.to(self.device, result.G.dtype)
        applied = weights.to(self.device)
        if self.representation_groups:  # GradDrop's groups in a mixed population
            if shared is None:  # every other member's sum_t w_t g_t, as _update would form it
                shared = torch.bmm(applied.unsqueeze(1), result.G).squeeze(1)
            for members, sub in self.representation_groups:
                shared[members] = self._group_direction(members, sub, result, x, step)
        self._update(applied, result, shared)
        self.method.after_step(losses, grads, gram=gram)
        return result, weights

    def _check_finite(self, losses: torch.Tensor, epoch: int) -> None:
        """Freeze and flag members whose losses stopped being finite."""
        finite = torch.isfinite(losses.detach()).all(-1).cpu()
        if bool(finite.all()):
            return
        newly = self.active & ~finite
        if bool(newly.any()):
            self.recorder.mark_diverged(newly, epoch)
            self.active &= finite
            self.all_active = bool(self.active.all())

    # -- evaluation ------------------------------------------------------------------------

    def _record_train(self, epoch: int, result: _Step) -> None:
        self.recorder.record(epoch, "train", result.losses, result.l2, result.reg, result.logits)
        gram = result.__dict__.get("gram")  # the cached_property's value, if the method formed it
        if gram is not None:
            self.recorder.record_conflict(epoch, gram)  # formed once per pass, shared
        else:  # nobody needed it yet: the recorder forms it for many epochs at once
            self.recorder.record_gradients(epoch, result.G)

    def _evaluate_test(self, epoch: int) -> None:
        s = self.split
        if not s.has_test:
            return
        with torch.no_grad():
            reg, logits = self.model.forward(s.x_test)
            losses = torch.stack(
                (self.reg_loss(reg, s.y_reg_test), self.cls_loss(logits, s.y_cls_test)), dim=-1
            )
        self._check_finite(losses, epoch)  # an overflow on held-out rows counts too
        l2 = self.model.l2() if self.l2_scale is not None else None
        self.recorder.record(epoch, "test", losses, l2, reg, logits)

    def _evaluate_train(self, epoch: int) -> None:
        """Evaluate the whole training split, with the conflict diagnostics (no step)."""
        s = self.split
        self._record_train(
            epoch, self._forward_backward(s.x_train, s.y_reg_train, s.y_cls_train, epoch)
        )

    # -- the loop --------------------------------------------------------------------------

    def _check_stop(self, epoch: int) -> None:
        """Raise :class:`Cancelled` if the caller's ``should_stop`` says so; note the time."""
        if self.should_stop is None:
            return
        self.next_check = time.monotonic() + STOP_CHECK_SECONDS
        if self.should_stop():
            raise Cancelled(epoch)

    def run(self, on_progress: ProgressFn | None, should_stop: StopFn | None = None) -> Result:
        """Train every epoch; raises :class:`Cancelled` when ``should_stop()`` turns True."""
        epochs, s = self.cfg.epochs, self.split
        self.should_stop = should_stop
        start = time.perf_counter()
        for epoch in range(epochs):
            self._check_stop(epoch)
            self._evaluate_test(epoch)  # before the step: epoch e is the model after e epochs
            if self.batch_size is None:
                result, weights = self._train_step(
                    s.x_train, s.y_reg_train, s.y_cls_train, epoch, epoch
                )
                self._record_train(epoch, result)
                epoch_losses = result.losses
            else:
                self._evaluate_train(epoch)
                epoch_losses, weights = self._run_batches(epoch)
            self.recorder.record_weights(epoch + 1, weights)
            self.method.epoch_end(epoch + 1, epoch_losses.cpu())
            if on_progress is not None:
                on_progress(epoch + 1, epochs)
        self._check_stop(epochs)
        self._evaluate_train(epochs)
        self._evaluate_test(epochs)
        return self.recorder.result(
            self.cfg, self.seeds, self.configured_weights, time.perf_counter() - start
        )

    def _run_batches(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One epoch of mini-batches, each member in its own seeded order.

        Returns the epoch's mean training losses ``[K, T]`` and mean applied weights ``[K, T]``.
        """
        s, size = self.split, self.batch_size
        assert size is not None
        order = permutations(self.seeds, STREAM_BATCHES, epoch, s.x_train.shape[0])  # [K, N]
        order = order.to(self.device)
        loss_sum = torch.zeros(len(self.seeds), len(TASKS))
        weight_sum = torch.zeros_like(loss_sum)
        first_step = epoch * self.steps_per_epoch
        for i in range(self.steps_per_epoch):
            idx = order[:, i * size : (i + 1) * size]  # [K, B]
            # a non-finite batch loss means the parameters *during* this epoch went bad
            result, weights = self._train_step(
                s.x_train[idx], s.y_reg_train[idx], s.y_cls_train[idx], first_step + i, epoch + 1
            )
            loss_sum += result.losses.cpu()
            weight_sum += weights
            if self.should_stop is not None and time.monotonic() >= self.next_check:
                self._check_stop(epoch)
        return loss_sum / self.steps_per_epoch, weight_sum / self.steps_per_epoch


def train_population(
    cfg: RunConfig,
    population: Population,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    log_limit: int | None = None,
    device: str | torch.device | None = None,
    split: Split | None = None,
) -> Result:
    """Train every member of ``population`` under ``cfg`` in one batched computation.

    ``on_progress(done, total)`` is called after every epoch; ``should_stop()`` before every
    epoch and every :data:`STOP_CHECK_SECONDS` inside one, and when it returns True the training
    raises :class:`Cancelled` instead of returning (see the module docstring). ``log_limit``:
    the member-epochs logged in full before the log turns coarse
    (:func:`mtl.results.log_stride`; default :func:`mtl.results.full_log_limit`). ``device`` is
    where to compute (see :func:`resolve_device`; ``None`` reads ``MTL_DEVICE``, else the CPU);
    the result is the same CPU frames whatever the device. ``split`` replaces the split that
    ``cfg.data`` describes (its ``test`` rows are evaluated as the result's ``test`` split).
    """
    return _Trainer(cfg, population, log_limit, resolve_device(device), split).run(
        on_progress, should_stop
    )
