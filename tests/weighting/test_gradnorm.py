import dataclasses

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mtl.errors import ConfigError
from mtl.weighting.gradnorm import MIN_WEIGHT, GradNorm, gradnorm_grad

from .helpers import FAST, make_ctx


def _ctx(K: int = 1, base: list[float] | None = None, last_shared: slice = slice(0, 2)):
    ctx = make_ctx(K=K)
    weights = torch.tensor([base] * K) if base is not None else ctx.base_weights
    return dataclasses.replace(ctx, base_weights=weights, last_shared=last_shared)


# --- hand-worked values ---------------------------------------------------------------------


def test_gradient_of_the_gradnorm_loss_by_hand():
    # w = (0.5, 1.5), n = (2, 4), L = (1, 3), L(0) = (2, 2), alpha = 1:
    # L~ = (0.5, 1.5), r = L~ / mean(L~) = (0.5, 1.5); G = w n = (1, 6), mean(G) = 3.5,
    # target = 3.5 r = (1.75, 5.25); G - target = (-0.75, 0.75); dL_grad/dw = sign * n = (-2, 4).
    grad = gradnorm_grad(
        torch.tensor([0.5, 1.5]),
        torch.tensor([2.0, 4.0]),
        torch.tensor([1.0, 3.0]),
        torch.tensor([2.0, 2.0]),
        alpha=1.0,
    )
    torch.testing.assert_close(grad, torch.tensor([-2.0, 4.0]))


def test_two_steps_by_hand():
    # Last shared layer = the first 2 of 3 shared coordinates; the third (+-100) must be ignored.
    # Task gradients there: (3, 4) -> n_1 = 5 and (1, 0) -> n_2 = 1.
    # Step 0: w = (1, 1) (base (0.5, 0.5) renormalised to sum T = 2); L = L(0) = (2, 1),
    #   so r = (1, 1);
    #   G = (5, 1), target = mean(G) = 3: signs (+, -), dL_grad/dw = (5, -1).
    #   Adam's first step is lr * g / |g| (bias-corrected m / sqrt(v)): w = (1 - 0.025, 1 + 0.025)
    #   = (0.975, 1.025), already summing to 2. The step returns the weights in force: (1, 1).
    # Step 1: L = (1, 0.9): L~ = (0.5, 0.9), r = (0.7143, 1.2857), r^1.5 = (0.6037, 1.4579);
    #   G = (0.975 * 5, 1.025 * 1) = (4.875, 1.025), mean 2.95, target = (1.781, 4.301):
    #   signs (+, -) again, dL_grad/dw = (5, -1). Adam with the same gradient twice:
    #   m = 0.19 g, v = 0.001999 g^2, bias-corrected m / sqrt(v) = g / |g| again, so
    #   w = (0.95, 1.05). The step returns (0.975, 1.025).
    grads = torch.tensor([[[3.0, 4.0, 100.0], [1.0, 0.0, -100.0]]])
    method = GradNorm(_ctx(), alpha=1.5, weight_lr=0.025)
    w0 = method.weights(torch.tensor([[2.0, 1.0]]), grads, step=0)
    torch.testing.assert_close(w0, torch.tensor([[1.0, 1.0]]))
    torch.testing.assert_close(method.w, torch.tensor([[1.0, 1.0]]))  # weights() changes nothing
    method.after_step(torch.tensor([[2.0, 1.0]]), grads)
    torch.testing.assert_close(method.w, torch.tensor([[0.975, 1.025]]))
    w1 = method.weights(torch.tensor([[1.0, 0.9]]), grads, step=1)
    torch.testing.assert_close(w1, torch.tensor([[0.975, 1.025]]))
    method.after_step(torch.tensor([[1.0, 0.9]]), grads)
    torch.testing.assert_close(method.w, torch.tensor([[0.95, 1.05]]))


