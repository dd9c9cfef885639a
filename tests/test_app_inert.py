"""Nothing a visitor controls is rendered as Markdown: every path, through the page (AppTest).

Each test feeds hostile Markdown (a link to another site, an image from a third party, Streamlit
colour and icon directives, math) through one way in (a link's value, an unknown key, the method
name, the weights, a method parameter, a loaded configuration file and its name, a CSV's file
name, column names and class values, a pin's name) and checks the Markdown body of what the page
shows: the literal text is there, escaped, and nothing in it can become a link, an image or any
other formatting. The real browser check is tests/e2e/test_inert_browser.py.
"""

from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

from tests.test_app import APP, new_app, set_and_run
from tests.test_app_compare import open_tab, pin
from ui.inert import WORD_JOINER, visible

LINK = "[Sign in again](https://evil.example/login)"
IMAGE = "![t](http://127.0.0.1:9/t.png)"
HOSTILE = f"**Session expired.** {LINK} {IMAGE} :red[red] :material/home: $x^2$"
"""The reported attack, plus a directive, an icon and math."""


def _outside_code(body: str) -> str:
    """``body`` without its code spans (whose content Markdown never parses)."""
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", body)


def assert_inert(body: str, *literals: str) -> None:
    """``body`` shows each literal as text and holds nothing that renders as a link or image."""
    rest = _outside_code(body)
    assert not re.search(r"(?<!\\)\]\(|(?<!\\)!\[|(?<!\\)\[|(?<!\\)<", rest), body
    assert "://" not in rest, body  # a scheme is always split by a word joiner
    assert not re.search(r"(?<!\\)\$|:material/|(?<!\\):red(?!\u2060)|(?<!\\)\*\*Session", rest)
    shown = visible(body)
    for literal in literals:
        assert literal in shown, (literal, body)


def link_app(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    return at


def the_warning(at: AppTest) -> str:
    (warning,) = at.warning
    assert warning.value.startswith("**This link was adjusted") or warning.value.startswith(
        "**The loaded configuration was adjusted"
    )  # the page's own bold title stays
    return warning.value


def test_a_hostile_epochs_value_in_a_link_is_shown_as_text():
    at = link_app({"epochs": HOSTILE})
    body = the_warning(at)
    assert_inert(body, HOSTILE)
    assert f"\\[Sign in again\\](https:{WORD_JOINER}//evil.example/login)" in body


def test_a_hostile_unknown_key_in_a_link_is_shown_as_text():
    key = f"{LINK}{IMAGE}"
    at = link_app({key: "1", "seed": "3"})
    assert_inert(the_warning(at), key)


def test_a_hostile_method_name_in_a_link_is_shown_as_text():
    at = link_app({"weighting.method": HOSTILE})
    assert_inert(the_warning(at), HOSTILE)


def test_hostile_weights_and_method_parameters_in_a_link_are_shown_as_text():
    at = link_app(
        {
            "weighting.weights": f"{LINK},{IMAGE}",
            f"weighting.params.{LINK}": IMAGE,
            "weighting.method": "dwa",
            "weighting.params.temperature": HOSTILE,
        }
    )
    assert_inert(the_warning(at), LINK, IMAGE, HOSTILE)


def test_a_hostile_configuration_file_and_its_name_are_shown_as_text():
    at = new_app()
    open_tab(at, "Share & export")
    name = f"{IMAGE}.json"
    payload = json.dumps({"epochs": HOSTILE, LINK: "1"}).encode()
    at.get("file_uploader")[0].set_value((name, payload, "application/json"))
    at.run()
    assert not at.exception, at.exception
    assert_inert(the_warning(at), HOSTILE, LINK)
    (success,) = at.success
    assert_inert(success.value, name)

    bad = f"{LINK}.json"
    at.get("file_uploader")[0].set_value((bad, b"[1, 2]", "application/json"))
    at.run()
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("**Can't load ")
    assert_inert(error.value, bad)


HOSTILE_CSV_NAME = "**f** [f](https:evil.example) :red[f] $f$.csv"  # no "/": a path is cut
TARGET = "$y$ <b>y</b>"
FEATURE = "[w](https://evil.example/w)"
CLASS = ":red[kind]"
CLASSES = ("![a](http://127.0.0.1:9/a.png)", "**b**")
HOSTILE_CSV = f"{TARGET},{FEATURE},{CLASS}\n".encode() + b"".join(
    f"{150 + i},{(i * 7) % 30},{CLASSES[i % 2]}\n".encode() for i in range(40)
)


def _upload(at: AppTest, name: str, data: bytes) -> None:
    set_and_run(at, "data.name", "csv")
    at.get("file_uploader")[0].set_value((name, data, "text/csv"))
    at.run()
    assert not at.exception, at.exception


def test_hostile_csv_names_columns_and_classes_are_shown_as_text():
    at = new_app()
    _upload(at, HOSTILE_CSV_NAME, HOSTILE_CSV)
    assert not at.error, [e.value for e in at.error]
    (caption,) = [c for c in at.sidebar.caption if "Uploaded CSV" in c.value]
    assert_inert(caption.value, HOSTILE_CSV_NAME, TARGET, FEATURE, CLASS, *CLASSES)

    open_tab(at, "Data")
    texts = [c.value for c in at.main.caption] + [m.value for m in at.main.markdown]
    (about,) = [t for t in texts if "Uploaded CSV" in visible(t)]
    assert_inert(about, HOSTILE_CSV_NAME, TARGET, FEATURE, *CLASSES)
    (source,) = [t for t in texts if "Uploaded file" in visible(t)]
    assert_inert(source, HOSTILE_CSV_NAME)
    (scatter,) = [t for t in texts if "Colour: class" in t]
    assert_inert(scatter)  # the column names are code spans there
    # the file's own names, in code spans (a word joiner after the colon stops autolinking)
    assert "`$y$ <b>y</b>`" in scatter and "`[w](https:\u2060//evil.example/w)`" in scatter


def test_a_hostile_csv_refusal_is_shown_as_text():
    at = new_app()
    text_values = f"{TARGET},{FEATURE},{CLASS}\n".encode() + b"".join(
        f"{150 + i},{LINK if i == 3 else i},{CLASSES[i % 2]}\n".encode() for i in range(40)
    )
    _upload(at, HOSTILE_CSV_NAME, text_values)
    set_and_run(at, "data.csv.features", [FEATURE])
    assert not at.exception, at.exception
    (error,) = at.error
    assert error.value.startswith("**Can't use this CSV.** ")
    assert_inert(error.value, FEATURE)


def test_a_hostile_pin_name_is_shown_as_text():
    at = new_app()
    name = f"{LINK}{IMAGE}"[:40]
    pin(at, name)
    (toast,) = at.toast
    assert_inert(toast.value, name)
    assert any(visible(c.value).startswith(f"Pinned “{name}”") for c in at.caption)
    open_tab(at, "Pinned runs")
    (row,) = [m for m in at.markdown if " · " in m.value and "MSE" in m.value]
    assert row.value.startswith("**")  # the page's bold stays around the escaped name
    assert_inert(row.value, name)
    (deltas,) = [c for c in at.caption if "Deltas against" in c.value]
    assert_inert(deltas.value, name)
