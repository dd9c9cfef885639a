"""The notebook's data, exactly as published, quirk included.

The notebook seeds torch's global RNG with 0 and draws, in this order::

    regression_data      = randn(100, 1) * 10
    regression_targets   = regression_data * 2 + 3 + randn(100, 1) * 2
    classification_data  = cat(randn(50, 1) - 2, randn(50, 1) + 2)     # never used
    classification_targets = 50 zeros then 50 ones

and then builds its model from the same RNG. It trains the classifier on ``regression_data``
paired with ``classification_targets``: the labels belong to ``classification_data``'s rows, not
to these, so they carry no information about the inputs (the inputs are i.i.d. normal draws and
the labels are "first half 0, second half 1"). No model can beat chance on them; the notebook's
50% accuracy is that mismatch, not a training failure. We reproduce it faithfully and keep
``classification_data`` in ``extras``; the ``linear`` dataset is the corrected version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from mtl.data.base import Dataset
from mtl.data.registry import DatasetEntry

if TYPE_CHECKING:
    from mtl.config import DataSpec

N_ROWS = 100


def _draw(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The notebook's three random draws, in its order, from ``g``."""
    regression_data = torch.randn(N_ROWS, 1, generator=g) * 10
    regression_targets = regression_data * 2 + 3 + torch.randn(N_ROWS, 1, generator=g) * 2
    half = N_ROWS // 2
    classification_data = torch.cat(
        (torch.randn(half, 1, generator=g) - 2, torch.randn(half, 1, generator=g) + 2)
    )
    return regression_data, regression_targets, classification_data


def replay(g: torch.Generator) -> None:
    """Consume the draws the notebook makes before it builds its model."""
    _draw(g)


def build(spec: DataSpec) -> Dataset:
    """The notebook's dataset, drawn from ``torch.Generator().manual_seed(spec.seed)``.

    Seed 0 (the default) is the data as published.
    """
    regression_data, regression_targets, classification_data = _draw(
        torch.Generator().manual_seed(spec.seed)
    )
    half = N_ROWS // 2
    classification_targets = torch.cat((torch.zeros(half), torch.ones(half))).long()
    return Dataset(
        name="notebook",
        x=regression_data,
        y_reg=regression_targets,
        y_cls=classification_targets,
        n_classes=2,
        feature_names=("x",),
        regression_names=("y",),
        class_names=("0", "1"),
        description=(
            "The notebook's data as published: y = 2x + 3 + noise on 100 points. Its class labels "
            "(50 zeros, then 50 ones) were made for a different set of inputs "
            "(`classification_data`, never used), so here they are unrelated to x and accuracy "
            "stays at chance (50%). Switch to 'Linear toy, done right' for the corrected data."
        ),
        source="Generated exactly as the source notebook does (torch.manual_seed(0)).",
        extras={"classification_data": classification_data},
        rng_preamble=replay,
    )


ENTRY = DatasetEntry(
    name="notebook",
    label="Notebook (as published)",
    params=("seed",),
    build=build,
    summary="The notebook's 100 points, with its mismatched class labels (accuracy at chance).",
)
