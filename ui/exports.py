"""The "Share & export" tab: the run's link, its data and configuration, a standalone script.

- The link: the address bar always holds it (:mod:`ui.links`); shown here too, with a copy button.
- CSV: the run's history (component losses), metrics over epochs and summary, as the core
  returns them (tidy, one row per member x epoch x ...; see :mod:`mtl.results`).
- The configuration as JSON: the same flat ``{"optim.lr": "0.01", ...}`` mapping as a link
  (:func:`mtl.urlstate.to_query`), so one format serves both, and loading it back
  (:func:`load_json` then :func:`ui.links.apply`) checks and clamps it exactly as a link.
- A standalone PyTorch script (:func:`mtl.export.to_script`, torch only) that reproduces the run
  and prints its final MSE and accuracy, dynamic methods' update rules written out in plain
  PyTorch (every method); for a run that cannot be exported (too much data to embed) the reason
  is shown instead of the button.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd
import streamlit as st

import mtl
from mtl.export import to_script
from mtl.urlstate import to_query
from ui import inert, links
from ui.keys import cache_key
from ui.state import CSV

FILE_KEY = "share.config_file"
FLASH = "_share.flash"
"""Session key of ``(kind, message)`` after loading a configuration file."""
MAX_CONFIG_BYTES = 100_000
"""Largest configuration file accepted (a real one is about 1 kB)."""
MAX_CONFIG_DEPTH = 32
"""Brackets nested deeper than this are refused before parsing. A configuration file is one flat
object (depth 1); Python's JSON parser would otherwise refuse deep nesting only when it reaches
the process's recursion limit, which other code may have raised (mypy's API sets 16,384), so
the same file was refused in one process and parsed in another."""
TOO_DEEP = (
    "The file can't be read: its brackets are nested far too deeply for a configuration file. "
    "Load a file saved with “Configuration (JSON)”."
)
"""The refusal of a file nested deeper than :data:`MAX_CONFIG_DEPTH`."""


def csv_download(
    label: str, frame: pd.DataFrame, file_name: str, key: str, help_text: str, *, width: str
) -> None:
    """A download button for ``frame`` as CSV (no rerun on click), as every table offers one."""
    st.download_button(
        label,
        frame.to_csv(index=False),
        file_name=file_name,
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key=key,
        width=width,
        help=help_text,
    )


def config_json(cfg: mtl.RunConfig) -> str:
    """``cfg`` as indented JSON: the link's flat mapping of strings."""
    return json.dumps(to_query(cfg), indent=2) + "\n"


def load_json(data: bytes) -> dict[str, str]:
    """The link-format mapping in a configuration file.

    Values may be strings or JSON scalars (numbers, booleans, null for a full batch), which are
    written as a link would write them. Raises ``ValueError`` saying, in the page's words, what is
    wrong with the file: too big, not JSON (with the line and column), nested deeper than
    :data:`MAX_CONFIG_DEPTH` (checked before parsing, so a hostile file nested thousands of levels
    deep is refused the same way whatever the process's recursion limit, never a crash), not
    one object, or a setting holding a list or object instead of one value.
    """
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(
            f"The file is {len(data):,} bytes; a configuration file is at most 100 kB (a real one "
            "is about 1 kB). Load a file saved with “Configuration (JSON)”."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("The file is not JSON: it is not UTF-8 text.") from None
    if _bracket_depth(text) > MAX_CONFIG_DEPTH:
        raise ValueError(TOO_DEEP)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"The file is not JSON: {error.msg.lower()} at line {error.lineno}, column "
            f"{error.colno}."
        ) from None
    except RecursionError:  # cannot happen after the depth check; kept as the last guard
        raise ValueError(TOO_DEEP) from None
    except ValueError:  # e.g. an integer of more than 4,300 digits
        raise ValueError(
            "The file is not JSON that can be read: a number in it is too long."
        ) from None
    if not isinstance(parsed, Mapping):
        raise ValueError(
            "The file must hold one JSON object of settings, as the “Configuration (JSON)” "
            "download does."
        )
    nested = [str(k) for k, v in parsed.items() if isinstance(v, list | dict)]
    if nested:
        raise ValueError(
            f"The setting {nested[0]!r} holds a list or an object; each setting is one value "
            "(text, a number, true or false), as the “Configuration (JSON)” download writes it."
        )
    return {str(k): _as_text(v) for k, v in parsed.items()}


