"""The copyable snippets compile, import torch only, and do what mtl.weighting does.

Loss-based snippets return the one loss to back-propagate: its gradient with respect to each task
loss is the weight the snippet applies, compared with the method's ``weights()`` on the same
losses (and state). Gradient-based snippets run on a tiny two-task problem whose task losses are
linear in the shared parameters, ``L_t = g_t . theta + h_t . head_t``, so the task gradients on
``theta`` are exactly the hand-made ``g_t``: the ``.grad`` they write must be the direction
``sum_t w_t g_t`` with ``w`` from :func:`mtl.weighting.gradient_weights`, and each head must get
its own task's gradient.
"""

from dataclasses import replace

import pytest
import torch

import mtl
from mtl.counter_rng import STREAM_WEIGHTS, normal
from mtl.snippets import ENTRY_POINTS, SNIPPET_METHODS, entry_point, snippet, unavailable
from mtl.weighting import METHODS, gradient_weights
from tests.weighting.helpers import make_ctx

TOL = 1e-6

GRADIENTS = {
    "opposite": [[1.0, 2.0, -0.5], [-1.0, -2.0, 0.5]],
    "opposite_unequal": [[1.0, 2.0, -0.5], [-3.0, -6.0, 1.5]],
    "parallel": [[1.0, 2.0, -0.5], [2.0, 4.0, -1.0]],
    "identical": [[0.3, -0.2, 0.1], [0.3, -0.2, 0.1]],
    "orthogonal": [[1.0, 0.0, 0.0], [0.0, 3.0, 0.0]],
    "conflicting": [[2.0, 1.0, 0.0], [-1.0, 0.5, 0.2]],
    "agreeing": [[2.0, 1.0, 0.0], [1.0, 0.5, 0.7]],
    "one_zero": [[0.0, 0.0, 0.0], [1.0, -1.0, 2.0]],
}
GRADIENT_CASES = [
    ("pcgrad", {}),
    ("mgda", {}),
    ("mgda", {"normalize": "l2"}),
    ("mgda", {"normalize": "loss"}),
    ("mgda", {"normalize": "loss+"}),
    ("imtl", {"mode": "gradient"}),
    ("cagrad", {}),
    ("cagrad", {"c": 1.5, "rescale": "one_plus_c2"}),
    ("cagrad", {"c": 0.0, "rescale": "one_plus_c"}),
    ("upgrad", {}),
    ("dualproj", {}),
    ("aligned_mtl", {}),
    ("aligned_mtl", {"scale_mode": "median"}),
    ("aligned_mtl", {"scale_mode": "rmse"}),
    ("config", {}),
    ("nash_mtl", {}),
    ("fairgrad", {}),
    ("fairgrad", {"alpha": 3.0}),
]
SETTINGS = [
    *((name, {}) for name in SNIPPET_METHODS),
    ("imtl", {"mode": "gradient"}),
    ("imtl", {"mode": "loss"}),
    ("mgda", {"upper_bound": True, "normalize": "loss"}),
    ("pcgrad", {"smoothing": 0.5}),
    ("gradnorm", {"smoothing": 0.5}),
    ("aligned_mtl", {"scale_mode": "rmse", "smoothing": 0.9}),
]
LOSSES = [0.7, 2.5]


def _load(source: str) -> dict:
    """Execute a snippet in a fresh namespace and return it."""
    namespace: dict = {"__name__": "snippet"}
    exec(compile(source, "<snippet>", "exec"), namespace)
    return namespace


def _method(name: str, weights=(0.5, 0.5), scale="raw", **params):
    ctx = replace(make_ctx(K=1), base_weights=torch.tensor([weights]), scale=scale)
    return METHODS[name](ctx, **params)


def _applied(loss_fn, values) -> torch.Tensor:
    """The weights a loss-based snippet applies: d(its loss) / d(each task loss)."""
    losses = torch.tensor(values, requires_grad=True)
    (grad,) = torch.autograd.grad(loss_fn(list(losses.unbind())), losses)
    return grad.double()


@pytest.mark.parametrize(("method", "params"), SETTINGS)
def test_every_snippet_compiles_imports_torch_only_and_defines_its_entry_point(method, params):
    source = snippet(method, params)
    assert "import mtl" not in source and "from mtl" not in source
    assert callable(_load(source)[entry_point(method, params)])
    assert source.index("import torch") < source.index("\ndef ") if "\ndef " in source else True
    assert max(len(line) for line in source.splitlines()) <= 100  # readable on the page


def test_every_method_has_a_snippet():
    assert set(SNIPPET_METHODS) == set(METHODS)
    for name in METHODS:
        assert unavailable(name) is None
        assert ENTRY_POINTS[name] in _load(snippet(name))


def test_an_unknown_method_or_setting_has_no_snippet_and_says_why():
    assert unavailable("nope") == "There is no method 'nope'."
    assert "needs valid settings" in unavailable("pcgrad", {"smoothing": 2.0})
    with pytest.raises(mtl.ConfigError, match="a method with a snippet"):
        snippet("fairgrad", {"alpha": -1.0})


