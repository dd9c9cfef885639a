"""Properties shared by the gradient-based methods, checked on one catalogue of Jacobians.

In the spirit of TorchJD's aggregator tests: one catalogue of per-task gradient matrices
``J [T, P]`` (random, zero, tiny and huge scales, rank-deficient and parallel rows, exactly and
nearly opposite rows of unequal norms) and, per method, the properties it DECLARES below. The
test checks exactly the declared ones, on every catalogue case, through the public
``gradient_weights``. A new gradient method adds one line to :data:`DECLARED`.

Properties (``d = sum_t w_t g_t``, the update direction):

* ``finite``: the weights are finite numbers.
* ``non_conflicting``: ``d . g_t >= 0`` for every task, up to the rounding of ``d`` (relative to
  ``sum_t |w_t| |g_t|``, the size of the terms it sums): the step does not increase any task's
  loss to first order.
* ``permutation_invariant``: permuting the tasks leaves the direction ``d`` unchanged (the
  weights themselves need not be unique, e.g. for zero gradients).
* ``scale_invariant``: scaling every gradient by the same ``s > 0`` leaves the weights unchanged.

Methods that give a direction rather than weights (GradDrop) declare theirs in
:data:`DIRECTION_DECLARED`, checked on the same catalogue with ``d = direction(J)`` (a fixed
draw for the random ones): ``finite``, ``permutation_invariant``, ``scale_invariant`` (here
``d(s J) = s d(J)``) and ``sign_pure``: every coordinate of ``d`` is the sum of the positive parts
of its column of ``J`` or the sum of the negative parts, never a mix (GradDrop's defining
property at leak 0).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from mtl.weighting import GRADIENT_METHODS, METHODS, gradient_weights
from mtl.weighting.graddrop import graddrop_combine

ALL = frozenset({2, 3})
"""Every task count in the catalogue."""

DECLARED: dict[str, dict[str, frozenset[int]]] = {
    # property -> the task counts for which the method guarantees it
    "mgda": {
        "finite": ALL,
        "non_conflicting": ALL,
        "permutation_invariant": ALL,
        "scale_invariant": ALL,
    },
    "pcgrad": {
        "finite": ALL,
        "non_conflicting": frozenset({2}),  # T > 2: projections can re-create conflicts
        "permutation_invariant": frozenset({2}),  # T > 2: the visiting order matters
        "scale_invariant": ALL,
    },
    "cagrad": {
        # not non-conflicting: it maximises the worst improvement within a ball, which may be < 0
        "finite": ALL,
        "permutation_invariant": ALL,
        "scale_invariant": ALL,
    },
    "imtl": {
        "finite": ALL,
        "non_conflicting": frozenset({2}),  # T = 2: d is along the bisector u_1 + u_2
        "permutation_invariant": ALL,
        "scale_invariant": ALL,
    },
    # gradmethods: the TorchJD-paper methods, Aligned-MTL, ConFIG
    "upgrad": {
        "finite": ALL,
        "non_conflicting": ALL,  # an average of points of the dual cone
        "permutation_invariant": ALL,
        "scale_invariant": ALL,
    },
    "dualproj": {
        "finite": ALL,
        "non_conflicting": ALL,  # a point of the dual cone
        "permutation_invariant": ALL,
        "scale_invariant": ALL,
    },
    "aligned_mtl": {
        # not non-conflicting: it equalises the principal directions, whatever the tasks' signs
        "finite": ALL,
        "permutation_invariant": ALL,
        "scale_invariant": ALL,
    },
    "config": {
        "finite": ALL,
        # T > 2: only when the rows are independent (3 gradients in 2-D conflict in ~1/4 of
        # random draws: U^+ 1 is then a least-squares fit, not an equal-angle direction)
        "non_conflicting": frozenset({2}),
        "permutation_invariant": ALL,
        "scale_invariant": ALL,
    },
    # moremethods: begin
    "nash_mtl": {
        # G alpha = 1/alpha: every task improves by 1/alpha_t > 0; Pareto-stationary cases
        # (opposite gradients) give d = 0
        "finite": ALL,
        "non_conflicting": ALL,
        "permutation_invariant": ALL,
        "scale_invariant": ALL,  # G is normalised by its Frobenius norm
    },
    "fairgrad": {
        # not scale-invariant: scaling the gradients by s scales w by s^(-2 alpha / (1 + alpha))
        "finite": ALL,
        "non_conflicting": ALL,
        "permutation_invariant": ALL,
    },
    # moremethods: end
}


def _random(T: int, P: int, seed: int) -> torch.Tensor:
    return torch.randn(T, P, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _catalogue() -> dict[str, torch.Tensor]:
    g = _random(1, 6, 1)[0]
    h = _random(1, 6, 2)[0]
    noise = _random(1, 6, 3)[0]
    cases = {
        "random-2": _random(2, 6, 10),
        "random-3": _random(3, 6, 11),
        "random-3-wide": _random(3, 40, 12),
        "zero-2": torch.zeros(2, 6, dtype=torch.float64),
        "zero-3": torch.zeros(3, 6, dtype=torch.float64),
        "one-zero-row-2": torch.stack([g, torch.zeros_like(g)]),
        "parallel-2": torch.stack([g, 2.5 * g]),
        "rank-deficient-3": torch.stack([g, h, g + 2 * h]),
        "more-tasks-than-dims-3": _random(3, 2, 13),
        "opposite-unequal-2": torch.stack([g, -3.0 * g]),
        "opposite-unequal-3": torch.stack([g, -3.0 * g, h]),
        "near-opposite-2": torch.stack([g, -3.0 * g + 1e-6 * noise]),
        "near-parallel-2": torch.stack([g, 2.5 * g + 1e-6 * noise]),
        "orthogonal-unequal-2": torch.tensor([[1.0, 0.0], [0.0, 1e4]], dtype=torch.float64),
    }
    for scale in (1e-8, 1e-4, 1e4, 1e8, 1e15):
        cases[f"random-2-x{scale:g}"] = scale * _random(2, 6, 20)
        cases[f"random-3-x{scale:g}"] = scale * _random(3, 6, 21)
    return cases


CATALOGUE = _catalogue()

KNOWN_BUGS: dict[tuple[str, str, str], str] = {
    # (method, case, property) -> reason; each is an xfail(strict=True), so a fix is noticed
}


def _cases() -> list[object]:
    params = []
    for name in sorted(DECLARED):
        for case, J in CATALOGUE.items():
            for prop, task_counts in DECLARED[name].items():
                if J.shape[0] not in task_counts:
                    continue
                marks = []
                if (name, case, prop) in KNOWN_BUGS:
                    marks.append(
                        pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[(name, case, prop)])
                    )
                params.append(
                    pytest.param(name, case, prop, id=f"{name}-{case}-{prop}", marks=marks)
                )
    return params


def test_every_gradient_method_declares_its_properties():
    assert set(DECLARED) == set(GRADIENT_METHODS)


def _check(name: str, J: torch.Tensor, prop: str) -> None:
    w = gradient_weights(name, J)
    assert w.shape == J.shape[:1]
    if prop == "finite":
        assert torch.isfinite(w).all(), w
    elif prop == "non_conflicting":
        d = (w.unsqueeze(-1) * J).sum(-2)
        inner = J @ d
        norms = J.norm(dim=-1)
        tol = 1e-12 * (w.abs() * norms).sum() * norms
        assert bool((inner >= -tol).all()), (w, inner)
    elif prop == "permutation_invariant":
        perm = torch.arange(J.shape[0] - 1, -1, -1)  # reversed
        w_perm = gradient_weights(name, J[perm])
        d_perm = (w_perm.unsqueeze(-1) * J[perm]).sum(-2)
        d = (w.unsqueeze(-1) * J).sum(-2)
        scale = float((w.abs() * J.norm(dim=-1)).sum())
        torch.testing.assert_close(d_perm, d, rtol=1e-6, atol=1e-9 * max(scale, 1e-300))
    elif prop == "scale_invariant":
        for s in (1e-6, 1e6):
            torch.testing.assert_close(gradient_weights(name, s * J), w, rtol=1e-6, atol=1e-9)
    else:  # pragma: no cover - a typo in DECLARED
        raise AssertionError(f"unknown property {prop!r}")


@pytest.mark.parametrize(("name", "case", "prop"), _cases())
def test_declared_property_holds(name: str, case: str, prop: str) -> None:
    _check(name, CATALOGUE[case], prop)


def _graddrop(J: torch.Tensor) -> torch.Tensor:
    """GradDrop's direction in its matrix form, for one fixed draw per column."""
    u = torch.rand(J.shape[-1], generator=torch.Generator().manual_seed(7), dtype=J.dtype)
    return graddrop_combine(J.unsqueeze(-2), None, u).squeeze(-2)


DIRECTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"graddrop": _graddrop}
"""Method -> its direction ``J [T, P] -> d [P]``, for the methods without weights."""

DIRECTION_DECLARED: dict[str, dict[str, frozenset[int]]] = {
    "graddrop": {
        # not non-conflicting: a feature keeps one sign, which may oppose a task there
        "finite": ALL,
        "permutation_invariant": ALL,  # the purity and the masks are symmetric in the tasks
        "scale_invariant": ALL,
        "sign_pure": ALL,
    },
}


def test_every_method_without_weights_declares_its_properties():
    combining = {n for n, cls in METHODS.items() if cls.combines_representation}
    assert set(DIRECTION_DECLARED) == set(DIRECTIONS) == combining


def _direction_cases() -> list[object]:
    return [
        pytest.param(name, case, prop, id=f"{name}-{case}-{prop}")
        for name, declared in sorted(DIRECTION_DECLARED.items())
        for case, J in CATALOGUE.items()
        for prop, task_counts in declared.items()
        if J.shape[0] in task_counts
    ]


@pytest.mark.parametrize(("name", "case", "prop"), _direction_cases())
def test_declared_direction_property_holds(name: str, case: str, prop: str) -> None:
    J = CATALOGUE[case]
    fn = DIRECTIONS[name]
    d = fn(J)
    atol = 1e-12 * float(J.abs().sum(0).max())
    if prop == "finite":
        assert torch.isfinite(d).all(), d
    elif prop == "permutation_invariant":
        perm = torch.arange(J.shape[0] - 1, -1, -1)
        torch.testing.assert_close(fn(J[perm]), d, rtol=1e-12, atol=atol)
    elif prop == "scale_invariant":
        for s in (1e-6, 1e6):
            torch.testing.assert_close(fn(s * J), s * d, rtol=1e-12, atol=s * atol)
    elif prop == "sign_pure":
        positive, negative = J.clamp(min=0).sum(0), J.clamp(max=0).sum(0)
        pure = torch.isclose(d, positive, rtol=1e-12, atol=atol) | torch.isclose(
            d, negative, rtol=1e-12, atol=atol
        )
        assert bool(pure.all()), (d, positive, negative)
    else:  # pragma: no cover - a typo in DIRECTION_DECLARED
        raise AssertionError(f"unknown property {prop!r}")
