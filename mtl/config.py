"""RunConfig: the frozen, hashable description of one training run (or population).

Everything that changes a result lives here, so a config is a complete cache key for the page and a
complete recipe for a reproducible link. Every field is range-checked on construction; a bad value
raises :class:`~mtl.errors.ConfigError` naming the field, the value and the allowed range. The
ranges (``LIMITS``) are the single source for validation, for the page's widgets and for clamping
values that arrive in a URL; they live in the leaf module :mod:`mtl.limits` (so the datasets and the
weighting methods can use them without an import cycle) and are re-exported here.

The caps suit a hosted demo on a small CPU machine: they bound the work of one request.

Canonical form: after validation, every spec sets the fields that do not apply to the run it
describes back to their defaults, and stores numbers in their field's type (``float`` for real
ranges, ``int`` for integer ones). Two configurations of the same run are therefore equal, hash
equal, have one ``repr`` (the page's cache key) and one link (:func:`mtl.urlstate.to_query`).
Values are still range-checked first, so an out-of-range value is refused even where it would
not apply. What each spec normalises is listed in its docstring.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal

from mtl.data import DATASETS
from mtl.errors import ConfigError
from mtl.limits import (
    CHOICES,
    LIMITS,
    MAX_MEMBERS,
    TASKS,
    Range,
    check_choice,
    check_range,
)
from mtl.weighting import METHODS

if TYPE_CHECKING:
    from mtl.data.base import Dataset

__all__ = [
    "CHOICES",
    "LIMITS",
    "MAX_MEMBERS",
    "PRESETS",
    "TASKS",
    "ConfigError",
    "DataSpec",
    "LossSpec",
    "ModelSpec",
    "OptimSpec",
    "Range",
    "RunConfig",
    "WeightingSpec",
    "check_choice",
    "check_range",
    "preset",
]

ModelShape = Literal["notebook", "article", "shared"]
RegressionLoss = Literal["mse", "l1", "huber"]
ClassificationLoss = Literal["ce", "label_smoothing", "focal"]
Optimizer = Literal["sgd", "adam"]
Activation = Literal["relu", "tanh", "gelu"]
WeightScale = Literal["raw", "balanced"]


def _defaults(spec: Any) -> dict[str, Any]:
    """The declared default of each field of the dataclass ``spec``."""
    return {name: default for name, default, _ in _plan(type(spec))}


_PLANS: dict[type, tuple[tuple[str, Any, type | None], ...]] = {}


def _plan(cls: type) -> tuple[tuple[str, Any, type | None], ...]:
    """Per field of the spec class ``cls``: its name, its default and the number type it holds.

    The type is ``int`` for a field with an integer range in ``LIMITS``, ``float`` for another
    ranged field, ``None`` for the rest. Cached: specs are built on every rerun of the page.
    """
    if cls in _PLANS:
        return _PLANS[cls]
    section = cls.__name__.removesuffix("Spec").lower()
    plan = []
    for f in fields(cls):
        allowed = LIMITS.get(f"{section}.{f.name}")
        kind = None if allowed is None else int if allowed.integer else float
        plan.append((f.name, f.default, kind))
    _PLANS[cls] = tuple(plan)
    return _PLANS[cls]


def _settle(spec: Any, unused: Collection[str]) -> None:
    """Canonical values on the frozen ``spec``: ``unused`` fields to their defaults, numbers typed.

    A field with an integer range in ``LIMITS`` becomes ``int``, another ranged number ``float``
    (``None``, a full batch, stays).
    """
    for name, default, kind in _plan(type(spec)):
        if name in unused:
            object.__setattr__(spec, name, default)
            continue
        value = getattr(spec, name)
        if kind is not None and value is not None and type(value) is not kind:
            object.__setattr__(spec, name, kind(value))


DATA_GENERATION: tuple[str, ...] = (
    "n_samples",
    "n_features",
    "noise",
    "label_noise",
    "angle",
    "target_scale",
    "n_classes",
    "seed",
)
"""The ``DataSpec`` fields a dataset's builder may read; the registry lists which it does."""


