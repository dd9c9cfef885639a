"""Counter-based randomness: per-member streams independent of the population size."""

import torch

from mtl import counter_rng


def test_uniform_range_and_moments():
    u = counter_rng.uniform(torch.tensor([0, 7]), stream=1, counter=3, n=200_000)
    assert u.shape == (2, 200_000) and u.dtype == torch.float64
    assert (u > 0).all() and (u < 1).all()
    assert torch.allclose(u.mean(1), torch.full((2,), 0.5, dtype=torch.float64), atol=5e-3)
    assert torch.allclose(u.var(1), torch.full((2,), 1 / 12, dtype=torch.float64), atol=2e-3)


def test_member_stream_does_not_depend_on_others():
    alone = counter_rng.uniform(torch.tensor([5]), 1, 0, 50)
    together = counter_rng.uniform(torch.tensor([1, 5, 9]), 1, 0, 50)
    assert torch.equal(alone[0], together[1])


def test_streams_counters_and_seeds_differ():
    base = counter_rng.uniform(torch.tensor([3]), 1, 0, 64)
    assert not torch.equal(base, counter_rng.uniform(torch.tensor([3]), 2, 0, 64))
    assert not torch.equal(base, counter_rng.uniform(torch.tensor([3]), 1, 1, 64))
    assert not torch.equal(base, counter_rng.uniform(torch.tensor([4]), 1, 0, 64))
    assert torch.equal(base, counter_rng.uniform(torch.tensor([3]), 1, 0, 64))


def test_normal_moments():
    z = counter_rng.normal(torch.tensor([0, 1, 2]), 2, 9, 100_000)
    assert torch.allclose(z.mean(1), torch.zeros(3, dtype=torch.float64), atol=0.02)
    assert torch.allclose(z.std(1), torch.ones(3, dtype=torch.float64), atol=0.02)


def test_permutations_are_permutations():
    perms = counter_rng.permutations(torch.arange(6), 1, 4, 30)
    assert torch.equal(perms.sort(dim=1).values, torch.arange(30).expand(6, 30))
    assert len({tuple(p.tolist()) for p in perms}) == 6


def test_step_draws_equal_one_call_per_step_across_blocks_and_out_of_order():
    seeds = torch.tensor([0, 3, 2**31 - 1])
    steps = [*range(0, 2 * counter_rng.StepDraws.BLOCK + 3), 5, 10**6, 2**33 + 1, 0]
    for normal in (False, True):
        one = counter_rng.normal if normal else counter_rng.uniform
        draws = counter_rng.StepDraws(seeds, 2, 3, normal=normal)
        for step in steps:
            assert torch.equal(draws(step), one(seeds, 2, step, 3)), (normal, step)
