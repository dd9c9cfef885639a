import itertools
import math

import pytest
import torch
from hypothesis import given

from mtl.errors import ConfigError
from mtl.weighting import cagrad, gradient_weights
from mtl.weighting.cagrad import CAGrad, cagrad_weights, project_simplex

from .helpers import FAST, direction, grad_matrices, make_ctx, random_grads, scale, t64


def objective(g: torch.Tensor, w: torch.Tensor, c: float) -> torch.Tensor:
    """The paper's inner objective g_w . g0 + c |g0| |g_w|, for a batch of weights w [N, T]."""
    g0 = g.mean(0)
    gw = w @ g
    return gw @ g0 + c * g0.norm() * gw.norm(dim=-1)


def simplex_grid(T: int, n: int) -> torch.Tensor:
    """All points of the simplex with coordinates in multiples of 1/n: [N, T]."""
    if T == 2:
        a = torch.linspace(0, 1, n + 1, dtype=torch.float64)
        return torch.stack([a, 1 - a], -1)
    pts = [(i, j, n - i - j) for i in range(n + 1) for j in range(n + 1 - i)]
    return torch.tensor(pts, dtype=torch.float64) / n


def inner_solution(weights: torch.Tensor, T: int, r: float) -> torch.Tensor:
    """Recover w* from the final weights 1/T + (r / |g_w*|) w*: subtract 1/T, renormalise."""
    extra = weights - 1.0 / T
    return extra / extra.sum() if r > 0 else extra


# --- hand-worked values ---------------------------------------------------------------------


def test_orthonormal_pair():
    # g1=(1,0), g2=(0,1), c=1/2: g0 = (1/2, 1/2), |g0| = sqrt(2)/2, sqrt(phi) = sqrt(2)/4.
    # f(a) = g_w.g0 + sqrt(phi)|g_w| = 1/2 + sqrt(phi) sqrt(a^2 + (1-a)^2): minimal at a = 1/2,
    # g_w = (1/2, 1/2), |g_w| = sqrt(2)/2. Weights 1/2 + (sqrt(2)/4)/(sqrt(2)/2) * 1/2 = 3/4 each,
    # d = (3/4, 3/4) = (1 + c) g0 (g_w is parallel to g0 here).
    w = cagrad_weights(t64([[1, 0], [0, 1]]), c=0.5)
    torch.testing.assert_close(w, t64([0.75, 0.75]))


def test_conflicting_pair():
    # g1=(1,0), g2=(-1,1), c=1/2: g0 = (0, 1/2), |g0| = 1/2, sqrt(phi) = 1/4.
    # g_w = (2a-1, 1-a): f(a) = (1-a)/2 + 1/4 sqrt(5a^2 - 6a + 2),
    # f'(a) = -1/2 + (10a - 6) / (8 sqrt(5a^2 - 6a + 2)); f'(1) = -1/2 + 4/8 = 0, so a = 1 (the
    # boundary of [0, 1]), g_w = g1, |g_w| = 1. Weights (1/2 + 1/4, 1/2) = (3/4, 1/2);
    # d = (1/4, 1/2) and d.g1 = d.g2 = 1/4: both tasks improve equally.
    g = t64([[1, 0], [-1, 1]])
    w = cagrad_weights(g, c=0.5)
    torch.testing.assert_close(w, t64([0.75, 0.5]))
    torch.testing.assert_close(direction(w, g) @ g.T, t64([0.25, 0.25]))


def test_collinear_unequal_opposite_pair():
    # g1=(1,0), g2=(-1/2,0), c=1/2: g0 = (1/4, 0), sqrt(phi) = 1/8. g_w = (3a/2 - 1/2, 0),
    # f = g_w.g0 + 1/8 |g_w| = y/4 + |y|/8 with y = 3a/2 - 1/2 in [-1/2, 1]: minimal at y = -1/2,
    # a = 0, g_w = g2, |g_w| = 1/2. Weights (1/2, 1/2 + (1/8)/(1/2)) = (1/2, 3/4);
    # d = (1/2 - 3/8, 0) = (1/8, 0) = g0 + sqrt(phi) g2/|g2|.
    g = t64([[1, 0], [-0.5, 0]])
    torch.testing.assert_close(cagrad_weights(g, c=0.5), t64([0.5, 0.75]))


def test_zero_c_is_the_mean():
    # c = 0: sqrt(phi) = 0 and d = g0 whatever w*, even when w* picks a near-zero gradient
    # (here g_w* = g2 with |g2| = 1e-6 < eps |J|_F, and g0 conflicts with g2).
    torch.testing.assert_close(cagrad_weights(t64([[1, 0], [-1e-6, 0]]), c=0.0), t64([0.5, 0.5]))
    g = random_grads(5, 3, 4, seed=1)
    torch.testing.assert_close(
        cagrad_weights(g, c=0.0), torch.full((5, 3), 1 / 3, dtype=torch.float64)
    )


