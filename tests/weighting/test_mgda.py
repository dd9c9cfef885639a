import itertools

import pytest
import torch
from hypothesis import given
from torchjd.aggregation import MGDAWeighting

from mtl.errors import ConfigError
from mtl.weighting import gradient_weights
from mtl.weighting.mgda import MGDA, mgda_weights, min_norm_weights

from .helpers import FAST, direction, grad_matrices, make_ctx, random_grads, scale, t64

# --- hand-worked values ---------------------------------------------------------------------


def test_orthonormal_pair_is_the_midpoint():
    # g1=(1,0), g2=(0,1): gamma = ((g2-g1).g2) / |g1-g2|^2 = (0*... + 1*1) / 2 = 1/2.
    w = mgda_weights(t64([[1, 0], [0, 1]]))
    torch.testing.assert_close(w, t64([0.5, 0.5]))


def test_unequal_orthogonal_pair():
    # g1=(2,0), g2=(0,1): (g2-g1).g2 = (-2,1).(0,1) = 1, |g1-g2|^2 = 4 + 1 = 5, gamma = 1/5.
    # d = 0.2 (2,0) + 0.8 (0,1) = (0.4, 0.8): d.g1 = 0.8 = d.g2 = |d|^2 = 0.16 + 0.64.
    g = t64([[2, 0], [0, 1]])
    w = mgda_weights(g)
    torch.testing.assert_close(w, t64([0.2, 0.8]))
    d = direction(w, g)
    torch.testing.assert_close(d @ g.T, t64([0.8, 0.8]))
    torch.testing.assert_close(d @ d, torch.tensor(0.8, dtype=torch.float64))


def test_conflicting_pair():
    # g1=(1,0), g2=(-1,1): (g2-g1).g2 = (-2,1).(-1,1) = 3, |g1-g2|^2 = 4 + 1 = 5, gamma = 3/5.
    # d = (0.6 - 0.4, 0.4) = (0.2, 0.4); d.g1 = 0.2, d.g2 = -0.2 + 0.4 = 0.2 = |d|^2.
    w = mgda_weights(t64([[1, 0], [-1, 1]]))
    torch.testing.assert_close(w, t64([0.6, 0.4]))


def test_boundary_solution_puts_all_weight_on_the_shorter_gradient():
    # g1=(1,0), g2=(1,1): (g2-g1).g2 = (0,1).(1,1) = 1, |g1-g2|^2 = 1, gamma = 1 -> w = (1, 0).
    # d = g1 and d.g2 = 1 >= |d|^2 = 1: g1 alone already helps g2.
    w = mgda_weights(t64([[1, 0], [1, 1]]))
    torch.testing.assert_close(w, t64([1.0, 0.0]))
    # g1=(1,0), g2=(3,0): gamma = (2,0).(3,0) / 4 = 1.5, clamped to 1.
    torch.testing.assert_close(mgda_weights(t64([[1, 0], [3, 0]])), t64([1.0, 0.0]))


def test_three_orthonormal_gradients_get_a_third_each():
    # By symmetry the min-norm point of the simplex e1, e2, e3 is its centroid (1/3, 1/3, 1/3).
    w = mgda_weights(torch.eye(3, dtype=torch.float64))
    torch.testing.assert_close(w, torch.full((3,), 1 / 3, dtype=torch.float64))


def test_three_gradients_with_a_redundant_one():
    # conv{e1, e2, e1+e2}: the min-norm point is (1/2, 1/2, 0) on the edge e1-e2, and
    # g3 = e1 + e2 gets no weight since d.g3 = 1 > |d|^2 = 1/2.
    w = mgda_weights(t64([[1, 0], [0, 1], [1, 1]]))
    torch.testing.assert_close(w, t64([0.5, 0.5, 0.0]))


def test_l2_normalisation_solves_on_unit_gradients():
    # Unit gradients (1,0), (0,1) -> simplex weights (1/2, 1/2); on the original gradients
    # g1=(2,0), g2=(0,1) these are (1/2 / 2, 1/2 / 1) = (1/4, 1/2), so d = (0.5, 0.5).
    g = t64([[2, 0], [0, 1]])
    w = mgda_weights(g, normalize="l2")
    torch.testing.assert_close(w, t64([0.25, 0.5]))
    torch.testing.assert_close(direction(w, g), t64([0.5, 0.5]))


