"""RunConfig: the frozen, hashable description of one training run (or population).

Everything that changes a result lives here, so a config is a complete cache key for the page and a
complete recipe for a reproducible link. Every field is range-checked on construction; a bad value
raises :class:`~mtl.errors.ConfigError` naming the field, the value and the allowed range. The
ranges (``LIMITS``) are the single source for validation, for the page's widgets and for clamping
values that arrive in a URL.

The caps suit a hosted demo on a small CPU machine: they bound the work of one request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal

from mtl.errors import ConfigError as ConfigError  # re-exported: older imports name it here

if TYPE_CHECKING:
    from mtl.data.base import Dataset

TASKS: tuple[str, ...] = ("regression", "classification")
"""The task order used by every ``[..., T]`` tensor: index 0 regression, 1 classification."""

ModelShape = Literal["notebook", "article", "shared"]
RegressionLoss = Literal["mse", "l1", "huber"]
ClassificationLoss = Literal["ce", "label_smoothing", "focal"]
Optimizer = Literal["sgd", "adam"]
Activation = Literal["relu", "tanh", "gelu"]


@dataclass(frozen=True)
class Range:
    """An allowed interval for a numeric field; ``lo_open``/``hi_open`` exclude the end points."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a finite number (an int where required) inside the interval."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not float(value).is_integer():
            return False
        if not math.isfinite(value):
            return False
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return above and below

    def clamp(self, value: float) -> float:
        """The nearest allowed value.

        Open ends are approached, not reached; -inf and +inf go to the nearest allowed end.
        """
        lo = self.lo + (1e-6 if self.lo_open else 0.0)
        hi = self.hi - (1e-6 if self.hi_open else 0.0)
        clamped = (lo if value < 0 else hi) if not math.isfinite(value) else min(max(value, lo), hi)
        return float(round(clamped)) if self.integer else clamped

    def describe(self) -> str:
        """Human-readable form such as ``0 < x <= 10`` or ``an integer in [1, 2000]``."""
        if self.integer:
            return f"an integer in [{self.lo:g}, {self.hi:g}]"
        left = "<" if self.lo_open else "<="
        right = "<" if self.hi_open else "<="
        return f"a number with {self.lo:g} {left} x {right} {self.hi:g}"


MAX_MEMBERS = 1024
"""Cap on the population size K of one call (a 101-point sweep over 10 seeds fits)."""

LIMITS: dict[str, Range] = {
    "data.n_samples": Range(3, 20_000, integer=True),
    "data.n_features": Range(1, 64, integer=True),
    "data.noise": Range(0.0, 100.0),
    "data.label_noise": Range(0.0, 0.5),
    "data.angle": Range(0.0, 180.0),
    "data.target_scale": Range(1e-3, 1e3),
    "data.n_classes": Range(2, 5, integer=True),
    "data.test_fraction": Range(0.0, 0.9),
    "data.seed": Range(0, 2**31 - 1, integer=True),
    "model.width": Range(1, 512, integer=True),
    "model.depth": Range(1, 8, integer=True),
    "loss.huber_delta": Range(0.0, 100.0, lo_open=True),
    "loss.label_smoothing": Range(0.0, 1.0, hi_open=True),
    "loss.focal_gamma": Range(0.0, 10.0),
    "loss.l2": Range(0.0, 10.0),
    "weighting.weight": Range(0.0, 1000.0),
    "optim.lr": Range(0.0, 10.0, lo_open=True),
    "optim.momentum": Range(0.0, 1.0, hi_open=True),
    "optim.batch_size": Range(1, 20_000, integer=True),
    "epochs": Range(1, 2000, integer=True),
    "seed": Range(0, 2**31 - 1, integer=True),
}

CHOICES: dict[str, tuple[str, ...]] = {
    "model.shape": ("notebook", "article", "shared"),
    "model.activation": ("relu", "tanh", "gelu"),
    "loss.regression": ("mse", "l1", "huber"),
    "loss.classification": ("ce", "label_smoothing", "focal"),
    "optim.kind": ("sgd", "adam"),
}


def check_range(name: str, value: Any) -> None:
    """Raise :class:`ConfigError` unless ``value`` lies in ``LIMITS[name]``."""
    allowed = LIMITS[name]
    if not allowed.contains(value):
        raise ConfigError(name, value, allowed.describe())