def test_single_task_is_scaled_by_one_plus_c():
    # T = 1: g0 = g = g_w, d = g + c|g| g/|g| = (1 + c) g.
    torch.testing.assert_close(cagrad_weights(t64([[3, 4]]), c=0.4), t64([1.4]))


# --- properties -----------------------------------------------------------------------------


@FAST
@given(grad_matrices(t_min=2, t_max=2, p_min=2, p_max=4))
def test_two_task_solution_beats_a_fine_grid(g):
    # The closed form must be at least as good as the best of 20001 points on [0, 1].
    c = 0.5
    w = cagrad_weights(g, c=c)
    r = c * g.mean(0).norm().item()
    d = direction(w, g)
    gw_norm = (d - g.mean(0)).norm().item()
    if r == 0 or gw_norm == 0:
        return  # degenerate: the weights do not encode w* (covered by the degenerate tests)
    w_star = inner_solution(w, 2, r)
    grid = objective(g, simplex_grid(2, 20000), c).min()
    assert objective(g, w_star[None], c)[0] <= grid + 1e-10 * scale(g)


@pytest.mark.slow
@FAST
@given(grad_matrices(t_min=2, t_max=3, p_min=2, p_max=4))
def test_direction_stays_in_the_ball_and_attains_the_dual_value(g):
    # d = g0 + sqrt(phi) g_w/|g_w| lies on the sphere |d - g0| = sqrt(phi), and by strong duality
    # its worst-task improvement min_t g_t.d equals the inner minimum f(w*).
    c = 0.5
    w = cagrad_weights(g, c=c)
    g0 = g.mean(0)
    r = c * g0.norm().item()
    d = direction(w, g)
    tol = 1e-7 * scale(g)
    if r < 1e-3 or (d - g0).norm() < 1e-12:
        return
    assert abs((d - g0).norm().item() - r) <= 1e-7 * math.sqrt(scale(g))
    w_star = inner_solution(w, g.shape[0], r)
    assert abs((g @ d).min() - objective(g, w_star[None], c)[0]) <= tol


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("c", [0.2, 0.5, 0.9, 1.5])
def test_three_task_solution_beats_a_simplex_grid(seed, c):
    g = random_grads(3, 4, seed=seed)
    if seed % 2:
        g[2] = -0.7 * g[0] + 0.1 * g[1]  # strong conflict
    w = cagrad_weights(g, c=c)
    r = c * g.mean(0).norm().item()
    w_star = inner_solution(w, 3, r)
    assert torch.all(w_star >= -1e-12) and abs(w_star.sum().item() - 1) < 1e-9
    grid = objective(g, simplex_grid(3, 200), c).min()
    assert objective(g, w_star[None], c)[0] <= grid + 1e-9


@pytest.mark.parametrize("T", [3, 4, 5])
def test_many_task_solver_attains_the_dual_value_to_rounding(T):
    # The T > 2 solver stops on a Frank-Wolfe gap of 1e-13 trace G, and that gap is exactly
    # f(w) - min_t g_t . d (the module docstring): so the worst-task improvement of d must equal
    # the inner value f(w*) to ~1e-13 of |J|_F^2, on random and strongly conflicting inputs.
    c = 0.5
    for seed in range(4):
        g = random_grads(T, 6, seed=seed)
        if seed % 2:
            g[2] = -0.7 * g[0] + 0.1 * g[1]
        w = cagrad_weights(g, c=c)
        r = c * g.mean(0).norm().item()
        w_star = inner_solution(w, T, r)
        d = direction(w, g)
        value = objective(g, w_star[None], c)[0]
        assert abs((g @ d).min() - value) <= 1e-12 * g.square().sum()


def test_official_implementation_relation():
    # The official code (Cranial-XIX/CAGrad, rescale=1) returns d / (1 + c^2). Transcribed here
    # with w* from a fine grid instead of scipy: ours = official * (1 + c^2).
    c = 0.4
    for seed in range(5):
        g = random_grads(2, 5, seed=seed)
        GG = g @ g.T
        g0_norm = GG.mean().sqrt()
        coef = c * g0_norm
        grid = simplex_grid(2, 200000)
        cost = grid @ GG @ torch.full((2,), 0.5, dtype=torch.float64) + coef * torch.sqrt(
            ((grid @ GG) * grid).sum(-1)
        )
        ww = grid[cost.argmin()]
        gw = ww @ g
        official = (g.mean(0) + coef / gw.norm() * gw) / (1 + c**2)
        ours = direction(cagrad_weights(g, c=c), g)
        torch.testing.assert_close(ours, official * (1 + c**2), atol=1e-5, rtol=0)


