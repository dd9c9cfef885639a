"""Widget keys <-> RunConfig: the page's state as a flat dict named after the config's fields.

Every sidebar widget has a stable key named after the field it sets (``"data.n_samples"``,
``"optim.lr"``, ``"weighting.method"``), so a preset, a button or (later) a URL can fill the
controls by writing these keys, and the state maps back to a :class:`~mtl.config.RunConfig` with
:func:`config_from_state`. No Streamlit here: both directions are plain functions over a mapping.

Canonical form is the core's: a field that does not apply to the current choice (a dataset
parameter the dataset does not read, the MLP's width for another model shape, momentum with Adam,
the Huber delta with another loss, a hyper-parameter left at its default) is set to its default
by :class:`~mtl.config.RunConfig`'s specs themselves, so the widgets -> config mapping here reads
every control and equal runs still get equal configs (one cache entry, one link), and every
preset maps back to exactly ``mtl.preset(name)``. Config -> widgets goes through one function,
:func:`load_into_widgets`, wherever the page fills its controls (preset, pin, link, file, the
corrected-data button).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from dataclasses import fields
from typing import Any

import mtl
from mtl.config import LIMITS, DataSpec, LossSpec, ModelSpec, OptimSpec, Range, WeightingSpec
from mtl.data import DATASETS
from mtl.weighting import METHODS

CSV = "csv"
"""``data.name`` of an uploaded CSV."""

PRESET_LABELS: dict[str, str] = {
    "notebook": "Notebook (as published)",
    "article": "Article",
    "linear": "Linear toy, done right",
    "tradeoff": "Trade-off: two tasks, one shared unit",
    "conflicting": "Conflicting tasks, Adam",
    "nonconvex": "Non-convex front (small linear model)",
    "penguins": "Palmer penguins",
    "autompg": "Auto MPG",
}
"""Preset name -> what the preset selectbox shows, in the selectbox's order."""

DEFAULT_PRESET = "tradeoff"
"""The first screen: two tasks that compete for one shared unit, trained with plain SGD, so moving
alpha visibly trades one task for the other (``bench/bench_tradeoff.py``)."""

DATA_PARAMS: tuple[str, ...] = tuple(
    dict.fromkeys(p for entry in DATASETS.values() for p in entry.params if p != "seed")
)
"""DataSpec fields shown only when the dataset reads them: every generation parameter the
registry declares (``DATASETS[name].params``); the data seed is always shown."""

DEFAULT_BATCH = 32
"""Mini-batch size the batch-size box starts from when full batch is switched off."""

WIDGET_STEPS: dict[str, float] = {
    "data.n_samples": 50,
    "data.n_features": 1,
    "data.angle": 5.0,
    "data.noise": 0.1,
    "data.label_noise": 0.01,
    "data.target_scale": 0.5,
    "data.n_classes": 1,
    "data.test_fraction": 0.05,
    "data.seed": 1,
    "model.depth": 1,
    "loss.huber_delta": 0.1,
    "loss.label_smoothing": 0.01,
    "loss.focal_gamma": 0.5,
    "weighting.weights.regression": 0.1,
    "weighting.weights.classification": 0.1,
    "optim.momentum": 0.01,
    "optim.batch_size": 8,
    "epochs": 10,
    "seed": 1,
}
"""Step of each numeric slider and number box. A control's ends are its range's ends, an open end
moved one step inside (:func:`widget_bounds`), so a value a link or a JSON file brings in must be
fitted to them (:func:`fit_to_widgets`) before it is written into a control."""

_DATA_DEFAULTS = DataSpec()
_MODEL_DEFAULTS = ModelSpec()
_LOSS_DEFAULTS = LossSpec()
_OPTIM_DEFAULTS = OptimSpec()


def hparam_key(method: str, name: str) -> str:
    """Widget key of a method's hyper-parameter, e.g. ``weighting.params.cagrad.c``.

    The method is part of the key because two methods may share a name with different ranges.
    """
    return f"weighting.params.{method}.{name}"


def limit_key(key: str) -> str:
    """The ``LIMITS`` entry that bounds the control ``key`` (both free weights share one)."""
    return "weighting.weight" if key.startswith("weighting.weights.") else key


def hparam_step(method: str, name: str) -> float:
    """Step of a hyper-parameter's number box.

    1 for integers, else a tenth of the default's magnitude (1% of the range when the default
    is 0).
    """
    allowed = METHODS[method].hparam(name).range
    if allowed is None or allowed.integer:
        return 1
    default = method_defaults(method)[name]
    scale = abs(default) if default else (allowed.hi - allowed.lo) / 10
    return 10.0 ** (math.floor(math.log10(scale)) - 1) if scale > 0 else 0.01


