import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl.errors import ConfigError
from mtl.weighting.famo import FAMO, famo_logit_grad

from .helpers import FAST, make_ctx


class OfficialFAMO:
    """The official algorithm for one member (github.com/Cranial-XIX/FAMO, ``famo.py``).

    ``torch.optim.Adam`` with ``weight_decay=gamma`` on a ``requires_grad`` logits tensor; the
    logits' gradient is the vector-Jacobian product of the softmax with the log-loss decrease; the
    effective loss weights are the gradient of the weighted loss with respect to the losses.
    """

    def __init__(self, n_tasks: int, w_lr: float, gamma: float) -> None:
        self.w = torch.zeros(n_tasks, requires_grad=True)
        self.opt = torch.optim.Adam([self.w], lr=w_lr, weight_decay=gamma)
        self.prev_loss: torch.Tensor | None = None

    def loss_weights(self, losses: torch.Tensor) -> torch.Tensor:
        self.prev_loss = losses
        L = losses.clone().requires_grad_()
        z = F.softmax(self.w, -1)
        D = L + 1e-8  # min_losses = 0
        c = (z / D).sum().detach()
        loss = (D.log() * z / c).sum()
        (weights,) = torch.autograd.grad(loss, L)
        return weights

    def update(self, curr_loss: torch.Tensor) -> None:
        delta = (self.prev_loss + 1e-8).log() - (curr_loss + 1e-8).log()
        (d,) = torch.autograd.grad(F.softmax(self.w, -1), self.w, grad_outputs=delta)
        self.opt.zero_grad()
        self.w.grad = d
        self.opt.step()


def _weights(method: FAMO, losses: torch.Tensor) -> torch.Tensor:
    """One engine step: the weights for ``losses``, then ``after_step`` with them."""
    grads = torch.zeros(*losses.shape, 1)
    w = method.weights(losses, grads, step=0)
    method.after_step(losses, grads)
    return w


LOSSES = [
    [2.0, 1.0],
    [1.5, 0.9],
    [1.2, 0.85],
    [1.1, 0.6],
    [0.7, 0.55],
    [0.65, 0.3],
]


# --- hand-worked values ---------------------------------------------------------------------


def test_two_steps_by_hand():
    # Step 0: xi = 0, z = (1/2, 1/2), L = (2, 1): w = (z / L) / sum = (0.25, 0.5) / 0.75
    #   = (1/3, 2/3):
    #   the smaller loss gets the larger weight (FAMO descends sum_t z_t log L_t).
    # Step 1, L = (1.5, 0.9): delta = log(2 / 1.5), log(1 / 0.9) = (0.2876821, 0.1053605);
    #   J^T delta = z (delta - z.delta) = 0.5 (0.0911608, -0.0911608); gamma xi = 0.
    #   Adam's first step is lr * sign: xi = (-0.025, 0.025), z = (sigmoid(-0.05), sigmoid(0.05))
    #   = (0.4875026, 0.5124974); z / L = (0.3250017, 0.5694416): w = (0.3633564, 0.6366436).
    #   Regression's loss fell more (by 25% against 10%), so classification gained weight.
    method = FAMO(make_ctx(K=1))
    torch.testing.assert_close(
        _weights(method, torch.tensor([LOSSES[0]])), torch.tensor([[1 / 3, 2 / 3]])
    )
    w1 = _weights(method, torch.tensor([LOSSES[1]]))
    torch.testing.assert_close(method.logits, torch.tensor([[-0.025, 0.025]]))
    torch.testing.assert_close(w1, torch.tensor([[0.3633564, 0.6366436]]))


@pytest.mark.parametrize(("w_lr", "gamma"), [(0.025, 0.001), (0.1, 0.05)])
def test_matches_the_official_algorithm(w_lr, gamma):
    # The official loop: weights from the current losses, model step, then update(new losses).
    # Ours: the next step's weights() previews that update and its after_step() applies it.
    reference = OfficialFAMO(2, w_lr, gamma)
    method = FAMO(make_ctx(K=1), w_lr=w_lr, gamma=gamma)
    for i, losses in enumerate(LOSSES):
        L = torch.tensor(losses)
        expected = reference.loss_weights(L)
        torch.testing.assert_close(_weights(method, L.unsqueeze(0)), expected.unsqueeze(0))
        torch.testing.assert_close(method.logits, reference.w.detach().unsqueeze(0))
        if i + 1 < len(LOSSES):
            reference.update(torch.tensor(LOSSES[i + 1]))
    assert float(method.logits[0, 1]) > float(method.logits[0, 0])  # the weights really moved


def test_logit_gradient_is_the_softmax_vjp():
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(4, 3, generator=gen)
    prev, curr = torch.rand(4, 3, generator=gen) + 0.1, torch.rand(4, 3, generator=gen) + 0.1
    xi = logits.clone().requires_grad_()
    delta = torch.log(prev + 1e-8) - torch.log(curr + 1e-8)
    (expected,) = torch.autograd.grad(torch.softmax(xi, -1), xi, grad_outputs=delta)
    torch.testing.assert_close(famo_logit_grad(logits, prev, curr), expected)


def test_rejects_bad_hyper_parameters():
    with pytest.raises(ConfigError, match="w_lr"):
        FAMO(make_ctx(), w_lr=0.0)
    with pytest.raises(ConfigError, match="gamma"):
        FAMO(make_ctx(), gamma=-0.1)


# --- properties -----------------------------------------------------------------------------


@settings(FAST, max_examples=15)  # 8 members an example: as many trajectories as 60 x 2
@given(st.integers(0, 2**31 - 1), st.integers(2, 4))
def test_weights_are_positive_and_sum_to_one(seed, T):
    gen = torch.Generator().manual_seed(seed)
    method = FAMO(make_ctx(K=8, T=T), w_lr=0.5)
    for _ in range(10):
        scale = 10.0 ** torch.randint(-4, 3, (8, T), generator=gen)
        losses = torch.rand(8, T, generator=gen) * scale
        w = _weights(method, losses)
        assert bool((w > 0).all())
        torch.testing.assert_close(w.sum(-1), torch.ones(8))


# --- batched --------------------------------------------------------------------------------


def test_member_k_matches_a_solo_instance():
    gen = torch.Generator().manual_seed(4)
    steps = torch.rand(15, 3, 2, generator=gen) + 0.05  # [steps, K, T]
    batched = FAMO(make_ctx(K=3), w_lr=0.1)
    solos = [FAMO(make_ctx(K=1), w_lr=0.1) for _ in range(3)]
    for losses in steps:
        w = _weights(batched, losses)
        for k, solo in enumerate(solos):
            torch.testing.assert_close(w[k : k + 1], _weights(solo, losses[k : k + 1]))
    assert not torch.allclose(batched.logits[0], batched.logits[1])
