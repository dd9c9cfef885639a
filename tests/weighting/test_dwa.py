import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mtl.errors import ConfigError
from mtl.weighting.dwa import DWA, dwa_weights

from .helpers import FAST, make_ctx


def _weights(method: DWA, K: int = 1) -> torch.Tensor:
    return method.weights(torch.ones(K, 2), torch.zeros(K, 2, 1), step=0)


# --- hand-worked values ---------------------------------------------------------------------


def test_first_two_epochs_use_ones():
    # No ratio exists before two epoch losses are known: w = 1 during epochs 1 and 2.
    method = DWA(make_ctx(K=1))
    torch.testing.assert_close(_weights(method), torch.ones(1, 2))
    method.epoch_end(1, torch.tensor([[1.0, 2.0]]))
    torch.testing.assert_close(_weights(method), torch.ones(1, 2))


def test_hand_worked_third_epoch():
    # Epoch losses (1.0, 2.0) then (0.5, 1.8): r = (0.5 / 1.0, 1.8 / 2.0) = (0.5, 0.9).
    # Temp 2: exp(0.25) = 1.2840254, exp(0.45) = 1.5683122, sum 2.8523376,
    # w = 2 * (1.2840254, 1.5683122) / 2.8523376 = (0.9003320, 1.0996680).
    # The task whose loss fell less (ratio 0.9) gets the larger weight.
    method = DWA(make_ctx(K=1), temperature=2.0)
    method.epoch_end(1, torch.tensor([[1.0, 2.0]]))
    method.epoch_end(2, torch.tensor([[0.5, 1.8]]))
    torch.testing.assert_close(_weights(method), torch.tensor([[0.9003320, 1.0996680]]))


def test_only_the_last_two_epochs_count():
    # After (1, 2), (0.5, 1.8), (0.25, 1.8): r = (0.5, 1.0); Temp 1:
    # w = 2 (e^0.5, e^1) / (e^0.5 + e^1) = 2 (1.6487213, 2.7182818) / 4.3670031
    #   = (0.7550813, 1.2449187).
    method = DWA(make_ctx(K=1), temperature=1.0)
    for epoch, losses in enumerate(([1.0, 2.0], [0.5, 1.8], [0.25, 1.8]), start=1):
        method.epoch_end(epoch, torch.tensor([losses]))
    torch.testing.assert_close(_weights(method), torch.tensor([[0.7550813, 1.2449187]]))


def test_high_temperature_tends_to_equal_weights():
    # r = (0.1, 10): with Temp 100 the softmax of (0.001, 0.1) is nearly uniform (within 0.05).
    w = dwa_weights(torch.tensor([0.1, 10.0]), torch.ones(2), temperature=100.0)
    assert torch.allclose(w, torch.ones(2), atol=0.05)
    assert w[1] > w[0]


def test_zero_previous_loss_counts_as_ratio_one():
    # before = (0, 2), last = (0, 1): ratios (1, 0.5) instead of a division by zero.
    w = dwa_weights(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 2.0]), temperature=2.0)
    e1, e2 = math.exp(0.5), math.exp(0.25)
    torch.testing.assert_close(w, torch.tensor([2 * e1 / (e1 + e2), 2 * e2 / (e1 + e2)]))


def test_rejects_non_positive_temperature():
    with pytest.raises(ConfigError, match="temperature"):
        DWA(make_ctx(), temperature=0.0)
    assert "temperature" in DWA.defaults()


# --- properties -----------------------------------------------------------------------------

positive_losses = st.lists(
    st.lists(st.floats(1e-3, 1e3, allow_nan=False), min_size=2, max_size=2), min_size=2, max_size=6
)


@FAST
@given(positive_losses, st.floats(0.1, 10.0))
def test_follows_its_formula_for_random_loss_sequences(sequence, temperature):
    method = DWA(make_ctx(K=1), temperature=temperature)
    for epoch, losses in enumerate(sequence, start=1):
        method.epoch_end(epoch, torch.tensor([losses]))
    last, before = sequence[-1], sequence[-2]
    logits = [last[t] / before[t] / temperature for t in range(2)]
    top = max(logits)
    exps = [math.exp(v - top) for v in logits]
    expected = torch.tensor([[2 * e / sum(exps) for e in exps]])
    w = _weights(method)
    torch.testing.assert_close(w, expected, rtol=1e-5, atol=1e-6)
    assert float(w.sum()) == pytest.approx(2.0, rel=1e-6)


# --- batched --------------------------------------------------------------------------------


def test_member_k_matches_a_solo_instance():
    gen = torch.Generator().manual_seed(0)
    epochs = torch.rand(5, 3, 2, generator=gen) + 0.1  # [epochs, K, T]
    batched = DWA(make_ctx(K=3), temperature=1.5)
    solos = [DWA(make_ctx(K=1), temperature=1.5) for _ in range(3)]
    for e in range(5):
        batched.epoch_end(e + 1, epochs[e])
        for k, solo in enumerate(solos):
            solo.epoch_end(e + 1, epochs[e, k : k + 1])
        w = _weights(batched, K=3)
        for k, solo in enumerate(solos):
            torch.testing.assert_close(w[k : k + 1], _weights(solo))
    assert not torch.allclose(w[0], w[1])  # the members really differ
