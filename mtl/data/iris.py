"""Fisher's iris: predict petal width (cm) and species from the other three measurements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mtl.data.base import Dataset
from mtl.data.real import bundled_dataset, read_bundled
from mtl.data.registry import DatasetEntry

if TYPE_CHECKING:
    from mtl.config import DataSpec

FEATURES = ("sepalLength", "sepalWidth", "petalLength")
SPECIES = ("setosa", "versicolor", "virginica")


def build(spec: DataSpec) -> Dataset:
    """All 150 flowers: x ``[150, 3]`` in cm, petal width ``[150, 1]`` in cm, species ``[150]``.

    ``spec`` is unused: the data is fixed (the seed only matters to the split).
    """
    frame = read_bundled("iris.csv")
    return bundled_dataset(
        "iris",
        frame,
        FEATURES,
        "petalWidth",
        "species",
        SPECIES,
        description=(
            f"Fisher's {len(frame)} iris flowers, 50 of each species. From sepal length, sepal "
            "width and petal length (cm), predict petal width (cm) and the species (setosa, "
            "versicolor or virginica). Both tasks are easy and closely related (petal size "
            "separates the species), so the interesting question is how quickly each loss "
            "falls under different weights, and how small a regression loss (a few hundredths "
            "of a squared cm) looks beside the cross-entropy."
        ),
        source=(
            "Iris (Fisher 1936, measurements by Anderson; UCI 'Iris', CC BY 4.0), copied from "
            "the vega_datasets 0.9.0 package (MIT) and converted to CSV. "
            "See mtl/data/csv/README.md."
        ),
    )


ENTRY = DatasetEntry(
    name="iris",
    label="Iris (real)",
    params=("seed",),
    build=build,
    summary="150 iris flowers: petal width and species from the other measurements.",
)