def check_choice(name: str, value: Any) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``CHOICES[name]``."""
    if value not in CHOICES[name]:
        raise ConfigError(name, value, "one of " + ", ".join(repr(c) for c in CHOICES[name]))


@dataclass(frozen=True)
class DataSpec:
    """Which dataset, its generation parameters and the train/test split.

    One flat set of parameters serves every dataset; each registry entry says which of them it
    reads (``mtl.data.DATASETS[name].params``), and the others are ignored.
    """

    name: str = "notebook"
    n_samples: int = 200
    n_features: int = 8
    noise: float = 1.0
    label_noise: float = 0.0
    angle: float = 90.0
    target_scale: float = 1.0
    n_classes: int = 2
    test_fraction: float = 0.0
    standardize: bool = True
    seed: int = 0
    table: Dataset | None = None
    """An uploaded dataset from :func:`mtl.load_csv`; required when ``name == "csv"``."""

    def __post_init__(self) -> None:
        from mtl.data import DATASETS  # local: the registry imports this module

        if self.name == "csv":
            if self.table is None:
                raise ConfigError("data.table", None, "a dataset from mtl.load_csv when name='csv'")
        elif self.name not in DATASETS:
            raise ConfigError("data.name", self.name, "one of " + ", ".join(DATASETS) + ", csv")
        for name in ("n_samples", "n_features", "noise", "label_noise", "angle", "target_scale"):
            check_range(f"data.{name}", getattr(self, name))
        for name in ("n_classes", "test_fraction", "seed"):
            check_range(f"data.{name}", getattr(self, name))
        if not isinstance(self.standardize, bool):
            raise ConfigError("data.standardize", self.standardize, "True or False")


@dataclass(frozen=True)
class ModelSpec:
    """The model shape: ``notebook`` chain, ``article`` single linear layer, or ``shared`` MLP."""

    shape: ModelShape = "notebook"
    width: int = 32
    depth: int = 1
    activation: Activation = "relu"

    def __post_init__(self) -> None:
        check_choice("model.shape", self.shape)
        check_choice("model.activation", self.activation)
        check_range("model.width", self.width)
        check_range("model.depth", self.depth)


@dataclass(frozen=True)
class LossSpec:
    """Loss of each head, their parameters, and the L2 regularisation coefficient (0 = none)."""

    regression: RegressionLoss = "mse"
    classification: ClassificationLoss = "ce"
    huber_delta: float = 1.0
    label_smoothing: float = 0.1
    focal_gamma: float = 2.0
    l2: float = 0.0

    def __post_init__(self) -> None:
        check_choice("loss.regression", self.regression)
        check_choice("loss.classification", self.classification)
        for name in ("huber_delta", "label_smoothing", "focal_gamma", "l2"):
            check_range(f"loss.{name}", getattr(self, name))


@dataclass(frozen=True)
class WeightingSpec:
    """How task losses are combined.

    ``weights`` are the static task weights ``(w_regression, w_classification)``: the weights of
    the ``static`` method, and the starting or base weights of dynamic methods that take them.
    ``params`` holds the method's hyper-parameters as sorted ``(name, value)`` pairs, so the spec
    stays hashable; the method's constructor checks them.
    """

    method: str = "static"
    weights: tuple[float, float] = (0.5, 0.5)
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        from mtl.weighting import METHODS  # local: the registry imports this module

        if self.method not in METHODS:
            raise ConfigError("weighting.method", self.method, "one of " + ", ".join(METHODS))
        if not isinstance(self.weights, tuple) or len(self.weights) != len(TASKS):
            raise ConfigError("weighting.weights", self.weights, f"a tuple of {len(TASKS)} numbers")
        for task, w in zip(TASKS, self.weights, strict=True):
            if not LIMITS["weighting.weight"].contains(w):
                raise ConfigError(
                    f"weighting.weights.{task}", w, LIMITS["weighting.weight"].describe()
                )
        if sum(self.weights) <= 0:
            raise ConfigError("weighting.weights", self.weights, "at least one positive weight")
        object.__setattr__(self, "params", tuple(sorted(dict(self.params).items())))
        METHODS[self.method].check_params(dict(self.params))

    @classmethod
    def alpha(cls, alpha: float, method: str = "static") -> WeightingSpec:
        """The notebook's form ``alpha * regression + (1 - alpha) * classification``."""
        if not Range(0.0, 1.0).contains(alpha):
            raise ConfigError("weighting.alpha", alpha, "a number with 0 <= x <= 1")
        return cls(method=method, weights=(float(alpha), 1.0 - float(alpha)))


