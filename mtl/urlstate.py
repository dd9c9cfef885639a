"""A RunConfig as URL query parameters, and back: links that reproduce a run.

:func:`to_query` writes every field of a configuration as a flat ``{"optim.lr": "0.01", ...}``
mapping (the whole configuration, so a link keeps working when defaults change).
:func:`from_query` reads such a mapping from a URL that anyone may have typed: every value is
parsed and checked against the same ranges as :class:`~mtl.config.RunConfig`, and whatever is
unknown, malformed or out of range is replaced by the nearest valid value (or the default), with
one plain message per change. It never raises: a link always opens.

Keys: ``section.field`` for each field of the sub-specs (``data.n_samples``, ``model.shape``,
``optim.batch_size`` with ``full`` for full batch), ``epochs``, ``seed``, ``weighting.method``,
``weighting.weights`` as ``"w_regression,w_classification"``, ``weighting.scale`` (``raw`` or
``balanced``), and ``weighting.params.<name>`` for the method's hyper-parameters. An uploaded
dataset cannot travel in a link.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

from mtl.config import CHOICES, LIMITS, ConfigError, RunConfig, WeightingSpec
from mtl.data import DATASETS
from mtl.weighting import METHODS, HParam

_SECTIONS = ("data", "model", "loss", "optim")
_NOT_IN_LINKS = {"data.table"}


def to_query(cfg: RunConfig) -> dict[str, str]:
    """Every field of ``cfg`` as query parameters (strings)."""
    query: dict[str, str] = {}
    for section in _SECTIONS:
        spec = getattr(cfg, section)
        for f in fields(spec):
            key = f"{section}.{f.name}"
            if key in _NOT_IN_LINKS:
                continue
            query[key] = _format(getattr(spec, f.name))
    query["weighting.method"] = cfg.weighting.method
    query["weighting.weights"] = ",".join(_format(w) for w in cfg.weighting.weights)
    query["weighting.scale"] = cfg.weighting.scale
    for name, value in cfg.weighting.params:
        query[f"weighting.params.{name}"] = _format(value)
    query["epochs"] = str(cfg.epochs)
    query["seed"] = str(cfg.seed)
    return query


def _format(value: Any) -> str:
    if value is None:
        return "full"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def from_query(
    params: Mapping[str, str | list[str]], base: RunConfig | None = None
) -> tuple[RunConfig, list[str]]:
    """The configuration a link describes, and what had to be changed to make it valid.

    ``params`` is what ``st.query_params.to_dict()`` gives (a list value means the key was
    repeated: the last one wins). Keys not given keep ``base``'s values (default: ``RunConfig()``).
    """
    base = base or RunConfig()
    messages: list[str] = []
    values = {k: (v[-1] if isinstance(v, list) else v) for k, v in params.items()}
    sections: dict[str, dict[str, Any]] = {s: {} for s in _SECTIONS}
    top: dict[str, Any] = {}
    for key, raw in values.items():
        section, _, name = key.partition(".")
        if key.startswith("weighting.") or key in _NOT_IN_LINKS:
            continue
        if section in sections and name in {f.name for f in fields(getattr(base, section))}:
            current = getattr(getattr(base, section), name)
            parsed = _parse(key, str(raw), current, messages)
            if parsed is not _INVALID:
                sections[section][name] = parsed
        elif key in ("epochs", "seed"):
            parsed = _parse(key, str(raw), getattr(base, key), messages)
            if parsed is not _INVALID:
                top[key] = parsed
        else:
            messages.append(f"Ignored the unknown link parameter {key!r}.")
    if "data.table" in values:
        messages.append("An uploaded dataset cannot travel in a link; upload it again.")
    cfg = base
    for section, changes in sections.items():
        if changes:
            cfg = replace(cfg, **{section: replace(getattr(cfg, section), **changes)})
    cfg = replace(cfg, **top)
    cfg = replace(cfg, weighting=_weighting(values, base.weighting, messages))
    return cfg, messages


class _Invalid:
    """Marker for a value that could not be used at all."""


_INVALID = _Invalid()


def _parse(key: str, raw: str, current: Any, messages: list[str], label: str = "") -> Any:
    """Parse ``raw`` like ``current``'s type and clamp it to ``LIMITS[key]``.

    Returns ``_INVALID`` (and says why) when nothing usable can be read from it. Messages name
    ``label`` (the link's key) when given, else ``key`` (the range's name).
    """
    label = label or key
    text = raw.strip()
    if key in CHOICES or key == "data.name":
        choices = CHOICES.get(key) or tuple(DATASETS)
        if text in choices:
            return text
        messages.append(f"{label}={raw!r} is not one of {', '.join(choices)}; kept {current!r}.")
        return _INVALID
    if isinstance(current, bool):
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        messages.append(f"{label}={raw!r} is not true or false; kept {current!r}.")
        return _INVALID
    if key == "optim.batch_size" and text.lower() in ("full", "none", ""):
        return None
    try:
        number = float(text)
    except ValueError:
        messages.append(f"{label}={raw!r} is not a number; kept {current!r}.")
        return _INVALID
    if math.isnan(number):
        messages.append(f"{label}={raw!r} is not a number; kept {current!r}.")
        return _INVALID
    allowed = LIMITS[key]
    if not allowed.contains(int(number) if allowed.integer and number.is_integer() else number):
        clamped = allowed.clamp(number)
        value = int(clamped) if allowed.integer else clamped
        messages.append(f"{label}={raw!r} is outside {allowed.describe()}; used {value!r}.")
        return value
    return int(number) if allowed.integer else number


def _parse_hparam(h: HParam, key: str, raw: str, messages: list[str]) -> Any:
    """A hyper-parameter's value from a link, as its declaration says; ``_INVALID`` if unusable.

    Named choices also accept the numeric codes older links used (``choices[i]`` was ``i``), with
    a message; numbers outside their range are clamped, with a message.
    """
    text = raw.strip()
    if h.choices is not None:
        if text in h.choices:
            return text
        try:
            code = float(text)
        except ValueError:
            code = math.nan
        if code.is_integer() and 0 <= code < len(h.choices):
            value = h.choices[int(code)]
            messages.append(f"{key}={raw!r} is an old numeric code; used {value!r}.")
            return value
        messages.append(f"{key}={raw!r} is not one of {', '.join(h.choices)}; kept the default.")
        return _INVALID
    if h.range is None:  # a switch
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        messages.append(f"{key}={raw!r} is not true or false; kept the default.")
        return _INVALID
    allowed = h.range
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if math.isnan(number):
        messages.append(f"{key}={raw!r} is not a number; kept the default.")
        return _INVALID
    if not allowed.contains(number):
        number = allowed.clamp(number)
        messages.append(f"{key}={raw!r} is outside {allowed.describe()}; used {number!r}.")
    return h.normalise(number)


def _weighting(values: dict[str, str], base: WeightingSpec, messages: list[str]) -> WeightingSpec:
    method = values.get("weighting.method", base.method).strip()
    if method not in METHODS:
        messages.append(
            f"weighting.method={method!r} is not one of {', '.join(METHODS)}; kept {base.method!r}."
        )
        method = base.method
    weights = base.weights
    if "weighting.weights" in values:
        raw = values["weighting.weights"]
        parsed = [
            _parse("weighting.weight", part, w, messages, "weighting.weights")
            for part, w in zip(raw.split(","), base.weights, strict=False)
        ]
        if len(raw.split(",")) != len(base.weights) or any(p is _INVALID for p in parsed):
            messages.append(f"weighting.weights={raw!r} is not two numbers; kept {base.weights}.")
        elif sum(parsed) <= 0:
            messages.append(
                f"weighting.weights={raw!r} has no positive weight; kept {base.weights}."
            )
        else:
            weights = (float(parsed[0]), float(parsed[1]))
    scale = base.scale
    if "weighting.scale" in values:
        parsed_scale = _parse("weighting.scale", str(values["weighting.scale"]), scale, messages)
        if parsed_scale is not _INVALID:
            scale = parsed_scale
    cls = METHODS[method]
    params = dict(base.params) if method == base.method else {}
    prefix = "weighting.params."
    for key, raw in values.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        if name not in cls.defaults():
            messages.append(f"Ignored {key!r}: {cls.label} has no parameter {name!r}.")
            continue
        value = _parse_hparam(cls.hparam(name), key, str(raw), messages)
        if value is not _INVALID:
            params[name] = value
    try:
        return WeightingSpec(
            method=method, weights=weights, params=tuple(params.items()), scale=scale
        )
    except ConfigError as err:  # a combination the parts could not see; fall back whole
        messages.append(f"{err} Kept the previous weighting.")
        return base