def fit_to_widgets(state: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``state`` with every numeric value moved inside its control's ends, and what moved.

    A value the core accepts can still lie beyond its control: an open end (a learning rate or
    Huber delta just above 0, momentum just below 1) is moved one step inside on the widget, and
    Streamlit refuses to draw a widget whose value is outside its ends. Values from outside the
    page (a link, a JSON file) go through here first; each change gets one message.
    """
    fitted = dict(state)
    messages: list[str] = []
    bounds: dict[str, tuple[Range, float]] = {
        key: (LIMITS[limit_key(key)], step) for key, step in WIDGET_STEPS.items()
    }
    for method, cls in METHODS.items():
        for h in cls.hparams:
            if h.range is not None:
                bounds[hparam_key(method, h.name)] = (h.range, hparam_step(method, h.name))
    for key, (allowed, step) in bounds.items():
        value = fitted.get(key)
        if value is None or isinstance(value, bool):
            continue
        lo, hi = widget_bounds(allowed, step)
        if not lo <= value <= hi:
            new = min(max(value, lo), hi)
            fitted[key] = int(new) if allowed.integer else float(new)
            messages.append(
                f"{key}={value!r} is beyond what its control offers; used {fitted[key]!r}."
            )
    return fitted, messages


def matching_preset(cfg: mtl.RunConfig) -> str | None:
    """The preset ``cfg`` is exactly, if any (so a link to a preset shows that preset)."""
    for name in PRESET_LABELS:
        if mtl.preset(name) == cfg:
            return name
    return None


def method_defaults(method: str) -> dict[str, Any]:
    """The declared defaults of ``method``'s hyper-parameters (the papers' values)."""
    return METHODS[method].defaults()


def is_alpha_form(weights: tuple[float, float]) -> bool:
    """Whether ``weights`` is the notebook's ``(alpha, 1 - alpha)`` form."""
    return math.isclose(sum(weights), 1.0, abs_tol=1e-12) and all(0 <= w <= 1 for w in weights)


def state_from_config(cfg: mtl.RunConfig) -> dict[str, Any]:
    """Every widget value that shows ``cfg`` (all controls, visible or not).

    Hyper-parameters of the other methods go back to their defaults, as a preset fills every
    control. The CSV pickers and the uploaded file are not part of a config and are left alone.
    """
    state: dict[str, Any] = {"data.name": cfg.data.name}
    for f in fields(DataSpec):
        if f.name in ("name", "table"):
            continue
        value = getattr(cfg.data, f.name)
        state[f"data.{f.name}"] = _typed(f"data.{f.name}", value)
    model, loss, optim = cfg.model, cfg.loss, cfg.optim
    state |= {
        "model.shape": model.shape,
        "model.width": int(model.width),
        "model.depth": int(model.depth),
        "model.activation": model.activation,
        "loss.regression": loss.regression,
        "loss.classification": loss.classification,
        "loss.huber_delta": float(loss.huber_delta),
        "loss.label_smoothing": float(loss.label_smoothing),
        "loss.focal_gamma": float(loss.focal_gamma),
        "loss.l2": float(loss.l2),
        "optim.kind": optim.kind,
        "optim.lr": float(optim.lr),
        "optim.momentum": float(optim.momentum),
        "optim.full_batch": optim.batch_size is None,
        "optim.batch_size": int(optim.batch_size or DEFAULT_BATCH),
        "epochs": int(cfg.epochs),
        "seed": int(cfg.seed),
    }
    weights = tuple(float(w) for w in cfg.weighting.weights)
    alpha = is_alpha_form(weights)  # type: ignore[arg-type]
    state |= {
        "weighting.method": cfg.weighting.method,
        "weighting.form": "alpha" if alpha else "free",
        "weighting.alpha": weights[0] if alpha else 0.5,
        "weighting.weights.regression": weights[0],
        "weighting.weights.classification": weights[1],
        "weighting.balanced": cfg.weighting.scale == "balanced",
    }
    chosen = dict(cfg.weighting.params)
    for method, cls in METHODS.items():
        for h in cls.hparams:
            value = chosen.get(h.name, h.default) if method == cfg.weighting.method else h.default
            state[hparam_key(method, h.name)] = h.normalise(value)
    return state