def _bracket_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON ``text``, brackets inside strings ignored."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _as_text(value: object) -> str:
    """A JSON scalar as a link writes it: null is a full batch, booleans are lower case."""
    if value is None:
        return "full"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@st.cache_data(max_entries=16, show_spinner=False)
def _script(key: str, _cfg: mtl.RunConfig) -> tuple[str | None, str | None]:
    """``(script, None)``, or ``(None, reason)`` when the run cannot be exported."""
    try:
        return to_script(_cfg), None
    except mtl.ConfigError as error:
        return None, str(error)


def script_or_reason(cfg: mtl.RunConfig) -> tuple[str | None, str | None]:
    """The standalone script for ``cfg`` (cached), or why there is none."""
    return _script(cache_key(cfg), cfg)


def _load_config() -> None:
    """``on_change`` of the configuration uploader: fill the controls from the file.

    The confirmation is Markdown built here: the file's name (the visitor's) is plain text in it.
    """
    upload = st.session_state.get(FILE_KEY)
    if upload is None:
        return
    try:
        params = load_json(upload.getvalue())
    except ValueError as error:
        st.session_state[FLASH] = (
            "error",
            f"**Can't load {inert.text(upload.name)}.** {inert.text(error)}",
        )
        return
    messages = links.apply(params, source="file")
    text = f"Loaded the settings of {inert.text(upload.name)}."
    if messages:
        text += " Some were adjusted: see the note at the top."
    st.session_state[FLASH] = ("success", text)


def share_tab(result: mtl.Result) -> None:
    """The link, the downloads and the configuration loader."""
    cfg = result.config
    stem = f"mtl_{cfg.data.name}"
    st.markdown(
        "**Link.** The address bar always holds the link of the run shown: anyone who opens it "
        "sees this run, trained with the same settings. The same link, to copy:"
    )
    st.code(links.share_url(cfg), language=None, wrap_lines=True)
    if cfg.data.name == CSV:
        st.warning(
            "An uploaded CSV cannot travel in a link or a configuration file: whoever opens it "
            "gets the default data and a note, and must upload the file themselves.",
            icon=":material/upload_file:",
        )
    st.markdown("**Downloads.**")
    left, middle, right = st.columns(3)
    with left:
        csv_download(
            "History (CSV)",
            result.history,
            f"{stem}_history.csv",
            "share.history",
            "Every component's raw loss, weight and weighted loss per epoch and split "
            "(columns member, epoch, split, component, loss, weight, weighted).",
            width="stretch",
        )
        csv_download(
            "Metrics over epochs (CSV)",
            result.metrics,
            f"{stem}_metrics.csv",
            "share.metrics",
            "MSE, MAE, R² and accuracy per epoch and split (member, epoch, split, metric, value).",
            width="stretch",
        )
    with middle:
        csv_download(
            "Summary (CSV)",
            result.summary,
            f"{stem}_summary.csv",
            "share.summary",
            "The final figures: weights, seed, train and test MSE, MAE, R², accuracy and "
            "loss, and whether the run diverged.",
            width="stretch",
        )
        st.download_button(
            "Configuration (JSON)",
            config_json(cfg),
            file_name=f"{stem}_config.json",
            mime="application/json",
            on_click="ignore",
            icon=":material/settings:",
            key="share.config",
            width="stretch",
            help="Every setting, in the link's format. Load it below (or in anyone's copy of "
            "the page) to get the same run; `mtl.urlstate.from_query` reads it in Python.",
        )
    with right:
        script, reason = script_or_reason(cfg)
        if script is not None:
            st.download_button(
                "PyTorch script (.py)",
                script,
                file_name=f"{stem}_run.py",
                mime="text/x-python",
                on_click="ignore",
                icon=":material/code:",
                key="share.script",
                width="stretch",
                help="A standalone script (needs only torch) that trains this run and prints "
                "the same final MSE and accuracy as the page.",
            )
            st.caption("Runs with `python file.py`; needs only `torch`.")
        else:
            st.info(f"**No script for this run.** {inert.text(reason)}", icon=":material/code_off:")
    st.markdown("**Load a configuration.**")
    st.file_uploader(
        "Configuration file (JSON)",
        type=["json"],
        key=FILE_KEY,
        on_change=_load_config,
        help="A file saved with “Configuration (JSON)”. Its settings replace the sidebar's; "
        "values out of range are moved to the nearest valid one, with a note.",
    )
    flash = st.session_state.pop(FLASH, None)
    if flash:
        kind, text = flash
        (st.error if kind == "error" else st.success)(text)
