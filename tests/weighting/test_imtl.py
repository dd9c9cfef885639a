import itertools
import math

import pytest
import torch
from hypothesis import assume, given
from torchjd.aggregation import IMTLGWeighting

from mtl.errors import ConfigError
from mtl.weighting.imtl import IMTL, imtl_g_weights

from .helpers import FAST, direction, grad_matrices, make_ctx, random_grads, t64


def paper_formula(g: torch.Tensor) -> torch.Tensor:
    """The paper's closed form, task 1 as reference: alpha_{2:T} = g_1 U^T (D U^T)^{-1}."""
    u = g / g.norm(dim=-1, keepdim=True)
    D = g[0:1] - g[1:]  # rows g_1 - g_t, t = 2..T
    U = u[0:1] - u[1:]  # rows u_1 - u_t
    rest = g[0] @ U.T @ torch.linalg.inv(D @ U.T)
    return torch.cat([(1 - rest.sum()).unsqueeze(0), rest])


# --- hand-worked values ---------------------------------------------------------------------


def test_orthogonal_pair():
    # g1=(1,0), g2=(0,2). Paper: D = g1 - g2 = (1,-2), U = u1 - u2 = (1,0) - (0,1) = (1,-1),
    # D U^T = 1 + 2 = 3, g1 U^T = 1, so alpha_2 = 1/3 and alpha_1 = 2/3.
    # (T = 2 closed form: alpha = (|g2|, |g1|) / (|g1| + |g2|) = (2, 1) / 3.)
    # d = (2/3, 2/3); d.u1 = 2/3 = d.u2.
    g = t64([[1, 0], [0, 2]])
    w = imtl_g_weights(g)
    torch.testing.assert_close(w, t64([2 / 3, 1 / 3]))
    torch.testing.assert_close(direction(w, g), t64([2 / 3, 2 / 3]))


def test_conflicting_pair_follows_the_bisector():
    # g1=(1,0), g2=(-1,1): |g1| = 1, |g2| = sqrt(2). alpha = (sqrt(2), 1) / (1 + sqrt(2)).
    # d = (sqrt(2) - 1, 1) / (1 + sqrt(2)); d.u1 = (sqrt(2)-1)/(1+sqrt(2)),
    # d.u2 = (1 - sqrt(2) + 1) / (sqrt(2)(1 + sqrt(2))) = (sqrt(2) - 1)/(1 + sqrt(2)): equal.
    s2 = math.sqrt(2)
    g = t64([[1, 0], [-1, 1]])
    w = imtl_g_weights(g)
    torch.testing.assert_close(w, t64([s2, 1]) / (1 + s2))
    d = direction(w, g)
    units = g / g.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(
        d @ units.T, torch.full((2,), (s2 - 1) / (s2 + 1), dtype=torch.float64)
    )


def test_three_orthogonal_gradients():
    # g = diag(1, 2, 4): G = diag(1, 4, 16), n = (1, 2, 4), G^{-1} n = (1, 1/2, 1/4), sum 7/4,
    # alpha = (4, 2, 1)/7; d = (4/7, 4/7, 4/7) projects 4/7 on each unit axis.
    g = torch.diag(t64([1, 2, 4]))
    torch.testing.assert_close(imtl_g_weights(g), t64([4, 2, 1]) / 7)


# --- properties -----------------------------------------------------------------------------


@FAST
@given(grad_matrices(t_min=2, t_max=4, p_min=4, p_max=6))
def test_equal_projections_on_unit_gradients(g):
    # Only for well-conditioned, linearly independent gradients (the paper's setting).
    norms = g.norm(dim=-1)
    assume(bool((norms > 1e-3).all()))
    sv = torch.linalg.svdvals(g / norms[:, None])
    assume(sv[-1] > 1e-2)
    w = imtl_g_weights(g)
    assume(bool(torch.isfinite(w).all()) and w.abs().max() < 1e6)
    torch.testing.assert_close(w.sum(), torch.tensor(1.0, dtype=torch.float64))
    proj = direction(w, g) @ (g / norms[:, None]).T
    torch.testing.assert_close(
        proj, proj.mean().expand_as(proj), atol=1e-7 * norms.max(), rtol=1e-7
    )


