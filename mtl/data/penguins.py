"""Palmer penguins: predict body mass (kg) and species from bill and flipper measurements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mtl.data.base import Dataset
from mtl.data.real import bundled_dataset, read_bundled
from mtl.data.registry import DatasetEntry

if TYPE_CHECKING:
    from mtl.config import DataSpec

FEATURES = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm")
SPECIES = ("Adelie", "Chinstrap", "Gentoo")


def build(spec: DataSpec) -> Dataset:
    """Rows with all measurements: x ``[N, 3]``, body mass ``[N, 1]`` in kg, species ``[N]``.

    The file is bundled unchanged; rows missing a used value (2 of 344) are dropped here, and body
    mass is converted from grams to kilograms so its loss has a scale comparable to the others.
    ``spec`` is unused: the data is fixed (the seed only matters to the split).
    """
    raw = read_bundled("penguins.csv")
    frame = raw.dropna(subset=[*FEATURES, "body_mass_g", "species"]).copy()
    frame["body_mass_kg"] = frame["body_mass_g"] / 1000
    dropped = len(raw) - len(frame)
    return bundled_dataset(
        "penguins",
        frame,
        FEATURES,
        "body_mass_kg",
        "species",
        SPECIES,
        description=(
            f"{len(frame)} penguins from three islands near Palmer Station, Antarctica "
            f"({dropped} of {len(raw)} rows without measurements dropped). From bill length, "
            "bill depth and flipper length, predict body mass in kilograms (the file's "
            "body_mass_g / 1000) and the species (Adelie, Chinstrap or Gentoo). The two tasks "
            "agree: bigger flippers mean heavier birds and mostly Gentoos, so a shared trunk "
            "helps both. Species is nearly separable (a linear model gets about 98% right); body "
            "mass keeps real spread within a species (a linear fit misses by about 0.4 kg), so "
            "watch which task the weights favour once the classifier saturates."
        ),
        source=(
            "Palmer penguins (Gorman, Williams & Fraser 2014, Palmer Station LTER; packaged by "
            "Horst, Hill & Gorman 2020), data CC0; copied from the palmerpenguins 0.1.6 Python "
            "package (MIT). See mtl/data/csv/README.md."
        ),
    )


ENTRY = DatasetEntry(
    name="penguins",
    label="Palmer penguins (real)",
    params=("seed",),
    build=build,
    summary="342 penguins: body mass (kg) and species from bill and flipper sizes.",
)
