"""Turn a user's CSV into a two-task :class:`Dataset`, or say precisely why it can't be used.

:func:`load_csv` takes a path, raw bytes, or a binary file-like (what ``st.file_uploader``
returns) and parses it in memory: nothing is written to disk. The file must be comma-separated
UTF-8 text with a header row. One numeric column is the regression target, one column (text or
integers, 2 to 20 distinct values) the class target, and the features are numeric columns.

Every refusal is a :class:`~mtl.errors.DataError` whose ``where`` names the column, row or file
and whose ``problem`` says what is wrong and what to do. Row numbers count like a spreadsheet:
the header is row 1, so the first data row is row 2.

The caps (``MAX_BYTES``, ``MAX_ROWS``, ``MAX_COLUMNS``) bound the work one upload can cause on a
small shared machine.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import IO

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

DROP_HINT = (
    'pass drop_invalid=True (the "drop rows with missing values" option) to remove those rows'
)
_SHOWN = 5
"""How many row numbers or values a message lists before "...". """
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_PARSER_ROW = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


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
        classification_target: the column to classify; its sorted distinct values become classes
            ``0..C-1`` and their text the class names (2 to 20 classes).
        features: the input columns; ``None`` means every other numeric column (a column with an
            empty header, typically a saved row index, is left out).
        drop_invalid: drop rows with a missing or infinite value in a used column instead of
            refusing the file (at least ``MIN_ROWS`` rows must remain).

    Returns:
        x ``[N, D]`` float32, y_reg ``[N, 1]`` float32, y_cls ``[N]`` int64; ``description`` says
        how many rows and columns the file had and what was used or dropped.

    """
    data, filename = _read_bytes(file)
    text = _decode(data)
    frame, blank_header = _parse(text)
    n_file_rows, n_file_cols = frame.shape
    _check_size(frame)
    chosen, skipped = _choose_features(
        frame, regression_target, classification_target, features, blank_header
    )
    numbers = _numeric_columns(frame, chosen, regression_target)
    valid = _valid_rows(numbers, frame[classification_target], drop_invalid)
    kept = int(valid.sum())
    if kept < MIN_ROWS:
        raise DataError(
            "file",
            f"only {kept} of {n_file_rows} rows remain after dropping rows with missing or "
            f"infinite values; at least {MIN_ROWS} are needed.",
        )
    codes, class_names = _encode_classes(frame[classification_target][valid])
    x = torch.tensor(numbers[chosen][valid].to_numpy(dtype=np.float32))
    y_reg = torch.tensor(numbers[[regression_target]][valid].to_numpy(dtype=np.float32))
    dropped = n_file_rows - kept
    description = (
        f"Uploaded CSV{f' {filename!r}' if filename else ''}: {n_file_rows} rows x "
        f"{n_file_cols} columns. Using "
        f"{kept} rows"
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
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data[: error.start].count(b"\n") + 1
        raise DataError(
            f"row {row}",
            f"is not UTF-8 text (byte 0x{data[error.start]:02x} cannot be decoded): the file may "
            "use another encoding. Save it as 'CSV UTF-8 (comma delimited)'.",
        ) from error


def _header(text: str) -> list[str]:
    """Split the first non-blank line into fields as the csv module reads them, stripped."""
    for fields in csv.reader(io.StringIO(text)):
        if any(field.strip() for field in fields):
            return [field.strip() for field in fields]
    return []


def _parse(text: str) -> tuple[pd.DataFrame, set[str]]:
    """Parse the table (names stripped); also return the names pandas gave blank header cells.

    Refuses duplicate column names (pandas would silently rename them), rows with more fields than
    the header, a header without data rows, and text pandas cannot tokenise.
    """
    header = _header(text)
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
                io.StringIO(text), index_col=False, skipinitialspace=True, low_memory=False
            )
        except pd.errors.EmptyDataError as error:
            raise DataError("file", "is empty; upload a CSV with a header row.") from error
        except pd.errors.ParserError as error:
            raise _parser_error(error) from error
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise _long_row(text, len(header))
    frame.columns = [str(name).strip() for name in frame.columns]
    if frame.empty and len(frame.columns) > 0:
        raise DataError("file", "has a header row but no data rows.")
    blank = {
        name
        for name, raw in zip(frame.columns, header, strict=False)
        if raw == "" and name.startswith("Unnamed")
    }
    return frame, blank


def _parser_error(error: pd.errors.ParserError) -> DataError:
    """Turn pandas' tokenising error into a DataError naming the row."""
    match = _PARSER_ROW.search(str(error))
    if match is None:
        return DataError("file", f"could not be read as CSV ({error}).")
    expected, line, saw = match.groups()
    return DataError(
        f"row {line}",
        f"has {saw} fields but the header has {expected}; look for an unquoted comma in a value "
        "or a missing header name.",
    )


