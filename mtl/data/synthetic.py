"""Two tasks whose directions in input space make a chosen angle: conflicting tasks on demand.

Inputs are ``x ~ N(0, I_d)``. The regression target follows a unit direction ``u`` and the class
follows a unit direction ``v`` with ``angle(u, v) = spec.angle`` degrees::

    y     = target_scale * (x . u + noise * eps)
    s     = x . v                     # ~ N(0, 1), so standard-normal quantiles balance the classes
    class = k  where  Phi^-1(k / C) < s <= Phi^-1((k + 1) / C)

then a fraction ``label_noise`` of labels moves to a uniformly random other class.

Why: on a shared trunk, the regression gradient pulls the features towards ``u`` and the
classification gradient towards ``v``. At 0 degrees the tasks help each other; at 90 they are
independent; past 90 they pull apart, and at 180 they are opposed. This is the "conflicting
gradients" setting that methods such as PCGrad, MGDA or CAGrad were designed for.

With one feature (``d == 1``) only 0 or 180 degrees exist: an angle below 90 gives ``v = u``,
anything from 90 up gives ``v = -u``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from mtl.data.base import Dataset
from mtl.data.registry import DatasetEntry

if TYPE_CHECKING:
    from mtl.config import DataSpec


def task_directions(d: int, angle: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw unit vectors ``u, v`` ``[d]`` at ``angle`` degrees, orientation random from ``g``.

    ``v = cos(a) u + sin(a) u_perp`` with ``u, u_perp`` an orthonormal pair (Gram-Schmidt on two
    Gaussian vectors). For ``d == 1``: ``v = u`` if ``angle < 90`` else ``-u``.
    """
    basis = torch.randn(d, 2, generator=g, dtype=torch.float64)
    u = basis[:, 0] / basis[:, 0].norm()
    if d == 1:
        return u.float(), (u if angle < 90 else -u).float()
    w = basis[:, 1] - (basis[:, 1] @ u) * u
    u_perp = w / w.norm()
    a = math.radians(angle)
    v = math.cos(a) * u + math.sin(a) * u_perp
    return u.float(), (v / v.norm()).float()


def balanced_classes(s: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Cut standard-normal scores ``s`` ``[N]`` at the ``k / C`` quantiles into labels ``[N]``."""
    levels = torch.arange(1, n_classes, dtype=torch.float64) / n_classes
    normal = torch.distributions.Normal(0.0, 1.0)
    # torch leaves Normal.icdf unannotated
    cuts = normal.icdf(levels).to(s.dtype)  # type: ignore[no-untyped-call]
    return torch.bucketize(s, cuts)


def flip_to_other_class(
    labels: torch.Tensor, n_classes: int, fraction: float, g: torch.Generator
) -> torch.Tensor:
    """Move exactly ``round(fraction * N)`` labels ``[N]`` to a uniformly random other class."""
    n_flip = round(fraction * labels.shape[0])
    rows = torch.randperm(labels.shape[0], generator=g)[:n_flip]
    shift = torch.randint(1, n_classes, (n_flip,), generator=g)
    flipped = labels.clone()
    flipped[rows] = (flipped[rows] + shift) % n_classes
    return flipped


def build(spec: DataSpec) -> Dataset:
    """Build x ``[N, d]``, y ``[N, 1]`` and C balanced classes ``[N]`` (see the module doc).

    Draws, in order, from ``torch.Generator().manual_seed(spec.seed)``: the two directions, x, the
    regression noise, the rows whose labels flip and their new classes.
    """
    g = torch.Generator().manual_seed(spec.seed)
    n, d, n_classes = spec.n_samples, spec.n_features, spec.n_classes
    u, v = task_directions(d, spec.angle, g)
    x = torch.randn(n, d, generator=g)
    eps = torch.randn(n, generator=g)
    y = spec.target_scale * (x @ u + spec.noise * eps)
    labels = flip_to_other_class(balanced_classes(x @ v, n_classes), n_classes, spec.label_noise, g)
    effective = spec.angle if d > 1 else (0.0 if spec.angle < 90 else 180.0)
    return Dataset(
        name="synthetic",
        x=x,
        y_reg=y.unsqueeze(1),
        y_cls=labels,
        n_classes=n_classes,
        feature_names=tuple(f"x{i + 1}" for i in range(d)),
        regression_names=("y",),
        class_names=tuple(f"class {k}" for k in range(n_classes)),
        description=(
            f"{n} points in {d} dimensions. The regression target follows one direction and the "
            f"{n_classes} balanced classes follow another, {effective:g} degrees away"
            + (" (with one feature only 0 or 180 degrees exist)" if d == 1 else "")
            + ". The angle sets how much the two tasks' gradients on a shared trunk pull apart: "
            "near 0 they help each other, at 90 they are independent, towards 180 they conflict, "
            "and the weighting decides which task wins. Noise blurs the regression, label noise "
            "the classes, and the target scale changes the regression loss's size (and so its "
            "share of the total) without changing the problem."
        ),
        source=(
            "Generated: x ~ N(0, I); y = target_scale (x.u + noise eps); classes from x.v cut at "
            "standard-normal quantiles; angle(u, v) = the angle parameter."
        ),
    )


ENTRY = DatasetEntry(
    name="synthetic",
    label="Conflicting tasks (synthetic)",
    params=(
        "n_samples",
        "n_features",
        "angle",
        "noise",
        "label_noise",
        "target_scale",
        "n_classes",
        "seed",
    ),
    build=build,
    summary="Gaussian inputs; the two tasks follow directions a chosen angle apart.",
)
