"""Auto MPG: predict fuel economy (miles per gallon) and region of origin from car specs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mtl.data.base import Dataset
from mtl.data.real import bundled_dataset, read_bundled
from mtl.data.registry import DatasetEntry

if TYPE_CHECKING:
    from mtl.config import DataSpec

FEATURES = ("Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration", "Year")
ORIGINS = ("USA", "Europe", "Japan")
"""Class order of the original data's ``origin`` codes 1, 2, 3."""


def build(spec: DataSpec) -> Dataset:
    """Complete rows: x ``[N, 6]`` (model year as a number), MPG ``[N, 1]``, origin ``[N]``.

    Rows missing MPG (8) or horsepower (6) are dropped here, 392 of 406 remain. ``spec`` is
    unused: the data is fixed (the seed only matters to the split).
    """
    raw = read_bundled("autompg.csv")
    frame = raw.dropna(subset=[*FEATURES, "Miles_per_Gallon", "Origin"])
    dropped = len(raw) - len(frame)
    return bundled_dataset(
        "autompg",
        frame,
        FEATURES,
        "Miles_per_Gallon",
        "Origin",
        ORIGINS,
        description=(
            f"{len(frame)} car models from 1970 to 1982 ({dropped} of {len(raw)} rows dropped "
            "because miles per gallon or horsepower is missing). From cylinders, displacement, "
            "horsepower, weight, acceleration and model year, predict fuel economy in miles per "
            "gallon and where the car was made (USA, Europe or Japan). The tasks share a lot: "
            "heavy, many-cylinder cars are thirsty and mostly American. Origin is only partly "
            "predictable (Europe and Japan overlap; a linear model gets about 80% right). MPG's "
            "loss is in squared miles per gallon: hundreds at the start (the average is 23 MPG) "
            "and about 12 for a good linear fit, far above a cross-entropy near 1, so equal "
            "weights let the regression dominate."
        ),
        source=(
            "Auto MPG (Donoho & Ramos 1982, via StatLib; UCI 'Auto MPG', CC BY 4.0), copied "
            "from the vega_datasets 0.9.0 package (MIT) and converted to CSV. In that copy "
            "model year 1981 reads 1982. See mtl/data/csv/README.md."
        ),
    )


ENTRY = DatasetEntry(
    name="autompg",
    label="Auto MPG (real)",
    params=("seed",),
    build=build,
    summary="392 cars: miles per gallon and origin (USA, Europe, Japan) from their specs.",
)