@pytest.mark.parametrize("T", [2, 3, 4])
def test_matches_the_paper_closed_form(T):
    g = random_grads(10, T, T + 2, seed=T)
    for m in g:
        torch.testing.assert_close(imtl_g_weights(m), paper_formula(m))


# --- batching -------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [1, 2, 3, 5])
def test_batched_equals_unbatched(T):
    g = random_grads(2, 3, T, 6, seed=T)
    batched = imtl_g_weights(g)
    assert batched.shape == (2, 3, T)
    for idx in itertools.product(range(2), range(3)):
        torch.testing.assert_close(batched[idx], imtl_g_weights(g[idx]))


def test_returns_input_dtype():
    assert imtl_g_weights(random_grads(4, 2, 5, dtype=torch.float32)).dtype == torch.float32


# --- TorchJD 0.18 ---------------------------------------------------------------------------


@pytest.mark.parametrize(("T", "P"), [(2, 5), (3, 6), (5, 8), (4, 3)])
def test_matches_torchjd(T, P):
    # TorchJD's IMTLGWeighting computes v = pinv(G) sqrt(diag G), alpha = v / sum(v) (zeros when
    # |sum(v)| < 1e-12): the same generalisation we use, so the weights agree, including T > P
    # (linearly dependent gradients). Both in float64 here; for T > 2 the pinv cut-offs differ
    # (ours: 1e-12 of the largest eigenvalue, theirs: the float64 default), which only matters for
    # rank-deficient Gram matrices with eigenvalues between the two, not for these; for T = 2 we
    # use the closed form, equal to the pseudo-inverse for independent rows.
    g = random_grads(20, T, P, seed=10 * T + P)
    ours = imtl_g_weights(g)
    theirs = torch.stack([IMTLGWeighting()(m @ m.T) for m in g])
    torch.testing.assert_close(ours, theirs, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize(
    "rows",
    [
        [[0, 0], [0, 0]],
        [[1, 2], [1, 2]],
        [[1, 2], [-1, -2]],
        [[1, 0], [0, 0]],
    ],
)
def test_degenerate_pairs_match_torchjd(rows):
    # The weights may differ where they are not unique (e.g. opposite gradients of equal norms:
    # ours (1/2, 1/2), TorchJD's zeros); the directions agree.
    g = t64(rows)
    ours = direction(imtl_g_weights(g), g)
    theirs = direction(IMTLGWeighting()(g @ g.T), g)
    torch.testing.assert_close(ours, theirs, atol=1e-12, rtol=0)


@pytest.mark.parametrize("delta", [1e-5, 1e-7, 1e-3])
def test_nearly_opposite_pair_matches_torchjd_and_the_paper(delta):
    # The case that used to break: g1 = (1, 0), g2 = -2 (cos delta, -sin delta). The paper's
    # alpha = (|g2|, |g1|) / (|g1| + |g2|) = (2/3, 1/3), so d = (2/3) (1 - cos delta, sin delta):
    # about (3.3e-11, 6.7e-6) for delta = 1e-5. The old 1e-10 pinv cut-off gave (-5, 4e-5).
    c, s = math.cos(delta), math.sin(delta)
    g = t64([[1, 0], [-2 * c, 2 * s]])
    w = imtl_g_weights(g)
    torch.testing.assert_close(w, t64([2 / 3, 1 / 3]), atol=1e-15, rtol=0)
    d = direction(w, g)
    expected = t64([2 / 3 * (1 - c), 2 / 3 * s])
    torch.testing.assert_close(d, expected, atol=1e-15, rtol=1e-9)
    theirs = direction(IMTLGWeighting()(g @ g.T), g)
    assert float((theirs - d).norm()) <= 1e-3 * float(d.norm())
    # and for nearly parallel gradients: the same weights, d along the bisector
    g = t64([[1, 0], [2 * c, 2 * s]])
    torch.testing.assert_close(imtl_g_weights(g), t64([2 / 3, 1 / 3]), atol=1e-15, rtol=0)


def test_exactly_opposite_unequal_norms_give_a_zero_direction():
    # (g, -3g): the paper's D U^T = (4g) . (2 u) = 8|g| != 0, alpha_2 = g1 . U / (D U^T) = 1/4:
    # alpha = (3/4, 1/4), d = 0. TorchJD's pinv gives (-1/2, 3/2), d = -5 g, which increases L_1.
    g = t64([[1, 2], [-3, -6]])
    w = imtl_g_weights(g)
    torch.testing.assert_close(w, t64([0.75, 0.25]))
    torch.testing.assert_close(direction(w, g), t64([0, 0]))
    torch.testing.assert_close(IMTLGWeighting()(g @ g.T), t64([-0.5, 1.5]))


def test_exactly_parallel_unequal_norms_differ_from_torchjd():
    # (g, 2g): every alpha with sum 1 has equal projections; the closed form (the limit of the
    # paper's formula as the angle goes to 0) gives (2/3, 1/3), d = 4/3 g; TorchJD's minimum-norm
    # pinv solution gives (1/3, 2/3), d = 5/3 g. Both are impartial; ours is continuous.
    g = t64([[1, 2], [2, 4]])
    torch.testing.assert_close(imtl_g_weights(g), t64([2 / 3, 1 / 3]))
    torch.testing.assert_close(IMTLGWeighting()(g @ g.T), t64([1 / 3, 2 / 3]))


# --- degenerate inputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([[0, 0], [0, 0]], [0, 0]),  # nothing to balance: zeros
        ([[1, 2], [1, 2]], [0.5, 0.5]),  # identical: the closed form splits evenly
        ([[1, 2], [-1, -2]], [0.5, 0.5]),  # opposite, equal norms: d = 0
        ([[1, 0], [0, 0]], [1, 0]),  # a zero gradient imposes nothing and gets weight 0
        ([[3, 4]], [1]),  # T = 1
    ],
)
def test_degenerate_inputs(rows, expected):
    torch.testing.assert_close(imtl_g_weights(t64(rows)), t64(expected), atol=1e-12, rtol=0)


