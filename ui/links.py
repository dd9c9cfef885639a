"""Links that reproduce a run: the whole configuration lives in the URL's query parameters.

- Reading (:func:`read_link`), on the first run of a session only, before the sidebar draws:
  ``st.query_params`` -> :func:`mtl.urlstate.from_query` (missing keys from the default preset)
  -> the widget values (:func:`ui.state.load_into_widgets`, the page's one config -> widgets
  path, fitted to the controls' ends). The preset box shows the preset the link is exactly, or
  keeps its choice, the default one on a first run (it never overrides the link: a preset fills
  the controls only when it is *changed*). Whatever had to change to make the link valid is
  listed in a warning (:func:`notice`) until the controls are changed. A link never raises:
  unknown keys, malformed, out-of-range or non-finite values become the nearest valid value, one
  message each.
- Writing (:func:`write`), after every run trained from valid controls: the URL is set to
  :func:`mtl.urlstate.to_query` of that run (only when it differs, so a rerun sends nothing), so
  the address bar always reproduces the run on screen. While the controls are invalid the URL
  keeps the last valid run.

An uploaded CSV cannot travel in a link (its rows are not in the URL): a link made on one opens on
the default data and says so.

Why not Streamlit's ``bind="query-params"`` on each widget: a bound widget drops its value from
the URL when it equals the *widget's* default (its first option or minimum), but here a fresh
session starts from the default preset, so such a link would open with the preset's value
instead; controls hidden by another choice would vanish from the URL; and the URL would follow
the widgets' keys and parsing instead of :mod:`mtl.urlstate`'s format, ranges and messages. One
mapping, both ways, keeps a link exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import streamlit as st

import mtl
from mtl.urlstate import from_query, to_query
from ui import inert
from ui.keys import cache_key
from ui.state import CSV, DEFAULT_PRESET, config_from_state, load_into_widgets

READ = "_link.read"
"""Session flag: the URL has been read (it is read once, on the session's first run)."""
NOTICE = "_link.notice"
"""Session key of ``(config key, source, messages)``: what a link or file needed changed."""
RESERVED = ("embed", "embed_options")
"""Query parameters Streamlit itself reads (embedding); not part of a configuration."""

CSV_MESSAGE = (
    "It was made on an uploaded CSV file, which cannot travel in a link: the default data are "
    "used instead. Upload the file again (Dataset: “Upload a CSV…”) to reproduce the run."
)


def read_link() -> None:
    """On a session's first run, fill the controls from the URL's query parameters, if any."""
    if st.session_state.get(READ):
        return
    st.session_state[READ] = True
    params = {k: v for k, v in st.query_params.to_dict().items() if k not in RESERVED}
    if params:
        apply(params, source="link")


def apply(params: Mapping[str, str | list[str]], source: str) -> list[str]:
    """Fill every control from ``params`` (the link format); return what had to change.

    Must run before the sidebar's widgets are drawn (on the first run, or in a callback).
    ``source`` (``"link"`` or ``"file"``) words the notice.
    """
    values = dict(params)
    messages: list[str] = []
    name = values.get("data.name")
    if (name[-1] if isinstance(name, list) and name else name) == CSV:
        values.pop("data.name")
        messages.append(CSV_MESSAGE)
    cfg, changed = from_query(values, base=mtl.preset(DEFAULT_PRESET))
    messages += changed
    messages += load_into_widgets(cfg, st.session_state)
    try:
        key = cache_key(config_from_state(st.session_state))
    except mtl.ConfigError:  # a combination the sidebar will report itself
        key = None
    st.session_state[NOTICE] = (key, source, messages)
    return messages


def notice(cfg: mtl.RunConfig | None) -> None:
    """Warn what a link (or a loaded file) needed changed, while the controls still show it.

    The messages quote what the link or file held, which anyone may have written: they are shown
    as plain text (:func:`ui.inert.text`), never as Markdown.
    """
    stored = st.session_state.get(NOTICE)
    if not stored:
        return
    key, source, messages = stored
    if not messages or cfg is None or cache_key(cfg) != key:
        return
    what = "This link" if source == "link" else "The loaded configuration"
    st.warning(
        f"**{what} was adjusted to valid settings.**\n\n"
        + "\n".join(f"- {inert.text(m)}" for m in messages),
        icon=":material/link_off:",
    )


def write(cfg: mtl.RunConfig) -> None:
    """Put ``cfg`` in the URL (all of it), unless the URL already holds exactly that."""
    query = to_query(cfg)
    current = {k: v for k, v in st.query_params.to_dict().items() if k not in RESERVED}
    if current != query:
        st.query_params.from_dict(query)


def share_url(cfg: mtl.RunConfig) -> str:
    """The link of ``cfg``: the page's address (when the browser gave it) and its query."""
    base = st.context.url or ""
    return f"{base}?{urlencode(to_query(cfg), safe=',')}"
