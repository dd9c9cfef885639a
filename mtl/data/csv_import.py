r"""Turn a user's CSV into a two-task :class:`Dataset`, or say precisely why it can't be used.

:func:`load_csv` takes a path, raw bytes, or a binary file-like (what ``st.file_uploader``
returns) and parses it in memory: nothing is written to disk. The file must be UTF-8 text with a
header row. One numeric column is the regression target, one column (text or numbers, 2 to 20
distinct values) the class target, and the features are numeric columns.

How cells are read (:func:`read_table`):

- Separator: comma, semicolon or tab, whichever splits the header line into the most fields
  (ties go to the comma). With a semicolon or tab separator, numbers written with a decimal comma
  (``1,5``) are read as decimals when the first rows hold such a number.
- Line endings: ``\n``, ``\r\n`` and old Macintosh lone ``\r`` are all accepted.
- Missing values: an empty cell is missing in every column. In numeric columns (features and the
  regression target) the usual markers (``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ...) are
  missing too. In the class column they are not: ``NA`` or ``None`` there is a class like any
  other (a penguin of species ``NA`` is not a missing penguin); leave the cell empty to mark a
  missing class.
- Numbers whose magnitude exceeds :data:`MAX_ABS_VALUE` (including ones too large for a float at
  all, such as a 400-digit integer) are refused with a message naming the column: training in
  float32 would overflow. Rescale the column.
- Class values that are all numbers are grouped and ordered by value (``2`` before ``10``,
  ``1`` and ``1.0`` alike, exactly, even past float precision); otherwise by their text.

Every refusal is a :class:`~mtl.errors.DataError` whose ``where`` names the column, row or file
and whose ``problem`` says what is wrong and what to do. Row numbers count like a spreadsheet:
the header is row 1, so the first data row is row 2.

The caps (``MAX_BYTES``, ``MAX_ROWS``, ``MAX_COLUMNS``) bound the work one upload can cause on a
small shared machine.
"""

from __future__ import annotations

import csv
import decimal
import io
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import torch

from mtl.data.base import Dataset
from mtl.errors import DataError

MAX_BYTES = 10 * 1024 * 1024
"""Largest accepted file, 10 MB."""
MAX_ROWS = 20_000
"""Most data rows (not counting the header), the same cap as a generated dataset's size."""
MAX_COLUMNS = 50
"""Most columns in the file."""
MIN_ROWS = 10
"""Fewest usable rows: fewer cannot be split and standardised meaningfully."""
MAX_CLASSES = 20
"""Most distinct values of the class target; more usually means a continuous column."""

CsvSource = str | os.PathLike[str] | bytes | IO[bytes]
"""What :func:`load_csv` reads: a path, the file's bytes, or a binary file-like object."""

MAX_ABS_VALUE = 1e15
"""Largest magnitude accepted in a numeric column: squares of such values summed over
``MAX_ROWS`` rows stay far inside float32's range (3.4e38), so standardising and the MSE cannot
overflow in training."""