def test_smoothing_applies_the_moving_average_of_the_weights():
    smooth = _load(snippet("pcgrad", {"smoothing": 0.25}))["smooth"]
    first = smooth(torch.tensor([1.0, 0.0], dtype=torch.float64))
    second = smooth(torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert first.tolist() == [1.0, 0.0] and second.tolist() == [0.25, 0.75]


@pytest.mark.parametrize(("method", "params"), GRADIENT_CASES)
@pytest.mark.parametrize("case", GRADIENTS)
def test_gradient_snippets_write_the_methods_direction(method, params, case):
    g = torch.tensor(GRADIENTS[case], dtype=torch.float64)
    backward = _load(snippet(method, params))[entry_point(method, params)]
    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    heads = [torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    head_dirs = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    losses = [(g[t] * theta).sum() + (head_dirs[t] * heads[t]).sum() + LOSSES[t] for t in range(2)]
    w = backward(losses, [theta])
    expected_w = gradient_weights(
        method, g, losses=torch.tensor(LOSSES, dtype=torch.float64), **params
    )
    expected = expected_w @ g
    torch.testing.assert_close(theta.grad, expected, atol=TOL, rtol=TOL)
    if method != "pcgrad":  # PCGrad's snippet returns its coefficients too
        torch.testing.assert_close(w, expected_w, atol=TOL, rtol=TOL)
    scales = expected_w if METHODS[method].combines == "losses" else torch.ones(2)
    for t in range(2):
        torch.testing.assert_close(heads[t].grad, scales[t] * head_dirs[t], atol=TOL, rtol=TOL)


STATEFUL_CASES = [
    ("famo", {"w_lr": 0.3}),
    ("gradnorm", {"weight_lr": 0.3}),
    ("gradnorm", {"smoothing": 0.5}),
    ("gradvac", {}),
    ("excess_mtl", {"step_size": 0.5}),
    ("moco", {"rho": 0.1}),
    ("db_mtl", {"beta_sigma": 0.5}),
    ("imtl", {"mode": "hybrid"}),
    ("imtl", {"mode": "loss", "smoothing": 0.3}),
    ("pcgrad", {"smoothing": 0.5}),
    ("nash_mtl", {"smoothing": 0.7}),
]


@pytest.mark.parametrize(("method", "params"), STATEFUL_CASES)
def test_stateful_snippets_follow_the_method_step_by_step(method, params):
    """Over several steps the snippet's .grad is the engine's update from the method object."""
    namespace = _load(snippet(method, params, weights=(0.7, 0.3)))
    ctx = replace(make_ctx(K=1), base_weights=torch.tensor([[0.7, 0.3]]), last_shared=slice(0, 3))
    m = METHODS[method](ctx, **params)
    update = namespace[entry_point(method, params)]
    if method == "famo":
        update = update()
    if entry_point(method, params) == "imtl_backward":
        update = namespace["IMTL"](lr=ctx.lr)
    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    heads = [torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    head_dirs = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    cases = ["conflicting", "agreeing", "opposite_unequal", "orthogonal", "conflicting"]
    for step, case in enumerate(cases):
        g = torch.tensor(GRADIENTS[case], dtype=torch.float64)
        values = [LOSSES[0] / (1 + step), LOSSES[1] * (1 + 0.3 * step)]
        losses = [
            (g[t] * theta).sum() + (head_dirs[t] * heads[t]).sum() + values[t] for t in range(2)
        ]
        for p in (theta, *heads):
            p.grad = None
        if m.kind == "loss":  # FAMO: the loss to back-propagate
            update(losses).backward()
        else:  # a gradient method sets .grad itself
            update(losses, [theta])
        L, G = torch.tensor([values], dtype=torch.float64), g.unsqueeze(0)
        w = m.weights(L, G, step)
        shared = m.shared_direction(L, G, w) if m.combines == "gradients" else None
        want = (w @ g)[0] if shared is None else shared[0]
        torch.testing.assert_close(theta.grad, want, atol=TOL, rtol=TOL)
        head_w = m.head_weights(w, L)[0]
        for t in range(2):
            torch.testing.assert_close(heads[t].grad, head_w[t] * head_dirs[t], atol=TOL, rtol=TOL)
        m.after_step(L, G)


def test_pcgrad_snippet_returns_the_coefficients_of_its_direction():
    g = torch.tensor(GRADIENTS["conflicting"], dtype=torch.float64)
    w = _load(snippet("pcgrad"))["pcgrad_weights"](g)
    torch.testing.assert_close(w, gradient_weights("pcgrad", g), atol=TOL, rtol=TOL)
    assert not torch.allclose(w, torch.ones(2, dtype=torch.float64))  # a projection happened


@pytest.mark.parametrize(
    ("method", "weights", "scale", "expected"),
    [
        ("static", (0.8, 0.3), "raw", None),
        ("static", (0.8, 0.3), "balanced", None),
        ("equal_sum", (0.5, 0.5), "raw", [1.0, 1.0]),
        ("equal_mean", (0.5, 0.5), "raw", [0.5, 0.5]),
        ("gls", (0.5, 0.5), "raw", None),
    ],
)
def test_fixed_and_stateless_loss_snippets_apply_the_methods_weights(
    method, weights, scale, expected
):
    loss_fn = _load(snippet(method, weights=weights, scale=scale))[ENTRY_POINTS[method]]
    m = _method(method, weights, scale)
    for step, values in enumerate([LOSSES, [0.3, 4.0], [1.2, 1.2]]):
        losses = torch.tensor([values])
        want = m.weights(losses, torch.zeros(1, 2, 3), step)[0].double()
        torch.testing.assert_close(_applied(loss_fn, values), want, atol=TOL, rtol=TOL)
        if expected is not None:
            assert want.tolist() == expected
        m.after_step(losses)


def test_uncertainty_snippet_applies_the_learned_weights():
    uw = _load(snippet("uncertainty"))["UncertaintyWeighting"]()
    m = _method("uncertainty")
    for s in ([0.0, 0.0], [0.4, -1.3], [-2.0, 0.7]):
        uw.log_vars.data = torch.tensor(s)
        m.log_vars.copy_(torch.tensor([s]))
        want = m.weights(torch.tensor([LOSSES]), torch.zeros(1, 2, 3), 0)[0].double()
        torch.testing.assert_close(_applied(uw, LOSSES), want, atol=TOL, rtol=TOL)
        losses = torch.tensor(LOSSES, requires_grad=False)
        uw.log_vars.grad = None
        uw(list(losses.unbind())).backward()  # the log-variances' gradient is the app's
        torch.testing.assert_close(
            uw.log_vars.grad.double(), 0.5 - want * torch.tensor(LOSSES).double(), atol=TOL, rtol=0
        )


def test_dwa_snippet_follows_the_epoch_losses():
    dwa = _load(snippet("dwa", {"temperature": 1.5}))["DWA"]()
    m = _method("dwa", temperature=1.5)
    epochs = [[2.0, 1.0], [1.0, 0.9], [0.5, 0.95], [0.5, 0.0], [0.4, 0.2]]
    for epoch, mean in enumerate(epochs, start=1):
        want = m.weights(torch.tensor([LOSSES]), torch.zeros(1, 2, 3), 0)[0].double()
        torch.testing.assert_close(_applied(dwa, LOSSES), want, atol=TOL, rtol=TOL)
        dwa.epoch_end(mean)
        m.epoch_end(epoch, torch.tensor([mean]))
    assert not torch.allclose(want, torch.ones(2, dtype=torch.float64))


def test_rlw_snippet_applies_the_softmax_of_the_draw():
    loss_fn = _load(snippet("rlw"))["rlw_loss"]
    m = _method("rlw")
    for step in range(3):
        z = normal(m.ctx.seeds, STREAM_WEIGHTS, step, 2)[0]
        want = m.weights(torch.tensor([LOSSES]), torch.zeros(1, 2, 3), step)[0].double()
        got = _applied(lambda losses, z=z: loss_fn(losses, z=z), LOSSES)
        torch.testing.assert_close(got, want, atol=TOL, rtol=TOL)


@pytest.mark.parametrize("method", ["tchebycheff", "stch"])
@pytest.mark.parametrize("normalize", ["initial", "none"])
@pytest.mark.parametrize("reference", ["zero", "best_seen"])
@pytest.mark.parametrize("preference", [(0.5, 0.5), (0.8, 0.2)])
def test_preference_snippets_apply_the_methods_weights_step_by_step(
    method, normalize, reference, preference
):
    params = {"normalize": normalize, "reference": reference}
    if method == "stch":
        params["mu"] = 0.3
    objective = _load(snippet(method, params, weights=preference))[ENTRY_POINTS[method]]()
    m = _method(method, preference, **params)
    # step 0 with normalisation by the first step is an exact tie at equal preference
    steps = [[0.7, 2.5], [0.5, 2.6], [0.6, 1.0], [0.2, 0.9], [0.25, 0.3]]
    for step, values in enumerate(steps):
        losses = torch.tensor([values])
        want = m.weights(losses, torch.zeros(1, 2, 3), step)[0].double()
        torch.testing.assert_close(_applied(objective, values), want, atol=TOL, rtol=TOL)
        m.after_step(losses)


@pytest.mark.parametrize("method", ["pcgrad", "nash_mtl"])
def test_the_method_tab_shows_the_snippet(method):
    from tests.test_app import new_app, set_and_run

    at = new_app()
    set_and_run(at, "weighting.method", method)
    at.session_state["view.tab"] = "Method"
    at.run()
    assert not at.exception, at.exception
    codes = [c.value for c in at.code]
    assert snippet(method).strip() in [c.strip() for c in codes]
    assert "not available" not in " ".join(c.value for c in at.caption)