@dataclass(frozen=True)
class DataSpec:
    """Which dataset, its generation parameters and the train/test split.

    One flat set of parameters serves every dataset; each registry entry says which of them it
    reads (``mtl.data.DATASETS[name].params``), and the others are set to their defaults. An
    uploaded CSV (``name == "csv"``) reads none of the generation parameters; its ``seed`` only
    draws the train/test split, so it is kept when ``test_fraction > 0`` and set to 0 otherwise.
    ``test_fraction``, ``standardize`` and ``standardize_target`` apply to every dataset. (A
    registered dataset that lists ``seed`` keeps it even without a test split: the registry is the
    single word on what reads.)

    ``standardize`` rescales the features on the training rows; ``standardize_target`` trains the
    regression head on ``(y - mean_train) / std_train`` instead of ``y`` (see
    :func:`mtl.data.split_dataset`), while every metric (MSE, MAE, R²) is still reported in the
    target's own units; the history's regression ``loss`` is the loss the optimiser sees, on the
    standardised target.
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
    standardize_target: bool = False
    seed: int = 0
    table: Dataset | None = None
    """An uploaded dataset from :func:`mtl.load_csv`; required when ``name == "csv"``."""

    def __post_init__(self) -> None:
        if self.name == "csv":
            if self.table is None:
                raise ConfigError("data.table", None, "a dataset from mtl.load_csv when name='csv'")
        elif self.name not in DATASETS:
            raise ConfigError("data.name", self.name, "one of " + ", ".join(DATASETS) + ", csv")
        for name in ("n_samples", "n_features", "noise", "label_noise", "angle", "target_scale"):
            check_range(f"data.{name}", getattr(self, name))
        for name in ("n_classes", "test_fraction", "seed"):
            check_range(f"data.{name}", getattr(self, name))
        for switch in ("standardize", "standardize_target"):
            if not isinstance(getattr(self, switch), bool):
                raise ConfigError(f"data.{switch}", getattr(self, switch), "True or False")
        if self.name == "csv":
            read: tuple[str, ...] = ("seed",) if self.test_fraction > 0 else ()
        else:
            read = DATASETS[self.name].params
        _settle(self, set(DATA_GENERATION) - set(read))


@dataclass(frozen=True)
class ModelSpec:
    """The model shape: ``notebook`` chain, ``article`` single linear layer, or ``shared`` MLP.

    ``width``, ``depth`` and ``activation`` describe the ``shared`` MLP's trunk; with the other
    shapes they are set to their defaults.
    """

    shape: ModelShape = "notebook"
    width: int = 32
    depth: int = 1
    activation: Activation = "relu"

    def __post_init__(self) -> None:
        check_choice("model.shape", self.shape)
        check_choice("model.activation", self.activation)
        check_range("model.width", self.width)
        check_range("model.depth", self.depth)
        unused = () if self.shape == "shared" else ("width", "depth", "activation")
        _settle(self, unused)


@dataclass(frozen=True)
class LossSpec:
    """Loss of each head, their parameters, and the L2 regularisation coefficient (0 = none).

    Each loss parameter belongs to one loss and is set to its default with the others:
    ``huber_delta`` unless ``regression == "huber"``, ``label_smoothing`` unless
    ``classification == "label_smoothing"``, ``focal_gamma`` unless ``classification == "focal"``.
    """

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
        unused = [
            name
            for name, applies in (
                ("huber_delta", self.regression == "huber"),
                ("label_smoothing", self.classification == "label_smoothing"),
                ("focal_gamma", self.classification == "focal"),
            )
            if not applies
        ]
        _settle(self, unused)


@dataclass(frozen=True)
class WeightingSpec:
    """How task losses are combined.

    ``weights`` are the static task weights ``(w_regression, w_classification)``: the weights of
    the ``static`` method, and the starting or base weights of dynamic methods that take them.
    ``params`` holds the method's hyper-parameters as sorted ``(name, value)`` pairs, so the spec
    stays hashable; the method's constructor checks them.

    ``scale`` says what the weights are relative to. ``"raw"``: they multiply the losses as they
    are. ``"balanced"`` (a *balanced start*): each member's weights are divided by its own task
    losses on the first optimisation step, ``w_t = c * weights_t / L_t(0)``, with ``c`` chosen so
    the weights keep the configured sum; so ``(0.5, 0.5)`` starts every task with the same
    weighted loss whatever the losses' scales (an MSE of 3,000 beside a cross-entropy of 0.7),
    and ``alpha`` reads as a share of the initial total loss. Only methods that declare
    ``balances_base_weights`` read it (static weights; see :mod:`mtl.weighting.static`).

    Canonical form: a hyper-parameter at its declared default is dropped from ``params`` (absent
    means default), the others are ``int`` or ``float`` as declared; a method that does not read
    the static weights (``uses_base_weights = False``) gets the default ``(0.5, 0.5)``, and one
    that does not read ``scale`` gets ``"raw"``; weights are floats.
    """

    method: str = "static"
    weights: tuple[float, float] = (0.5, 0.5)
    params: tuple[tuple[str, Any], ...] = ()
    scale: WeightScale = "raw"

    def __post_init__(self) -> None:
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
        cls = METHODS[self.method]
        cls.check_params(dict(self.params))
        defaults = cls.defaults()
        params = {name: cls.hparam(name).normalise(value) for name, value in self.params}
        object.__setattr__(
            self,
            "params",
            tuple((name, value) for name, value in params.items() if value != defaults[name]),
        )
        weights = self.weights if cls.uses_base_weights else _defaults(self)["weights"]
        object.__setattr__(self, "weights", tuple(float(w) for w in weights))
        check_choice("weighting.scale", self.scale)
        if not (cls.uses_base_weights and cls.balances_base_weights):
            object.__setattr__(self, "scale", "raw")

    @classmethod
    def alpha(
        cls, alpha: float, method: str = "static", scale: WeightScale = "raw"
    ) -> WeightingSpec:
        """The notebook's form ``alpha * regression + (1 - alpha) * classification``."""
        if not Range(0.0, 1.0).contains(alpha):
            raise ConfigError("weighting.alpha", alpha, "a number with 0 <= x <= 1")
        return cls(method=method, weights=(float(alpha), 1.0 - float(alpha)), scale=scale)


