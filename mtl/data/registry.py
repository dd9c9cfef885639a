"""A dataset registry entry: :class:`DatasetEntry` (label, parameters it reads, builder).

Each dataset module exposes its ``ENTRY``; :mod:`mtl.data` builds the registry ``DATASETS`` from
an explicit tuple of them (no registration on import), so the page's order is written in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mtl.config import DataSpec
    from mtl.data.base import Dataset


@dataclass(frozen=True)
class DatasetEntry:
    """One registered dataset.

    Attributes:
        name: registry key, used in ``DataSpec.name`` and in URLs.
        label: what the page shows.
        params: the ``DataSpec`` fields the builder reads (the page shows only these controls).
        build: ``DataSpec -> Dataset``; deterministic given ``spec.seed`` and the params.
        summary: one line for the page's help text.
    """

    name: str
    label: str
    params: tuple[str, ...]
    build: Callable[[DataSpec], Dataset]
    summary: str
