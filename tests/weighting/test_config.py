"""ConFIG (Liu, Chu & Thuerey, 2025): hand-worked cases, the T = 2 closed form, TorchJD."""

from __future__ import annotations

import math

import pytest
import torch
from torchjd.aggregation import ConFIG as TorchJDConFIG

from mtl.weighting import SMOOTHING
from mtl.weighting.config import ConFIG, config_weights

from .helpers import direction, make_ctx, random_grads, t64


def test_orthogonal_pair():
    # g1 = (3, 0), g2 = (0, 1): u1 + u2 = (1, 1), d = (3 + 1)/2 (1, 1) = (2, 2): equal angles
    # (45 degrees) with both, length = g1 . b_hat + g2 . b_hat = 4 / sqrt(2) = |d|.
    g = t64([[3, 0], [0, 1]])
    w = config_weights(g)
    torch.testing.assert_close(w, t64([2 / 3, 2]))
    torch.testing.assert_close(direction(w, g), t64([2, 2]))


def test_one_zero_gradient_gives_the_other():
    g = t64([[3, 4], [0, 0]])
    torch.testing.assert_close(direction(config_weights(g), g), t64([3, 4]))
    torch.testing.assert_close(config_weights(torch.zeros(2, 3)), torch.zeros(2))


@pytest.mark.parametrize("delta", [1e-3, 1e-5, 1e-7])
def test_nearly_opposite_pair_is_exact(delta):
    # g1 = (1, 0), g2 = -2 (cos delta, -sin delta): u1 + u2 = (1 - cos delta, sin delta), and
    # d = (3/2) (u1 + u2): no cancellation in the weights (1.5, 0.75).
    c, s = math.cos(delta), math.sin(delta)
    g = t64([[1, 0], [-2 * c, 2 * s]])
    w = config_weights(g)
    torch.testing.assert_close(w, t64([1.5, 0.75]))
    torch.testing.assert_close(direction(w, g), 1.5 * t64([1 - c, s]), atol=1e-15, rtol=1e-9)


def test_general_form_equals_the_closed_form():
    # T = 3 with a zero third gradient runs the pseudo-inverse; it must equal T = 2's closed form.
    g = random_grads(10, 2, 5, seed=1)
    g3 = torch.cat([g, torch.zeros(10, 1, 5, dtype=torch.float64)], dim=-2)
    torch.testing.assert_close(direction(config_weights(g3), g3), direction(config_weights(g), g))


def test_equal_angles_for_independent_rows():
    g = random_grads(20, 3, 7, seed=2)
    d = direction(config_weights(g), g)
    cos = (g @ d.unsqueeze(-1)).squeeze(-1) / (g.norm(dim=-1) * d.norm(dim=-1, keepdim=True))
    torch.testing.assert_close(cos, cos[..., :1].expand_as(cos))
    assert (cos > 0).all()


def test_torchjd_documentation_example():
    # TorchJD's docs: ConFIG on [[-4, 1, 1], [6, 1, 1]] gives (0.1588, 2.0706, 2.0706).
    g = t64([[-4, 1, 1], [6, 1, 1]])
    d = direction(config_weights(g), g)
    torch.testing.assert_close(d, t64([0.1588, 2.0706, 2.0706]), atol=1e-4, rtol=0)


@pytest.mark.parametrize(("T", "P"), [(2, 5), (3, 6), (5, 8)])
def test_matches_torchjd(T, P):
    g = random_grads(20, T, P, seed=T * 10 + P)
    ours = direction(config_weights(g), g)
    theirs = torch.stack([TorchJDConFIG()(m) for m in g])
    torch.testing.assert_close(ours, theirs, atol=1e-10, rtol=1e-8)


def test_batched_and_class():
    g = random_grads(3, 4, 3, 5, seed=3)
    batched = config_weights(g)
    for i in range(3):
        for j in range(4):
            torch.testing.assert_close(batched[i, j], config_weights(g[i, j]))
    assert ConFIG.kind == "gradient" and "Thuerey" in ConFIG.citation
    assert ConFIG.hparams == (SMOOTHING,)
    g = random_grads(3, 2, 5, dtype=torch.float32)
    w = ConFIG(make_ctx()).weights(torch.ones(3, 2), g, 0)
    torch.testing.assert_close(w, config_weights(g))
    assert w.dtype == torch.float32