def test_initial_weights_are_the_base_weights_renormalised():
    # base (0.2, 0.6) -> 2 * (0.2, 0.6) / 0.8 = (0.5, 1.5); a zero weight is clamped first.
    method = GradNorm(_ctx(base=[0.2, 0.6]))
    torch.testing.assert_close(method.w, torch.tensor([[0.5, 1.5]]))
    method = GradNorm(_ctx(base=[0.0, 1.0]))
    assert float(method.w.min()) > 0
    torch.testing.assert_close(method.w.sum(-1), torch.tensor([2.0]))


def test_a_weight_pushed_below_zero_is_clamped_and_renormalised():
    # w = (0.02, 1.98) from base (0.01, 0.99); n = (10, 0.1), so G = (0.2, 0.198); L = L(0)
    # gives r = 1 and target = mean(G) = 0.199: signs (+, -). Adam's first step with lr 1 moves
    # each weight by 1: w = (-0.98, 2.98) -> clamped (1e-4, 2.98) -> renormalised to sum 2:
    # w_1 = 2e-4 / 2.9801.
    method = GradNorm(_ctx(base=[0.01, 0.99]), weight_lr=1.0)
    grads = torch.tensor([[[10.0, 0.0, 0.0], [0.0, 0.1, 0.0]]])
    method.after_step(torch.tensor([[1.0, 1.0]]), grads)
    assert float(method.w[0, 0]) == pytest.approx(2 * MIN_WEIGHT / (MIN_WEIGHT + 2.98), rel=1e-3)
    torch.testing.assert_close(method.w.sum(-1), torch.tensor([2.0]))


def test_rejects_bad_hyper_parameters():
    with pytest.raises(ConfigError, match="weight_lr"):
        GradNorm(_ctx(), weight_lr=0.0)
    with pytest.raises(ConfigError, match="alpha"):
        GradNorm(_ctx(), alpha=-1.0)


# --- properties -----------------------------------------------------------------------------


@FAST
@given(
    st.integers(0, 2**31 - 1),
    st.floats(0.0, 3.0),
    st.floats(1e-3, 2.0),
    st.integers(2, 4),
)
def test_weights_stay_positive_and_sum_to_T(seed, alpha, lr, T):
    gen = torch.Generator().manual_seed(seed)
    ctx = dataclasses.replace(
        make_ctx(K=2, T=T), base_weights=torch.rand(2, T, generator=gen) + 0.01
    )
    method = GradNorm(ctx, alpha=alpha, weight_lr=lr)
    for step in range(15):
        losses = torch.rand(2, T, generator=gen) * 10 ** torch.randint(-3, 3, (1,), generator=gen)
        grads = torch.randn(2, T, 3, generator=gen) * 10.0 ** torch.randint(
            -3, 3, (T, 1), generator=gen
        )
        w = method.weights(losses, grads, step)
        method.after_step(losses, grads)
        for weights in (w, method.w):
            assert bool((weights > 0).all())
            torch.testing.assert_close(weights.sum(-1), torch.full((2,), float(T)))


# --- batched --------------------------------------------------------------------------------


def test_member_k_matches_a_solo_instance():
    gen = torch.Generator().manual_seed(2)
    losses = torch.rand(12, 3, 2, generator=gen) + 0.1  # [steps, K, T]
    grads = torch.randn(12, 3, 2, 4, generator=gen)  # [steps, K, T, P]
    bases = [[0.5, 0.5], [0.2, 0.8], [0.9, 0.1]]
    batched = GradNorm(dataclasses.replace(_ctx(K=3), base_weights=torch.tensor(bases)), alpha=0.5)
    solos = [GradNorm(_ctx(K=1, base=b), alpha=0.5) for b in bases]
    for step in range(12):
        w = batched.weights(losses[step], grads[step], step)
        batched.after_step(losses[step], grads[step])
        for k, solo in enumerate(solos):
            solo_w = solo.weights(losses[step, k : k + 1], grads[step, k : k + 1], step)
            solo.after_step(losses[step, k : k + 1], grads[step, k : k + 1])
            torch.testing.assert_close(w[k : k + 1], solo_w)
    assert not torch.allclose(w[0], w[1])
