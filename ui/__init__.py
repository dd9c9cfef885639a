"""The page's Streamlit-side code, kept out of ``app.py`` so the script stays a few lines of glue.

- :mod:`ui.state`: widget keys <-> :class:`~mtl.config.RunConfig` (pure, no Streamlit).
- :mod:`ui.csv_upload`: reading an uploaded CSV's columns and loading it (pure, no Streamlit).
- :mod:`ui.sidebar`: the sidebar widgets, producing a RunConfig or a problem to report.
- :mod:`ui.runtime`: server setup (threads, allocator, secrets) and the training slots.
- :mod:`ui.keys`: cache keys of a configuration and of its data.
- :mod:`ui.run`: cached training, sweeps and face-offs with throttled progress bars; cancellation.
- :mod:`ui.memory`: session memory: the last good result, the previous run's summary.
- :mod:`ui.data_view`: the Data tab's table (cached per dataset).
- :mod:`ui.charting`: memoised chart objects from :mod:`mtl.charts`.
- :mod:`ui.views`: the main-area sections (metrics, stacked chart, the tabs' frame).
- :mod:`ui.tabs`: the detail tabs, one module each, wired by one list (:data:`ui.tabs.TABS`):
  :mod:`ui.tabs.result` (the run's own tabs), :mod:`ui.tabs.sweep` (weight sweep, Pareto
  front), :mod:`ui.tabs.face_off` (method face-off), :mod:`ui.tabs.common` (what those share).
- :mod:`ui.pins`: pinned runs and their comparison.
- :mod:`ui.links`: the configuration in the URL, both ways.
- :mod:`ui.exports`: the share & export tab (link, CSV, JSON, PyTorch script).
"""
