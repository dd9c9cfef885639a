"""One declaration per hyper-parameter: :class:`HParam`, owned by the method that uses it.

A weighting method lists its hyper-parameters in ``hparams: ClassVar[tuple[HParam, ...]]``, and
everything else reads that one declaration: validation (:meth:`HParam.check`), the method's
constructor (the declared default), :func:`mtl.weighting.gradient_weights`, links
(:mod:`mtl.urlstate`), the sidebar's widgets and the Method tab. A hyper-parameter is one of:

* a number in a :class:`~mtl.limits.Range` (``range``; an ``int`` where the range is integer);
* a named choice (``choices``: a tuple of names, the value is one of them, never a code);
* a switch (``default`` is a ``bool``, no range and no choices).

This module imports nothing from ``mtl`` but the leaves :mod:`mtl.errors` and :mod:`mtl.limits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mtl.errors import ConfigError
from mtl.limits import Range

HParamKind = Literal["number", "integer", "choice", "switch"]


@dataclass(frozen=True)
class HParam:
    """A hyper-parameter's name, default (the paper's), allowed values and page text.

    Attributes:
        name: the key in ``WeightingSpec.params`` and in links (``weighting.params.<name>``).
        default: the paper's value; must itself be allowed.
        label: the widget's label on the page.
        help: one or two plain sentences for the widget's help.
        range: allowed numbers, for a numeric hyper-parameter.
        choices: allowed names, for a named choice. For choices that were once numeric codes,
            the order is the old codes' (``choices[i]`` was ``i``), so old links still open.
        unit: shown after the value where it has one.
        choice_labels: what the page shows for each of ``choices`` (same order); default the
            names themselves.
    """

    name: str
    default: float | int | str | bool
    label: str
    help: str
    range: Range | None = None
    choices: tuple[str, ...] | None = None
    unit: str = ""
    choice_labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.range is not None) + (self.choices is not None) > 1:
            raise ValueError(f"hyper-parameter {self.name!r}: a range or choices, not both")
        if self.range is None and self.choices is None and not isinstance(self.default, bool):
            raise ValueError(f"hyper-parameter {self.name!r}: a range, choices or a bool default")
        if self.choice_labels and len(self.choice_labels) != len(self.choices or ()):
            raise ValueError(f"hyper-parameter {self.name!r}: one label per choice")
        if not self.allows(self.default):
            raise ValueError(f"hyper-parameter {self.name!r}: default {self.default!r} not allowed")

    @property
    def kind(self) -> HParamKind:
        """``"number"``, ``"integer"``, ``"choice"`` or ``"switch"``."""
        if self.choices is not None:
            return "choice"
        if self.range is not None:
            return "integer" if self.range.integer else "number"
        return "switch"

    def allows(self, value: Any) -> bool:
        """Whether ``value`` is an allowed value of the right type (no coercion)."""
        if self.choices is not None:
            return isinstance(value, str) and value in self.choices
        if self.range is not None:
            return self.range.contains(value)
        return isinstance(value, bool)

    def describe(self) -> str:
        """What is allowed, for messages: ``one of 'none', 'l2'``, ``True or False``, a range."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.range is not None:
            return self.range.describe()
        return "True or False"

    def choice_label(self, value: str) -> str:
        """The page's label of choice ``value`` (the name itself when there is none)."""
        if self.choices and self.choice_labels and value in self.choices:
            return self.choice_labels[self.choices.index(value)]
        return str(value)

    def format(self, value: Any) -> str:
        """``value`` as the page shows it: ``0.5``, ``'l2'``, ``True``, with the unit if any."""
        text = f"{value:g}" if self.kind in ("number", "integer") else repr(value)
        return f"{text} {self.unit}" if self.unit else text

    def check(self, value: Any) -> None:
        """Raise :class:`ConfigError` (field ``weighting.params.<name>``) unless allowed."""
        if not self.allows(value):
            raise ConfigError(f"weighting.params.{self.name}", value, self.describe())

    def normalise(self, value: Any) -> float | int | str | bool:
        """An allowed ``value`` in its canonical type: ``int`` for integers, ``float`` numbers."""
        kind = self.kind
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        return bool(value) if kind == "switch" else str(value)


def check_params(owner: str, hparams: tuple[HParam, ...], params: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` for a key ``owner`` does not declare or a value not allowed."""
    declared = {h.name: h for h in hparams}
    for key, value in params.items():
        if key not in declared:
            allowed = ", ".join(declared) or f"none ({owner} has no hyper-parameters)"
            raise ConfigError(f"weighting.params.{key}", value, f"one of: {allowed}")
        declared[key].check(value)
