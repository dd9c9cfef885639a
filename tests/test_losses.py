"""Every loss, reduced per member, equals torch.nn.functional applied member by member."""

import pytest
import torch
import torch.nn.functional as F

import mtl
from mtl import losses

K, N, R, C = 3, 17, 2, 4


@pytest.fixture
def batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "pred": torch.randn(K, N, R, generator=g) * 3,
        "y_reg": torch.randn(N, R, generator=g),
        "logits": torch.randn(K, N, C, generator=g) * 2,
        "y_cls": torch.randint(0, C, (N,), generator=g),
    }


REGRESSION_REFERENCES = {
    "mse": lambda p, y: F.mse_loss(p, y),
    "l1": lambda p, y: F.l1_loss(p, y),
    "huber": lambda p, y: F.huber_loss(p, y, delta=0.7),
}
CLASSIFICATION_REFERENCES = {
    "ce": lambda z, y: F.cross_entropy(z, y),
    "label_smoothing": lambda z, y: F.cross_entropy(z, y, label_smoothing=0.2),
}


@pytest.mark.parametrize("name", REGRESSION_REFERENCES)
def test_regression_losses_match_functional(batch, name):
    spec = mtl.LossSpec(regression=name, huber_delta=0.7)
    ours = losses.regression_loss(spec)(batch["pred"], batch["y_reg"])
    assert ours.shape == (K,)
    for k in range(K):
        expected = REGRESSION_REFERENCES[name](batch["pred"][k], batch["y_reg"])
        assert ours[k].item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("name", CLASSIFICATION_REFERENCES)
def test_classification_losses_match_functional(batch, name):
    spec = mtl.LossSpec(classification=name, label_smoothing=0.2)
    ours = losses.classification_loss(spec)(batch["logits"], batch["y_cls"])
    assert ours.shape == (K,)
    for k in range(K):
        expected = CLASSIFICATION_REFERENCES[name](batch["logits"][k], batch["y_cls"])
        assert ours[k].item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("shape", [(3, 17, 4), (40, 150, 2)])
def test_cross_entropy_is_the_fused_call_bit_for_bit(smoothing, shape):
    """The written-out cross-entropy gives F.cross_entropy's floats, values and gradients.

    Training trajectories were recorded with the fused call: the written-out arithmetic must
    not move them by a rounding (the second shape is a face-off's 2 classes over many rows).
    """
    k, n, c = shape
    g = torch.Generator().manual_seed(1)
    logits = (torch.randn(k, n, c, generator=g) * 3).requires_grad_()
    y = torch.randint(0, c, (n,), generator=g)
    ours = losses._per_sample_ce(logits, y, label_smoothing=smoothing)
    fused = F.cross_entropy(
        logits.transpose(1, 2), y.expand(k, n), reduction="none", label_smoothing=smoothing
    )
    assert torch.equal(ours, fused)
    upstream = torch.rand(k, n, generator=g)
    (g_ours,) = torch.autograd.grad(ours, logits, upstream)
    (g_fused,) = torch.autograd.grad(fused, logits, upstream)
    assert torch.equal(g_ours, g_fused)


def test_focal_loss_by_hand_and_reduces_to_ce(batch):
    logits, y = batch["logits"], batch["y_cls"]
    gamma = 2.0
    ours = losses.focal(logits, y, gamma=gamma)
    for k in range(K):
        p_t = logits[k].softmax(-1)[torch.arange(N), y]
        expected = (-((1 - p_t) ** gamma) * p_t.log()).mean()
        assert ours[k].item() == pytest.approx(expected.item(), rel=1e-6)
    assert torch.allclose(losses.focal(logits, y, gamma=0.0), losses.cross_entropy(logits, y))
    # focusing down-weights easy examples, so focal < CE
    assert (ours < losses.cross_entropy(logits, y)).all()


def test_per_member_targets_broadcast(batch):
    """Mini-batches give each member its own targets [K, B, ...]."""
    y_per_member = batch["y_reg"].expand(K, N, R)
    c_per_member = batch["y_cls"].expand(K, N)
    assert torch.equal(
        losses.mse(batch["pred"], y_per_member), losses.mse(batch["pred"], batch["y_reg"])
    )
    assert torch.allclose(
        losses.cross_entropy(batch["logits"], c_per_member),
        losses.cross_entropy(batch["logits"], batch["y_cls"]),
    )


def test_losses_are_differentiable_per_member(batch):
    pred = batch["pred"].clone().requires_grad_()
    losses.huber(pred, batch["y_reg"], delta=1.0).sum().backward()
    solo = batch["pred"][1].clone().requires_grad_()
    F.huber_loss(solo, batch["y_reg"], delta=1.0).backward()
    assert torch.allclose(pred.grad[1], solo.grad)


def test_registries_cover_the_config_choices():
    assert set(losses.REGRESSION_LOSSES) == set(mtl.config.CHOICES["loss.regression"])
    assert set(losses.CLASSIFICATION_LOSSES) == set(mtl.config.CHOICES["loss.classification"])
    assert set(losses.REGRESSION_LABELS) == set(losses.REGRESSION_LOSSES)
    assert set(losses.CLASSIFICATION_LABELS) == set(losses.CLASSIFICATION_LOSSES)


def test_focal_gradient_is_finite_and_zero_for_a_certain_row():
    # a row classified with p_t = 1 in float32: (1 - p)^gamma with gamma < 1 has an infinite
    # derivative at 0, and inf * log p_t = inf * 0 made the gradient NaN with a finite loss
    logits = torch.tensor([[[200.0, 0.0], [0.3, -0.2]]], requires_grad=True)  # [K=1, N=2, C=2]
    y = torch.tensor([0, 1])
    loss = losses.focal(logits, y, gamma=0.5)
    (grad,) = torch.autograd.grad(loss, logits)
    assert torch.isfinite(loss).all()
    assert torch.isfinite(grad).all()
    assert torch.equal(grad[0, 0], torch.zeros(2))  # the certain row contributes nothing
    assert grad[0, 1].abs().sum() > 0  # the uncertain one still does
