import itertools

import pytest
import torch
from hypothesis import given
from torchjd.aggregation import PCGradWeighting

from mtl.weighting import SMOOTHING
from mtl.weighting.pcgrad import PCGrad, pcgrad_coefficients, pcgrad_weights

from .helpers import FAST, direction, grad_matrices, make_ctx, random_grads, scale, t64

# --- hand-worked values ---------------------------------------------------------------------


def test_conflicting_pair():
    # g1=(1,0), g2=(-1,1): g1.g2 = -1 < 0, |g1|^2 = 1, |g2|^2 = 2.
    # g1' = g1 - (g1.g2)/|g2|^2 g2 = g1 + 1/2 g2 = (1/2, 1/2)   -> coefficients (1, 1/2)
    # g2' = g2 - (g2.g1)/|g1|^2 g1 = g2 + g1     = (0, 1)       -> coefficients (1, 1)
    # weights = column sums = (2, 3/2); d = (1/2, 3/2).
    g = t64([[1, 0], [-1, 1]])
    C = pcgrad_coefficients(g)
    torch.testing.assert_close(C, t64([[1, 0.5], [1, 1]]))
    torch.testing.assert_close(C @ g, t64([[0.5, 0.5], [0, 1]]))
    w = pcgrad_weights(g)
    torch.testing.assert_close(w, t64([2, 1.5]))
    torch.testing.assert_close(direction(w, g), t64([0.5, 1.5]))


def test_no_conflict_is_plain_sum():
    # g1=(1,0), g2=(1,1): g1.g2 = 1 >= 0, nothing is projected: weights (1, 1).
    torch.testing.assert_close(pcgrad_weights(t64([[1, 0], [1, 1]])), t64([1, 1]))


def test_three_tasks_order_matters():
    # g1=(1,0), g2=(1,1), g3=(-1,-2). Gram: g1.g2 = 1, g1.g3 = -1, g2.g3 = -3, |g3|^2 = 5.
    # Task 1 (visits 2 then 3): g1.g2 = 1 no conflict; g1.g3 = -1 -> g1 + 1/5 g3 = (0.8, -0.4);
    #   coefficients (1, 0, 0.2). (Order 3 then 2: same projection, then (0.8,-0.4).g2 = 0.4 >= 0.)
    # Task 2 (visits 1 then 3): g2.g1 = 1 no; g2.g3 = -3 -> g2 + 3/5 g3 = (0.4, -0.2);
    #   coefficients (0, 1, 0.6). (Order 3 then 1: same, then (0.4,-0.2).g1 = 0.4 >= 0.)
    # Task 3 ascending (1 then 2): g3.g1 = -1 -> g3 + g1 = (0, -2); (0,-2).g2 = -2 -> + 2/2 g2
    #   = (1, -1); coefficients (1, 1, 1).
    # Task 3 descending (2 then 1): g3.g2 = -3 -> g3 + 3/2 g2 = (0.5, -0.5); (0.5,-0.5).g1 = 0.5
    #   no conflict; coefficients (0, 1.5, 1).
    g = t64([[1, 0], [1, 1], [-1, -2]])
    ascending = pcgrad_coefficients(g)
    torch.testing.assert_close(ascending, t64([[1, 0, 0.2], [0, 1, 0.6], [1, 1, 1]]))
    torch.testing.assert_close(pcgrad_weights(g), t64([2, 2, 1.8]))
    descending = torch.tensor([[2, 1, 0], [2, 1, 0], [2, 1, 0]])
    torch.testing.assert_close(pcgrad_weights(g, order=descending), t64([1, 2.5, 1.8]))


def test_exactly_opposite_pair_cancels():
    # g2 = -g1: g1' = g1 - (-|g|^2 / |g|^2) g2 = g1 + g2 = 0, likewise g2' = 0; weights (2, 2).
    g = t64([[1, 2], [-1, -2]])
    w = pcgrad_weights(g)
    torch.testing.assert_close(w, t64([2, 2]))
    torch.testing.assert_close(direction(w, g), t64([0, 0]))


# --- properties -----------------------------------------------------------------------------


@FAST
@given(grad_matrices(t_min=2, t_max=2, p_min=2, p_max=5))
def test_projected_pair_no_longer_conflicts(g):
    projected = pcgrad_coefficients(g) @ g
    tol = 1e-9 * scale(g)
    assert projected[0] @ g[1] >= -tol
    assert projected[1] @ g[0] >= -tol
    # Where they conflicted, the projection leaves exactly orthogonality.
    if g[0] @ g[1] < 0:
        assert abs(projected[0] @ g[1]) <= tol
        assert abs(projected[1] @ g[0]) <= tol
    # and the summed direction helps (or at least does not hurt) both tasks
    d = projected.sum(0)
    assert torch.all(d @ g.T >= -tol)


@FAST
@given(grad_matrices(t_min=3, t_max=5, p_min=2, p_max=5))
def test_last_projection_holds_for_more_tasks(g):
    # For T > 2 a later projection may re-create an earlier conflict, but never with the last
    # task visited (ascending order: task T-1 for every i < T-1, task T-2 for i = T-1).
    T = g.shape[0]
    projected = pcgrad_coefficients(g) @ g
    tol = 1e-9 * scale(g)
    for i in range(T):
        last = T - 1 if i != T - 1 else T - 2
        assert projected[i] @ g[last] >= -tol


