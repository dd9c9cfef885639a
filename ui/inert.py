r"""Untrusted text made inert for Streamlit's Markdown: what a visitor typed is shown, never obeyed.

Every Streamlit element that shows text with formatting (``st.markdown``, ``st.caption``,
``st.warning``/``error``/``info``/``success``, ``st.toast``, widget labels and help) renders its
body as Markdown in the browser. A value a visitor chose (a link's query parameters, a loaded
configuration file, an uploaded CSV's file name, column names and class values, a pin's name)
must therefore never reach such a body as it is: ``[Sign in](https://evil.example)`` would become
a link on this page, ``![x](http://host/x.png)`` an image the browser fetches, ``:red[...]`` a
coloured text, ``$x$`` a formula. Plain-text elements (``st.text``, ``st.code``, dataframe cells,
chart labels, select-box options) are inert already and need nothing.

:func:`text` turns any string into Markdown that renders as exactly that string (give or take
invisible word joiners and collapsed line breaks); :func:`code` shows it in a code span. Use them
where untrusted text meets a Markdown body, and nowhere else: the page's own formatting (a bold
title before the message) stays.

How Streamlit 1.67 renders Markdown decides what must be escaped (react-markdown with remark-gfm,
remark-math, remark-directive and remark-emoji, plus Streamlit's own plugins):

- CommonMark constructs (emphasis, links, images, code, HTML, entities, headings, lists, quotes,
  tables, strikethrough, math, directives) are parsed from the source, so a backslash before the
  punctuation character that opens them makes it literal (``\$`` included: Streamlit's math
  detection skips escaped dollars).
- Some features are applied afterwards to the parsed *text* (where an escaped character is plain
  again): GFM's bare-URL and e-mail autolinks (``https://…``, ``www.…``, ``a@b.c``), emoji
  shortcodes (``:smile:``) and Streamlit's icons (``:material/home:``, ``:streamlit:``, after a
  source-level rewrite of ``:material/``). A backslash cannot stop those, so an invisible WORD
  JOINER (U+2060) is put after every ``:`` and ``@`` and inside ``www.``: the patterns no longer
  match and the text reads the same.
- A line break could start a new block (a heading, a list, a table row), so runs of line breaks
  become one space; a value that starts with what would begin a block at the start of a line
  (``-``, ``+``, ``=``, ``1.``, spaces) is escaped or prefixed with a word joiner.

Streamlit also turns ``->``, ``<-``, ``<->``, ``--``, ``>=``, ``<=`` and ``~=`` between spaces into
arrows and signs in the parsed text; a word joiner inside each keeps them as typed.

Characters that mean nothing in running text are left alone, so messages stay searchable: ``.``,
``-`` and ``(``/``)`` inside a line (a link needs ``](``, and ``]`` is escaped), ``_`` between two
letters or digits (intraword underscores never emphasise). Control characters and the Unicode
direction overrides (which could reorder the page's own sentence around the value) are replaced by
U+FFFD.

No Streamlit here: it is pure string work, unit-tested directly (``tests/test_inert.py``).
"""

from __future__ import annotations

import re
import unicodedata

WORD_JOINER = "\u2060"
"""Invisible, zero-width and never a line break: splits a pattern without changing the text."""
REPLACEMENT = "\ufffd"
"""What a control character or a direction override is shown as."""

ALWAYS_ESCAPED = frozenset("\\`*[]<>&$~|{}#!")
"""ASCII punctuation that opens a Markdown construct anywhere in a line: always backslashed."""
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_WWW = re.compile(r"(www)(\.)", re.IGNORECASE)
_ARROW = re.compile(r"([<>~-])(?=[->=])")
_LIST_NUMBER = re.compile(r"^(\d+)([.)])(?=\s|$)")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _plain(value: object) -> str:
    """``value`` as one line: line breaks and tabs become spaces, controls become U+FFFD."""
    line = _LINE_BREAKS.sub(" ", str(value)).replace("\t", " ")
    return "".join(
        REPLACEMENT if ch in _BIDI or unicodedata.category(ch) == "Cc" else ch for ch in line
    )


def text(value: object) -> str:
    """Markdown that renders as ``str(value)`` literally, on one line, with no formatting.

    For any text a visitor chose, interpolated into a Markdown body (a message, a caption, a
    toast). The result can be put anywhere in a line, at its start, inside the page's own
    ``**bold**`` or after a ``- `` list marker, and stays plain text there.
    """
    line = _ARROW.sub(rf"\1{WORD_JOINER}", _plain(value))
    out: list[str] = []
    for i, ch in enumerate(line):
        if ch in ALWAYS_ESCAPED:
            out.append("\\" + ch)
        elif ch == "_":
            before = line[i - 1] if i > 0 else ""
            after = line[i + 1] if i + 1 < len(line) else ""
            inside_word = before in _ALNUM and after in _ALNUM
            out.append("_" if inside_word else "\\_")
        elif ch in ":@":
            out.append(ch + WORD_JOINER)
        else:
            out.append(ch)
    result = _WWW.sub(rf"\1{WORD_JOINER}\2", "".join(out))
    return _line_start(result)


def _line_start(result: str) -> str:
    """Escape what would open a block if ``result`` began a line (a list item, a heading...)."""
    if not result:
        return result
    if result[0] in "-+=":
        return "\\" + result
    if result[0].isspace():
        return WORD_JOINER + result
    return _LIST_NUMBER.sub(r"\1\\\2", result, count=1)


def code(value: object) -> str:
    """``str(value)`` in an inline code span, shown literally whatever it holds.

    The fence is one backtick longer than the longest run of backticks in the value, and padded
    with a space when the value starts or ends with a backtick (CommonMark strips one such space
    from each side), so no value can close the span early. Inside a code span nothing is parsed;
    only Streamlit's source-level rewrite of ``:material/`` would still alter the text, so a word
    joiner follows each colon there too.
    """
    line = _plain(value).replace(":", ":" + WORD_JOINER)
    longest = max((len(run) for run in re.findall(r"`+", line)), default=0)
    fence = "`" * (longest + 1)
    pad = (
        line.startswith("`")
        or line.endswith("`")
        or (line.startswith(" ") and line.endswith(" ") and line.strip(" ") != "")
        or not line
    )
    space = " " if pad else ""
    return f"{fence}{space}{line}{space}{fence}"


def visible(markdown: str) -> str:
    """The text a person reads from ``text(...)``'s output: escapes and word joiners removed.

    For tests and checks only (the inverse of :func:`text` on ordinary text): it undoes the
    backslashes before ASCII punctuation and drops the word joiners.
    """
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(WORD_JOINER, "")
