"""ui.inert: untrusted text becomes Markdown that Streamlit renders literally.

Without a Markdown parser in the test environment, each case is checked against the rules that
decide what Streamlit 1.67's renderer does (CommonMark + GFM + math + directives, then the plugins
that rewrite the parsed text): every construct-opening character is backslash-escaped, nothing
can start a block, the text the post-parse plugins see matches none of their patterns, and the
escapes undo to exactly the input. The real renderer is checked in tests/e2e/test_inert_browser.py.
"""

from __future__ import annotations

import re

import pytest

from ui.inert import ALWAYS_ESCAPED, REPLACEMENT, WORD_JOINER, code, text, visible

EVIL = "https://evil.example/login"
PIXEL = "http://127.0.0.1:9/t.png"

HOSTILE: tuple[str, ...] = (
    f"**Session expired.** [Sign in again]({EVIL}) ![t]({PIXEL})",
    f"[Sign in again]({EVIL})",
    f"![t]({PIXEL})",
    f"[x][1]\n\n[1]: {EVIL}",
    "[x](javascript:alert(1))",
    f"<{EVIL}>",
    "<bob@evil.example>",
    f"visit {EVIL} now",
    "visit www.evil.example now",
    "WWW.EVIL.EXAMPLE",
    "write to bob@evil.example",
    "mailto:bob@evil.example xmpp:bob@evil.example",
    f"<img src={PIXEL}>",
    "<b>bold</b> <script>alert(1)</script>",
    "&lt;b&gt; &amp; &copy; &#60;",
    ":red[red text] :blue-background[on blue]",
    ":color[x]{foreground=red}",
    ":help[a tooltip] :small[small] :shimmer[shiny]",
    ":material/home: :material_home:",
    ":smile: :+1: :streamlit:",
    "$x^2$ and $$y$$",
    "\\$x\\$ (an escaped dollar)",
    "`code` ``two`` ```",
    "line one\n# heading\n- item\n> quote",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "# heading",
    "- item",
    "+ item",
    "* item",
    "1. one",
    "12) twelve",
    "> quote",
    "---",
    "===",
    "     indented code",
    "~~strike~~ ~single~",
    "_under_ *star* __double__ ***both***",
    "a\\",
    "a  \nb (hard break)",
    "[^1] a footnote\n\n[^1]: https://evil.example",
    "-> <- <-> -- >= <= ~=",
    "\u202eevil\u2066 bidi",
    "tab\there, bell\x07, nul\x00",
    "crlf\r\nand\u2028separators\u2029",
)


def _unescaped(markdown: str) -> list[str]:
    """The characters of ``markdown`` that are not preceded by an escaping backslash."""
    bare, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\" and i + 1 < len(markdown):
            i += 2
            continue
        bare.append(markdown[i])
        i += 1
    return bare


def _expected(value: str) -> str:
    """What a person should read: one line, controls and direction overrides replaced."""
    line = re.sub(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+", " ", value).replace("\t", " ")
    return "".join(
        REPLACEMENT if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u202e\u2066") else c
        for c in line
    )


# What Streamlit's renderer applies to the parsed text (escapes undone), as its bundle has it.
POST_PARSE_PATTERNS = {
    "GFM bare URL": re.compile(r"(https?://|www(?=\.))", re.IGNORECASE),
    "GFM e-mail": re.compile(r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+", re.ASCII),
    "emoji shortcode": re.compile(r":\+1:|:-1:|:[\w-]+:", re.ASCII),
    "material icon": re.compile(r":material_\w+:", re.ASCII),
    "Streamlit logo": re.compile(r":streamlit:"),
    "typographic arrow": re.compile(r"(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)"),
}
# What Streamlit applies to the Markdown source itself, before parsing.
SOURCE_PATTERNS = {
    "material rewrite": re.compile(r":material/"),
    "directive": re.compile(r"(?<!\\):[a-z][a-z0-9-]*\\?\["),
    "emoji detection": re.compile(r":(?!material/|streamlit:)[\w+-][\w_+-]*:", re.ASCII),
}


@pytest.mark.parametrize("value", HOSTILE)
def test_text_escapes_every_construct_opener(value: str):
    out = text(value)
    bare = _unescaped(out)
    assert not [c for c in bare if c in ALWAYS_ESCAPED], out
    assert not re.search(r"(?<!\\)\]\(|(?<!\\)!(?<!\\)\[|(?<!\\)<", out), out


@pytest.mark.parametrize("value", HOSTILE)
def test_text_is_one_line_that_starts_no_block(value: str):
    out = text(value)
    assert "\n" not in out and "\r" not in out
    assert not re.match(r" {0,3}([-+*>#=|~`]|\d+[.)])", out), out
    assert not out.startswith("    ")


@pytest.mark.parametrize("value", HOSTILE)
def test_text_underscores_left_bare_are_inside_words(value: str):
    out = text(value)
    for match in re.finditer(r"(?<!\\)_", out):
        i = match.start()
        assert 0 < i < len(out) - 1 and out[i - 1].isalnum() and out[i + 1].isalnum(), out


@pytest.mark.parametrize("value", HOSTILE)
def test_text_gives_post_parse_plugins_nothing_to_rewrite(value: str):
    out = text(value)
    parsed = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", out)  # the text node the plugins see
    for name, pattern in POST_PARSE_PATTERNS.items():
        assert not pattern.search(parsed), (name, out)
    for name, pattern in SOURCE_PATTERNS.items():
        assert not pattern.search(out), (name, out)


@pytest.mark.parametrize("value", HOSTILE)
def test_text_reads_exactly_as_the_input(value: str):
    assert visible(text(value)) == _expected(value)


def test_the_reported_link_value_is_escaped_to_literal_text():
    out = text(f"**Session expired.** [Sign in again]({EVIL}) ![t]({PIXEL})")
    j = WORD_JOINER
    assert out == (
        rf"\*\*Session expired.\*\* \[Sign in again\](https:{j}//evil.example/login) "
        rf"\!\[t\](http:{j}//127.0.0.1:{j}9/t.png)"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("optim.batch_size", "optim.batch_size"),  # plain identifiers stay searchable
        ("weighting.weights='1,2'", "weighting.weights='1,2'"),
        ("used -1 (the default)", "used -1 (the default)"),
        ("setup.json", "setup.json"),
        ("", ""),
    ],
)
def test_text_leaves_ordinary_text_alone(value: str, expected: str):
    assert text(value) == expected


def test_text_accepts_any_object():
    assert text(ValueError("a *b*")) == r"a \*b\*"
    assert text(3.5) == "3.5"


@pytest.mark.parametrize(
    "value", [*HOSTILE, "plain", "a`b", "`start", "end`", "``", " both ", "x:material/home:y"]
)
def test_code_is_one_span_holding_the_value(value: str):
    out = code(value)
    fence = re.match(r"`+", out).group()
    assert out.endswith(fence) and len(out) >= 2 * len(fence)
    inner = out[len(fence) : -len(fence)]
    assert fence not in re.findall(r"`+", inner)  # no run of the fence's length closes it early
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip(" "):
        inner = inner[1:-1]  # CommonMark strips one space from each side
    assert inner.replace(WORD_JOINER, "") == _expected(value)
    assert ":material/" not in out  # Streamlit rewrites that even inside code
    assert "\n" not in out


def test_code_of_a_simple_name_is_the_usual_span():
    assert code("seed") == "`seed`"
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"