DROP_HINT = 'tick "Drop rows with missing values" to leave those rows out'
"""The page's option (``drop_invalid=True`` in :func:`load_csv`)."""
MISSING_MARKERS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"}
    | {"<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)
"""Cell texts that mean "missing" in a numeric column: pandas' default ``na_values``."""
_INFINITY = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
_SNIFF_CHARS = 1 << 20
"""How much of the file the separator, header and decimal-mark detection read (1 MB)."""
_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+(?:[eE][-+]?\d+)?$")
_SHOWN = 5
"""How many row numbers or values a message lists before "...". """
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_PARSER_ROW = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


@dataclass(frozen=True, eq=False)
class Table:
    r"""A parsed CSV before any column is chosen: what :func:`read_table` returns.

    Attributes:
        frame: the table as pandas infers it (fast): columns of numbers are parsed (with the
            file's decimal mark), an empty cell is NaN; other columns are text. Missing markers
            such as ``NA`` are left as text here: :meth:`numbers` treats them as missing,
            :meth:`labels` keeps them.
        blank_header: the names pandas gave to blank header cells (``Unnamed: 0``...): usually a
            saved row index, never a default feature.
        separator: ``","``, ``";"`` or ``"	"``.
        decimal: ``"."``, or ``","`` for decimal commas.
        text: the decoded file, from which a column's exact text is re-read when needed (a
            number column holding ``inf``: written so, or a number too large for a float?).
    """

    frame: pd.DataFrame
    blank_header: frozenset[str]
    separator: str
    decimal: str
    text: str = field(repr=False)
    _parsed: dict[str, tuple[pd.Series, pd.Series]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def columns(self) -> list[str]:
        """Every column name, stripped, in file order."""
        return [str(c) for c in self.frame.columns]

    def cells(self, name: str) -> pd.Series:
        """Column ``name`` as its exact stripped text (an empty cell is ``""``)."""
        column = self.frame[name]
        if not _parsed_as_numbers(column):
            return column.fillna("").astype(str).str.strip()
        position = self.columns.index(name)
        reread = pd.read_csv(
            io.StringIO(self.text),
            sep=self.separator,
            usecols=[position],
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            index_col=False,
            skipinitialspace=True,
        )
        return reread.iloc[:, 0].str.strip().set_axis(column.index)

    def parsed(self, name: str) -> tuple[pd.Series, pd.Series]:
        """``(values, text)`` of column ``name``: see :func:`_to_numbers` (computed once)."""
        if name not in self._parsed:
            self._parsed[name] = _to_numbers(self, name)
        return self._parsed[name]

    def numbers(self, name: str) -> pd.Series:
        """Column ``name`` as float64: missing markers are NaN, text that is no number is NaN."""
        return self.parsed(name)[0]

    def is_numeric(self, name: str) -> bool:
        """Whether every present cell of column ``name`` is a number (and at least one is)."""
        values, text = self.parsed(name)
        return bool((~np.isnan(values.to_numpy())).any()) and not bool(text.to_numpy().any())

    def numeric_share(self, name: str) -> float:
        """The share of column ``name``'s present cells that are numbers (0 with none present)."""
        values, text = self.parsed(name)
        present = int(values.notna().sum()) + int(text.sum())
        return float(values.notna().sum()) / present if present else 0.0

    def labels(self, name: str) -> pd.Series:
        """Column ``name`` as class labels: text as written (``NA`` included), ``""`` if empty.

        A column pandas read as numbers is written back from its values (``2.0`` as ``"2"``),
        which :func:`_encode_classes` then orders by value; one holding ``inf`` is re-read.
        """
        column = self.frame[name]
        if not _parsed_as_numbers(column):
            return self.cells(name)
        if pd.api.types.is_bool_dtype(column.dtype):
            return column.astype(str)
        if bool(np.isinf(column.astype("float64")).any()):
            return self.cells(name)
        return pd.Series([_label(v) for v in column.tolist()], index=column.index)

    @property
    def format(self) -> str:
        """How the file was read, in words, or ``""`` for plain comma-separated values."""
        if self.separator == ",":
            return ""
        return f"{_SEPARATORS[self.separator]}-separated" + (
            ", with decimal commas" if self.decimal == "," else ""
        )


def _parsed_as_numbers(column: pd.Series) -> bool:
    """Whether pandas read ``column`` as numbers or booleans (not text, not big integers)."""
    return bool(
        pd.api.types.is_bool_dtype(column.dtype)
        or (pd.api.types.is_numeric_dtype(column.dtype) and column.dtype != object)
    )


def read_table(file: CsvSource) -> Table:
    """Read and parse the file (size, encoding, separator, rows) without choosing any column.

    Raises :class:`DataError` for a file that cannot be used whatever columns are chosen.
    """
    data, _ = _read_bytes(file)
    table = _parse(_decode(data))
    _check_size(table.frame)
    return table


def load_csv(
    file: CsvSource,
    regression_target: str,
    classification_target: str,
    features: Sequence[str] | None = None,
    drop_invalid: bool = False,
) -> Dataset:
    """Read a CSV into a :class:`Dataset` named ``"csv"``, or raise :class:`DataError`.

    Args:
        file: a path (``str`` or ``Path``), the file's bytes, or a binary file-like with
            ``getvalue()`` or ``read()`` (such as Streamlit's ``UploadedFile``).
        regression_target: the numeric column to regress.
        classification_target: the column to classify; its distinct values, sorted, become
            classes ``0..C-1`` and their text the class names (2 to 20 classes).
        features: the input columns; ``None`` means every other numeric column (a column with an
            empty header, typically a saved row index, is left out).
        drop_invalid: drop rows with a missing or infinite value in a used column instead of
            refusing the file (at least ``MIN_ROWS`` rows must remain); the page's "Drop rows
            with missing values".

    Returns:
        x ``[N, D]`` float32, y_reg ``[N, 1]`` float32, y_cls ``[N]`` int64; ``description`` says
        how many rows and columns the file had, how it was read, and what was used or dropped.

    """
    data, filename = _read_bytes(file)
    table = _parse(_decode(data))
    frame = table.frame
    n_file_rows, n_file_cols = frame.shape
    _check_size(frame)
    chosen, skipped = _choose_features(table, regression_target, classification_target, features)
    numbers = _numeric_columns(table, chosen, regression_target)
    classes = table.labels(classification_target)
    valid = _valid_rows(numbers, classes.rename(classification_target), drop_invalid)
    kept = int(valid.sum())
    if kept < MIN_ROWS:
        raise DataError(
            "file",
            f"only {kept} of {n_file_rows} rows remain after dropping rows with missing or "
            f"infinite values; at least {MIN_ROWS} are needed.",
        )
    codes, class_names = _encode_classes(
        classes[valid].rename(classification_target), table.decimal
    )
    x = torch.tensor(numbers[chosen][valid].to_numpy(dtype=np.float32))
    y_reg = torch.tensor(numbers[[regression_target]][valid].to_numpy(dtype=np.float32))
    dropped = n_file_rows - kept
    description = (
        f"Uploaded CSV{f' {filename!r}' if filename else ''}: {n_file_rows} rows x "
        f"{n_file_cols} columns"
        + (f", read as {table.format}" if table.format else "")
        + f". Using {kept} rows"
        + (f" ({dropped} with missing or infinite values dropped)" if dropped else "")
        + f", {len(chosen)} features ({_names(chosen, MAX_COLUMNS)}), regression target "
        f"'{regression_target}'"
        f" and class target '{classification_target}' with {len(class_names)} classes "
        f"({_names(class_names)})."
        + (
            f" Not used (not numeric or unnamed): {_names(skipped, MAX_COLUMNS)}."
            if skipped
            else ""
        )
    )
    return Dataset(
        name="csv",
        x=x,
        y_reg=y_reg,
        y_cls=torch.tensor(codes, dtype=torch.int64),
        n_classes=len(class_names),
        feature_names=tuple(chosen),
        regression_names=(regression_target,),
        class_names=class_names,
        description=description,
        source=f"Uploaded file{f' {filename!r}' if filename else ''} ({len(data):,} bytes).",
    )


def _names(names: Sequence[str], limit: int = _SHOWN) -> str:
    """Quote ``names`` as ``'a', 'b'``, at most ``limit`` of them, then "and k more"."""
    shown = ", ".join(f"'{name}'" for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _columns_where(names: Sequence[str]) -> str:
    """``column 'a'`` or ``columns 'a', 'b'``: the ``where`` of a DataError."""
    return f"column '{names[0]}'" if len(names) == 1 else f"columns {_names(names)}"


def _row(position: int) -> int:
    """Spreadsheet row number of the data row at 0-based ``position`` (the header is row 1)."""
    return position + 2


def _read_bytes(file: CsvSource) -> tuple[bytes, str]:
    """Return the file's bytes and its name (``""`` if it has none); refuse empty or big files."""
    if isinstance(file, bytes | bytearray):
        data, filename = bytes(file), ""
    elif isinstance(file, str | os.PathLike):
        path = Path(file)
        filename = path.name
        if not path.is_file():
            raise DataError(f"file '{path}'", "does not exist or is not a file.")
        if path.stat().st_size > MAX_BYTES:
            raise DataError(f"file '{filename}'", _too_big(path.stat().st_size))
        try:
            data = path.read_bytes()
        except OSError as error:
            raise DataError(f"file '{filename}'", f"could not be read: {error}.") from error
    elif hasattr(file, "getvalue") or hasattr(file, "read"):
        raw = file.getvalue() if hasattr(file, "getvalue") else file.read(MAX_BYTES + 1)
        data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        filename = Path(str(getattr(file, "name", "") or "")).name
    else:
        raise DataError("file", f"expected a path or a binary file, got {type(file).__name__}.")
    where = f"file '{filename}'" if filename else "file"
    if len(data) > MAX_BYTES:
        raise DataError(where, _too_big(len(data)))
    if not data.strip():
        raise DataError(where, "is empty; upload a CSV with a header row and data rows.")
    return data, filename


def _too_big(size: int) -> str:
    """Say that a file of ``size`` bytes is over the cap."""
    return (
        f"is {size / 2**20:.1f} MB; the limit is {MAX_BYTES / 2**20:.0f} MB. Upload fewer rows "
        "or columns."
    )


def _decode(data: bytes) -> str:
    """Decode UTF-8 (a byte-order mark is allowed); refuse binary data and other encodings."""
    if b"\x00" in data:
        raise DataError(
            "file",
            "contains NUL bytes, so it is not a CSV text file: it may be a spreadsheet (.xlsx), "
            "another binary file, or UTF-16 text. Export it as 'CSV UTF-8 (comma delimited)'.",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data[: error.start].count(b"\n") + 1
        raise DataError(
            f"row {row}",
            f"is not UTF-8 text (byte 0x{data[error.start]:02x} cannot be decoded): the file may "
            "use another encoding. Save it as 'CSV UTF-8 (comma delimited)'.",
        ) from error
    # Old Macintosh files end lines with a lone carriage return; read every ending as "\n".
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _lines(text: str, separator: str) -> Iterator[list[str]]:
    """The csv module's reader over ``text`` (quote-aware), never raising on odd quoting."""
    return csv.reader(io.StringIO(text), delimiter=separator, strict=False)


def _header(text: str, separator: str) -> list[str]:
    """Split the first non-blank line into fields as the csv module reads them, stripped."""
    for fields in _lines(text, separator):
        if any(field.strip() for field in fields):
            return [field.strip() for field in fields]
    return []


def _separator(text: str) -> str:
    """The separator that splits the header line into the most fields; ties go to the comma."""
    counts = {sep: len(_header(text, sep)) for sep in _SEPARATORS}
    return max(_SEPARATORS, key=lambda sep: counts[sep])  # max keeps the first of equals


def _decimal(text: str, separator: str) -> str:
    """``","`` when a semicolon- or tab-separated file writes a number with a decimal comma."""
    if separator == ",":
        return "."
    rows = _lines(text, separator)
    for number, fields in enumerate(rows):
        if number > 100:
            break
        if number > 0 and any(_DECIMAL_COMMA.match(field.strip()) for field in fields):
            return ","
    return "."


def _parse(text: str) -> Table:
    """Parse the table: every cell as stripped text; detect the separator and decimal mark.

    Refuses duplicate column names (pandas would silently rename them), rows with more fields than
    the header, a header without data rows, and text pandas cannot tokenise.
    """
    start = text[:_SNIFF_CHARS]  # the header and the first rows are enough to tell
    try:
        separator = _separator(start)
        header = _header(start, separator)
        decimal_mark = _decimal(start, separator)
    except csv.Error as error:  # e.g. a field larger than the csv module's limit
        raise DataError("file", f"could not be read as CSV ({error}).") from error
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise DataError(
                f"column '{name}'",
                "appears more than once in the header; give every column a unique name.",
            )
        seen.add(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=separator,
                decimal=decimal_mark,
                keep_default_na=False,
                na_values=[""],
                index_col=False,
                skipinitialspace=True,
                low_memory=False,
            )
        except pd.errors.EmptyDataError as error:
            raise DataError("file", "is empty; upload a CSV with a header row.") from error
        except pd.errors.ParserError as error:
            raise _parser_error(error) from error
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise _long_row(text, len(header), separator)
    frame.columns = [str(name).strip() for name in frame.columns]
    if frame.empty and len(frame.columns) > 0:
        raise DataError("file", "has a header row but no data rows.")
    blank = frozenset(
        name
        for name, raw in zip(frame.columns, header, strict=False)
        if raw == "" and name.startswith("Unnamed")
    )
    return Table(frame, blank, separator, decimal_mark, text)


def _parser_error(error: pd.errors.ParserError) -> DataError:
    """Turn pandas' tokenising error into a DataError naming the row."""
    match = _PARSER_ROW.search(str(error))
    if match is None:
        return DataError(
            "file",
            "could not be read as CSV: check that every row has the header's number of fields "
            "and that quotes are closed.",
        )
    expected, line, saw = match.groups()
    return DataError(
        f"row {line}",
        f"has {saw} fields but the header has {expected}; look for an unquoted separator in a "
        "value or a missing header name.",
    )


def _long_row(text: str, n_header: int, separator: str) -> DataError:
    """Name the first row with more fields than the header's ``n_header``."""
    rows = (fields for fields in _lines(text, separator) if fields)
    for number, fields in enumerate(rows, start=1):
        if len(fields) > n_header:
            return DataError(
                f"row {number}",
                f"has {len(fields)} fields but the header has {n_header}; look for an unquoted "
                f"{_SEPARATORS[separator]} in a value or a missing header name.",
            )
    return DataError("file", "has rows with more fields than the header.")


def _check_size(frame: pd.DataFrame) -> None:
    """Refuse more than ``MAX_COLUMNS`` columns or ``MAX_ROWS`` rows, or fewer than ``MIN_ROWS``."""
    n_rows, n_cols = frame.shape
    if n_cols > MAX_COLUMNS:
        raise DataError(
            "file",
            f"has {n_cols} columns; the limit is {MAX_COLUMNS}. Remove unneeded columns first.",
        )
    if n_rows > MAX_ROWS:
        raise DataError(
            "file", f"has {n_rows:,} data rows; the limit is {MAX_ROWS:,}. Upload a sample."
        )
    if n_rows < MIN_ROWS:
        raise DataError(
            "file",
            f"has only {n_rows} data row{'s' if n_rows != 1 else ''}; at least {MIN_ROWS} are "
            "needed to train and test.",
        )


def _unknown(name: str, role: str, frame: pd.DataFrame) -> DataError:
    """Say that column ``name`` (the ``role``) is not in the file, listing those that are."""
    columns = [str(c) for c in frame.columns]
    return DataError(
        f"column '{name}'",
        f"was chosen as the {role} but is not in the file. Available columns: "
        f"{', '.join(repr(c) for c in columns)}.",
    )


def _choose_features(
    table: Table,
    regression_target: str,
    classification_target: str,
    features: Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    """Pick the feature columns; also return (for ``features=None``) the columns left out.

    Checks that targets and features exist, that no target is a feature, and that no feature is
    listed twice. Numeric content is checked later by :func:`_numeric_columns`.
    """
    frame = table.frame
    for name, role in (
        (regression_target, "regression target"),
        (classification_target, "class target"),
    ):
        if name not in frame.columns:
            raise _unknown(name, role, frame)
    targets = {regression_target: "regression target", classification_target: "class target"}
    if features is None:
        others = [c for c in frame.columns if c not in targets]
        chosen = [c for c in others if c not in table.blank_header and table.is_numeric(c)]
        skipped = [c for c in others if c not in chosen]
        if not chosen:
            raise DataError(
                "features",
                "no numeric column besides the targets can be a feature"
                + (f" (not numeric or unnamed: {_names(skipped)})" if skipped else "")
                + ". Add a numeric column or choose other targets.",
            )
        return chosen, skipped
    if isinstance(features, str):
        features = [features]
    chosen = list(features)
    if not chosen:
        raise DataError("features", "no feature column chosen; choose at least one.")
    seen: set[str] = set()
    for name in chosen:
        if name not in frame.columns:
            raise _unknown(name, "feature", frame)
        if name in targets:
            raise DataError(
                f"column '{name}'",
                f"is the {targets[name]}, so it can't also be a feature (the model would see the "
                "answer). Remove it from the features.",
            )
        if name in seen:
            raise DataError(f"column '{name}'", "is listed twice in the features.")
        seen.add(name)
    return chosen, []


def _to_numbers(table: Table, name: str) -> tuple[pd.Series, pd.Series]:
    """``(values, text)``: column ``name`` as float64, and the mask of present cells that are text.

    ``values`` is NaN where a cell is missing (empty or a marker such as ``NA``) or not a number.
    A column pandas already read as numbers costs nothing more; a text column (text, numbers
    mixed with markers or stray text, integers too large for 64 bits) is converted here. A
    number too large for a float (``1e400``, a 400-digit integer) becomes ±inf, like the literal
    ``inf``; :func:`_too_large` tells them apart.
    """
    column = table.frame[name]
    if _parsed_as_numbers(column):
        values = column.astype("float64")
        return values, pd.Series(False, index=column.index)
    cells = table.cells(name)
    missing = cells.isin(MISSING_MARKERS)
    written = cells.str.replace(",", ".", regex=False) if table.decimal == "," else cells
    values = pd.to_numeric(written.where(~missing), errors="coerce").astype("float64")
    return values, values.isna() & ~missing


def _too_large(table: Table, name: str, values: pd.Series) -> pd.Series:
    """Mask of cells holding a number beyond :data:`MAX_ABS_VALUE` (not the literal ``inf``)."""
    with np.errstate(invalid="ignore"):
        big = np.abs(values.to_numpy()) > MAX_ABS_VALUE
    if big.any() and np.isinf(values.to_numpy()[big]).any():  # "inf", or too large a number?
        big &= ~table.cells(name).str.lower().isin(_INFINITY).to_numpy()
    return pd.Series(big, index=values.index)


def _numeric_columns(table: Table, features: list[str], regression_target: str) -> pd.DataFrame:
    """Convert the features and the regression target to float64 (missing values stay NaN).

    Raises a DataError naming every non-numeric feature (or the target) with its first bad value
    and that value's row, or every column holding values too large for training.
    """
    converted: dict[str, pd.Series] = {}
    bad: list[tuple[str, int, object, int]] = []
    large: list[tuple[str, int, object, int]] = []
    for name in [*features, regression_target]:
        values, wrong = table.parsed(name)
        if wrong.any():
            first = int(np.flatnonzero(wrong.to_numpy())[0])
            bad.append((name, first, table.cells(name).iloc[first], int(wrong.sum())))
        big = _too_large(table, name, values)
        if big.any():
            first = int(np.flatnonzero(big.to_numpy())[0])
            large.append((name, first, table.cells(name).iloc[first], int(big.sum())))
        converted[name] = values
    target_bad = [b for b in bad if b[0] == regression_target]
    if target_bad:
        _, first, value, count = target_bad[0]
        raise DataError(
            f"column '{regression_target}'",
            f"is the regression target but is not numeric: row {_row(first)} holds "
            f"{_shown(value)} ({count} such value{'s' if count > 1 else ''}; the header is row "
            "1). Choose a numeric column, or fix those values (leave a cell empty if it is "
            "missing).",
        )
    if bad:
        examples = "; ".join(
            ("" if len(bad) == 1 else f"'{name}' ")
            + f"row {_row(first)} holds {_shown(value)}"
            + (f" ({count} such values)" if count > 1 else "")
            for name, first, value, count in bad[:_SHOWN]
        )
        raise DataError(
            _columns_where([b[0] for b in bad]),
            f"{'is' if len(bad) == 1 else 'are'} not numeric: {examples} (the header is row 1). "
            "Features must be numbers: leave text columns out of the features, or fix those "
            "values (leave a cell empty if it is missing).",
        )
    if large:
        examples = "; ".join(
            ("" if len(large) == 1 else f"'{name}' ")
            + f"row {_row(first)} holds {_shown(value)}"
            + (f" ({count} such values)" if count > 1 else "")
            for name, first, value, count in large[:_SHOWN]
        )
        raise DataError(
            _columns_where([b[0] for b in large]),
            f"{'holds' if len(large) == 1 else 'hold'} values too large for training (beyond "
            f"±{MAX_ABS_VALUE:.0e}): {examples} (the header is row 1). Rescale the column (for "
            "example divide it by a power of ten, or change its unit), or fix those values.",
        )
    return pd.DataFrame(converted)


def _shown(value: object, limit: int = 30) -> str:
    """``repr`` of a cell, shortened past ``limit`` characters (a 400-digit number...)."""
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _valid_rows(numbers: pd.DataFrame, classes: pd.Series, drop_invalid: bool) -> np.ndarray:
    """Return the mask ``[N]`` of rows whose used values are all present and finite.

    A class cell is missing only when empty. Without ``drop_invalid``, any invalid row raises a
    DataError naming the columns, how many values each lacks, and the first rows.
    """
    values = numbers.to_numpy(dtype=np.float64)
    bad = pd.DataFrame(~np.isfinite(values), columns=numbers.columns)
    bad[classes.name] = (classes == "").to_numpy()
    invalid: np.ndarray = bad.any(axis=1).to_numpy()
    if drop_invalid or not invalid.any():
        return ~invalid
    counts = bad.sum()
    columns = [str(c) for c in counts.index if counts[c] > 0]
    n_invalid = int(invalid.sum())
    rows = ", ".join(str(_row(int(i))) for i in np.flatnonzero(invalid)[:_SHOWN])
    per_column = ", ".join(f"'{c}': {int(counts[c])}" for c in columns)
    raise DataError(
        _columns_where(columns),
        (f"{n_invalid} rows have" if n_invalid > 1 else "1 row has")
        + f" missing or infinite values ({per_column}), at row{'s' if n_invalid > 1 else ''} "
        f"{rows}{', ...' if n_invalid > _SHOWN else ''} (the header is row 1). Fill them in, or "
        f"{DROP_HINT}.",
    )


def _encode_classes(classes: pd.Series, decimal_mark: str) -> tuple[list[int], tuple[str, ...]]:
    """Map the sorted distinct values to codes ``0..C-1``, with names; 2 to 20 classes.

    When every value is a finite number, values are compared exactly as decimals (``1`` and
    ``1.0`` are one class, ``2`` sorts before ``10``, a 400-digit integer is fine); otherwise
    they are compared as text.
    """
    texts = classes.tolist()
    distinct = list(dict.fromkeys(texts))
    numbers = {text: _exact(text, decimal_mark) for text in distinct}
    exact = {text: number for text, number in numbers.items() if number is not None}
    keys: dict[str, Any]
    labels: dict[Any, str]
    if len(exact) == len(numbers):
        keys = dict(exact)
        labels = {number: _number_label(number) for number in exact.values()}
    else:
        keys = {text: text for text in distinct}
        labels = {text: text for text in distinct}
    values = sorted(set(keys.values()))
    name = str(classes.name)
    if len(values) < 2:
        shown = _shown(labels[values[0]]) if values else "none"
        raise DataError(
            f"column '{name}'",
            f"has a single class ({shown}) in the rows used; the class target needs at least 2 "
            "distinct values. Choose another column.",
        )
    if len(values) > MAX_CLASSES:
        raise DataError(
            f"column '{name}'",
            f"has {len(values)} distinct values; the class target may have at most "
            f"{MAX_CLASSES}. Is it a continuous measurement? Choose a column with a few "
            "categories (text or small integers), or make it the regression target.",
        )
    index = {value: k for k, value in enumerate(values)}
    codes = [index[keys[text]] for text in texts]
    return codes, tuple(labels[value] for value in values)


def _exact(text: str, decimal_mark: str) -> decimal.Decimal | None:
    """``text`` as an exact finite decimal, or ``None`` if it is not a plain number."""
    written = text.replace(",", ".") if decimal_mark == "," else text
    if not _NUMBER.match(written):
        return None
    try:
        number = decimal.Decimal(written)
    except decimal.InvalidOperation:
        return None
    return number if number.is_finite() else None


def _number_label(number: decimal.Decimal) -> str:
    """Name a numeric class: whole numbers without decimals (``2.0`` -> ``"2"``), others short."""
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _label(value: object) -> str:
    """A number pandas parsed, as a class label: whole floats lose ``.0``, NaN is ``""``."""
    if isinstance(value, float):
        if np.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value)