@FAST
@given(grad_matrices(t_min=2, t_max=4, p_min=2, p_max=4))
def test_weights_match_the_explicit_algorithm(g):
    # Direct transcription of Algorithm 1 on vectors (ascending order), against our Gram form.
    T = g.shape[0]
    total = torch.zeros_like(g[0])
    for i in range(T):
        gi = g[i].clone()
        for j in range(T):
            if j != i and gi @ g[j] < 0:
                gi = gi - (gi @ g[j]) / (g[j] @ g[j]) * g[j]
        total += gi
    torch.testing.assert_close(direction(pcgrad_weights(g), g), total, atol=1e-8 * scale(g), rtol=0)


def test_no_conflict_anywhere_gives_ones():
    g = random_grads(10, 4, 6, seed=1).abs()  # non-negative entries: every g_i.g_j >= 0
    torch.testing.assert_close(pcgrad_weights(g), torch.ones(10, 4, dtype=torch.float64))


# --- batching and order ---------------------------------------------------------------------


@pytest.mark.parametrize("T", [1, 2, 3, 4])
def test_batched_equals_unbatched(T):
    g = random_grads(2, 3, T, 5, seed=T)
    batched = pcgrad_weights(g)
    assert batched.shape == (2, 3, T)
    for idx in itertools.product(range(2), range(3)):
        torch.testing.assert_close(batched[idx], pcgrad_weights(g[idx]))


def test_generator_draws_valid_reproducible_orders():
    g = random_grads(3, 3, 4, seed=5)
    a = pcgrad_weights(g, generator=torch.Generator().manual_seed(7))
    b = pcgrad_weights(g, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a, b)
    # Every result must be one of the results of an explicit order (6 permutations per task,
    # 6^3 combinations for T = 3), evaluated all at once as a batch.
    perms = torch.tensor(list(itertools.permutations(range(3))))
    combos = torch.stack([perms[list(c)] for c in itertools.product(range(6), repeat=3)])
    for k in range(3):
        candidates = pcgrad_weights(g[k].expand(len(combos), 3, 4), order=combos)
        assert torch.isclose(candidates, a[k]).all(-1).any()


def test_order_is_validated():
    g = random_grads(3, 4, seed=0)
    with pytest.raises(ValueError, match="permutation"):
        pcgrad_weights(g, order=torch.zeros(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="shape"):
        pcgrad_weights(g, order=torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="at most one"):
        pcgrad_weights(g, order=torch.eye(3, dtype=torch.long), generator=torch.Generator())


# --- TorchJD 0.18 ---------------------------------------------------------------------------


def test_matches_torchjd_for_two_tasks():
    # For T = 2 TorchJD's random permutation has no effect: weights must agree exactly
    # (up to float32 rounding: TorchJD works in the Gram matrix's dtype).
    g = random_grads(40, 2, 6, seed=2, dtype=torch.float32)
    ours = pcgrad_weights(g)
    theirs = torch.stack([PCGradWeighting()(m @ m.T) for m in g])
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("T", [3, 4, 5])
def test_matches_torchjd_with_its_random_order(T):
    # Convention difference: for T > 2 TorchJD visits the other tasks in the order of a fresh
    # torch.randperm(T) per task, from the global RNG; we default to ascending order. Replaying
    # TorchJD's permutations through our `order` argument must reproduce its weights exactly.
    g = random_grads(15, T, 6, seed=T)
    for k, m in enumerate(g):
        torch.manual_seed(100 + k)
        perms = torch.stack([torch.randperm(T) for _ in range(T)])
        torch.manual_seed(100 + k)
        theirs = PCGradWeighting()(m @ m.T)
        torch.testing.assert_close(pcgrad_weights(m, order=perms), theirs, atol=1e-10, rtol=0)


# --- degenerate inputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([[0, 0], [0, 0]], [1, 1]),  # zero gradients never conflict
        ([[1, 2], [1, 2]], [1, 1]),  # identical: no conflict
        ([[1, 2], [0, 0]], [1, 1]),  # a zero gradient causes no projection (no 0/0)
        ([[3, 4]], [1]),  # T = 1
    ],
)
def test_degenerate_inputs(rows, expected):
    torch.testing.assert_close(pcgrad_weights(t64(rows)), t64(expected))


def test_degenerate_many_tasks_are_finite():
    for g in (torch.zeros(4, 3), t64([[1, 0, 0], [-1, 0, 0], [1, 0, 0], [-2, 0, 0]])):
        assert torch.isfinite(pcgrad_weights(g)).all()


# --- the method class -----------------------------------------------------------------------


def test_method_class():
    assert PCGrad.name == "pcgrad" and PCGrad.combines == "gradients" and "Yu" in PCGrad.citation
    assert PCGrad.hparams == (SMOOTHING,)  # CR-MOGM smoothing only
    g = random_grads(3, 2, 5, dtype=torch.float32)
    w = PCGrad(make_ctx(K=3, T=2)).weights(torch.ones(3, 2), g, step=4)
    assert w.shape == (3, 2) and w.dtype == torch.float32
    torch.testing.assert_close(w, pcgrad_weights(g))


def test_two_task_shortcut_equals_the_general_projection():
    # with the Gram matrix given, two tasks take a shortcut; it must equal the general loop
    g = torch.randn(40, 2, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    g[:10, 1] = -0.5 * g[:10, 0]  # conflicting
    g[10, 1] = 0.0  # a zero gradient
    G = g @ g.mT
    general = pcgrad_coefficients(g, gram=G).sum(-2)
    assert torch.equal(pcgrad_weights(g, gram=G), general)
    assert (general != 1.0).any()  # some members were projected
