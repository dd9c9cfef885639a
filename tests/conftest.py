"""Suite-wide setup for parallel runs (``pytest -n auto --dist loadgroup``, the README's command).

- Each test file runs whole on one worker (its module fixtures are built once), and the browser
  tests (``tests/e2e``) all run on the same worker, one after another: each starts a real
  ``streamlit run`` server and a Chromium, and two such sets at once would crowd the cores that
  the cancellation tests measure.
- Each worker uses one torch thread: the workers already keep every core busy, and two workers
  each spinning several intra-op threads on the same cores only slow each other down. The
  figures the tests check do not depend on it (the engine's small tensors run on one thread
  either way).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group the tests for ``--dist loadgroup``: one group per file, one for all browser tests."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        path = Path(item.path)
        group = "e2e" if E2E in path.parents else path.stem
        item.add_marker(pytest.mark.xdist_group(group))