def _long_row(text: str, n_header: int) -> DataError:
    """Name the first row with more fields than the header's ``n_header``."""
    rows = (fields for fields in csv.reader(io.StringIO(text)) if fields)
    for number, fields in enumerate(rows, start=1):
        if len(fields) > n_header:
            return DataError(
                f"row {number}",
                f"has {len(fields)} fields but the header has {n_header}; look for an unquoted "
                "comma in a value or a missing header name.",
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
    hint = ""
    if len(columns) == 1 and any(sep in columns[0] for sep in (";", "\t")):
        hint = " The file seems separated by ';' or tabs: save it comma-separated."
    return DataError(
        f"column '{name}'",
        f"was chosen as the {role} but is not in the file. Available columns: "
        f"{', '.join(repr(c) for c in columns)}." + hint,
    )


def _choose_features(
    frame: pd.DataFrame,
    regression_target: str,
    classification_target: str,
    features: Sequence[str] | None,
    blank_header: set[str],
) -> tuple[list[str], list[str]]:
    """Pick the feature columns; also return (for ``features=None``) the columns left out.

    Checks that targets and features exist, that no target is a feature, and that no feature is
    listed twice. Numeric content is checked later by :func:`_numeric_columns`.
    """
    for name, role in (
        (regression_target, "regression target"),
        (classification_target, "class target"),
    ):
        if name not in frame.columns:
            raise _unknown(name, role, frame)
    targets = {regression_target: "regression target", classification_target: "class target"}
    if features is None:
        others = [c for c in frame.columns if c not in targets]
        chosen = [
            c
            for c in others
            if c not in blank_header and pd.api.types.is_numeric_dtype(frame[c].dtype)
        ]
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
        raise DataError(
            "features",
            "no feature column chosen; choose at least one, or pass features=None to use every "
            "other numeric column.",
        )
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


def _numeric_columns(
    frame: pd.DataFrame, features: list[str], regression_target: str
) -> pd.DataFrame:
    """Convert the features and the regression target to float64 (missing values stay NaN).

    Raises a DataError naming every non-numeric feature (or the target) with its first bad value
    and that value's row.
    """
    converted: dict[str, pd.Series] = {}
    bad: list[tuple[str, int, object, int]] = []
    for name in [*features, regression_target]:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
            converted[name] = column.astype("float64")
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        wrong = numbers.isna() & column.notna()
        if wrong.any():
            first = int(np.flatnonzero(wrong.to_numpy())[0])
            bad.append((name, first, column.iloc[first], int(wrong.sum())))
        converted[name] = numbers.astype("float64")
    target_bad = [b for b in bad if b[0] == regression_target]
    if target_bad:
        _, first, value, count = target_bad[0]
        raise DataError(
            f"column '{regression_target}'",
            f"is the regression target but is not numeric: row {_row(first)} holds {value!r} "
            f"({count} such value{'s' if count > 1 else ''}; the header is row 1). Choose a "
            "numeric column, or fix those values (leave a cell empty if it is missing).",
        )
    if bad:
        examples = "; ".join(
            ("" if len(bad) == 1 else f"'{name}' ")
            + f"row {_row(first)} holds {value!r}"
            + (f" ({count} such values)" if count > 1 else "")
            for name, first, value, count in bad[:_SHOWN]
        )
        raise DataError(
            _columns_where([b[0] for b in bad]),
            f"{'is' if len(bad) == 1 else 'are'} not numeric: {examples} (the header is row 1). "
            "Features must be numbers: leave text columns out of the features, or fix those "
            "values (leave a cell empty if it is missing).",
        )
    return pd.DataFrame(converted)


def _valid_rows(numbers: pd.DataFrame, classes: pd.Series, drop_invalid: bool) -> np.ndarray:
    """Return the mask ``[N]`` of rows whose used values are all present and finite (float32).

    Without ``drop_invalid``, any invalid row raises a DataError naming the columns, how many
    values each lacks, and the first rows.
    """
    values = numbers.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad_numbers = ~np.isfinite(values) | (np.abs(values) > _FLOAT32_MAX)
    bad = pd.DataFrame(bad_numbers, columns=numbers.columns)
    bad[classes.name] = classes.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(classes.dtype) and not pd.api.types.is_bool_dtype(
        classes.dtype
    ):
        bad[classes.name] |= ~np.isfinite(classes.to_numpy(dtype=np.float64, na_value=np.nan))
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


def _encode_classes(classes: pd.Series) -> tuple[list[int], tuple[str, ...]]:
    """Map the sorted distinct values to codes ``0..C-1``, with names; 2 to 20 classes."""
    values = sorted(classes.unique().tolist())
    name = str(classes.name)
    if len(values) < 2:
        shown = repr(_label(values[0])) if values else "none"
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
    codes = [index[value] for value in classes.tolist()]
    return codes, tuple(_label(value) for value in values)


def _label(value: object) -> str:
    """Name a class: whole floats lose ``.0`` (``2.0`` -> ``"2"``), the rest is ``str``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
