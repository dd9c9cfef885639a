"""The method contract, checked for every registered method.

``weights()`` reads state and never changes it; each hyper-parameter is declared once and the
constructor, validation and ``gradient_weights`` read that declaration; ``kind`` says what a method
reads and ``combines`` how the engine applies its weights.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import pytest
import torch

from mtl.counter_rng import StepDraws
from mtl.errors import ConfigError
from mtl.weighting import GRADIENT_METHODS, METHODS, HParam, gradient_weights
from mtl.weighting.base import PendingMemo

from .helpers import make_ctx, random_grads

K, T, P = 3, 2, 5


MEMOS = (PendingMemo, StepDraws)
"""Caches of pure computations (a step's pending update, a block of seeded draws): what they
keep is not state, so the comparison skips them; the weights stay checked equal on repeats."""


def _same(a: Any, b: Any) -> bool:
    """Deep equality of method state: tensors bit for bit, containers and objects recursively."""
    if isinstance(a, MEMOS) and isinstance(b, MEMOS):
        return type(a) is type(b)
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dict__") and not isinstance(a, type):
        return type(a) is type(b) and _same(vars(a), vars(b))
    return a == b


def _step_inputs(step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    losses = torch.rand(K, T, generator=torch.Generator().manual_seed(step)) + 0.1
    grads = random_grads(K, T, P, seed=step, dtype=torch.float32)
    g = grads.double()
    return losses, grads, g @ g.mT


@pytest.mark.parametrize("name", list(METHODS))
def test_weights_reads_state_and_never_changes_it(name):
    method = METHODS[name](make_ctx(K=K, T=T))
    for step in range(3):  # warm up: every stateful method has state by now
        losses, grads, gram = _step_inputs(step)
        method.weights(losses, grads, step, gram=gram)
        method.after_step(losses, grads, gram=gram)
        method.epoch_end(step + 1, losses)
    losses, grads, gram = _step_inputs(3)
    before = copy.deepcopy(vars(method))
    first = method.weights(losses, grads, 3, gram=gram)
    assert _same(vars(method), before), "weights() changed the method's state"
    second = method.weights(losses, grads, 3, gram=gram)
    assert torch.equal(first, second)
    assert _same(vars(method), before)
    # ... and after_step is where the state moves, for the methods that learn every step
    method.after_step(losses, grads, gram=gram)
    learners = ("famo", "gradnorm", "uncertainty", "imtl", "gradvac", "excess_mtl")
    if name in (*learners, "moco", "db_mtl"):
        assert not _same(vars(method), before)


@pytest.mark.parametrize("name", list(METHODS))
def test_the_gram_passed_in_is_the_gram_used(name):
    # a gradient method given the Gram matrix gives the weights it computes from the gradients
    method = METHODS[name](make_ctx(K=K, T=T))
    losses, grads, gram = _step_inputs(0)
    torch.testing.assert_close(
        method.weights(losses, grads, 0, gram=gram), method.weights(losses, grads, 0)
    )


def test_kind_and_combines():
    for cls in METHODS.values():
        assert cls.kind in ("loss", "gradient") and cls.combines in ("losses", "gradients")
        assert cls.combines == "losses" or cls.kind == "gradient"
    assert METHODS["gradnorm"].kind == "gradient"  # it reads the gradients' norms ...
    assert METHODS["gradnorm"].combines == "losses"  # ... and weights the losses
    kinds = {name for name, cls in METHODS.items() if cls.combines == "gradients"}
    combining = {"pcgrad", "mgda", "cagrad", "imtl"}
    combining |= {"upgrad", "dualproj", "aligned_mtl", "config"}  # gradmethods
    assert combining <= kinds
    # every method with a pure form reads gradients; Nash-MTL and FairGrad weight the losses
    pure = combining | {"nash_mtl", "fairgrad"}
    assert pure <= set(GRADIENT_METHODS)
    for name in GRADIENT_METHODS:
        assert METHODS[name].kind == "gradient"


@pytest.mark.parametrize("name", list(METHODS))
def test_one_declaration_per_hyper_parameter(name):
    cls = METHODS[name]
    assert all(isinstance(h, HParam) for h in cls.hparams)
    assert len({h.name for h in cls.hparams}) == len(cls.hparams)
    for h in cls.hparams:
        assert h.allows(h.default) and h.label and h.help
    # no default restated in a constructor signature: the values come from the declaration
    signature = set(inspect.signature(cls.__init__).parameters)
    assert signature <= {"self", "ctx", "params"}
    assert cls(make_ctx()).params == cls.defaults()


def _wrong_values(h: HParam) -> list[Any]:
    if h.choices is not None:
        return [0, 1, "no-such-choice", None]
    if h.range is None:
        return [1, 0, "true", None]
    return ["0.5", True, None, float("nan"), h.range.hi + 1]


CASES = [
    (name, h, bad) for name, cls in METHODS.items() for h in cls.hparams for bad in _wrong_values(h)
]


@pytest.mark.parametrize(
    ("name", "h", "bad"), CASES, ids=[f"{n}-{h.name}-{b!r}" for n, h, b in CASES]
)
def test_wrong_values_and_types_are_config_errors(name, h, bad):
    cls = METHODS[name]
    with pytest.raises(ConfigError) as info:
        cls(make_ctx(), **{h.name: bad})
    assert info.value.field == f"weighting.params.{h.name}"
    if name in GRADIENT_METHODS:
        with pytest.raises(ConfigError):
            gradient_weights(name, random_grads(2, 3), **{h.name: bad})


def test_mgda_upper_bound_one_is_a_config_error_not_a_type_error():
    with pytest.raises(ConfigError, match="upper_bound"):
        gradient_weights("mgda", random_grads(2, 3), upper_bound=1)


def test_hparam_declarations_refuse_inconsistent_definitions():
    from mtl.limits import Range

    with pytest.raises(ValueError, match="default"):
        HParam("c", 5.0, label="c", help="h", range=Range(0.0, 1.0))
    with pytest.raises(ValueError, match="not both"):
        HParam("c", "a", label="c", help="h", range=Range(0.0, 1.0), choices=("a",))
    with pytest.raises(ValueError, match="bool"):
        HParam("c", 1, label="c", help="h")


def test_pending_memo_recomputes_for_other_inputs_or_values():
    memo, calls = PendingMemo(), []

    def compute(x: torch.Tensor) -> float:
        calls.append(1)
        return float(x.sum())

    x = torch.ones(3)
    assert memo.get((x, None), lambda: compute(x)) == 3.0
    assert memo.get((x[:], None), lambda: compute(x)) == 3.0  # a view of the same values
    assert len(calls) == 1
    x.add_(1.0)  # an in-place write bumps the version counter
    assert memo.get((x, None), lambda: compute(x)) == 6.0
    y = torch.full((3,), 2.0)  # same values, other tensor
    assert memo.get((y, None), lambda: compute(y)) == 6.0 and len(calls) == 3
    memo.clear()
    assert memo.get((y, None), lambda: compute(y)) == 6.0 and len(calls) == 4
