import builtins
import io
import tempfile
from pathlib import Path

import pytest
import torch

from mtl.config import DataSpec
from mtl.data import build_dataset, csv_import, load_csv, split_dataset
from mtl.data.csv_import import MAX_BYTES, MAX_COLUMNS, MAX_ROWS
from mtl.errors import DataError

HEADER = "height,weight,name,kind,score"
ROWS = [
    f"{1.5 + i / 10:.2f},{50 + 3 * i},item{i},{'cat' if i % 3 else 'dog'},{2.0 * i - 1:.1f}"
    for i in range(12)
]


def table(rows: list[str] = ROWS, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def with_cell(row: int, column: int, value: str) -> list[str]:
    """ROWS with data row ``row`` (0-based), column ``column`` replaced by ``value``."""
    rows = list(ROWS)
    cells = rows[row].split(",")
    cells[column] = value
    rows[row] = ",".join(cells)
    return rows


def refused(data: bytes, regression: str = "score", classification: str = "kind", **kw: object):
    with pytest.raises(DataError) as info:
        load_csv(io.BytesIO(data), regression, classification, **kw)
    return info.value


# --- happy paths ----------------------------------------------------------------------------


def test_loads_from_bytes_io() -> None:
    ds = load_csv(io.BytesIO(table()), "score", "kind")
    assert ds.name == "csv"
    assert ds.x.shape == (12, 2) and ds.x.dtype == torch.float32
    assert ds.y_reg.shape == (12, 1) and ds.y_reg.dtype == torch.float32
    assert ds.y_cls.shape == (12,) and ds.y_cls.dtype == torch.int64
    assert ds.feature_names == ("height", "weight")  # numeric columns only, file order
    assert ds.regression_names == ("score",)
    assert ds.class_names == ("cat", "dog")  # sorted
    assert ds.n_classes == 2
    # every row keeps its own values
    assert ds.x[4].tolist() == pytest.approx([1.9, 62.0])
    assert float(ds.y_reg[4, 0]) == pytest.approx(7.0)
    assert [ds.class_names[k] for k in ds.y_cls.tolist()] == [r.split(",")[3] for r in ROWS]
    assert ds.description.startswith("Uploaded CSV: 12 rows x 5 columns.")
    assert "'name'" in ds.description  # says which column was left out


def test_path_str_path_bytes_and_file_objects_agree(tmp_path: Path) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(table())
    reference = load_csv(io.BytesIO(table()), "score", "kind")
    assert load_csv(path, "score", "kind") == reference
    assert load_csv(str(path), "score", "kind") == reference
    assert load_csv(table(), "score", "kind") == reference
    with path.open("rb") as handle:  # has read() but no getvalue()
        assert load_csv(handle, "score", "kind") == reference
    assert "upload.csv" in load_csv(path, "score", "kind").source


def test_explicit_features_keep_their_order() -> None:
    ds = load_csv(io.BytesIO(table()), "score", "kind", features=["weight", "height"])
    assert ds.feature_names == ("weight", "height")
    assert ds.x[0].tolist() == pytest.approx([50.0, 1.5])


def test_integer_class_target_maps_sorted_values() -> None:
    rows = [f"{i},{i * 2},{[30, 10, 20][i % 3]}" for i in range(12)]
    ds = load_csv(io.BytesIO(table(rows, "a,b,c")), "b", "c")
    assert ds.class_names == ("10", "20", "30")
    assert ds.y_cls.tolist()[:3] == [2, 0, 1]
    assert ds.feature_names == ("a",)


def test_whole_float_classes_are_named_without_decimals() -> None:
    rows = [f"{i},{i * 2},{float(i % 2)}" for i in range(12)]
    ds = load_csv(io.BytesIO(table(rows, "a,b,c")), "b", "c")
    assert ds.class_names == ("0", "1")


def test_bom_and_spaces_around_names_and_values_are_tolerated() -> None:
    rows = [r.replace(",", ", ") for r in ROWS]
    data = b"\xef\xbb\xbf" + table(rows, HEADER.replace(",", " , "))
    ds = load_csv(io.BytesIO(data), "score", "kind")
    assert ds.feature_names == ("height", "weight")
    assert ds.class_names == ("cat", "dog")


def test_unnamed_index_column_is_not_a_default_feature() -> None:
    rows = [f"{i},{r}" for i, r in enumerate(ROWS)]
    ds = load_csv(io.BytesIO(table(rows, "," + HEADER)), "score", "kind")
    assert ds.feature_names == ("height", "weight")


def test_features_none_excludes_both_targets() -> None:
    ds = load_csv(io.BytesIO(table()), "weight", "kind")
    assert ds.feature_names == ("height", "score")
    assert "weight" not in ds.feature_names and "kind" not in ds.feature_names


def test_nothing_is_written_to_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("load_csv touched the file system")

    monkeypatch.setattr(builtins, "open", forbidden)
    monkeypatch.setattr(io, "open", forbidden)
    monkeypatch.setattr(tempfile, "mkstemp", forbidden)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", forbidden)
    monkeypatch.setattr(Path, "write_bytes", forbidden)
    ds = load_csv(io.BytesIO(table()), "score", "kind")
    assert ds.n_rows == 12


def test_upload_like_object_is_read_with_getvalue_from_any_position() -> None:
    upload = io.BytesIO(table())
    upload.name = "mine.csv"  # what st.file_uploader's UploadedFile carries
    upload.seek(0, io.SEEK_END)
    ds = load_csv(upload, "score", "kind")
    assert ds.n_rows == 12
    assert "mine.csv" in ds.description


# --- drop_invalid ---------------------------------------------------------------------------


def test_drop_invalid_removes_rows_with_missing_values() -> None:
    rows = with_cell(3, 0, "")
    rows[6] = with_cell(6, 3, "")[6]  # a missing class value counts too
    ds = load_csv(io.BytesIO(table(rows)), "score", "kind", drop_invalid=True)
    assert ds.n_rows == 10
    kept_heights = [round(v, 2) for v in ds.x[:, 0].tolist()]
    assert 1.8 not in kept_heights and 2.1 not in kept_heights  # data rows 3 and 6 are gone
    assert 1.9 in kept_heights
    assert float(ds.y_reg[3, 0]) == pytest.approx(7.0)  # data row 4 moved up, targets with it
    assert "2 with missing or infinite values dropped" in ds.description


def test_drop_invalid_needs_ten_rows_left() -> None:
    rows = with_cell(0, 1, "")[:10]  # 10 rows, one of them invalid -> 9 left
    error = refused(table(rows), drop_invalid=True)
    assert error.where == "file"
    assert "only 9 of 10 rows remain" in error.problem
    kept = load_csv(io.BytesIO(table(with_cell(0, 1, ""))), "score", "kind", drop_invalid=True)
    assert kept.n_rows == 11


# --- refusals: the file itself --------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\n\n  \n"])
def test_empty_file(data: bytes) -> None:
    error = refused(data)
    assert error.where == "file"
    assert "empty" in error.problem


def test_header_only() -> None:
    error = refused(table([]))
    assert error.where == "file"
    assert "no data rows" in error.problem


def test_binary_garbage_with_nul_bytes() -> None:
    error = refused(b"PK\x03\x04\x00\x00binary spreadsheet")
    assert error.where == "file"
    assert "NUL" in error.problem and "CSV UTF-8" in error.problem


def test_utf16_text_is_refused_as_binary() -> None:
    error = refused(table().decode().encode("utf-16"))
    assert "UTF-16" in error.problem


def test_text_that_is_not_utf8_names_the_row() -> None:
    rows = with_cell(2, 3, "caf\xe9")
    error = refused(("\n".join([HEADER, *rows]) + "\n").encode("latin-1"))
    assert error.where == "row 4"
    assert "not UTF-8" in error.problem and "0xe9" in error.problem


def test_duplicate_column_names() -> None:
    error = refused(table(ROWS, "height,weight,name,kind,height"), regression="weight")
    assert error.where == "column 'height'"
    assert "more than once" in error.problem


def test_row_with_too_many_fields_is_named() -> None:
    rows = list(ROWS)
    rows[5] += ",extra"
    error = refused(table(rows))
    assert error.where == "row 7"
    assert "6 fields" in error.problem and "header has 5" in error.problem


def test_first_row_with_too_many_fields_is_named() -> None:
    rows = list(ROWS)
    rows[0] += ",extra"
    error = refused(table(rows))
    assert error.where == "row 2"
    assert "6 fields" in error.problem


def test_fewer_than_ten_rows() -> None:
    error = refused(table(ROWS[:9]))
    assert error.where == "file"
    assert "9 data rows" in error.problem and "10" in error.problem


def test_too_many_rows() -> None:
    rows = [f"{i % 7},{i % 5},{i % 2}" for i in range(MAX_ROWS + 1)]
    error = refused(table(rows, "a,b,c"), regression="a", classification="c")
    assert error.where == "file"
    assert f"{MAX_ROWS:,}" in error.problem


def test_too_many_columns() -> None:
    n = MAX_COLUMNS + 1
    header = ",".join(f"c{j}" for j in range(n))
    rows = [",".join(str((i + j) % 3) for j in range(n)) for i in range(12)]
    error = refused(table(rows, header), regression="c0", classification="c1")
    assert error.where == "file"
    assert f"{n} columns" in error.problem and str(MAX_COLUMNS) in error.problem


def test_too_many_bytes() -> None:
    data = table() + b"#" * MAX_BYTES
    error = refused(data)
    assert error.where == "file"
    assert "10 MB" in error.problem


def test_too_many_bytes_on_disk_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(table())
    monkeypatch.setattr(csv_import, "MAX_BYTES", 100)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read a file over the cap"))
    with pytest.raises(DataError) as info:
        load_csv(path, "score", "kind")
    assert info.value.where == "file 'big.csv'"


def test_missing_path_and_wrong_type() -> None:
    with pytest.raises(DataError) as info:
        load_csv("/nonexistent/never.csv", "score", "kind")
    assert "never.csv" in info.value.where and "does not exist" in info.value.problem
    with pytest.raises(DataError) as info:
        load_csv(42, "score", "kind")  # type: ignore[arg-type]
    assert "int" in info.value.problem


# --- refusals: columns ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regression", "classification", "features", "missing"),
    [
        ("mpg", "kind", None, "mpg"),
        ("score", "origin", None, "origin"),
        ("score", "kind", ["height", "width"], "width"),
    ],
)
def test_unknown_column_lists_the_available_ones(
    regression: str, classification: str, features: list[str] | None, missing: str
) -> None:
    error = refused(table(), regression, classification, features=features)
    assert error.where == f"column '{missing}'"
    assert "not in the file" in error.problem
    for name in HEADER.split(","):
        assert f"'{name}'" in error.problem


