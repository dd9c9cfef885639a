"""Suite-wide setup.

When the suite runs in parallel workers (``pytest -n auto``, the README's command), each worker
uses one torch thread: the workers already keep every core busy, and two workers each spinning
several intra-op threads on the same cores only slow each other down. The figures the tests check
do not depend on it (the engine's small tensors run on one thread either way).
"""

from __future__ import annotations

import os

import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
