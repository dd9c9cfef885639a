"""The page: ``streamlit run app.py``. Sidebar widgets -> RunConfig -> cached training -> views.

Thin on purpose: the widgets live in :mod:`ui.sidebar`, cached training in :mod:`ui.run`, the
main-area sections in :mod:`ui.views` (the detail tabs in :mod:`ui.tabs`, pins in
:mod:`ui.pins`, exports in :mod:`ui.exports`), the Learn mode's guide in :mod:`ui.learn`, links
in :mod:`ui.links`, and every chart in :mod:`mtl.charts`. No torch here.

Failures: bad input is a message (a :class:`mtl.ConfigError` or :class:`mtl.DataError` turned into
text by the sidebar and below). Anything else is a bug: :func:`main` runs inside a handler that
logs the exception with its traceback and a short id on the server and shows the visitor only an
apology with that id, never a traceback or a server path. Streamlit's own control flow
(``st.rerun``, ``st.stop``: ``RerunException`` and ``StopException``) derives from
``BaseException``, so ``except Exception`` lets it through; a fragment's handled exception is
re-raised explicitly. ``client.showErrorDetails = "none"`` in ``.streamlit/config.toml`` covers
what runs outside :func:`main` (widget callbacks).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import streamlit as st
from streamlit.errors import FragmentHandledException

import mtl
from ui import keys, learn, links, memory, pins, run, runtime, sidebar, views, weights_control
from ui.wording import config_problem

# Where unexpected errors go, with their traceback: the server's standard error. (A comment, not
# a string: Streamlit's "magic" would draw a bare string of this script on the page.)
LOGGER = logging.getLogger("loss_weighting_explorer")
if not LOGGER.handlers:  # the script reruns on every interaction: one handler per process
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    LOGGER.addHandler(_handler)
# The tab's icon, served by the app itself (a Material icon name makes the browser fetch it from
# a font host).
PAGE_ICON = Path(__file__).parent / "static" / "page_icon.png"
APOLOGY = (
    "Something went wrong on our side (error id {id}). Your settings are kept; try again or "
    "change a control."
)

st.set_page_config(
    page_title="Loss weighting explorer",
    page_icon=str(PAGE_ICON),
    layout="wide",
)


def main() -> None:
    """The page's script: sidebar -> configuration -> cached training -> views."""
    runtime.setup_runtime()
    runtime.freeze_long_lived()  # from the second run on: keep full GCs cheap (see there)
    weights_control.note_run_start()  # tells the next request's headline callback a stale value

    links.read_link()  # a session's first run: the URL fills the controls
    outcome = sidebar.render()
    views.header()

    problem, result = outcome.problem, None
    if outcome.cfg is not None:
        try:
            result = run.train(outcome.cfg)
        except mtl.ConfigError as error:
            message = config_problem(error, outcome.cfg.weighting.method)
            problem = sidebar.Problem("This configuration can't be trained", message)
        except mtl.DataError as error:
            problem = sidebar.Problem("This configuration can't be trained", str(error))
    shown = result or memory.last_good()
    views.problem(problem, outcome.waiting, has_result=shown is not None)
    links.notice(outcome.cfg)
    if result is not None:
        links.write(result.config)  # the address bar reproduces the run on screen

    if shown is not None:
        learn.guide(shown)
        views.notebook_note(outcome.cfg or shown.config)
        metrics_column = views.headline(shown, memory.previous_summary(shown) if result else None)
        with metrics_column:
            pins.controls(shown, keys.cache_key(shown.config))
        views.details(shown)


def apologise(error: Exception) -> str:
    """Log ``error`` with its traceback under a new id (server side); show the visitor the id.

    Returns the id, which the log line and the message share, so a report can be matched.
    """
    error_id = uuid.uuid4().hex[:8]
    LOGGER.error("Unexpected error on the page, error id %s", error_id, exc_info=error)
    st.error(APOLOGY.format(id=error_id), icon=":material/error:")
    return error_id


try:
    main()
except FragmentHandledException:
    raise  # Streamlit's own: a fragment's error already shown
except Exception as error:  # everything else is a bug: log it, apologise
    apologise(error)
