"""The article's toy: ten random inputs, random labels and random 2-d regression targets.

The article feeds one ``nn.Linear(10, 2)`` output to both CrossEntropyLoss and MSELoss, on
``inputs = randn(3, 10)``, two-class labels and ``target2 = randn(3, 2)``. Nothing links the
targets to the inputs: it demonstrates the mechanics of combining losses, not learning. (The
article writes its labels by hand as ``[0, 1, 1]``; here they are drawn, so any ``n`` works.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from mtl.data.base import Dataset
from mtl.data.registry import DatasetEntry

if TYPE_CHECKING:
    from mtl.config import DataSpec

N_INPUTS = 10
N_OUTPUTS = 2


def build(spec: DataSpec) -> Dataset:
    """Build x ``[N, 10]``, y ``[N, 2]`` and class ``[N]`` in {0, 1}: pure noise.

    Draws, in order, from ``torch.Generator().manual_seed(spec.seed)``: inputs ``randn(N, 10)``,
    labels ``randint(0, 2, (N,))``, regression targets ``randn(N, 2)``.
    """
    g = torch.Generator().manual_seed(spec.seed)
    n = spec.n_samples
    x = torch.randn(n, N_INPUTS, generator=g)
    labels = torch.randint(0, N_OUTPUTS, (n,), generator=g)
    y = torch.randn(n, N_OUTPUTS, generator=g)
    return Dataset(
        name="article",
        x=x,
        y_reg=y,
        y_cls=labels,
        n_classes=N_OUTPUTS,
        feature_names=tuple(f"x{i + 1}" for i in range(N_INPUTS)),
        regression_names=("y1", "y2"),
        class_names=("0", "1"),
        description=(
            f"The article's example: {n} rows of 10 random inputs, a random class (0 or 1) and a "
            "random 2-d regression target. It is pure noise: the targets are unrelated to the "
            "inputs, so the losses only fall by memorising the few rows (or fitting the means). "
            "It shows the mechanics the article teaches (summing, weighting, and checking that "
            "gradients flow) rather than learning."
        ),
        source="Generated like the article: randn(n, 10), randint(0, 2, (n,)), randn(n, 2).",
    )


ENTRY = DatasetEntry(
    name="article",
    label="Article example (noise)",
    params=("n_samples", "seed"),
    build=build,
    summary="The article's 10-input toy with random labels and 2-d targets: pure noise.",
)