@pytest.mark.parametrize(("separator", "word"), [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_and_tab_separated_files_are_read(separator: str, word: str) -> None:
    data = table([r.replace(",", separator) for r in ROWS], HEADER.replace(",", separator))
    ds = load_csv(io.BytesIO(data), "score", "kind")
    reference = load_csv(io.BytesIO(table()), "score", "kind")
    assert ds.feature_names == reference.feature_names
    assert torch.equal(ds.x, reference.x) and torch.equal(ds.y_reg, reference.y_reg)
    assert torch.equal(ds.y_cls, reference.y_cls)
    assert f"read as {word}-separated" in ds.description


def test_decimal_commas_with_semicolons_are_read_as_decimals() -> None:
    rows = [r.replace(",", ";").replace(".", ",") for r in ROWS]
    data = table(rows, HEADER.replace(",", ";"))
    assert b"1,50;50;item0" in data  # "1,50" is one and a half
    ds = load_csv(io.BytesIO(data), "score", "kind")
    reference = load_csv(io.BytesIO(table()), "score", "kind")
    assert torch.equal(ds.x, reference.x) and torch.equal(ds.y_reg, reference.y_reg)
    assert "decimal commas" in ds.description


def test_comma_separated_file_keeps_commas_as_separators() -> None:
    ds = load_csv(io.BytesIO(table()), "score", "kind")
    assert "read as" not in ds.description  # plain CSV: nothing to explain
    assert ds.x[0].tolist() == pytest.approx([1.5, 50.0])


@pytest.mark.parametrize("ending", ["\r", "\r\n"])
def test_old_mac_and_windows_line_endings_are_read(ending: str) -> None:
    data = table().decode().replace("\n", ending).encode()
    assert load_csv(io.BytesIO(data), "score", "kind") == load_csv(table(), "score", "kind")


@pytest.mark.parametrize("marker", ["NA", "None", "null", "N/A", "nan", "NaN"])
def test_missing_markers_in_the_class_column_are_classes(marker: str) -> None:
    rows = [r.replace(",dog,", f",{marker},") for r in ROWS]
    ds = load_csv(io.BytesIO(table(rows)), "score", "kind")
    assert ds.class_names == tuple(sorted(["cat", marker]))
    assert ds.n_rows == 12


def test_missing_markers_in_numeric_columns_are_missing() -> None:
    rows = with_cell(2, 0, "NA")
    rows[5] = with_cell(5, 4, "null")[5]
    ds = load_csv(io.BytesIO(table(rows)), "score", "kind", drop_invalid=True)
    assert ds.feature_names == ("height", "weight")  # still numeric despite the markers
    assert ds.n_rows == 10
    error = refused(table(rows))
    assert "'height': 1" in error.problem and "'score': 1" in error.problem


def test_numeric_classes_sort_by_value_exactly() -> None:
    big = "1" + "0" * 400
    rows = [f"{i},{i * 2},{['10', '2', '2.0', big][i % 4]}" for i in range(12)]
    ds = load_csv(io.BytesIO(table(rows, "a,b,c")), "b", "c")
    assert ds.class_names == ("2", "10", big)  # 2 and 2.0 are one class
    assert ds.y_cls.tolist()[:4] == [1, 0, 0, 2]


@pytest.mark.parametrize(("column", "name"), [(0, "height"), (1, "weight"), (4, "score")])
@pytest.mark.parametrize("value", ["1" + "0" * 400, "3e38", "-2e20", "1e400"])
def test_values_too_large_for_training_are_named(column: int, name: str, value: str) -> None:
    error = refused(table(with_cell(7, column, value)), drop_invalid=True)
    assert error.where == f"column '{name}'"
    assert "too large for training" in error.problem and "row 9" in error.problem
    assert "rescale" in error.problem.lower()
    assert len(error.problem) < 400  # a 400-digit value is shortened


@pytest.mark.parametrize(("target", "role"), [("score", "regression"), ("kind", "class")])
def test_target_used_as_a_feature(target: str, role: str) -> None:
    error = refused(table(), features=["height", target])
    assert error.where == f"column '{target}'"
    assert f"{role} target" in error.problem


def test_feature_listed_twice_and_no_features() -> None:
    error = refused(table(), features=["height", "height"])
    assert error.where == "column 'height'" and "twice" in error.problem
    error = refused(table(), features=[])
    assert error.where == "features"


def test_no_numeric_feature_left() -> None:
    rows = [f"{i},x{i},{'ab'[i % 2]}" for i in range(12)]
    error = refused(table(rows, "score,name,kind"))
    assert error.where == "features"
    assert "'name'" in error.problem


def test_non_numeric_feature_names_column_value_and_row() -> None:
    rows = with_cell(4, 1, "?")
    error = refused(table(rows), features=["height", "weight"])
    assert error.where == "column 'weight'"
    assert "row 6" in error.problem and "'?'" in error.problem


def test_several_non_numeric_features_are_all_named() -> None:
    error = refused(table(with_cell(0, 0, "tall")), features=["height", "weight", "name"])
    assert error.where == "columns 'height', 'name'"
    assert "'tall'" in error.problem and "'item0'" in error.problem and "row 2" in error.problem
    assert "12 such values" in error.problem  # every value of 'name' is text


def test_non_numeric_regression_target() -> None:
    error = refused(table(), regression="name")
    assert error.where == "column 'name'"
    assert "regression target" in error.problem and "'item0'" in error.problem


@pytest.mark.parametrize(
    ("column", "value", "name"),
    [(0, "", "height"), (1, "inf", "weight"), (4, "-inf", "score"), (1, "Infinity", "weight")],
)
def test_missing_or_infinite_values_name_column_and_row(column: int, value: str, name: str) -> None:
    rows = with_cell(7, column, value)
    error = refused(table(rows))
    assert error.where == f"column '{name}'"
    assert "1 row has" in error.problem and "at row 9 " in error.problem
    assert "Drop rows with missing values" in error.problem
    assert "drop_invalid" not in error.problem  # the page's words, not the API's


def test_missing_values_report_counts_per_column_and_first_rows() -> None:
    rows = with_cell(1, 0, "")
    rows[5] = ",".join(["", "", "x", "cat", ""])
    error = refused(table(rows))
    assert error.where == "columns 'height', 'weight', 'score'"
    assert "'height': 2" in error.problem and "'weight': 1" in error.problem
    assert "at rows 3, 7 " in error.problem
    assert "2 rows have" in error.problem


def test_missing_class_value_is_reported() -> None:
    error = refused(table(with_cell(3, 3, "")))
    assert error.where == "column 'kind'"
    assert "at row 5 " in error.problem


def test_single_class_is_refused() -> None:
    rows = [r.replace(",dog,", ",cat,") for r in ROWS]
    error = refused(table(rows))
    assert error.where == "column 'kind'"
    assert "single class" in error.problem and "'cat'" in error.problem


def test_too_many_classes_is_refused() -> None:
    rows = [f"{i},{i * 2},{i}" for i in range(25)]
    error = refused(table(rows, "a,b,c"), regression="a", classification="c")
    assert error.where == "column 'c'"
    assert "25 distinct values" in error.problem and "20" in error.problem


def test_twenty_classes_are_fine() -> None:
    rows = [f"{i},{i * 2},{i % 20}" for i in range(40)]
    ds = load_csv(io.BytesIO(table(rows, "a,b,c")), "a", "c")
    assert ds.n_classes == 20


def test_imported_dataset_serves_in_a_config_and_splits() -> None:
    ds = load_csv(io.BytesIO(table()), "score", "kind")
    spec = DataSpec(name="csv", table=ds, test_fraction=0.25)
    assert build_dataset(spec) is ds
    assert hash(spec) == hash(
        DataSpec(name="csv", table=load_csv(table(), "score", "kind"), test_fraction=0.25)
    )
    split = split_dataset(ds, 0.25, seed=0, standardize=True)
    assert split.x_test.shape == (3, 2)


def test_data_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        load_csv(io.BytesIO(b""), "a", "b")