def load_into_widgets(cfg: mtl.RunConfig, state: MutableMapping[str, Any]) -> list[str]:
    """Write ``cfg`` into every control: the one way the page fills its widgets from a config.

    The values of :func:`state_from_config`, fitted to the controls' ends
    (:func:`fit_to_widgets`), go into ``state`` (``st.session_state``, from a callback or before
    the sidebar draws); the preset box shows the preset ``cfg`` is exactly, else keeps its choice
    (the default preset on a session's first run). Returns what had to move to fit a control,
    one message each. The CSV pickers and the uploaded file are left alone.
    """
    values, messages = fit_to_widgets(state_from_config(cfg))
    state.update(values)
    state["preset"] = matching_preset(cfg) or state.get("preset", DEFAULT_PRESET)
    return messages


def _typed(key: str, value: Any) -> Any:
    """``value`` as the widget for ``key`` holds it: int for integer ranges, float otherwise."""
    if isinstance(value, bool) or key not in LIMITS:
        return value
    return int(value) if LIMITS[key].integer else float(value)


def config_from_state(state: Mapping[str, Any], table: mtl.Dataset | None = None) -> mtl.RunConfig:
    """The RunConfig the widget values describe (canonical: the core normalises it).

    Every control is read, shown or hidden; the core's specs set whatever does not apply to the
    run (a hidden control's leftover value) to its default, so equal runs get equal configs. A
    control missing from ``state`` reads as the field's default.

    Args:
        state: the widget values (``st.session_state`` or a plain dict).
        table: the uploaded dataset when ``data.name`` is ``"csv"``.

    Raises:
        mtl.ConfigError: a value is out of range or the combination is invalid (it names the
            field, e.g. ``optim.lr``).
    """
    name = state["data.name"]

    def read(key: str, default: Any) -> Any:
        return state.get(key, default)

    data = DataSpec(
        name=name,
        **{
            f.name: read(f"data.{f.name}", getattr(_DATA_DEFAULTS, f.name))
            for f in fields(DataSpec)
            if f.name not in ("name", "table")
        },
        table=table if name == CSV else None,
    )
    model = ModelSpec(
        **{
            f.name: read(f"model.{f.name}", getattr(_MODEL_DEFAULTS, f.name))
            for f in fields(ModelSpec)
        }
    )
    loss = LossSpec(
        **{
            f.name: read(f"loss.{f.name}", getattr(_LOSS_DEFAULTS, f.name))
            for f in fields(LossSpec)
        }
    )
    optim = OptimSpec(
        kind=state["optim.kind"],
        lr=state["optim.lr"],
        momentum=read("optim.momentum", _OPTIM_DEFAULTS.momentum),
        batch_size=None if state["optim.full_batch"] else state["optim.batch_size"],
    )
    return mtl.RunConfig(
        data=data,
        model=model,
        loss=loss,
        weighting=_weighting(state),
        optim=optim,
        epochs=state["epochs"],
        seed=state["seed"],
    )


def _weighting(state: Mapping[str, Any]) -> WeightingSpec:
    """The weighting spec: the method, its hyper-parameters' controls, the weights' form."""
    method = state["weighting.method"]
    if method not in METHODS:
        return WeightingSpec(method=method)  # raises ConfigError naming weighting.method
    params = tuple(
        (name, state[hparam_key(method, name)])
        for name in METHODS[method].defaults()
        if hparam_key(method, name) in state
    )
    scale = "balanced" if state.get("weighting.balanced", False) else "raw"
    if not METHODS[method].uses_base_weights:  # hidden, and unchecked: (0, 0) may sit there
        return WeightingSpec(method=method, params=params, scale=scale)
    if state["weighting.form"] == "alpha":
        weights = WeightingSpec.alpha(float(state["weighting.alpha"])).weights
    else:
        weights = (
            float(state["weighting.weights.regression"]),
            float(state["weighting.weights.classification"]),
        )
    return WeightingSpec(method=method, weights=weights, params=params, scale=scale)


def changed_fields(cfg: mtl.RunConfig, reference: mtl.RunConfig) -> list[str]:
    """The widget keys whose values differ between ``cfg`` and ``reference`` (for "modified")."""
    a, b = state_from_config(cfg), state_from_config(reference)
    keys = [k for k in a if a[k] != b.get(k)]
    if cfg.data.table != reference.data.table:
        keys.append("data.table")
    return keys


def widget_bounds(allowed: Range, step: float) -> tuple[float, float]:
    """Widget min and max for a range: its ends, open ends moved one ``step`` inside."""
    lo = allowed.lo + (step if allowed.lo_open else 0)
    hi = allowed.hi - (step if allowed.hi_open else 0)
    if allowed.integer:
        return int(lo), int(hi)
    return float(lo), float(hi)
