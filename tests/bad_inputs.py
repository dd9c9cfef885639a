"""The catalogue of hostile input a public demo must answer with a clear message, or just read.

Shared by tests/test_bad_input.py (through the core) and tests/test_app_bad_input.py (through the
page), so both layers are checked against the same cases:

- ``BAD_CSVS``: files that are refused, with a message that names the problem;
- ``ODD_CSVS``: files that look hostile but are legitimate and must load (other separators,
  decimal commas, old line endings, ``NA`` as a class, column names that collide with the page's
  own columns or mean syntax to Vega-Lite);
- ``BAD_CONFIG_FILES``: configuration files (the Share & export tab) that are refused in words;
- ``BAD_LINKS``, ``BAD_CONFIGS``, ``DIVERGING``: links, configurations and a diverging run.

``API_WORDS``: what no message on the page may say (the sidebar's labels are the page's words).
"""

from __future__ import annotations

import csv
import io

from mtl.data.csv_import import MAX_COLUMNS, MAX_ROWS


def _table(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def _rows(n: int, classes: int = 2) -> list[str]:
    return ["x1,x2,y,c"] + [f"{i % 7},{i % 5 * 0.5},{i * 0.1},k{i % classes}" for i in range(n)]


def _wide(columns: int) -> bytes:
    header = ",".join(f"f{i}" for i in range(columns - 2)) + ",y,c"
    body = [",".join("1" for _ in range(columns - 2)) + f",{i},k{i % 2}" for i in range(20)]
    return _table([header, *body])


def _with_cell(row: int, column: int, value: str) -> bytes:
    """``_rows(12)`` with data row ``row``'s ``column`` (0: x1, 1: x2, 2: y, 3: c) set to
    ``value``."""
    rows = _rows(12)
    cells = rows[row + 1].split(",")
    cells[column] = value
    rows[row + 1] = ",".join(cells)
    return _table(rows)


HUGE = "1" + "0" * 400
"""A 400-digit integer: too large for a float (pandas used to raise OverflowError on it)."""


def _png() -> bytes:
    buffer = io.BytesIO(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return buffer.getvalue()


# name -> (file bytes, load_csv's feature list (None: every other numeric column), phrases the
# message must contain, case-insensitive)
BAD_CSVS: dict[str, tuple[bytes, list[str] | None, tuple[str, ...]]] = {
    "empty": (b"", None, ("empty",)),
    "header only": (b"x1,x2,y,c\n", None, ("no data rows",)),
    "binary": (_png(), None, ("not a csv",)),
    "not utf-8": (
        ("x1,x2,y,c\n" + "\n".join(f"{i},1,2,caf\xe9" for i in range(12))).encode("latin-1"),
        None,
        ("utf-8",),
    ),
    "text in a feature": (
        _table(["x1,x2,y,c", *[f"{'abc' if i == 3 else i},1,{i},k{i % 2}" for i in range(12)]]),
        ["x1", "x2"],
        ("x1", "abc"),
    ),
    "missing values": (
        _table(["x1,x2,y,c", *[f"{'' if i == 4 else i},1,{i},k{i % 2}" for i in range(12)]]),
        None,
        ("x1", "missing", "drop"),
    ),
    "infinite values": (
        _table(["x1,x2,y,c", *[f"{'inf' if i == 5 else i},1,{i},k{i % 2}" for i in range(12)]]),
        None,
        ("x1", "infinite", "drop"),
    ),
    "one class": (_table(_rows(12, classes=1)), None, ("c", "single class")),
    "two hundred classes": (_table(_rows(400, classes=200)), None, ("c", "200", "at most 20")),
    "one row": (_table(_rows(1)), None, ("at least 10",)),
    "over the row cap": (_table(_rows(MAX_ROWS + 1)), None, (f"{MAX_ROWS:,}",)),
    "over the column cap": (_wide(MAX_COLUMNS + 1), None, (str(MAX_COLUMNS),)),
    "duplicate column names": (
        _table(["x1,x1,y,c", *[f"{i},1,{i},k{i % 2}" for i in range(12)]]),
        None,
        ("x1", "more than once"),
    ),
    "a 400-digit number in a feature": (
        _with_cell(2, 0, HUGE),
        ["x1", "x2"],
        ("x1", "too large for training", "rescale"),
    ),
    "a 400-digit number in the regression target": (
        _with_cell(2, 2, HUGE),
        ["x1", "x2"],
        ("'y'", "too large for training", "rescale"),
    ),
    "values that overflow float32 in training (3e38)": (
        _table(
            ["x1,x2,y,c", *[f"{(-1) ** i * 3e38},{i % 5},{i * 0.1},k{i % 2}" for i in range(12)]]
        ),
        ["x1", "x2"],
        ("x1", "too large for training", "rescale"),
    ),
}

API_WORDS: tuple[str, ...] = (
    "drop_invalid",
    "features=None",
    "=True",
    "=False",
    "RunConfig",
    "load_csv",
    "optim.batch_size",
    "Traceback",
    'File "',
    "set_int_max_str_digits",
    "universal-newline",
    "OverflowError",
    "RecursionError",
)
"""Words of the API or of Python that no message shown on the page may contain."""


def _names_table(header: str, rows: int = 30) -> bytes:
    """A file with ``header``: every column numeric but the last, a class ``k0``/``k1``."""
    n = len(next(csv.reader([header]))) - 1
    body = [
        ",".join([*(str((i * (j + 2)) % 7 + j) for j in range(n)), f"k{i % 2}"])
        for i in range(rows)
    ]
    return _table([header, *body])


# name -> (file bytes, regression target, class target, features the dataset must end up with
# (in order), class names it must end up with)
ODD_CSVS: dict[str, tuple[bytes, str, str, tuple[str, ...], tuple[str, ...]]] = {
    "old Mac line endings (lone CR)": (
        "\r".join(_rows(12)).encode() + b"\r",
        "y",
        "c",
        ("x1", "x2"),
        ("k0", "k1"),
    ),
    "semicolon-separated": (
        _table([r.replace(",", ";") for r in _rows(12)]),
        "y",
        "c",
        ("x1", "x2"),
        ("k0", "k1"),
    ),
    "tab-separated": (
        _table([r.replace(",", "\t") for r in _rows(12)]),
        "y",
        "c",
        ("x1", "x2"),
        ("k0", "k1"),
    ),
    "semicolons and decimal commas": (
        _table(["x1;x2;y;c", *[f"{i % 7},25;{i % 5},5;{i},1;k{i % 2}" for i in range(12)]]),
        "y",
        "c",
        ("x1", "x2"),
        ("k0", "k1"),
    ),
    "NA, None, null, N/A and nan as class values": (
        _table(
            ["x1,x2,y,c"]
            + [
                f"{i % 7},{i % 3},{i * 0.1},{['NA', 'None', 'null', 'N/A', 'nan'][i % 5]}"
                for i in range(20)
            ]
        ),
        "y",
        "c",
        ("x1", "x2"),
        ("N/A", "NA", "None", "nan", "null"),
    ),
    "a 400-digit integer as a class": (
        _table(
            ["x1,x2,y,c", *[f"{i % 7},{i % 3},{i * 0.1},{HUGE if i % 2 else 7}" for i in range(12)]]
        ),
        "y",
        "c",
        ("x1", "x2"),
        ("7", HUGE),
    ),
    "names that collide once sanitised (a.b, a_b, a:b)": (
        _names_table("a.b,a_b,a:b,a[b],y,c"),
        "y",
        "c",
        ("a.b", "a_b", "a:b", "a[b]"),
        ("k0", "k1"),
    ),
    "names of the page's own columns (class, split, member, epoch)": (
        _names_table("class,split,member,x,epoch,weight"),
        "epoch",
        "weight",
        ("class", "split", "member", "x"),
        ("k0", "k1"),
    ),
    "quotes, brackets, backslashes and colons in names": (
        _names_table('it\'s,"say ""hi""",[0],back\\slash,x:Q,y.z,c'),
        "y.z",
        "c",
        ("it's", 'say "hi"', "[0]", "back\\slash", "x:Q"),
        ("k0", "k1"),
    ),
}

# name -> (configuration file bytes, a phrase its message must contain)
BAD_CONFIG_FILES: dict[str, tuple[bytes, str]] = {
    "nested 100,000 levels deep": (b"[" * 100_000, "nested"),
    "an object nested 16,000 levels deep": (
        b'{"a":' * 16_000 + b"1" + b"}" * 16_000,
        "nested",
    ),
    "an object nested 40 levels deep (below any recursion limit)": (
        b'{"a":' * 40 + b"1" + b"}" * 40,
        "nested",
    ),
    "a 5,000-digit number": (b'{"epochs": ' + b"9" * 5000 + b"}", "too long"),
    "a list as a setting": (b'{"epochs": [1, 2]}', "one value"),
    "not JSON": (b"{nope", "not JSON"),
    "binary": (_png(), "not JSON"),
    "not an object": (b"[1, 2]", "one JSON object"),
    "too big": (b" " * 100_001, "100 kB"),
}


# name -> (query parameters of a link, the field the message must name)
BAD_LINKS: dict[str, tuple[dict[str, str], str]] = {
    "unknown parameter": ({"colour": "red"}, "colour"),
    "negative samples": ({"data.n_samples": "-50"}, "data.n_samples"),
    "NaN learning rate": ({"optim.lr": "NaN"}, "optim.lr"),
    "minus infinity learning rate": ({"optim.lr": "-inf"}, "optim.lr"),
    "infinite momentum": ({"optim.momentum": "inf"}, "optim.momentum"),
    "enormous epochs": ({"epochs": "1e12"}, "epochs"),
    "wrong type for seed": ({"seed": "seven"}, "seed"),
    "wrong type for a switch": ({"data.standardize": "2"}, "data.standardize"),
    "negative weight": ({"weighting.weights": "-1,0.5"}, "weighting.weights"),
    "all-zero weights": ({"weighting.weights": "0,0"}, "weighting.weights"),
    "unknown method": ({"weighting.method": "magic"}, "weighting.method"),
}

# name -> (config changes, the field the ConfigError must name)
BAD_CONFIGS: dict[str, tuple[dict, str]] = {
    "all-zero weights": ({"weighting.weights": (0.0, 0.0)}, "weighting.weights"),
    "negative weight": ({"weighting.weights": (-0.5, 1.0)}, "weighting.weights.regression"),
    "zero learning rate": ({"optim.lr": 0.0}, "optim.lr"),
    "NaN learning rate": ({"optim.lr": float("nan")}, "optim.lr"),
}

DIVERGING = {"optim.kind": "sgd", "optim.lr": 10.0, "data.target_scale": 100.0}
"""A learning rate that makes the default run diverge."""
