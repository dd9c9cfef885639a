"""Population models: layouts, shared/head slices, per-task copies, initialisation."""

import math
from dataclasses import replace

import pytest
import torch
import torch.nn as nn

import mtl
from mtl.models import PopulationModel, layers_of


def _model(shape: str, seeds=(0, 1), d=3, r=1, c=3, **kw) -> PopulationModel:
    return PopulationModel(mtl.ModelSpec(shape=shape, **kw), d, r, c, list(seeds))


def test_layouts_put_shared_first_then_heads():
    m = _model("shared", width=4, depth=2)
    sizes = {layer.name: layer.size for layer in m.layers}
    assert m.shared == slice(0, sizes["trunk0"] + sizes["trunk1"])
    assert m.heads["regression"].start == m.shared.stop
    assert m.heads["classification"].stop == m.n_params
    notebook = _model("notebook")
    assert notebook.heads["regression"] == slice(0, 0)  # the chain's regression has no head
    article = _model("article")
    assert article.shared == slice(0, article.n_params)


def test_initialisation_follows_nn_linear_with_member_seed():
    m = _model("shared", seeds=(3, 4), width=5, depth=1)
    for k, seed in enumerate((3, 4)):
        torch.manual_seed(seed)
        trunk, head_r, head_c = nn.Linear(3, 5), nn.Linear(5, 1), nn.Linear(5, 3)
        views = m.layer_views(m.theta)
        for name, ref in (
            ("trunk0", trunk),
            ("regression_head", head_r),
            ("classification_head", head_c),
        ):
            weight, bias = views[name]
            assert torch.equal(weight[k].t(), ref.weight.detach())
            assert torch.equal(bias[k, 0], ref.bias.detach())


@pytest.mark.parametrize("shape", ["notebook", "article", "shared"])
def test_forward_matches_a_torch_module(shape):
    m = _model(shape, seeds=(0,), width=6, depth=2, activation="tanh")
    views = m.layer_views(m.theta)
    x = torch.randn(8, 3)
    reg, logits = m.forward(x)

    def lin(name, h):
        weight, bias = views[name]
        return h @ weight[0] + bias[0, 0]

    if shape == "notebook":
        r_ref = lin("linear", x)
        c_ref = lin("classifier", r_ref)
    elif shape == "article":
        out = lin("linear", x)
        r_ref, c_ref = out[:, :1], out[:, :3]
    else:
        h = torch.tanh(lin("trunk1", torch.tanh(lin("trunk0", x))))
        r_ref, c_ref = lin("regression_head", h), lin("classification_head", h)
    assert torch.allclose(reg[0], r_ref, atol=1e-6)
    assert torch.allclose(logits[0], c_ref, atol=1e-6)


@pytest.mark.parametrize("shape", ["notebook", "article", "shared"])
def test_per_task_backward_gives_each_members_own_gradient(shape):
    """One backward pass of a task's loss summed over members gives every member's own gradient,
    and a task's gradient is exactly zero on the other task's head."""
    m = _model(shape, seeds=(0, 1, 2), width=4)
    x, y, yc = torch.randn(10, 3), torch.randn(10, 1), torch.randint(0, 3, (10,))
    theta = m.theta.clone().requires_grad_()
    reg, logits, rep = m.forward_rep(x, theta)
    assert rep.shape[:2] == (3, 10)
    (g_reg,) = torch.autograd.grad(mtl.losses.mse(reg, y).sum(), theta, retain_graph=True)
    (g_cls,) = torch.autograd.grad(mtl.losses.cross_entropy(logits, yc).sum(), theta)
    for k in range(3):
        alone = m.theta[k : k + 1].clone().requires_grad_()
        r, _ = m.forward(x, alone)
        (expected,) = torch.autograd.grad(mtl.losses.mse(r, y).sum(), alone)
        assert torch.allclose(g_reg[k], expected[0], atol=1e-6)
    head = m.heads["classification"]
    assert torch.equal(g_reg[:, head], torch.zeros_like(g_reg[:, head]))
    assert not torch.equal(g_cls[:, m.shared], torch.zeros_like(g_cls[:, m.shared]))


