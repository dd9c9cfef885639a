"""An uploaded CSV: list its columns for the pickers, then load it with :func:`mtl.load_csv`.

No Streamlit here: the sidebar passes the uploaded file's bytes, so this is tested with plain
bytes. Every failure is a :class:`mtl.DataError` naming the column, row or file at fault.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import mtl
from mtl.data.csv_import import MAX_CLASSES, Table, read_table

CLASS_MAX_DISTINCT = MAX_CLASSES
"""A column with at most this many distinct values can be a class target."""


@dataclass(frozen=True)
class CsvColumns:
    """What the pickers offer for one file.

    Attributes:
        columns: every column, in file order.
        numeric: the numeric columns (candidates for the regression target and the features),
            including mostly-numeric columns with stray text, which loading then reports.
        regression: the default regression target: the first numeric column with many distinct
            values (a measurement rather than a code), else the first numeric column.
        classification: the default class target: the first text column with 2 to 20 distinct
            values, else such a numeric column, else the first column that is not the regression
            target.
    """

    columns: tuple[str, ...]
    numeric: tuple[str, ...]
    regression: str
    classification: str

    def default_features(self, regression: str, classification: str) -> list[str]:
        """Every numeric column other than the two targets (what ``features=None`` would use)."""
        return [c for c in self.numeric if c not in (regression, classification)]

    def features_after(
        self,
        chosen: Sequence[str],
        before: tuple[str, str] | None,
        targets: tuple[str, str],
    ) -> list[str]:
        """The features once the targets moved from ``before`` to ``targets``, in file order.

        The new targets leave the features; a column that stops being a target (``before``'s,
        when numeric) comes back as a feature, so picking another target and back again
        restores the selection instead of losing the old target's column for good. Other
        choices (a feature the visitor removed) stay as they were.
        """
        freed = set(before or ()) - set(targets)
        keep = set(chosen) | freed
        return [c for c in self.numeric if c in keep and c not in targets]


def read_columns(data: bytes) -> CsvColumns:
    """Parse ``data`` far enough to list its columns and pick default targets.

    Raises :class:`mtl.DataError` for a file that cannot be used at all (empty, binary, not
    UTF-8, malformed rows, too large or too small). The file is read by
    :func:`mtl.data.csv_import.read_table`, :func:`mtl.load_csv`'s own reader (same separator,
    decimal mark and missing markers), so the person reads the same precise message whichever
    step refuses the file. Column-level problems are left to :func:`load`.
    """
    table = read_table(data)
    columns = tuple(table.columns)
    if len(columns) < 2:
        raise mtl.DataError(
            "file",
            "has a single column; it needs a regression target and a class target. Separate "
            "the columns with commas, semicolons or tabs.",
        )
    numeric = tuple(
        c for c in columns if c not in table.blank_header and table.numeric_share(c) >= _MOSTLY
    )
    if not numeric:
        raise mtl.DataError(
            "file", "has no numeric column, so nothing can be the regression target."
        )
    distinct = {c: _distinct(table, c, c in numeric) for c in columns}
    many = [c for c in numeric if distinct[c] > CLASS_MAX_DISTINCT]
    regression = many[0] if many else numeric[0]
    few = [c for c in columns if c != regression and 2 <= distinct[c] <= CLASS_MAX_DISTINCT]
    text_few = [c for c in few if c not in numeric]
    others = [c for c in columns if c != regression]
    classification = (text_few or few or others)[0]
    return CsvColumns(columns, numeric, regression, classification)


_MOSTLY = 0.5
"""A column at least this share of whose present cells are numbers is offered as numeric: stray
text among numbers is then reported by :func:`mtl.load_csv` with its rows, not silently left out."""


def _distinct(table: Table, name: str, numeric: bool) -> int:
    """Distinct present values of a column: numbers by value, text by text (empty cells aside)."""
    if numeric:
        return int(table.numbers(name).nunique(dropna=True))
    labels = table.labels(name)
    return int(labels[labels != ""].nunique())


def load(
    data: bytes,
    filename: str,
    regression_target: str,
    classification_target: str,
    features: Sequence[str],
    drop_invalid: bool,
) -> mtl.Dataset:
    """Load the file as a two-task dataset (raises :class:`mtl.DataError`)."""
    source = io.BytesIO(data)
    source.name = filename  # load_csv names the file in its description and messages
    return mtl.load_csv(
        source,
        regression_target=regression_target,
        classification_target=classification_target,
        features=list(features),
        drop_invalid=drop_invalid,
    )
