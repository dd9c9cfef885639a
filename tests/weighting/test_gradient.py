import pytest
import torch

from mtl.errors import ConfigError
from mtl.weighting import GRADIENT_METHODS, METHODS, gradient_weights
from mtl.weighting.cagrad import cagrad_weights
from mtl.weighting.gradient import check_grads, gram_entry, gram_matrix
from mtl.weighting.imtl import imtl_g_weights
from mtl.weighting.mgda import mgda_weights
from mtl.weighting.pcgrad import pcgrad_weights

from .helpers import direction, make_ctx, random_grads, t64


@pytest.mark.parametrize(
    ("name", "fn", "hparams"),
    [
        ("mgda", mgda_weights, {}),
        ("mgda", mgda_weights, {"normalize": "l2"}),
        ("pcgrad", pcgrad_weights, {}),
        ("cagrad", cagrad_weights, {}),
        ("cagrad", cagrad_weights, {"c": 0.2}),
        ("imtl", imtl_g_weights, {}),
    ],
)
def test_dispatches_to_the_pure_functions(name, fn, hparams):
    g = random_grads(4, 2, 6, seed=3, dtype=torch.float32)
    w = gradient_weights(name, g, **hparams)
    assert w.shape == (4, 2) and w.dtype == torch.float32
    torch.testing.assert_close(w, fn(g, **hparams))


def test_hyper_parameters_change_the_result():
    g = random_grads(2, 5, seed=1)
    assert not torch.allclose(gradient_weights("cagrad", g, c=0.1), gradient_weights("cagrad", g))
    g = t64([[3, 0], [0, 1]])
    assert not torch.allclose(
        gradient_weights("mgda", g, normalize="l2"), gradient_weights("mgda", g)
    )


def test_the_same_conflicting_pair_under_every_method():
    # g1=(1,0), g2=(-1,1): the hand-worked values of each method's test module, side by side.
    g = t64([[1, 0], [-1, 1]])
    s2 = 2**0.5
    expected = {
        "mgda": [0.6, 0.4],
        "pcgrad": [2.0, 1.5],
        "cagrad": [0.75, 0.5],
        "imtl": [s2 / (1 + s2), 1 / (1 + s2)],
        # gradmethods
        "upgrad": [1.0, 0.75],
        "dualproj": [0.5, 0.5],  # the mean (0, 1/2) is already in the dual cone (d . g1 = 0)
        # sqrt(lambda_min) G^{-1/2} (1/2, 1/2) with G^{-1/2} = [[3, 1], [1, 2]] / sqrt(5)
        "aligned_mtl": [(1 - 5**-0.5), 0.75 * (1 - 5**-0.5)],
        "config": [(1 + s2) / 2, (1 + s2) / (2 * s2)],  # (n1 + n2) / (2 n_t)
        # moremethods: begin
        # cos = -1/sqrt 2: G w = 1/w gives w_t = 1 / (|g_t| sqrt(1 + cos)) (FairGrad, alpha = 1);
        # Nash-MTL normalises G by ||G||_F = sqrt 7, which multiplies them by 7^(1/4)
        "fairgrad": [1 / (1 - 1 / s2) ** 0.5, 1 / (s2 * (1 - 1 / s2) ** 0.5)],
        "nash_mtl": [7**0.25 / (1 - 1 / s2) ** 0.5, 7**0.25 / (s2 * (1 - 1 / s2) ** 0.5)],
        # moremethods: end
    }
    assert set(expected) == set(GRADIENT_METHODS)
    for name, w in expected.items():
        torch.testing.assert_close(gradient_weights(name, g), t64(w))
        # every method finds a direction that improves both tasks here (DualProj: d . g1 = 0)
        improvement = direction(gradient_weights(name, g), g) @ g.T
        assert torch.all(improvement >= 0 if name == "dualproj" else improvement > 0)


def test_unknown_method_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        gradient_weights("gradnorm", t64([[1, 0], [0, 1]]))
    assert info.value.field == "weighting.method"
    assert "mgda" in info.value.allowed


