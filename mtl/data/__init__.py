"""Datasets: a registry of built-in datasets, bundled real data, and CSV import.

``DATASETS`` maps a name to a :class:`~mtl.data.registry.DatasetEntry`; :func:`build_dataset`
materialises the dataset a :class:`~mtl.config.DataSpec` names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mtl.data import article, autompg, iris, linear, notebook, penguins, synthetic
from mtl.data.base import Dataset, Split, split_dataset, split_rows
from mtl.data.csv_import import MAX_BYTES, MAX_COLUMNS, MAX_ROWS, load_csv
from mtl.data.registry import DatasetEntry

if TYPE_CHECKING:
    from mtl.config import DataSpec

DATASETS: dict[str, DatasetEntry] = {
    entry.name: entry
    for entry in (
        notebook.ENTRY,
        linear.ENTRY,
        synthetic.ENTRY,
        article.ENTRY,
        penguins.ENTRY,
        autompg.ENTRY,
        iris.ENTRY,
    )
}
"""Dataset name -> entry, in the page's order. A new dataset: one module with an ``ENTRY``, one
line here."""


def build_dataset(spec: DataSpec) -> Dataset:
    """Build the dataset ``spec`` names: the uploaded table for ``"csv"``, else the registry's."""
    if spec.name == "csv":
        assert spec.table is not None  # DataSpec validation guarantees it
        return spec.table
    return DATASETS[spec.name].build(spec)


__all__ = [
    "DATASETS",
    "MAX_BYTES",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "Dataset",
    "DatasetEntry",
    "Split",
    "build_dataset",
    "load_csv",
    "split_dataset",
    "split_rows",
]