def test_project_simplex():
    v = t64([[0.2, 0.3, 0.9], [1, 1, 1], [-1, 0, 5], [0.1, 0.2, 0.7]])
    torch.testing.assert_close(
        project_simplex(v),
        # (0.2,0.3,0.9) - 0.4/3; (1,1,1) - 2/3; only the 5 survives; already on the simplex.
        t64(
            [[0.2 - 0.4 / 3, 0.3 - 0.4 / 3, 0.9 - 0.4 / 3], [1 / 3] * 3, [0, 0, 1], [0.1, 0.2, 0.7]]
        ),
    )


# --- batching -------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [1, 2, 3, 4])
def test_batched_equals_unbatched(T):
    g = random_grads(2, 3, T, 6, seed=T)
    batched = cagrad_weights(g, c=0.5)
    assert batched.shape == (2, 3, T)
    for idx in itertools.product(range(2), range(3)):
        torch.testing.assert_close(batched[idx], cagrad_weights(g[idx], c=0.5))


def test_returns_input_dtype():
    assert cagrad_weights(random_grads(4, 2, 5, dtype=torch.float32)).dtype == torch.float32


# --- TorchJD 0.18 ---------------------------------------------------------------------------


@pytest.mark.parametrize("T", [2, 3])
def test_matches_torchjd(T):
    # TorchJD's CAGradWeighting solves the same inner problem with cvxpy/Clarabel on the
    # trace-normalised Gram matrix and, like us, does NOT rescale by 1 / (1 + c^2); the
    # normalisation cancels in sqrt(phi) / |g_w|, so the weights must be equal.
    pytest.importorskip("cvxpy", reason="torchjd's CAGrad needs the optional cvxpy + clarabel")
    pytest.importorskip("clarabel", reason="torchjd's CAGrad needs the optional cvxpy + clarabel")
    from torchjd.aggregation import CAGradWeighting

    g = random_grads(10, T, 6, seed=T)
    ours = cagrad_weights(g, c=0.5)
    theirs = torch.stack([CAGradWeighting(c=0.5)(m @ m.T) for m in g])
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)


# --- degenerate inputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "c", "expected"),
    [
        # all zero: g0 = 0 conflicts with nothing -> 1/T
        ([[0, 0], [0, 0]], 0.5, [0.5, 0.5]),
        # identical g: g_w = g whatever w, a = 1/2, weights 1/2 + c|g|/|g| * 1/2 = (1 + c)/2
        ([[1, 2], [1, 2]], 0.5, [0.75, 0.75]),
        # exactly opposite, equal norms: g0 = 0, phi = 0, every w is optimal; the midpoint has
        # g_w = 0 and g0 conflicts with nothing -> 1/T (d = 0 anyway)
        ([[1, 2], [-1, -2]], 0.5, [0.5, 0.5]),
        # one zero gradient: g_w* = g2 = 0 (f >= 0 = f(e2)); g0 = g1/2 helps g1 and is neutral for
        # g2, so d = g0: weights 1/T
        ([[1, 0], [0, 0]], 0.5, [0.5, 0.5]),
        # collinear opposite, c >= 1: f = |g1|^2 |1-b|/2 (y + c|y|) is minimal at y = 0, g_w* = 0;
        # g0 = (1/4, 0) conflicts with g2, no step: zeros (TorchJD's choice in every such case)
        ([[1, 0], [-0.5, 0]], 1.5, [0.0, 0.0]),
    ],
)
def test_degenerate_pairs(rows, c, expected):
    torch.testing.assert_close(cagrad_weights(t64(rows), c=c), t64(expected))


def test_degenerate_many_tasks_are_finite():
    for g in (torch.zeros(4, 3), t64([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, 0, 0]])):
        for c in (0.0, 0.5, 1.5):
            assert torch.isfinite(cagrad_weights(g, c=c)).all()


def test_negative_c_is_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        cagrad_weights(t64([[1, 0], [0, 1]]), c=-0.1)


# --- the method class -----------------------------------------------------------------------


def test_method_class():
    assert CAGrad.name == "cagrad" and CAGrad.kind == "gradient" and "Liu" in CAGrad.citation
    assert CAGrad.defaults() == {"c": 0.5, "rescale": "none", "smoothing": 0.0}
    assert CAGrad.hparam("c").allows(0.5)
    g = random_grads(3, 2, 5, dtype=torch.float32)
    w = CAGrad(make_ctx(K=3, T=2), c=0.3).weights(torch.ones(3, 2), g, step=0)
    assert w.shape == (3, 2) and w.dtype == torch.float32
    torch.testing.assert_close(w, cagrad_weights(g, c=0.3))


