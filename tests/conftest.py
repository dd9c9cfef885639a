"""Suite-wide setup for parallel runs (``pytest -n auto --dist loadfile``, the README's command).

Each test file runs whole on one worker (``loadfile``), so its module fixtures (a trained
population, a ``streamlit run`` server) are built once; the browser-test files spread over the
workers like the rest. The cancellation tests, which measure a server's CPU, judge idleness
against the share the training itself gets, so a busy neighbour does not fail them.

Each worker uses one torch thread: the workers already keep every core busy, and two workers
each spinning several intra-op threads on the same cores only slow each other down. The figures
the tests check do not depend on it (the engine's small tensors run on one thread either way).
"""

from __future__ import annotations

import os

import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