# --- properties -----------------------------------------------------------------------------


@FAST
@given(grad_matrices(t_min=2, t_max=4, p_min=2, p_max=5))
def test_weights_lie_on_the_simplex(g):
    w = mgda_weights(g)
    assert torch.all(w >= 0)
    torch.testing.assert_close(w.sum(), torch.tensor(1.0, dtype=torch.float64))


@FAST
@given(grad_matrices(t_min=2, t_max=2, p_min=2, p_max=5))
def test_optimality_conditions_for_two_tasks(g):
    # KKT of min |d|^2 on the simplex: d.g_t >= |d|^2 for all t, with equality where w_t > 0.
    # At an interior solution both projections equal |d|^2.
    w = mgda_weights(g)
    d = direction(w, g)
    proj, norm2 = d @ g.T, d @ d
    tol = 1e-9 * scale(g)
    assert torch.all(proj >= norm2 - tol)
    active = w > 1e-9
    assert torch.all((proj[active] - norm2).abs() <= tol)


@FAST
@given(grad_matrices(t_min=3, t_max=4, p_min=3, p_max=6))
def test_no_worse_than_any_edge_or_vertex(g):
    # The min-norm point of the whole hull is no longer than the min-norm point of any edge
    # (the exact T = 2 closed form on each pair of gradients).
    w = mgda_weights(g)
    best = direction(w, g).square().sum()
    tol = 1e-9 * scale(g)
    for i, j in itertools.combinations(range(g.shape[0]), 2):
        pair = g[[i, j]]
        edge = direction(mgda_weights(pair), pair).square().sum()
        assert best <= edge + tol


def test_kkt_for_more_tasks_in_general_position():
    # T = 4 linearly independent gradients: after the default iterations the solution satisfies
    # the optimality conditions to high accuracy.
    g = random_grads(20, 4, 8, seed=3)
    w = mgda_weights(g)
    d = direction(w, g)
    proj = torch.einsum("kp,ktp->kt", d, g)
    norm2 = (d * d).sum(-1, keepdim=True)
    assert torch.all(proj >= norm2 - 1e-8)
    assert torch.all(torch.where(w > 1e-6, (proj - norm2).abs(), 0.0) <= 1e-6)


# --- batching -------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [1, 2, 3, 5])
@pytest.mark.parametrize("normalize", ["none", "l2"])
def test_batched_equals_unbatched(T, normalize):
    g = random_grads(2, 3, T, 6, seed=T)
    batched = mgda_weights(g, normalize=normalize)
    assert batched.shape == (2, 3, T)
    for idx in itertools.product(range(2), range(3)):
        torch.testing.assert_close(batched[idx], mgda_weights(g[idx], normalize=normalize))


def test_returns_input_dtype():
    g = random_grads(4, 2, 5, dtype=torch.float32)
    assert mgda_weights(g).dtype == torch.float32


# --- TorchJD 0.18 ---------------------------------------------------------------------------


