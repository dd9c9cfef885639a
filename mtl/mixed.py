"""Mixed populations: members of one population that differ in weighting method and learning rate.

A face-off that tunes every method's learning rate trains methods x rates x seeds members. One
population per method (or per method and rate) pays the engine's fixed per-step cost (Python and
torch overhead, which dominates these small models) once per population; one *mixed* population
pays it once, and the members' arithmetic is batched as usual. The engine takes a mixed
population as :class:`mtl.engine.Population` with ``lrs`` (one learning rate per member: the
optimizers in :mod:`mtl.optim` take a ``[K, 1]`` rate tensor) and ``methods`` (one
:class:`~mtl.config.WeightingSpec` per member), and weights it with :class:`MixedMethod`.

:class:`MixedMethod` is a composite weighting method: it owns one sub-method per *group*, a
maximal run of consecutive members with the same method, hyper-parameters and scale (so a group
is a contiguous slice, and slicing is a view). Each sub-method is built with a
:class:`~mtl.weighting.MethodContext` of its own members (their static weights, seeds and
learning rates, and its spec's ``scale``; a group whose members share one rate gets it as a
float, as a solo run would), so its state (FAMO's logits, GradNorm's weights, uncertainty's
log-variances, RLW's seeded draws) is exactly the state it would have alone. Per step:

- :meth:`MixedMethod.weights` concatenates the groups' ``[k_i, T]`` weights, each computed from
  the group's slice of the losses, gradients and Gram matrix (a gradient-based sub-method gets
  the Gram matrix, a loss-based one ``None``, as alone);
- :meth:`MixedMethod.head_weights` concatenates each sub-method's own head weights;
- ``after_step`` and ``epoch_end`` pass each group its slice.

The engine then combines as usual. On the shared parameters a member's direction is
``sum_t w_t g_t`` whether its method combines losses (``backward()`` on the weighted sum) or
gradients (the TorchJD convention), so when any group combines gradients the composite declares
``combines = "gradients"`` and the engine's one batched ``w @ G`` serves every member; the heads
get ``sum_t h_t g_t`` with each group's head weights ``h``, exactly as alone. The only difference
from a solo run is float rounding in that product (one matrix product instead of a sum of two
scaled vectors), far below the 1e-5 to which members are tested equal to their solo runs
(``tests/test_mixed.py``).

A sub-method that ``combines_representation`` (GradDrop) mixes too: it reads the shared
representation's per-task gradients only to build its shared update, and its weights (ones)
read nothing. The composite lists such groups in :attr:`MixedMethod.representation_groups` and
does not itself ``combines_representation``, so the population's pass keeps no graph and takes
no extra output. The engine keeps the per-task gradients on the representation ``z`` that the
pass's backward passes compute anyway (a hook), and for each such group recomputes the
representation of the group's own members and back-propagates the sub-method's combination of
their rows through it (:meth:`mtl.engine._Trainer._group_direction`): only GradDrop's members
pay for GradDrop. Its heads, weights, ``after_step`` and diagnostics get the parameters'
gradients, which GradDrop does not read. Exactly its solo run, again up to float rounding.

Excluded: a sub-method whose *weights* read gradients of the shared representation
(``gradients_of == "representation"`` without ``combines_representation``: MGDA with
``upper_bound``) needs other inputs than the rest, so a mixed population refuses it
(:class:`~mtl.errors.ConfigError`); train it in a population of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from mtl.config import WeightingSpec
from mtl.errors import ConfigError
from mtl.weighting import METHODS, MethodContext, WeightingMethod


def groups_of(
    specs: Sequence[WeightingSpec],
) -> list[tuple[str, tuple[tuple[str, Any], ...], slice]]:
    """Maximal runs of consecutive members with the same method, hyper-parameters and scale.

    Returns ``(method, params, members)`` per run, ``members`` a slice of the member axis (the
    run's scale is its first spec's, ``specs[members.start].scale``).
    """

    def key(spec: WeightingSpec) -> tuple[str, tuple[tuple[str, Any], ...], str]:
        return (spec.method, spec.params, spec.scale)

    runs: list[tuple[str, tuple[tuple[str, Any], ...], slice]] = []
    start = 0
    for i in range(1, len(specs) + 1):
        if i == len(specs) or key(specs[i]) != key(specs[start]):
            runs.append((specs[start].method, specs[start].params, slice(start, i)))
            start = i
    return runs


def _has(sub: WeightingMethod, hook: str) -> bool:
    """Whether ``sub``'s class defines ``hook`` beyond :class:`WeightingMethod`'s default.

    CR-MOGM's wrapper of ``after_step`` (:mod:`mtl.weighting.base`) counts only when smoothing
    is on or it wraps a hook of the method's own.
    """
    fn = getattr(type(sub), hook)
    default = getattr(WeightingMethod, hook)
    if fn is default:
        return False
    wrapped = getattr(fn, "__wrapped__", None)
    return not (wrapped is default and sub.smoothing == 0.0)


def _sub_context(ctx: MethodContext, members: slice, scale: str) -> MethodContext:
    """The context a group's sub-method sees: its own members' weights, seeds and rates.

    ``scale`` is the group's own :attr:`~mtl.config.WeightingSpec.scale` (what its base weights
    are relative to), as a solo run of its spec would see it, not the run configuration's.
    """
    lr = ctx.lr
    if isinstance(lr, torch.Tensor):
        rates = lr[members]
        lr = float(rates[0, 0]) if bool((rates == rates[0, 0]).all()) else rates
    return MethodContext(
        n_members=members.stop - members.start,
        n_tasks=ctx.n_tasks,
        base_weights=ctx.base_weights[members],
        seeds=ctx.seeds[members],
        lr=lr,
        optimizer=ctx.optimizer,
        last_shared=ctx.last_shared,
        steps_per_epoch=ctx.steps_per_epoch,
        scale=scale,
    )


class MixedMethod(WeightingMethod):
    """One sub-method per group of consecutive members (see the module docstring)."""

    name = "mixed"
    label = "Mixed population"

    def __init__(self, ctx: MethodContext, specs: Sequence[WeightingSpec]) -> None:
        """Build each group's sub-method from ``specs`` (one per member, in member order)."""
        super().__init__(ctx)
        if len(specs) != ctx.n_members:
            raise ConfigError("population.methods", len(specs), f"one per member ({ctx.n_members})")
        self.groups: list[tuple[slice, WeightingMethod]] = []
        for method, params, members in groups_of(specs):
            scale = specs[members.start].scale
            sub = METHODS[method](_sub_context(ctx, members, scale), **dict(params))
            if sub.gradients_of != "parameters" and not sub.combines_representation:
                raise ConfigError(
                    "population.methods",
                    f"{method} {dict(params)}",
                    "methods that read the shared parameters' gradients (a method reading the "
                    "representation's, such as MGDA-UB, trains in a population of its own)",
                )
            self.groups.append((members, sub))
        subs = [sub for _, sub in self.groups]
        self.kind = "gradient" if any(s.kind == "gradient" for s in subs) else "loss"  # type: ignore[misc]
        self.combines = (  # type: ignore[misc]
            "gradients" if any(s.combines == "gradients" for s in subs) else "losses"
        )
        self.single = len(self.groups) == 1
        self.representation_groups = [(m, s) for m, s in self.groups if s.combines_representation]
        """The groups whose method combines representations (GradDrop): the engine
        back-propagates each one's combination through the group's own members only. The
        composite itself does not ``combines_representation``, so the population's pass keeps no
        graph for them."""
        # the hooks each group really has: a group whose hook is the base class's (a no-op, or
        # the default head weights) is not called for it, which saves slicing its inputs
        self.heads = [(m, s) for m, s in self.groups if _has(s, "head_weights")]
        self.directions = [(m, s) for m, s in self.groups if _has(s, "shared_direction")]
        self.after_steps = [i for i, (_, s) in enumerate(self.groups) if _has(s, "after_step")]
        """The indices of the groups with an ``after_step`` of their own."""
        self.sizes = [m.stop - m.start for m, _ in self.groups]
        """Each group's member count: ``torch.split(tensor, self.sizes)`` gives every group's
        slice in one call, cheaper than slicing group by group (a dozen members' arithmetic
        costs about as much as indexing them)."""
        self.epoch_ends = [(m, s) for m, s in self.groups if _has(s, "epoch_end")]
        ones = torch.zeros(ctx.n_members, 1, dtype=torch.bool)
        for m, sub in self.groups:  # the default head weights: ones for these, else the weights
            ones[m] = sub.combines == "gradients"
        self.ones_rows = ones

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Each group's weights from its slice, concatenated in member order (float32)."""
        grams = torch.split(gram, self.sizes) if gram is not None else [None] * len(self.groups)
        parts = [
            sub.weights(group_losses, group_grads, step, gram=g if sub.kind == "gradient" else None)
            for (_, sub), group_losses, group_grads, g in zip(
                self.groups,
                torch.split(losses, self.sizes),
                torch.split(grads, self.sizes),
                grams,
                strict=True,
            )
        ]
        return torch.cat([p if p.dtype == torch.float32 else p.to(torch.float32) for p in parts])

    def head_weights(
        self, weights: torch.Tensor, losses: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Each group's own head weights, in member order.

        The base class's default (ones for a method that combines gradients, else the weights)
        for every member at once, then the groups that define their own.
        """
        heads = torch.where(self.ones_rows.to(weights.device), 1.0, weights)
        for m, sub in self.heads:
            part = sub.head_weights(weights[m], None if losses is None else losses[m])
            heads[m] = part.to(heads)
        return heads

    def shared_direction(
        self, losses: torch.Tensor, grads: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor | None:
        """The groups' shared directions ``[K, P_shared]``, or ``None`` when no group has its own.

        A group whose method supplies its own direction (MoCo, DB-MTL) gives it; the others get
        ``sum_t w_t g_t`` of their members, what the engine would form for them.
        """
        parts = [
            (m, sub.shared_direction(losses[m], grads[m], weights[m])) for m, sub in self.directions
        ]
        if all(part is None for _, part in parts):
            return None
        # every member's sum_t w_t g_t in one batched product, then the groups' own directions
        direction = torch.bmm(weights.unsqueeze(1).to(grads.dtype), grads).squeeze(1)
        for m, part in parts:
            if part is not None:
                direction[m] = part.to(grads.dtype)
        return direction

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """Pass each group (that has the hook) its slice of the step's inputs."""
        group_losses = torch.split(losses, self.sizes)
        group_grads = None if grads is None else torch.split(grads, self.sizes)
        grams = None if gram is None else torch.split(gram, self.sizes)
        for i in self.after_steps:
            sub = self.groups[i][1]
            sub.after_step(
                group_losses[i],
                None if group_grads is None else group_grads[i],
                grams[i] if grams is not None and sub.kind == "gradient" else None,
            )

    def epoch_end(self, epoch: int, mean_losses: torch.Tensor) -> None:
        """Pass each group (that has the hook) its members' mean losses."""
        for m, sub in self.epoch_ends:
            sub.epoch_end(epoch, mean_losses[m])
