import dataclasses

import torch

from mtl.counter_rng import STREAM_WEIGHTS, normal
from mtl.weighting.rlw import RLW

from .helpers import make_ctx


def _rlw(seeds: list[int], T: int = 2) -> RLW:
    ctx = make_ctx(K=len(seeds), T=T)
    return RLW(dataclasses.replace(ctx, seeds=torch.tensor(seeds, dtype=torch.int64)))


def _weights(method: RLW, step: int) -> torch.Tensor:
    K, T = method.ctx.n_members, method.ctx.n_tasks
    return method.weights(torch.ones(K, T), torch.zeros(K, T, 1), step)


def test_weights_are_a_softmax_of_the_members_normal_draws():
    # w = softmax(z) with z the member's N(0, 1) draws for (seed, STREAM_WEIGHTS, step).
    method = _rlw([7, 11], T=3)
    for step in (0, 1, 50):
        w = _weights(method, step)
        z = normal(torch.tensor([7, 11]), STREAM_WEIGHTS, step, 3)
        torch.testing.assert_close(w, torch.softmax(z, -1).float())
        assert bool((w > 0).all())
        torch.testing.assert_close(w.sum(-1), torch.ones(2))


def test_deterministic_for_a_seed_and_fresh_every_step():
    a, b = _rlw([3]), _rlw([3])
    torch.testing.assert_close(_weights(a, 5), _weights(b, 5))
    assert not torch.allclose(_weights(a, 5), _weights(a, 6))


def test_different_seeds_draw_different_weights():
    w = torch.stack([_weights(_rlw([seed]), 0)[0] for seed in range(5)])
    assert len({round(float(v), 6) for v in w[:, 0]}) == 5


def test_member_k_of_a_population_equals_a_solo_run_with_its_seed():
    seeds = [0, 42, 2**31 - 1]
    population = _rlw(seeds)
    for step in range(20):
        w = _weights(population, step)
        for k, seed in enumerate(seeds):
            assert torch.equal(w[k : k + 1], _weights(_rlw([seed]), step))


def test_draws_are_centred_on_equal_weights():
    # softmax of iid normals is exchangeable: E[w_t] = 1/T. Over 4000 draws (40 members with
    # their own seeds x 100 steps: draws are independent across seeds and steps) the mean of w_1
    # is 0.5 within 0.02 (its standard deviation is about 0.2, so the standard error is about
    # 0.003), and w_1 > 1/2 about half the time.
    method = _rlw(list(range(1, 41)))
    w = torch.cat([_weights(method, step) for step in range(100)])
    assert w.shape == (4000, 2)
    assert abs(float(w[:, 0].mean()) - 0.5) < 0.02
    assert abs(float((w[:, 0] > 0.5).float().mean()) - 0.5) < 0.05
    assert float(w[:, 0].std()) > 0.1  # really random, not stuck at 1/2