@dataclass(frozen=True)
class OptimSpec:
    """Optimizer kind, learning rate, SGD momentum, and mini-batch size (``None`` = full batch).

    ``momentum`` is SGD's; with Adam it is set to its default. ``batch_size`` is kept as given:
    a size equal to the training rows trains exactly as full batch (the engine treats
    ``batch_size >= n_train`` so, and refuses one larger), but the row count is only known once
    the data is built (a split, an upload), so the two spellings stay distinct configurations.
    """

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
        _settle(self, () if self.kind == "sgd" else ("momentum",))


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
        object.__setattr__(self, "epochs", int(self.epochs))
        object.__setattr__(self, "seed", int(self.seed))

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
        "tradeoff": RunConfig(
            data=DataSpec(
                name="synthetic",
                n_samples=256,
                n_features=8,
                angle=120.0,
                noise=0.3,
                label_noise=0.05,
                target_scale=1.0,
                n_classes=2,
                test_fraction=0.25,
            ),
            model=ModelSpec(shape="shared", width=1, depth=1, activation="tanh"),
            weighting=WeightingSpec(weights=(0.5, 0.5)),
            optim=OptimSpec(kind="sgd", lr=0.3),
            epochs=150,
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
        "nonconvex": RunConfig(
            data=DataSpec(
                name="synthetic",
                n_samples=1000,
                n_features=8,
                angle=90.0,
                noise=0.3,
                label_noise=0.05,
                target_scale=1.0,
                n_classes=2,
                test_fraction=0.25,
            ),
            model=ModelSpec(shape="notebook"),
            weighting=WeightingSpec(method="tchebycheff", weights=(0.5, 0.5)),
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


PRESETS: tuple[str, ...] = (
    "notebook",
    "article",
    "linear",
    "tradeoff",
    "conflicting",
    "nonconvex",
    "penguins",
    "autompg",
)


def preset(name: str) -> RunConfig:
    """A ready configuration: ``notebook`` reproduces the notebook exactly, ``article`` the article.

    ``linear`` is the notebook's toy done right. ``tradeoff`` (the page's first screen) is a
    synthetic pair of tasks 120 degrees apart sharing a one-unit tanh trunk, trained with plain
    SGD: the single shared unit can follow only one task's direction, and SGD's step grows with
    each loss's weight, so alpha trades one task for the other far beyond seed noise
    (``bench/bench_tradeoff.py`` measures it). ``conflicting`` is a wider trunk (16 x 2, ReLU)
    on tasks 150 degrees apart, trained with Adam: Adam divides each parameter's step by its
    gradient's running RMS, so a common rescaling of the weights changes almost nothing and
    alpha moves the result only weakly. ``penguins`` and ``autompg`` are the bundled real
    datasets.
    ``nonconvex`` is a small shared *linear* model (the notebook's chain: the classifier reads the
    one regression output) on two synthetic tasks 90 degrees apart, whose trade-off front is not
    convex: a Tchebycheff sweep reaches balanced trade-offs a linear weight sweep cannot
    (``bench/fronts_nonconvex.py`` measures both fronts); it trains with Tchebycheff weighting.
    """
    table = _preset_table()
    if name not in table:
        raise ConfigError("preset", name, "one of " + ", ".join(PRESETS))
    return table[name]
