"""Aligned-MTL (Senushkin et al., 2023): hand-worked cases, scale modes, batching, TorchJD."""

from __future__ import annotations

import pytest
import torch
from torchjd.aggregation import AlignedMTLWeighting

from mtl.errors import ConfigError
from mtl.weighting.aligned_mtl import SCALE_MODES, AlignedMTL, aligned_mtl_weights

from .helpers import direction, make_ctx, random_grads, t64


def test_orthogonal_pair_gets_the_smaller_norm():
    # g1 = (3, 0), g2 = (0, 1): G = diag(9, 1), V = I, lambda_min = 1.
    # B = diag(sqrt(1/9), 1), w = B (1/2, 1/2) = (1/6, 1/2), d = (1/2, 1/2): both directions
    # get the weakest singular value 1, halved by the preference 1/2.
    g = t64([[3, 0], [0, 1]])
    w = aligned_mtl_weights(g)
    torch.testing.assert_close(w, t64([1 / 6, 1 / 2]))
    torch.testing.assert_close(direction(w, g), t64([0.5, 0.5]))


@pytest.mark.parametrize(("mode", "scale"), [("min", 1.0), ("median", 1.0), ("rmse", 5.0)])
def test_scale_modes_on_the_orthogonal_pair(mode, scale):
    # eigenvalues (1, 9): min 1, lower median 1, mean 5; d = sqrt(scale) (1/2, 1/2).
    g = t64([[3, 0], [0, 1]])
    d = direction(aligned_mtl_weights(g, scale_mode=mode), g)
    torch.testing.assert_close(d, scale**0.5 * t64([0.5, 0.5]))


def test_parallel_pair_is_rank_one():
    # g and 2g: rank 1, lambda = |g|^2 (1 + 4), V_1 = (1, 2)/sqrt(5); B = V_1 V_1^T,
    # w = B (1/2, 1/2) = (3/10, 6/10), d = 1.5 g.
    g = t64([[1, 2], [2, 4]])
    torch.testing.assert_close(aligned_mtl_weights(g), t64([0.3, 0.6]))


def test_zero_gradients_fall_back_to_the_mean():
    torch.testing.assert_close(aligned_mtl_weights(torch.zeros(2, 3)), torch.full((2,), 0.5))


def test_torchjd_documentation_example():
    # TorchJD's docs: AlignedMTL on [[-4, 1, 1], [6, 1, 1]] gives (0.2133, 0.9673, 0.9673).
    g = t64([[-4, 1, 1], [6, 1, 1]])
    d = direction(aligned_mtl_weights(g), g)
    torch.testing.assert_close(d, t64([0.2133, 0.9673, 0.9673]), atol=1e-4, rtol=0)


@pytest.mark.parametrize("mode", SCALE_MODES)
@pytest.mark.parametrize(("T", "P"), [(2, 5), (3, 6), (4, 3)])
def test_matches_torchjd(mode, T, P):
    g = random_grads(20, T, P, seed=T * 10 + P)
    ours = aligned_mtl_weights(g, scale_mode=mode)
    theirs = torch.stack([AlignedMTLWeighting(scale_mode=mode)(m @ m.T) for m in g])
    torch.testing.assert_close(ours, theirs, atol=1e-10, rtol=1e-8)


def test_batched_equals_one_by_one():
    g = random_grads(3, 4, 3, 5, seed=2)
    batched = aligned_mtl_weights(g)
    for i in range(3):
        for j in range(4):
            torch.testing.assert_close(batched[i, j], aligned_mtl_weights(g[i, j]))


def test_class():
    assert AlignedMTL.kind == "gradient" and "Senushkin" in AlignedMTL.citation
    assert AlignedMTL.defaults() == {"scale_mode": "min", "smoothing": 0.0}
    with pytest.raises(ConfigError, match=r"weighting\.params\.scale_mode"):
        AlignedMTL(make_ctx(), scale_mode="max")
    g = random_grads(3, 2, 5, dtype=torch.float32)
    m = AlignedMTL(make_ctx(), scale_mode="rmse")
    torch.testing.assert_close(
        m.weights(torch.ones(3, 2), g, 0), aligned_mtl_weights(g, scale_mode="rmse")
    )
    assert m.weights(torch.ones(3, 2), g, 0).dtype == torch.float32