@dataclass(frozen=True)
class OptimSpec:
    """Optimizer kind, learning rate, SGD momentum, and mini-batch size (``None`` = full batch)."""

    kind: Optimizer = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    batch_size: int | None = None

    def __post_init__(self) -> None:
        check_choice("optim.kind", self.kind)
        check_range("optim.lr", self.lr)
        check_range("optim.momentum", self.momentum)
        if self.batch_size is not None:
            check_range("optim.batch_size", self.batch_size)


@dataclass(frozen=True)
class RunConfig:
    """A complete, hashable description of a run: data, model, losses, weighting, optimizer."""

    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    loss: LossSpec = field(default_factory=LossSpec)
    weighting: WeightingSpec = field(default_factory=WeightingSpec)
    optim: OptimSpec = field(default_factory=OptimSpec)
    epochs: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        for name, kind in (
            ("data", DataSpec),
            ("model", ModelSpec),
            ("loss", LossSpec),
            ("weighting", WeightingSpec),
            ("optim", OptimSpec),
        ):
            if not isinstance(getattr(self, name), kind):
                raise ConfigError(name, getattr(self, name), f"a {kind.__name__}")
        check_range("epochs", self.epochs)
        check_range("seed", self.seed)

    def with_(self, **changes: Any) -> RunConfig:
        """A copy with dotted-path changes.

        Example: ``cfg.with_(**{"optim.lr": 0.1, "epochs": 50})``.
        """
        grouped: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        for key, value in changes.items():
            part, _, name = key.partition(".")
            if name:
                grouped.setdefault(part, {})[name] = value
            else:
                top[key] = value
        for part, values in grouped.items():
            if part not in {f.name for f in fields(self)}:
                raise ConfigError(part, values, "one of data, model, loss, weighting, optim")
            top[part] = replace(getattr(self, part), **values)
        return replace(self, **top)


def _preset_table() -> dict[str, RunConfig]:
    notebook = RunConfig(
        data=DataSpec(name="notebook", standardize=False, test_fraction=0.0, seed=0),
        model=ModelSpec(shape="notebook"),
        weighting=WeightingSpec(weights=(0.5, 0.5)),
        optim=OptimSpec(kind="sgd", lr=0.01),
        epochs=100,
        seed=0,
    )
    return {
        "notebook": notebook,
        "article": RunConfig(
            data=DataSpec(name="article", n_samples=3, test_fraction=0.0, standardize=False),
            model=ModelSpec(shape="article"),
            weighting=WeightingSpec(weights=(1.0, 1.0)),
            optim=OptimSpec(kind="sgd", lr=0.01),
            epochs=100,
        ),
        "linear": RunConfig(
            data=DataSpec(name="linear", n_samples=200, noise=2.0, test_fraction=0.25),
            model=ModelSpec(shape="notebook"),
            weighting=WeightingSpec(weights=(0.5, 0.5)),
            optim=OptimSpec(kind="sgd", lr=0.05),
            epochs=200,
        ),
        "conflicting": RunConfig(
            data=DataSpec(
                name="synthetic",
                n_samples=256,
                n_features=8,
                angle=150.0,
                noise=0.3,
                label_noise=0.05,
                target_scale=5.0,
                n_classes=2,
                test_fraction=0.25,
            ),
            model=ModelSpec(shape="shared", width=16, depth=2, activation="relu"),
            weighting=WeightingSpec(weights=(0.5, 0.5)),
            optim=OptimSpec(kind="adam", lr=0.01),
            epochs=150,
        ),
        "penguins": RunConfig(
            data=DataSpec(name="penguins", test_fraction=0.25),
            model=ModelSpec(shape="shared", width=32, depth=1),
            weighting=WeightingSpec(weights=(0.5, 0.5)),
            optim=OptimSpec(kind="adam", lr=0.01),
            epochs=150,
        ),
        "autompg": RunConfig(
            data=DataSpec(name="autompg", test_fraction=0.25),
            model=ModelSpec(shape="shared", width=32, depth=1),
            weighting=WeightingSpec(weights=(0.5, 0.5)),
            optim=OptimSpec(kind="adam", lr=0.01),
            epochs=150,
        ),
    }


PRESETS: tuple[str, ...] = ("notebook", "article", "linear", "conflicting", "penguins", "autompg")


def preset(name: str) -> RunConfig:
    """A ready configuration: ``notebook`` reproduces the notebook exactly, ``article`` the article.

    ``linear`` is the notebook's toy done right, ``conflicting`` a synthetic pair of tasks whose
    directions are 150 degrees apart, ``penguins`` and ``autompg`` the bundled real datasets.
    """
    table = _preset_table()
    if name not in table:
        raise ConfigError("preset", name, "one of " + ", ".join(PRESETS))
    return table[name]
