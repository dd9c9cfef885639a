"""The work budget: every request is priced in estimated seconds before anything trains.

A shared demo must not let one visitor occupy the server, and a refusal must come *before* the
work, not half-way through it. So a whole request (one run, a weight sweep, or a face-off with
all its methods and the single-task baselines) is priced once, up front, by a cost model of what
the engine actually computes, and refused when its estimate exceeds the budget.

The cost model (:func:`population_counts`) counts, for each population the request trains:

- optimizer **steps** (``epochs x ceil(training rows / batch size)``), each with a fixed cost
  (per-op Python and torch overhead, which dominates tiny models and batch size 1), a cost per
  linear layer, and the weighting method's own fixed cost per step;
- **multiply-adds** and **values**: one forward pass and one backward pass per task (counted
  as one forward and one backward pass over ``2K`` members, see :mod:`mtl.engine`) per
  step on the step's rows, counted as ``6 x members x rows x per row``; the held-out split's
  forward pass every epoch; in mini-batch mode the whole training split's forward and backward
  pass again at every epoch boundary (the engine re-evaluates it with gradients). Per row,
  multiply-adds are the layers' ``fan_in x fan_out`` (cheap per unit in wide layers, where the
  matrix products are efficient) and values are the inputs, every layer's outputs and the
  losses' terms (element-wise work, which dominates narrow layers), and those of passes too
  large for the caches (over :data:`BIG_PASS_BYTES`) again;
- **parameters** touched per step (the update direction and the optimizer, ``members x P``),
  and for gradient-based methods the per-task shared gradients they read (``members x T x
  P_shared``, or the representation gradients ``members x T x rows x H`` for MGDA-UB);
- per **epoch** a fixed cost (evaluation bookkeeping, method hooks), per member and training row
  the mini-batch order, per logged member-epoch the assembly of the result's tables, and per
  population and member the set-up.

Each count is multiplied by a unit cost in seconds (:data:`UNIT_COSTS`), measured with
``bench/bench_budget.py --fit`` on one core of the development machine (2-core x86 VM, torch
2.13 CPU, one thread); the benchmark prints the ratio of real time to the estimate for a grid of
model shapes, methods, batch sizes, data sizes and member counts. The budget is therefore in
**estimated core-seconds**: a request at the budget's edge takes about that long on such a core.

The budget: :data:`DEFAULT_WORK_BUDGET` (20 s), or ``MTL_WORK_BUDGET`` in the environment, or
:func:`set_work_budget` (the page passes Streamlit secrets' ``work_budget``), all in seconds;
``0`` disables the check. Until this version the budget counted ``epochs x members x rows x
parameters`` "work units"; a setting of 1e6 or more is read in those old units (2.5e9 units per
second, the old default 5e10 being about 20 s) so that existing deployments keep a limit.

Memory is bounded separately: every member-epoch adds about 480 bytes (measured, train and test
splits) of tidy history, metrics and diagnostics to a result, so a request may log at most
``MAX_LOGGED_MEMBER_EPOCHS`` member-epochs of training (400,000; ``MTL_LOG_BUDGET`` overrides
it). A population past 50,000 member-epochs keeps only every k-th epoch in its log
(:mod:`mtl.results`, ``Result.log_every``), so a result holds at most about 27 MB whatever this
allows; the default 303-member sweep logs 46,000 member-epochs in full.

Public entry points: :class:`Request` (``Request.run``, ``Request.sweep``, ``Request.face_off``),
:func:`price` (an estimate without running anything, for the page) and :func:`check_request`
(raise :class:`WorkBudgetError`, a :class:`~mtl.errors.ConfigError` with field ``work``, saying
what to lower and to what).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

from mtl.config import LIMITS, TASKS, DataSpec, RunConfig, WeightingSpec
from mtl.errors import ConfigError
from mtl.weighting import METHODS, MethodContext, WeightingMethod

DEFAULT_WORK_BUDGET = 20.0
"""Seconds of estimated computing one request may take (one core)."""
MAX_LOGGED_MEMBER_EPOCHS = 400_000
LEGACY_UNITS_PER_SECOND = 2.5e9
"""Old "work units" (epochs x members x rows x parameters) per second: a budget setting of
:data:`LEGACY_THRESHOLD` or more is read in those units."""
LEGACY_THRESHOLD = 1e6
_ENV = "MTL_WORK_BUDGET"
_LOG_ENV = "MTL_LOG_BUDGET"
_override: float | None = None

UNIT_COSTS: dict[str, float] = {
    "population": 0.0,
    "member_layer": 0.0,
    "step": 165e-6,
    "step_layer": 30e-6,
    "pass": 500e-6,
    "pass_layer": 20e-6,
    "mac": 3.9e-12,
    "value": 0.52e-9,
    "param": 2.85e-9,
    "gradient": 1.7e-9,
    "epoch": 14e-6,
    "test_epoch": 150e-6,
    "shuffle": 30e-9,
    "member_epoch": 0.27e-6,
    "big_value": 0.39e-9,
    "group_step": 250e-6,
}
"""Seconds per counted item (see :func:`population_counts`), as fitted by ``bench_budget.py
--fit`` (non-negative least squares on relative error over 75 measured populations), except
``group_step`` (whole populations count none, so the fit leaves it at 0: keep this value): per
optimizer step and method group of a mixed population
(:func:`mixed_population_seconds`), what the mixed population's dispatch and each group's share
of the per-step work that the fit of whole populations counts under ``step`` cost beyond the
methods' own ``step_cost``. Measured from face-offs on the default preset (every method, ten,
three; and the tuned face-off): 250 to 320 us per group and step, one core of the 2-core machine
under load (so at the cautious end)."""

BIG_PASS_BYTES = 64 * 2**20
"""A pass whose values take more than this no longer runs from the caches: its values cost
``big_value`` more each (measured: up to 1.8x the small passes' rate at 270 MB)."""

MARGIN = 1.2
"""Estimates are the fitted model's times this: the fit is centred (half the measured
populations took longer than it says, up to about 1.5x), and a request at the budget's edge
should take at most about the budget's seconds."""


# ---------------------------------------------------------------- the budget in force


def _from_setting(value: float) -> float:
    """Seconds from a budget setting: old work units when it is :data:`LEGACY_THRESHOLD` or more."""
    return value / LEGACY_UNITS_PER_SECOND if value >= LEGACY_THRESHOLD else value


def set_work_budget(seconds: float | None) -> None:
    """Set this process's budget in estimated seconds (``None``: the environment or the default).

    ``0`` disables the check. A value of 1e6 or more is read in the old work units (see the
    module docstring).
    """
    global _override
    if seconds is not None and not (isinstance(seconds, int | float) and seconds >= 0):
        raise ConfigError("work_budget", seconds, "a non-negative number of seconds")
    _override = None if seconds is None else _from_setting(float(seconds))


def work_budget() -> float:
    """The budget in force, in seconds: the override, else ``$MTL_WORK_BUDGET``, else 20 s."""
    if _override is not None:
        return _override
    try:
        value = float(os.environ.get(_ENV, DEFAULT_WORK_BUDGET))
    except ValueError:
        return DEFAULT_WORK_BUDGET
    return _from_setting(value) if math.isfinite(value) and value >= 0 else DEFAULT_WORK_BUDGET


def log_budget() -> int:
    """The most member-epochs one request may log: ``$MTL_LOG_BUDGET`` or the default."""
    try:
        return max(0, int(float(os.environ.get(_LOG_ENV, MAX_LOGGED_MEMBER_EPOCHS))))
    except ValueError:
        return MAX_LOGGED_MEMBER_EPOCHS


# ---------------------------------------------------------------- the cost model


@dataclass(frozen=True)
class DataShape:
    """What the cost of a request needs to know about its data: the split's sizes and widths."""

    n_train: int
    n_test: int
    n_features: int
    n_regression: int
    n_classes: int

    @staticmethod
    def of(spec: DataSpec) -> DataShape:
        """The shape of the data ``spec`` names (the dataset is built once per spec and cached)."""
        return _shape_of(spec)

    def resized(self, n_rows: int, test_fraction: float) -> DataShape:
        """The same data with ``n_rows`` rows split like :func:`mtl.data.split_dataset`."""
        n_test = round(n_rows * test_fraction)
        return replace(self, n_train=n_rows - n_test, n_test=n_test)


@functools.lru_cache(maxsize=32)
def _shape_of(spec: DataSpec) -> DataShape:
    from mtl.data import build_dataset  # local: keeps this module light to import

    dataset = build_dataset(spec)
    n_test = round(dataset.n_rows * spec.test_fraction)
    return DataShape(
        n_train=dataset.n_rows - n_test,
        n_test=n_test,
        n_features=dataset.n_features,
        n_regression=dataset.n_regression,
        n_classes=dataset.n_classes,
    )


def population_counts(cfg: RunConfig, members: int, shape: DataShape) -> dict[str, float]:
    """What training ``members`` members under ``cfg`` on data of ``shape`` computes.

    Keys are those of :data:`UNIT_COSTS` plus ``"method_step"`` (optimizer steps, priced by the
    method's ``step_cost``). See the module docstring for what each counts.
    """
    from mtl.models import layers_of  # local: models imports torch

    k, epochs = members, cfg.epochs
    t = len(TASKS)
    layers = layers_of(cfg.model, shape.n_features, shape.n_regression, shape.n_classes)
    n_layers = len(layers)
    params = sum(layer.size for layer in layers)
    shared = [layer for layer in layers if layer.owner == "shared"]
    p_shared = sum(layer.size for layer in shared)
    # per row and member of one forward pass: the layers' multiply-adds, and the values each
    # pass writes and reads back (inputs, every layer's outputs, the losses' terms)
    per_row = sum(layer.fan_in * layer.fan_out for layer in layers)
    values = shape.n_features + sum(layer.fan_out for layer in layers)
    values += shape.n_regression + shape.n_classes
    n_train, n_test = shape.n_train, shape.n_test
    batch = cfg.optim.batch_size
    mini = batch is not None and batch < n_train
    rows = batch if batch is not None and mini else n_train
    steps_per_epoch = -(-n_train // rows) if mini else 1
    steps = epochs * steps_per_epoch
    passes = epochs + 1 if mini else 1  # whole-split forward/backward passes besides the steps
    method = METHODS[cfg.weighting.method]
    gradient = 0.0
    if method.combines == "gradients":  # it works on the per-task gradients each step
        upper_bound = dict(cfg.weighting.params).get("upper_bound", 0)
        upper_bound = upper_bound or method.gradients_of == "representation"  # GradDrop
        width = shared[-1].fan_out
        per_member = t * rows * width if upper_bound else t * p_shared
        gradient = steps * k * per_member
    splits = 2 if n_test else 1
    # rows of passes whose values (float32, two copies of the population) outgrow the caches
    big_rows = 6.0 * (steps * rows if 2 * k * rows * values * 4 > BIG_PASS_BYTES else 0.0)
    big_rows += 6.0 * (passes * n_train if 2 * k * n_train * values * 4 > BIG_PASS_BYTES else 0.0)
    big_rows += n_test * (epochs + 1) if k * n_test * values * 4 > BIG_PASS_BYTES else 0.0
    return {
        "population": 1.0,
        "member_layer": float(k * n_layers),
        "step": float(steps),
        "step_layer": float(steps * n_layers),
        "method_step": float(steps),
        "pass": float(passes),
        "pass_layer": float(passes * n_layers),
        "mac": 6.0 * k * per_row * (steps * rows + passes * n_train)
        + float(k * per_row * n_test * (epochs + 1)),
        "value": 6.0 * k * values * (steps * rows + passes * n_train)
        + float(k * values * n_test * (epochs + 1)),
        "param": float(steps * k * params * t),
        "gradient": float(gradient),
        "epoch": float(epochs),
        "test_epoch": float(epochs + 1 if n_test else 0),
        "shuffle": float(epochs * k * n_train if mini else 0),
        "member_epoch": float(k * (epochs + 1) * splits),
        "big_value": float(k * values * big_rows),
        "group_step": 0.0,  # a population of one method; see mixed_population_seconds
    }


def population_seconds(cfg: RunConfig, members: int, shape: DataShape) -> float:
    """Estimated seconds (one core) to train ``members`` members under ``cfg``."""
    counts = population_counts(cfg, members, shape)
    method_step = METHODS[cfg.weighting.method].step_cost
    total = counts.pop("method_step") * method_step
    return MARGIN * (total + sum(UNIT_COSTS[key] * value for key, value in counts.items()))


# ---------------------------------------------------------------- whole requests


def mixed_population_seconds(
    cfg: RunConfig, groups: list[tuple[WeightingSpec, int]], shape: DataShape
) -> float:
    """Estimated seconds to train one mixed population (:mod:`mtl.mixed`) of ``groups``.

    ``groups`` lists each method's spec and its number of members. The engine's work is that of
    one population of all the members (one step, one pass, one optimizer update for all); each
    group adds its method's own fixed cost per step (``step_cost``, its ``weights`` and
    ``after_step`` called on its slice), the mixed population's cost per group and step
    (``group_step`` of :data:`UNIT_COSTS`) and, when it combines gradients, the work on its
    members' per-task shared gradients, as a population of its own would.
    """
    members = sum(n for _, n in groups)
    counts = population_counts(cfg.with_(weighting=WeightingSpec()), members, shape)
    method_steps = counts.pop("method_step")
    total = method_steps * sum(METHODS[spec.method].step_cost for spec, _ in groups)
    counts["group_step"] = method_steps * len(groups)
    counts["gradient"] = sum(
        population_counts(cfg.with_(weighting=spec), n, shape)["gradient"] for spec, n in groups
    )
    return MARGIN * (total + sum(UNIT_COSTS[key] * value for key, value in counts.items()))


Kind = Literal["run", "sweep", "face-off", "tuned-face-off", "population"]
"""``population``: one population of ``weights x seeds`` members handed to the engine directly."""


@dataclass(frozen=True)
class Request:
    """Everything one request trains, priced as a whole.

    Build it with :meth:`run`, :meth:`sweep` or :meth:`face_off`. ``weights`` is the number of
    weight pairs of a sweep (the page's α points), ``seeds`` the seeds per weight pair or method,
    ``methods`` a face-off's methods (the single-task baselines are added, as
    :func:`mtl.compare.face_off` trains them).
    """

    kind: Kind
    cfg: RunConfig
    weights: int = 1
    seeds: int = 1
    methods: tuple[str, ...] = ()
    lrs: int = 1
    """A tuned face-off's learning rates per method (and per α of its static front)."""
    alphas: int = 0
    """A tuned face-off's α points of its static front (the single-task baselines included)."""
    shape: DataShape | None = field(default=None, compare=False)
    """The data's shape when the caller already has it (else built from ``cfg.data``)."""

    @classmethod
    def run(cls, cfg: RunConfig) -> Request:
        """One run (:func:`mtl.train`)."""
        return cls("run", cfg)

    @classmethod
    def sweep(cls, cfg: RunConfig, weights: int, seeds: int) -> Request:
        """A sweep of ``weights`` weight pairs x ``seeds`` seeds in one population."""
        return cls("sweep", cfg, weights=weights, seeds=seeds)

    @classmethod
    def face_off(cls, cfg: RunConfig, methods: tuple[str, ...] | list[str], seeds: int) -> Request:
        """A face-off of ``methods`` over ``seeds`` seeds, plus the single-task baselines.

        Priced as :func:`mtl.compare.face_off` trains it: one mixed population of the methods'
        and the baselines' members, and a population of its own for each method that
        :func:`trains_alone`.
        """
        return cls("face-off", cfg, seeds=seeds, methods=tuple(methods))

    @classmethod
    def tuned_face_off(
        cls,
        cfg: RunConfig,
        methods: tuple[str, ...] | list[str],
        seeds: int,
        lrs: int,
        alphas: int,
    ) -> Request:
        """A tuned face-off (:func:`mtl.compare.tuned_face_off`), priced as one mixed population.

        (A method that :func:`trains_alone` trains in a population of its own; the estimate
        leaves out that population's fixed per-step cost, well under 1% here.)

        It trains ``methods x lrs x seeds`` members and the static front's ``alphas x lrs x
        seeds``.
        """
        return cls(
            "tuned-face-off", cfg, seeds=seeds, methods=tuple(methods), lrs=lrs, alphas=alphas
        )

    def groups(self) -> list[tuple[WeightingSpec, int]]:
        """A face-off's mixed population: each method's spec and members, then static's.

        A tuned face-off's static members are its front's; a face-off's are the single-task
        baselines. (A face-off leaves out the methods that :func:`trains_alone`.)
        """
        if self.kind == "face-off":
            mixed = [m for m in self.methods if not trains_alone(self.cfg, m)]
            groups = [(face_off_config(self.cfg, m).weighting, self.seeds) for m in mixed]
            return [*groups, (WeightingSpec(weights=(1.0, 0.0)), 2 * self.seeds)]
        per = self.lrs * self.seeds
        groups = [(face_off_config(self.cfg, m).weighting, per) for m in self.methods]
        return [*groups, (WeightingSpec(), self.alphas * per)]

    def data_shape(self) -> DataShape:
        """The shape of the request's data."""
        return self.shape if self.shape is not None else DataShape.of(self.cfg.data)

    def populations(self) -> Iterator[tuple[RunConfig, int]]:
        """Each population the request trains: its configuration and its number of members."""
        if self.kind == "run":
            yield self.cfg, 1
        elif self.kind in ("sweep", "population"):
            yield self.cfg, self.weights * self.seeds
        elif self.kind == "tuned-face-off":
            yield self.cfg, sum(n for _, n in self.groups())
        else:  # a face-off: the mixed population, then those of the methods that train alone
            yield self.cfg, sum(n for _, n in self.groups())
            for method in self.methods:
                if trains_alone(self.cfg, method):
                    yield face_off_config(self.cfg, method), self.seeds

    def seconds(self) -> float:
        """Estimated seconds to compute the whole request (one core)."""
        shape = self.data_shape()
        if self.kind == "tuned-face-off":
            return mixed_population_seconds(self.cfg, self.groups(), shape)
        if self.kind == "face-off":
            alone = sum(
                population_seconds(face_off_config(self.cfg, m), self.seeds, shape)
                for m in self.methods
                if trains_alone(self.cfg, m)
            )
            return mixed_population_seconds(self.cfg, self.groups(), shape) + alone
        return sum(population_seconds(cfg, k, shape) for cfg, k in self.populations())

    def logged(self) -> int:
        """Member-epochs the request's results hold (epoch 0 included)."""
        return sum(k * (cfg.epochs + 1) for cfg, k in self.populations())

    def members(self) -> int:
        """Members over all the request's populations."""
        return sum(k for _, k in self.populations())


def face_off_config(cfg: RunConfig, method: str) -> RunConfig:
    """The configuration a face-off trains ``method`` with (see :func:`mtl.compare.face_off`).

    The method keeps ``cfg``'s static weights and their scale (a balanced start, for the methods
    that read it) and, when it is ``cfg``'s own method, its hyper-parameters; the others use their
    papers' defaults.
    """
    w = cfg.weighting
    params = w.params if method == w.method else ()
    return cfg.with_(
        weighting=WeightingSpec(method=method, weights=w.weights, params=params, scale=w.scale)
    )


def method_probe(cfg: RunConfig, method: str) -> WeightingMethod:
    """A one-member instance of ``method`` as a face-off configures it (:func:`face_off_config`).

    What a method reads may depend on its hyper-parameters (MGDA-UB), so an instance is asked.
    """
    import torch  # local: keeps this module light to import

    spec = face_off_config(cfg, method).weighting
    return METHODS[spec.method](
        MethodContext(
            n_members=1,
            n_tasks=len(TASKS),
            base_weights=torch.tensor([spec.weights], dtype=torch.float32),
            seeds=torch.zeros(1, dtype=torch.int64),
            lr=cfg.optim.lr,
            optimizer=cfg.optim.kind,
            last_shared=slice(0, 1),
            steps_per_epoch=1,
        ),
        **dict(spec.params),
    )


def trains_alone(cfg: RunConfig, method: str) -> bool:
    """Whether a face-off trains ``method`` in a population of its own, not the mixed one.

    A method whose weights read the shared representation's gradients (MGDA-UB) does:
    :mod:`mtl.mixed` refuses it. GradDrop reads them only to combine them, which a mixed
    population supports, so it mixes.
    """
    spec = face_off_config(cfg, method).weighting
    return _trains_alone(spec.method, spec.params, cfg.optim.lr, cfg.optim.kind)


@functools.lru_cache(maxsize=256)
def _trains_alone(
    method: str, params: tuple[tuple[str, object], ...], lr: float, kind: str
) -> bool:
    """:func:`trains_alone` for one spec (cached: the budget's advice asks it many times)."""
    cfg = RunConfig().with_(
        weighting=WeightingSpec(method=method, params=params),
        **{"optim.lr": lr, "optim.kind": kind},
    )
    probe = method_probe(cfg, method)
    return probe.gradients_of != "parameters" and not probe.combines_representation


@dataclass(frozen=True)
class Price:
    """A request's estimate against the budgets in force.

    Attributes:
        seconds: estimated seconds of computing (one core).
        budget: the work budget in seconds (0: no limit).
        logged: member-epochs the results would hold; ``log_limit`` the most allowed (0: none).
        fits: whether both are within their limits.
        message: why not, and what to lower to what, in the page's words ('' when it fits).
    """

    seconds: float
    budget: float
    logged: int
    log_limit: int
    message: str

    @property
    def fits(self) -> bool:
        """Whether the request may run."""
        return not self.message


def price(request: Request) -> Price:
    """Price ``request`` without running it: its estimate, the limits, and advice if over them."""
    budget, limit = work_budget(), log_budget()
    seconds, logged = request.seconds(), request.logged()
    message = ""
    if budget and seconds > budget:
        message = _work_message(request, seconds, budget)
    elif limit and logged > limit:
        message = _log_message(request, logged, limit)
    return Price(seconds, budget, logged, limit, message)


class WorkBudgetError(ConfigError):
    """A request over the work or log budget (field ``work``); the message says what to lower."""

    def __init__(self, value: str, message: str) -> None:
        self.field = "work"
        self.value = value
        self.allowed = message
        ValueError.__init__(self, message)


def check_request(request: Request) -> Price:
    """Raise :class:`WorkBudgetError` if ``request`` is over a budget; else return its price."""
    quote = price(request)
    if not quote.fits:
        raise WorkBudgetError(format_seconds(quote.seconds), quote.message)
    return quote


def check_population(cfg: RunConfig, members: int, shape: DataShape) -> None:
    """The engine's safety net: one population priced alone (its request was priced whole)."""
    check_request(Request("population", cfg, weights=members, shape=shape))


# ---------------------------------------------------------------- advice


def format_seconds(seconds: float) -> str:
    """A duration for people: ``0.3 s``, ``20 s``, ``3.4 min``, ``2.1 h``."""
    if seconds < 9.95:
        return f"{seconds:.1f} s" if seconds >= 0.05 else f"{seconds:.2g} s"
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class _Knob:
    """One thing the page lets a person change: its words, value, allowed range and effect."""

    words: str
    value: int
    lo: int
    hi: int
    apply: Callable[[Request, int], Request]
    lower: bool = True
    """True: lowering it makes the request cheaper; False: raising it does (the batch size)."""


def _with_cfg(request: Request, **changes: object) -> Request:
    return replace(request, cfg=request.cfg.with_(**changes))


def _knobs(request: Request) -> list[_Knob]:
    """What could be lowered (or raised) in the page's words, most useful first."""
    from mtl.data import DATASETS

    cfg, shape = request.cfg, request.data_shape()
    knobs = [_Knob("the epochs", cfg.epochs, 1, cfg.epochs, lambda r, v: _with_cfg(r, epochs=v))]
    batch = cfg.optim.batch_size
    if batch is not None and batch < shape.n_train:
        knobs.append(
            _Knob(
                "the batch size",
                batch,
                batch,
                shape.n_train,
                lambda r, v: _with_cfg(r, **{"optim.batch_size": v}),
                lower=False,
            )
        )
    if cfg.data.name != "csv" and "n_samples" in DATASETS[cfg.data.name].params:
        lo = int(LIMITS["data.n_samples"].lo)
        frac = cfg.data.test_fraction

        def samples(r: Request, v: int) -> Request:
            resized = _with_cfg(r, **{"data.n_samples": v})
            return replace(resized, shape=shape.resized(v, frac))

        knobs.append(_Knob("the samples", cfg.data.n_samples, lo, cfg.data.n_samples, samples))
    if cfg.model.shape == "shared":
        knobs.append(
            _Knob(
                "the width",
                cfg.model.width,
                1,
                cfg.model.width,
                lambda r, v: _with_cfg(r, **{"model.width": v}),
            )
        )
        knobs.append(
            _Knob(
                "the depth",
                cfg.model.depth,
                1,
                cfg.model.depth,
                lambda r, v: _with_cfg(r, **{"model.depth": v}),
            )
        )
    if request.kind == "sweep":
        knobs.append(
            _Knob(
                "the α points",
                request.weights,
                1,
                request.weights,
                lambda r, v: replace(r, weights=v),
            )
        )
    if request.kind in ("sweep", "face-off", "tuned-face-off"):
        knobs.append(
            _Knob("the seeds", request.seeds, 1, request.seeds, lambda r, v: replace(r, seeds=v))
        )
    return knobs


def _fitting_value(request: Request, knob: _Knob, fits: Callable[[Request], bool]) -> int | None:
    """The largest (or, for a raise-to-fit knob, smallest) value of ``knob`` that fits, if any."""
    if knob.lower:
        if not fits(knob.apply(request, knob.lo)):
            return None
        lo, hi = knob.lo, knob.value  # fits(lo), not fits(value)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if fits(knob.apply(request, mid)) else (lo, mid)
        return lo
    if not fits(knob.apply(request, knob.hi)):
        return None
    lo, hi = knob.value, knob.hi  # not fits(lo), fits(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(knob.apply(request, mid)) else (mid, hi)
    return hi


def _advice(request: Request, fits: Callable[[Request], bool]) -> str:
    """'Lower the epochs from 2000 to at most 290, or ...': each change that alone would fit."""
    options = []
    n_train = request.data_shape().n_train
    for knob in _knobs(request):
        value = _fitting_value(request, knob, fits)
        if value is None or value == knob.value:
            continue
        if knob.lower:
            options.append(f"lower {knob.words} from {knob.value} to at most {value}")
        elif value >= n_train:
            options.append(f"use full batch instead of a batch size of {knob.value}")
        else:
            options.append(f"raise {knob.words} from {knob.value} to at least {value}")
    if request.kind in ("face-off", "tuned-face-off") and len(request.methods) > 1:
        dropped = _methods_to_drop(request, fits)
        if dropped:
            options.append(f"leave out {_join(dropped)}")
    if not options:
        return "No single change fits it: lower several of the epochs, the data and the model."
    text = "; or ".join(options)
    return text[0].upper() + text[1:] + "."


def _methods_to_drop(request: Request, fits: Callable[[Request], bool]) -> list[str]:
    """The fewest costliest methods whose removal makes a face-off fit (labels), or []."""
    shape = request.data_shape()
    cost = {
        m: population_seconds(face_off_config(request.cfg, m), request.seeds, shape)
        for m in request.methods
    }
    kept = list(request.methods)
    dropped: list[str] = []
    for method in sorted(request.methods, key=lambda m: -cost[m])[:-1]:
        kept.remove(method)
        dropped.append(method)
        if fits(replace(request, methods=tuple(kept))):
            return [METHODS[m].label for m in dropped]
    return []


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _work_message(request: Request, seconds: float, budget: float) -> str:
    def fits(r: Request) -> bool:
        return r.seconds() <= budget

    what = {
        "run": "This run",
        "sweep": "This sweep",
        "face-off": "This face-off",
        "tuned-face-off": "This tuned face-off",
        "population": f"Training {request.members()} model(s)",
    }[request.kind]
    return (
        f"{what} needs about {format_seconds(seconds)} of computing; the limit is "
        f"{format_seconds(budget)}. {_advice(request, fits)}"
    )


def _log_message(request: Request, logged: int, limit: int) -> str:
    def fits(r: Request) -> bool:
        return r.logged() <= limit

    epochs = request.cfg.epochs + 1
    return (
        f"This request would keep {logged:,} member-epochs of results ({request.members()} "
        f"members x {epochs} epochs, counting epoch 0); the limit is {limit:,} logged "
        f"member-epochs, to keep results in memory small. {_advice(request, fits)}"
    )
