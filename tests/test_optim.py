"""The flat optimizers apply exactly torch.optim's updates, member by member."""

import pytest
import torch

from mtl.config import OptimSpec
from mtl.optim import FlatAdam, FlatSGD, make_optimizer


def _run_both(make_ours, make_reference, steps: int = 25) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    theta = torch.randn(3, 5, generator=g)
    reference = theta.clone().requires_grad_()
    ours = make_ours(theta)
    ref_opt = make_reference([reference])
    for _ in range(steps):
        grad = torch.randn(3, 5, generator=g)
        ours.step(grad)
        reference.grad = grad.clone()
        ref_opt.step()
    return theta, reference.detach()


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch(momentum):
    ours, reference = _run_both(
        lambda t: FlatSGD(t, lr=0.05, momentum=momentum),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=momentum),
    )
    assert torch.allclose(ours, reference, atol=1e-6)


def test_adam_matches_torch():
    ours, reference = _run_both(
        lambda t: FlatAdam(t, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)
    )
    assert torch.allclose(ours, reference, atol=1e-6)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_updates_broadcast_over_task_copies(kind):
    """Leading copies of theta ``[..., K, P]`` all get the same update."""
    copies = torch.randn(1, 4, 6).repeat(2, 1, 1)
    opt = make_optimizer(
        OptimSpec(kind=kind, lr=0.1, momentum=0.5 if kind == "sgd" else 0.0), copies
    )
    for _ in range(3):
        opt.step(torch.randn(4, 6))
    assert torch.equal(copies[0], copies[1])
    assert not torch.equal(copies[0], torch.zeros(4, 6))


def test_members_are_independent():
    theta = torch.zeros(2, 3)
    opt = FlatAdam(theta, lr=0.1)
    opt.step(torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    assert torch.equal(theta[1], torch.zeros(3))  # no gradient, no move
    assert (theta[0] < 0).all()


def test_adam_preview_is_the_next_step_bit_for_bit_and_changes_nothing():
    gen = torch.Generator().manual_seed(4)
    theta = torch.randn(3, 5, generator=gen)
    adam = FlatAdam(theta, lr=0.05)
    for _ in range(3):
        adam.step(torch.randn(3, 5, generator=gen))
    grad = torch.randn(3, 5, generator=gen)
    before = (theta.clone(), adam.m.clone(), adam.v.clone(), adam.t)
    preview = adam.preview(grad)
    assert torch.equal(theta, before[0]) and torch.equal(adam.m, before[1])
    assert torch.equal(adam.v, before[2]) and adam.t == before[3]
    adam.step(grad)
    assert torch.equal(preview, theta)