def test_degenerate_many_tasks_are_finite():
    for g in (torch.zeros(4, 3), t64([[1, 0, 0], [-1, 0, 0], [1, 0, 0], [0, 0, 0]])):
        assert torch.isfinite(imtl_g_weights(g)).all()


# --- the method class -----------------------------------------------------------------------


def test_method_class_metadata():
    assert IMTL.name == "imtl" and IMTL.kind == "gradient" and "Liu" in IMTL.citation
    assert IMTL.defaults() == {"mode": "hybrid", "smoothing": 0.0}
    assert IMTL.hparam("mode").choices == ("hybrid", "gradient", "loss")
    with pytest.raises(ConfigError, match=r"weighting\.params\.mode"):
        IMTL(make_ctx(), mode=1)  # a code, not a name
    with pytest.raises(ConfigError, match=r"weighting\.params\.mode"):
        IMTL.check_params({"mode": 0.5})


def test_mode_g_is_stateless_imtl_g():
    method = IMTL(make_ctx(K=3, T=2), mode="gradient")
    g = random_grads(3, 2, 5, dtype=torch.float32)
    torch.testing.assert_close(method.weights(torch.ones(3, 2), g, 0), imtl_g_weights(g))
    method.after_step(torch.full((3, 2), 5.0))
    torch.testing.assert_close(method.weights(torch.ones(3, 2), g, 1), imtl_g_weights(g))