@pytest.mark.parametrize(("rescale", "divisor"), [("one_plus_c2", 1.09), ("one_plus_c", 1.3)])
def test_rescale_divides_the_paper_direction(rescale, divisor):
    # The official code's rescale=1 divides d by 1 + c^2, rescale=2 by 1 + c: for c = 0.3,
    # 1.09 and 1.3; the direction's orientation is unchanged. Hand-worked pair of this module:
    # g1 = (1, 0), g2 = (-1, 1) at c = 0.5 gives (0.75, 0.5); divided by 1.25 and by 1.5.
    g = random_grads(4, 2, 5, seed=9)
    torch.testing.assert_close(
        cagrad_weights(g, c=0.3, rescale=rescale), cagrad_weights(g, c=0.3) / divisor
    )
    pair = t64([[1, 0], [-1, 1]])
    expected = {"one_plus_c2": [0.6, 0.4], "one_plus_c": [0.5, 1 / 3]}[rescale]
    torch.testing.assert_close(
        gradient_weights("cagrad", pair, c=0.5, rescale=rescale), t64(expected)
    )
    method = CAGrad(make_ctx(K=4, T=2), c=0.3, rescale=rescale)
    torch.testing.assert_close(
        method.weights(torch.ones(4, 2), g, 0), cagrad_weights(g, c=0.3, rescale=rescale)
    )


def test_rescale_is_a_named_choice():
    assert CAGrad.hparam("rescale").choices == ("none", "one_plus_c2", "one_plus_c")
    with pytest.raises(ConfigError, match=r"weighting\.params\.rescale"):
        CAGrad(make_ctx(), rescale=1)  # the official code's number, not a name
    with pytest.raises(ValueError, match="rescale"):
        cagrad_weights(t64([[1, 0], [0, 1]]), rescale="twice")


def test_method_rejects_bad_c():
    with pytest.raises(ConfigError, match=r"weighting\.params\.c"):
        CAGrad(make_ctx(), c=-1.0)
    with pytest.raises(ConfigError, match=r"weighting\.params\.c"):
        CAGrad.check_params({"c": float("nan")})


def test_a_small_but_real_gradient_is_not_treated_as_zero():
    # g1 = (1, 0), g2 = (0, 1e4): g0 = (0.5, 5000), |g0| ~ 5000. The inner problem
    # min_w g_w . g0 + c |g0| |g_w| is minimised at w = (1, 0) (every bit of w2 costs 5e7 in the
    # first term), so g_w = g1 and d = g0 + c |g0| g1 / |g1|: weights (0.5 + c |g0|, 0.5).
    # With a 1e-4 degenerate threshold |g_w| = 1 <= 1e-4 * |J|_F = 1 and d fell back to g0.
    g = t64([[[1.0, 0.0], [0.0, 1e4]]])
    c = 0.5
    g0_norm = float(torch.tensor([0.5, 5000.0], dtype=torch.float64).norm())
    expected = t64([[0.5 + c * g0_norm, 0.5]])
    torch.testing.assert_close(cagrad_weights(g, c=c), expected, atol=1e-9, rtol=1e-12)
    d = direction(cagrad_weights(g, c=c), g)
    assert float(d[0, 0]) > 2500.0  # the worst-off task (the small one) now improves


@pytest.mark.parametrize("T", [3, 4, 5])
def test_the_many_task_solver_is_never_worse_than_descent_by_values_at_a_kink(T):
    # Collinear gradients with c >= 1: the inner optimum can sit where g_w = 0, a kink of f,
    # where the exact decrease test can stall; the solver then also runs the descent whose test
    # differences values of f, and keeps the lower f. Without that, 7e-10 trace G worse here.
    gen = torch.Generator().manual_seed(T)
    n, P = 200, 3
    base = torch.randn(n, 1, P, generator=gen, dtype=torch.float64)
    coef = torch.randn(n, T, 1, generator=gen, dtype=torch.float64)
    G = (coef * base) @ (coef * base).transpose(-1, -2)  # [n, T, T], rank one
    w0 = torch.full((n, T), 1.0 / T, dtype=torch.float64)
    b = (G @ w0.unsqueeze(-1)).squeeze(-1)
    c = torch.rand(n, generator=gen, dtype=torch.float64) + 1.0
    r = c * (w0 * b).sum(-1).clamp_min(0.0).sqrt()
    ours = cagrad._objective(G, b, r, cagrad._solve_pgd(G, b, r, 500))
    by_values = cagrad._objective(G, b, r, cagrad._descend_by_values(G, b, r, 500))
    trace = G.diagonal(dim1=-2, dim2=-1).sum(-1)
    assert ((ours - by_values) <= 1e-13 * trace).all()