def test_l2_counts_weights_not_biases():
    m = _model("notebook", seeds=(0,))
    views = m.layer_views(m.theta)
    expected = sum(views[name][0].square().sum() for name in ("linear", "classifier"))
    assert m.l2().item() == pytest.approx(expected.item())
    assert m.decay.sum().item() == sum(layer.fan_in * layer.fan_out for layer in m.layers)


def test_last_shared_slice_is_the_last_trunk_layer():
    m = _model("shared", width=4, depth=3)
    last = [layer for layer in layers_of(m.spec, 3, 1, 3) if layer.owner == "shared"][-1]
    s = m.last_shared_slice()
    assert s.stop == m.shared.stop and s.stop - s.start == last.size
    assert math.isclose(last.size, 4 * 4 + 4)


def test_a_one_output_layer_over_shared_inputs_is_the_batched_product():
    # the width-1 trunk's fast path (one matrix product for all members) equals M products
    torch.manual_seed(0)
    x, weight, bias = torch.randn(30, 8), torch.randn(5, 8, 1), torch.randn(5, 1, 1)
    fast = PopulationModel._linear((weight, bias), x)
    assert fast.shape == (5, 30, 1)
    expected = torch.baddbmm(bias, x.expand(5, -1, -1), weight)
    assert torch.allclose(fast, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shared_input", [True, False])
def test_a_lone_member_is_computed_like_a_member_of_a_population(shared_input):
    # M = 1 must not fall to BLAS's matrix-vector kernel (other rounding than a population's)
    torch.manual_seed(1)
    x = torch.randn(64, 16) if shared_input else torch.randn(3, 64, 16)
    weight, bias = torch.randn(3, 16, 1), torch.randn(3, 1, 1)
    together = PopulationModel._linear((weight, bias), x)
    alone = PopulationModel._linear((weight[:1], bias[:1]), x if shared_input else x[:1])
    assert alone.shape == (1, 64, 1)
    assert torch.equal(alone[0], together[0])


def test_a_single_run_is_its_own_point_on_a_sweep_bit_for_bit():
    # The trade-off preset at alpha 0.85 is chaotic (SGD's step on regression is near its
    # edge): before the lone-member copy, the single run's last-bit difference from the sweep's
    # member grew into a test accuracy of 75.0% against the sweep's 65.6%.
    cfg = mtl.preset("tradeoff")
    alphas = (0.7, 0.85)
    population = mtl.sweep(cfg, weights=[(a, 1 - a) for a in alphas])
    for member, alpha in enumerate(alphas):
        run = mtl.train(replace(cfg, weighting=replace(cfg.weighting, weights=(alpha, 1 - alpha))))
        ours = population.metrics[population.metrics["member"] == member]["value"].to_numpy()
        assert (run.metrics["value"].to_numpy() == ours).all(), alpha


@pytest.mark.parametrize("shape", ["shared", "notebook"])
def test_class_logits_are_stored_samples_last_with_the_same_floats(shape):
    # a one-input classification layer is computed as [M, C, N] (what the cross-entropy reads)
    # and returned as its [M, N, C] view: the floats, and the task's gradient, of the plain layout
    width = {"width": 1, "depth": 1} if shape == "shared" else {}
    model = _model(shape, seeds=range(6), d=4, c=3, **width)
    x = torch.randn(40, model.layers[0].fan_in, generator=torch.Generator().manual_seed(2))
    y = torch.randint(0, 3, (40,), generator=torch.Generator().manual_seed(3))
    theta = model.theta.clone().requires_grad_()
    _, logits, z = model.forward_rep(x, theta)
    head = "classifier" if shape == "notebook" else "classification_head"
    weight, bias = model.layer_views(theta)[head]
    plain = torch.addcmul(bias, z, weight)  # [M, N, C] in memory
    assert logits.transpose(1, 2).is_contiguous()
    assert torch.equal(logits, plain)
    loss = mtl.losses.cross_entropy(logits, y).sum()
    (ours,) = torch.autograd.grad(loss, theta, retain_graph=True)
    (theirs,) = torch.autograd.grad(mtl.losses.cross_entropy(plain, y).sum(), theta)
    assert torch.equal(ours, theirs)