@pytest.mark.parametrize(
    ("name", "hparams", "field"),
    [
        ("cagrad", {"alpha": 0.5}, "weighting.params.alpha"),
        ("cagrad", {"c": -0.5}, "weighting.params.c"),
        ("cagrad", {"c": float("inf")}, "weighting.params.c"),
        ("mgda", {"normalize": "l1"}, "weighting.params.normalize"),  # not a normalisation
        ("mgda", {"normalize": 1}, "weighting.params.normalize"),  # a code, not a name
        ("mgda", {"normalize": 0.5}, "weighting.params.normalize"),
        # used to pass validation and then raise TypeError inside mgda_weights
        ("mgda", {"upper_bound": 1}, "weighting.params.upper_bound"),
        ("cagrad", {"c": "0.5"}, "weighting.params.c"),
        ("cagrad", {"c": True}, "weighting.params.c"),
        ("pcgrad", {"c": 0.5}, "weighting.params.c"),
        ("imtl", {"mode": 0}, "weighting.params.mode"),
        ("imtl", {"mode": "hybrid"}, "weighting.params.mode"),  # the dispatcher's is IMTL-G only
    ],
)
def test_bad_hyper_parameters_are_config_errors(name, hparams, field):
    with pytest.raises(ConfigError) as info:
        gradient_weights(name, t64([[1, 0], [0, 1]]), **hparams)
    assert info.value.field == field


@pytest.mark.parametrize(
    "bad", [torch.ones(3), torch.ones(0, 4), torch.ones(2, 3, dtype=torch.long)]
)
def test_bad_gradient_tensors_are_value_errors(bad):
    with pytest.raises(ValueError, match="grads"):
        check_grads(bad)
    with pytest.raises(ValueError, match="grads"):
        gradient_weights("mgda", bad)


def test_gram_helpers():
    g = t64([[1, 2], [3, 4]]).to(torch.float32)
    G = gram_matrix(g)
    assert G.dtype == torch.float64
    torch.testing.assert_close(G, t64([[5, 11], [11, 25]]))
    batch = torch.stack([G, 2 * G])
    i, j = torch.tensor([0, 1]), torch.tensor([1, 1])
    torch.testing.assert_close(gram_entry(batch, i, j), t64([11, 50]))


# --- the registry ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pcgrad", "mgda", "cagrad", "imtl"])
def test_registered_with_metadata_and_paper_defaults(name):
    cls = METHODS[name]
    assert cls.name == name and cls.kind == "gradient" and cls.combines == "gradients"
    assert cls.label and cls.citation and cls.__doc__
    assert getattr(cls, "explanation", "x") and getattr(cls, "formula", "x")  # page text
    assert name in GRADIENT_METHODS and cls.from_grads is not None
    for h in cls.hparams:
        assert h.allows(h.default) and h.label and h.help
    # the constructor takes its values from the declaration
    assert METHODS[name](make_ctx()).params == cls.defaults()


def test_upper_bound_is_accepted_by_the_dispatcher_and_changes_nothing():
    g = random_grads(3, 2, 5, seed=2)
    torch.testing.assert_close(gradient_weights("mgda", g, upper_bound=True), mgda_weights(g))


@pytest.mark.parametrize("name", ["pcgrad", "mgda", "cagrad", "imtl"])
@pytest.mark.parametrize("T", [1, 2, 3])
def test_every_method_weights_a_population(name, T):
    K = 5
    method = METHODS[name](make_ctx(K=K, T=T))
    g = random_grads(K, T, 7, seed=T, dtype=torch.float32)
    losses = torch.rand(K, T)
    for step in range(3):
        w = method.weights(losses, g, step)
        assert w.shape == (K, T) and w.dtype == torch.float32
        assert torch.isfinite(w).all()
        method.after_step(losses)
        if step == 1:
            method.epoch_end(1, losses)