def test_matches_torchjd_for_two_tasks():
    # TorchJD's MGDAWeighting is the paper's Algorithm 2 (Frank-Wolfe from uniform weights) on the
    # Gram matrix. For T = 2 its first line search already covers the half of the simplex holding
    # the optimum, so it is exact, and the weights must agree to rounding.
    g = random_grads(50, 2, 7, seed=11)
    ours = mgda_weights(g)
    theirs = torch.stack([MGDAWeighting()(m @ m.T) for m in g])
    torch.testing.assert_close(ours, theirs, atol=1e-10, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("T", [3, 4, 5])
def test_matches_torchjd_for_more_tasks(T):
    # Convention difference: TorchJD runs plain Frank-Wolfe (O(1/k)) and stops when the step falls
    # below epsilon; we run pairwise Frank-Wolfe, which converges linearly, to rounding. Both target
    # the same min-norm point d*, so the exact relations are: our |d|^2 is no larger than theirs,
    # and, since |h - d*|^2 <= |h|^2 - |d*|^2 for every h in the hull, the squared distance between
    # the two directions is at most the difference of their squared norms. TorchJD after 3000 plain
    # steps is still a few percent off in |d|^2, so that difference is only checked to be small.
    # Where the time goes: TorchJD's loop, 3000 Python-level steps of ~10 tiny tensor operations
    # on each input where it never reaches epsilon (1, 4 and 6 of the 10 for T = 3, 4, 5); ours
    # is ~1% of it. Inference mode drops the autograd bookkeeping of those operations (about a
    # fifth of their cost) and leaves TorchJD's result bit for bit the same.
    g = random_grads(10, T, 8, seed=T)
    ours = direction(mgda_weights(g), g)
    weighting = MGDAWeighting(epsilon=1e-9, max_iters=3000)
    with torch.inference_mode():
        theirs = direction(torch.stack([weighting(m @ m.T) for m in g]), g)
    theirs2 = (theirs * theirs).sum(-1)
    gap = theirs2 - (ours * ours).sum(-1)
    assert torch.all(gap >= -1e-12)
    assert torch.all(((theirs - ours) ** 2).sum(-1) <= gap + 1e-10)
    assert torch.all(gap <= 0.05 * theirs2)


# --- degenerate inputs ----------------------------------------------------------------------


S5 = 5**-0.5


@pytest.mark.parametrize(
    ("rows", "normalize", "expected_w", "expected_d"),
    [
        # zero gradients: every w gives d = 0; keep the middle
        ([[0, 0], [0, 0]], "none", [0.5, 0.5], [0, 0]),
        ([[0, 0], [0, 0]], "l2", [0.5, 0.5], [0, 0]),
        # identical: every w gives the same d = g
        ([[1, 2], [1, 2]], "none", [0.5, 0.5], [1, 2]),
        # ... l2: the unit gradients are identical too, weights (1/2, 1/2) / |g| = / sqrt(5)
        ([[1, 2], [1, 2]], "l2", [0.5 * S5, 0.5 * S5], [S5, 2 * S5]),
        # exactly opposite: the midpoint is 0
        ([[1, 2], [-1, -2]], "none", [0.5, 0.5], [0, 0]),
        ([[1, 2], [-1, -2]], "l2", [0.5 * S5, 0.5 * S5], [0, 0]),
        # one zero gradient: 0 is a vertex of the hull, all weight on it (Pareto-stationary);
        # with l2 its "unit gradient" is 0 and its weight is not divided
        ([[0, 0], [1, 2]], "none", [1.0, 0.0], [0, 0]),
        ([[0, 0], [1, 2]], "l2", [1.0, 0.0], [0, 0]),
    ],
)
def test_degenerate_pairs(rows, normalize, expected_w, expected_d):
    g = t64(rows)
    w = mgda_weights(g, normalize=normalize)
    torch.testing.assert_close(w, t64(expected_w))
    torch.testing.assert_close(direction(w, g), t64(expected_d))


@pytest.mark.parametrize("normalize", ["none", "l2"])
def test_degenerate_many_tasks_and_single_task(normalize):
    cases = [
        torch.zeros(4, 3, dtype=torch.float64),
        t64([[1, 1, 0]] * 4),
        t64([[1, 0, 0], [-1, 0, 0], [1, 0, 0], [0, 0, 0]]),
    ]
    for g in cases:
        w = mgda_weights(g, normalize=normalize)
        assert torch.isfinite(w).all()
    torch.testing.assert_close(mgda_weights(t64([[3, 4]])), t64([1.0]))
    torch.testing.assert_close(mgda_weights(t64([[0, 0]])), t64([1.0]))


def test_min_norm_weights_accepts_a_gram_matrix():
    G = t64([[4, 0], [0, 1]])
    torch.testing.assert_close(min_norm_weights(G), t64([0.2, 0.8]))


# --- the method class -----------------------------------------------------------------------


def test_method_class():
    assert MGDA.name == "mgda" and MGDA.kind == "gradient" and "Sener" in MGDA.citation
    assert MGDA.defaults() == {"normalize": "none", "upper_bound": False, "smoothing": 0.0}
    g = random_grads(3, 2, 5, dtype=torch.float32)
    method = MGDA(make_ctx(K=3, T=2))
    w = method.weights(torch.ones(3, 2), g, step=0)
    assert w.shape == (3, 2) and w.dtype == torch.float32
    torch.testing.assert_close(w, mgda_weights(g))
    torch.testing.assert_close(
        MGDA(make_ctx(K=3), normalize="l2").weights(torch.ones(3, 2), g, 0),
        mgda_weights(g, normalize="l2"),
    )


def test_method_rejects_bad_normalize():
    with pytest.raises(ConfigError, match="normalize"):
        MGDA(make_ctx(), normalize="l1")
    with pytest.raises(ValueError, match="normalize"):
        mgda_weights(t64([[1, 0], [0, 1]]), normalize="l1")


# --- loss and loss+ normalisations (the official code's normalization_type) ------------------


@pytest.mark.parametrize(
    ("normalize", "expected_w", "expected_d"),
    [
        # g1 = (2, 0), g2 = (0, 1), L = (2, 0.5). loss: u = g / L = (1, 0), (0, 2);
        # gamma = ((u2 - u1) . u2) / |u1 - u2|^2 = 4 / 5, so (0.8, 0.2) on u and
        # (0.8 / 2, 0.2 / 0.5) = (0.4, 0.4) on g; d = (0.8, 0.4).
        ("loss", [0.4, 0.4], [0.8, 0.4]),
        # loss+: n = L |g| = (4, 0.5), u = (0.5, 0), (0, 2); gamma = 4 / 4.25 = 16/17, so
        # (16/17 / 4, 1/17 / 0.5) = (4/17, 2/17) on g; d = (8/17, 2/17).
        ("loss+", [4 / 17, 2 / 17], [8 / 17, 2 / 17]),
    ],
)
def test_loss_normalisations_by_hand(normalize, expected_w, expected_d):
    g, losses = t64([[2, 0], [0, 1]]), t64([2, 0.5])
    w = mgda_weights(g, normalize=normalize, losses=losses)
    torch.testing.assert_close(w, t64(expected_w))
    torch.testing.assert_close(direction(w, g), t64(expected_d))
    torch.testing.assert_close(gradient_weights("mgda", g, losses=losses, normalize=normalize), w)


def test_loss_normalisations_need_the_losses_and_the_class_passes_them():
    g = random_grads(3, 2, 5, seed=4)
    losses = torch.rand(3, 2, generator=torch.Generator().manual_seed(0)) + 0.1
    for normalize in ("loss", "loss+"):
        with pytest.raises(ValueError, match="losses"):
            mgda_weights(g, normalize=normalize)
        method = MGDA(make_ctx(K=3), normalize=normalize)
        torch.testing.assert_close(
            method.weights(losses, g, 0), mgda_weights(g, normalize=normalize, losses=losses)
        )
    # loss+ with equal losses is l2 divided by the common loss
    same = torch.full((3, 2), 2.0, dtype=torch.float64)
    torch.testing.assert_close(
        mgda_weights(g, normalize="loss+", losses=same), mgda_weights(g, normalize="l2") / 2
    )


def test_zero_loss_leaves_the_gradient_undivided():
    g, losses = t64([[1, 0], [0, 1]]), t64([0.0, 1.0])
    w = mgda_weights(g, normalize="loss", losses=losses)
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w, mgda_weights(g))


def test_a_zero_gradient_takes_all_the_weight():
    # Hypothesis found this: with g_2 = 0 the min-norm point is 0 itself (all weight on task 2),
    # where Frank-Wolfe from uniform weights zig-zags between the two vertices tied at (Gw)_t = 0.
    g = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0625, 0.0]], dtype=torch.float64)
    w = mgda_weights(g)
    assert torch.allclose(w, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))


def test_frank_wolfe_for_many_tasks_agrees_with_the_exact_solver():
    from mtl.weighting.mgda import _best_support, _pairwise_frank_wolfe

    g = torch.randn(4, 7, 12, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    G = g @ g.transpose(-1, -2)
    exact, approx = _best_support(G), _pairwise_frank_wolfe(G, 1000)

    def norm2(w):
        return (w.unsqueeze(-2) @ G @ w.unsqueeze(-1)).squeeze()

    assert torch.allclose(norm2(approx), norm2(exact), rtol=1e-6, atol=1e-10)
    assert torch.allclose(exact.sum(-1), torch.ones(4, dtype=torch.float64))
