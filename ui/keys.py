"""Cache keys: strings that identify a run's configuration, and its data, completely.

``st.cache_data`` hashes a dataclass through ``dataclasses.asdict``, which deep-copies every
field, the uploaded dataset's tensors included, and then hashes tensors through their
``__reduce__``: slow, and not guaranteed stable. It never calls ``Dataset.__hash__``. So the
page's cached functions take the config unhashed (``_cfg``) beside an explicit key,
:func:`cache_key`: the config's ``repr`` (a frozen dataclass: every field, floats exactly) plus
the uploaded dataset's full SHA-256 fingerprint (its ``repr`` shows only a prefix).
"""

from __future__ import annotations

import mtl


def cache_key(cfg: mtl.RunConfig) -> str:
    """A string that identifies ``cfg`` completely, uploaded data included."""
    table = cfg.data.table
    return repr(cfg) + (f"|data={table.fingerprint}" if table is not None else "")


def data_key(spec: mtl.DataSpec) -> str:
    """A string that identifies the data (and its split) of a run, uploads included."""
    return repr(spec) + (spec.table.fingerprint if spec.table is not None else "")