def test_mode_l_learns_the_loss_scales():
    # s starts at 0 (weights 1). One SGD step with lr = 0.1 on d/ds (e^s L - s) = e^s L - 1:
    # L = (2, 0.5) -> s = -0.1 (2 - 1), -0.1 (0.5 - 1) = (-0.1, 0.05), weights (e^-0.1, e^0.05).
    method = IMTL(make_ctx(K=1, T=2, lr=0.1), mode="loss")
    g = random_grads(1, 2, 3, dtype=torch.float32)
    torch.testing.assert_close(method.weights(torch.ones(1, 2), g, 0), torch.ones(1, 2))
    losses = torch.tensor([[2.0, 0.5]])
    method.after_step(losses)
    expected = torch.tensor([[math.exp(-0.1), math.exp(0.05)]])
    torch.testing.assert_close(method.weights(losses, g, 1), expected)
    # At the fixed point e^s = 1 / L the scaled losses are all 1.
    for _ in range(500):
        method.after_step(losses)
    torch.testing.assert_close(method.weights(losses, g, 2) * losses, torch.ones(1, 2))


def test_hybrid_balances_the_scaled_gradients():
    # Hybrid: IMTL-G on e^s g, then weights alpha * e^s on the original g. The direction still has
    # equal projections on the unit gradients (IMTL-G is invariant to the scales' directions).
    method = IMTL(make_ctx(K=4, T=2, lr=0.1))  # mode hybrid
    g = random_grads(4, 2, 6, seed=9)
    losses = torch.tensor([[2.0, 0.5], [1.0, 1.0], [0.1, 3.0], [4.0, 4.0]], dtype=torch.float64)
    method.after_step(losses)
    scale = method.log_scale.exp()
    w = method.weights(losses, g, 1)
    torch.testing.assert_close(w, imtl_g_weights(scale.unsqueeze(-1) * g) * scale)
    units = g / g.norm(dim=-1, keepdim=True)
    proj = torch.einsum("kp,ktp->kt", direction(w, g), units)
    torch.testing.assert_close(proj[:, 0], proj[:, 1])


def test_non_finite_losses_leave_the_member_state_alone():
    method = IMTL(make_ctx(K=2, T=2, lr=0.1), mode="loss")
    method.after_step(torch.tensor([[float("nan"), 1.0], [2.0, float("inf")]]))
    assert torch.isfinite(method.log_scale).all()
    torch.testing.assert_close(method.log_scale[0, 0], torch.tensor(0.0, dtype=torch.float64))
    torch.testing.assert_close(method.log_scale[1, 0], torch.tensor(-0.1, dtype=torch.float64))


@pytest.mark.parametrize(
    ("mode", "scaled"), [("hybrid", True), ("gradient", False), ("loss", True)]
)
def test_head_weights_are_the_loss_scales(mode, scaled):
    # IMTL-L scales the losses by e^{s_t}, so each head, which only its own loss reaches, moves
    # along e^{s_t} g_t. One SGD step on s from 0 with lr 0.1 and L = (2, 0.5):
    # s = -0.1 * (e^0 * L - 1) = (-0.1, 0.05)  ->  head weights (e^-0.1, e^0.05) = (0.9048, 1.0513).
    method = IMTL(make_ctx(K=1, lr=0.1), mode=mode)
    method.after_step(torch.tensor([[2.0, 0.5]]))
    head = method.head_weights(torch.tensor([[0.6, 0.4]]))
    expected = torch.tensor([[0.9048374, 1.0512711]]) if scaled else torch.ones(1, 2)
    assert torch.allclose(head, expected, atol=1e-6)


def test_hybrid_mode_is_exact_on_nearly_opposite_gradients():
    # Hybrid IMTL balances e^s g with the same closed form: at s = 0 it is IMTL-G, and the
    # direction for delta = 1e-5 stays of order 1e-5, not the old 1e6 times too large.
    delta = 1e-5
    g = t64([[1, 0], [-2 * math.cos(delta), 2 * math.sin(delta)]]).unsqueeze(0)
    method = IMTL(make_ctx(K=1, T=2), mode="hybrid")
    w = method.weights(torch.ones(1, 2), g, 0)
    torch.testing.assert_close(w, t64([[2 / 3, 1 / 3]]), atol=1e-15, rtol=0)
    assert float(direction(w, g).norm()) < 1e-5
