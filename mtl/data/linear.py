"""The notebook's toy done right: one input, and both targets computed from that same row.

Each row draws ``x ~ 10 * N(0, 1)`` and ``y = 2x + 3 + noise * N(0, 1)``, as the notebook does,
and its class label comes from the same row: 1 if ``y`` is above the median of ``y``, else 0.
A fraction ``label_noise`` of the labels is then flipped. The classes are balanced, and since the
label is a threshold on ``y`` (so on ``x`` up to the noise), a model can learn both tasks; compare
with the ``notebook`` dataset, whose labels belong to other rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from mtl.data.base import Dataset
from mtl.data.registry import DatasetEntry

if TYPE_CHECKING:
    from mtl.config import DataSpec


def flip_binary(labels: torch.Tensor, fraction: float, g: torch.Generator) -> torch.Tensor:
    """Flip exactly ``round(fraction * N)`` of the 0/1 ``labels`` ``[N]``, chosen with ``g``."""
    n_flip = round(fraction * labels.shape[0])
    rows = torch.randperm(labels.shape[0], generator=g)[:n_flip]
    flipped = labels.clone()
    flipped[rows] = 1 - flipped[rows]
    return flipped


def build(spec: DataSpec) -> Dataset:
    """Build x ``[N, 1]``, y ``[N, 1]`` and label ``[N]`` (1 when y is above its median).

    Draws, in order, from ``torch.Generator().manual_seed(spec.seed)``: x, the noise of y, and the
    rows whose labels flip.
    """
    g = torch.Generator().manual_seed(spec.seed)
    n = spec.n_samples
    x = torch.randn(n, 1, generator=g) * 10
    y = x * 2 + 3 + torch.randn(n, 1, generator=g) * spec.noise
    clean = (y[:, 0] > y[:, 0].median()).long()
    labels = flip_binary(clean, spec.label_noise, g)
    return Dataset(
        name="linear",
        x=x,
        y_reg=y,
        y_cls=labels,
        n_classes=2,
        feature_names=("x",),
        regression_names=("y",),
        class_names=("y <= median", "y > median"),
        description=(
            f"The notebook's toy done right: {n} points on y = 2x + 3 with Gaussian noise of "
            f"standard deviation {spec.noise:g}, "
            "and a class label from the same row (1 when y is above its median, else 0)"
            + (f", with {spec.label_noise:.0%} of the labels flipped" if spec.label_noise else "")
            + ". Both tasks depend on x, so both can be learned: the classifier can reach "
            "accuracy well above the 50% of the published notebook, and noise or flipped labels "
            "set how far. The targets have very different scales (y spans about -60 to 60, the "
            "cross-entropy about 0.7), which is why the weights matter."
        ),
        source="Generated: x ~ 10 N(0, 1), y = 2x + 3 + noise N(0, 1), label = [y > median(y)].",
    )


ENTRY = DatasetEntry(
    name="linear",
    label="Linear toy, done right",
    params=("n_samples", "noise", "label_noise", "seed"),
    build=build,
    summary="The notebook's line y = 2x + 3, with labels (y above its median) from each row.",
)
