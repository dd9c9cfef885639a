"""The engine: a population equals its members trained alone; divergence; mini-batches."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

import mtl
from mtl.compare import face_off
from mtl.engine import Population, train_population

BASE = mtl.RunConfig(
    data=mtl.DataSpec(
        name="synthetic", n_samples=64, n_features=4, angle=120.0, test_fraction=0.25
    ),
    model=mtl.ModelSpec(shape="shared", width=8, depth=2, activation="tanh"),
    epochs=12,
)

SHAPES = {
    "notebook": {"model.shape": "notebook"},
    "article": {"model.shape": "article"},
    "shared": {"model.shape": "shared"},
}
OPTIMIZERS = {
    "sgd": {"optim.kind": "sgd", "optim.lr": 0.05},
    "sgd_momentum": {"optim.kind": "sgd", "optim.lr": 0.05, "optim.momentum": 0.9},
    "adam": {"optim.kind": "adam", "optim.lr": 0.01},
    "adam_minibatch": {"optim.kind": "adam", "optim.lr": 0.01, "optim.batch_size": 20},
}
MEMBERS = [((0.9, 0.1), 3), ((0.5, 0.5), 11), ((0.2, 1.5), 7)]


def _frames(result: mtl.Result, member: int) -> list[pd.DataFrame]:
    frames = []
    for frame in (result.history, result.metrics, result.diagnostics):
        part = frame[frame.member == member].drop(columns="member").reset_index(drop=True)
        frames.append(part)
    return frames


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("shape", SHAPES)
def test_member_equals_its_solo_run(shape, optimizer):
    cfg = BASE.with_(**SHAPES[shape], **OPTIMIZERS[optimizer], **{"loss.l2": 0.01})
    population = train_population(
        cfg, Population(weights=tuple(w for w, _ in MEMBERS), seeds=tuple(s for _, s in MEMBERS))
    )
    for k, (weights, seed) in enumerate(MEMBERS):
        solo = mtl.train(cfg.with_(**{"weighting.weights": weights}, seed=seed))
        for ours, theirs in zip(_frames(population, k), _frames(solo, 0), strict=True):
            pd.testing.assert_frame_equal(ours, theirs, check_exact=False, atol=1e-5, rtol=1e-5)


def test_sweep_orders_members_weight_major():
    result = mtl.sweep(BASE, weights=[(1.0, 0.0), (0.0, 1.0)], seeds=[4, 5, 6])
    s = result.summary
    assert list(s.seed) == [4, 5, 6, 4, 5, 6]
    assert list(s.w_regression) == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert len(s) == 6 and list(s.member) == list(range(6))


def test_history_schema_and_components_sum_to_total():
    cfg = BASE.with_(**{"loss.l2": 0.05, "weighting.weights": (0.7, 0.3)})
    result = mtl.train(cfg)
    h = result.history
    assert list(h.columns) == [
        "member",
        "epoch",
        "split",
        "component",
        "loss",
        "weight",
        "weighted",
    ]
    assert set(h.split) == {"train", "test"}
    assert set(h.component) == {"regression", "classification", "regularization"}
    assert h.epoch.min() == 0 and h.epoch.max() == cfg.epochs
    assert len(h) == (cfg.epochs + 1) * 2 * 3
    np.testing.assert_allclose(h.weighted, h.weight * h.loss)
    weights = h.drop_duplicates("component").set_index("component").weight
    assert weights.to_dict() == pytest.approx(
        {"regression": 0.7, "classification": 0.3, "regularization": 0.05}
    )
    final = h[(h.epoch == cfg.epochs) & (h.split == "train")].weighted.sum()
    assert result.summary.train_loss[0] == pytest.approx(final)


def test_no_regularization_component_without_l2():
    h = mtl.train(BASE).history
    assert set(h.component) == {"regression", "classification"}


def test_metrics_are_computed_on_whole_splits():
    result = mtl.train(BASE.with_(**{"optim.kind": "adam", "optim.lr": 0.02}))
    m = result.metrics
    assert set(m.metric) == {"mse", "mae", "r2", "accuracy"}
    first = m[(m.epoch == 0) & (m.split == "train")].set_index("metric").value
    last = m[(m.epoch == BASE.epochs) & (m.split == "train")].set_index("metric").value
    assert last["mse"] < first["mse"] and last["r2"] > first["r2"]
    # with MSE as the regression loss, the regression component *is* the MSE metric
    h = result.history
    reg = h[(h.component == "regression") & (h.split == "test")].loss.to_numpy()
    np.testing.assert_allclose(reg, m[(m.metric == "mse") & (m.split == "test")].value, rtol=1e-6)
    # the summary's final figures are the metrics' last epoch
    s = result.summary.iloc[0]
    test_last = m[(m.epoch == BASE.epochs) & (m.split == "test")].set_index("metric").value
    assert s.test_accuracy == pytest.approx(test_last["accuracy"])
    assert s.test_mse == pytest.approx(test_last["mse"])
    assert s.train_mse == pytest.approx(last["mse"])
    assert 0.0 <= s.test_accuracy <= 1.0


def test_diagnostics_cosine_and_ratio_from_gradients():
    result = mtl.train(BASE)
    d = result.diagnostics.pivot(index="epoch", columns="diagnostic", values="value")
    assert d.cosine.between(-1, 1).all()
    np.testing.assert_allclose(
        d.norm_ratio, d.grad_norm_regression / d.grad_norm_classification, rtol=1e-9
    )
    assert len(d) == BASE.epochs + 1


def test_conflicting_tasks_have_negative_cosine_aligned_positive():
    def first_cosine(angle: float) -> float:
        cfg = BASE.with_(**{"data.angle": angle, "data.n_samples": 400, "model.shape": "article"})
        d = mtl.train(cfg.with_(epochs=1)).diagnostics
        return d[(d.epoch == 0) & (d.diagnostic == "cosine")].value.iloc[0]

    # The article shape's single layer: regression output 0 and class logit 0 are the same unit.
    # Regression wants it to grow along u; classification wants logit 0 to grow on class 0's
    # side, the low end of v. At angle 0 (v = u) the tasks pull that unit opposite ways; at 180
    # (v = -u) the same way. Checked over seeds 0-4: -0.6..-0.2 against 0.58..0.69.
    conflicting, aligned = first_cosine(0.0), first_cosine(180.0)
    assert conflicting < 0 < aligned


def test_divergent_member_is_frozen_and_flagged_others_go_on():
    cfg = BASE.with_(**{"optim.kind": "sgd", "optim.lr": 5.0, "data.target_scale": 50.0}, epochs=40)
    result = mtl.sweep(cfg, weights=[(1.0, 0.0), (0.0, 1.0)], seeds=[0])
    s = result.summary
    assert bool(s.diverged[0]) and not bool(s.diverged[1])
    epoch = int(s.diverged_epoch[0])
    assert 0 < epoch <= cfg.epochs
    assert math.isnan(s.test_mse[0]) and math.isfinite(s.test_mse[1])
    h = result.history
    assert h[h.member == 0].epoch.max() == epoch - 1  # rows stop before the divergence
    assert h[h.member == 1].epoch.max() == cfg.epochs
    assert np.isfinite(h.loss).all()
    assert pd.isna(s.diverged_epoch[1])


def test_minibatch_steps_change_results_and_are_seeded():
    full = mtl.train(BASE)
    mini = mtl.train(BASE.with_(**{"optim.batch_size": 16}))
    again = mtl.train(BASE.with_(**{"optim.batch_size": 16}))
    other_seed = mtl.train(BASE.with_(**{"optim.batch_size": 16}, seed=1))
    pd.testing.assert_frame_equal(mini.history, again.history)
    assert not mini.history.loss.equals(full.history.loss)
    assert not mini.history.loss.equals(other_seed.history.loss)


def test_batch_size_larger_than_training_split_is_refused():
    with pytest.raises(mtl.ConfigError, match=r"optim\.batch_size"):
        mtl.train(BASE.with_(**{"optim.batch_size": 10_000}))


def test_progress_is_reported_per_epoch():
    calls = []
    mtl.train(BASE, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(e, BASE.epochs) for e in range(1, BASE.epochs + 1)]


def test_results_are_deterministic():
    a, b = mtl.train(BASE), mtl.train(BASE)
    pd.testing.assert_frame_equal(a.history, b.history, check_exact=True)
    torch.manual_seed(123)  # the global RNG plays no part
    c = mtl.train(BASE)
    pd.testing.assert_frame_equal(a.history, c.history, check_exact=True)


def _one_step(cfg: mtl.RunConfig):
    """A trainer after one SGD step: (trainer, theta before, the step's results, weights)."""
    from mtl.engine import _Trainer

    trainer = _Trainer(cfg, Population(weights=(cfg.weighting.weights,), seeds=(cfg.seed,)))
    before = trainer.model.theta.clone()
    s = trainer.split
    result, weights = trainer._train_step(s.x_train, s.y_reg_train, s.y_cls_train, 0, 0)
    return trainer, before, result, weights


SGD = BASE.with_(**{"optim.kind": "sgd", "optim.lr": 0.1, "weighting.weights": (0.3, 0.7)})


@pytest.mark.parametrize(
    ("method", "params", "expected_head_scale"),
    [
        ("static", (), lambda w: w),  # loss-based: the head of task t moves along w_t g_t
        ("pcgrad", (), lambda w: torch.ones_like(w)),  # gradient-based: along g_t itself
        ("imtl", (("mode", "hybrid"),), lambda w: torch.ones_like(w)),  # e^s, s = 0 at first
    ],
)
def test_heads_follow_their_own_task_scaled_by_head_weights(method, params, expected_head_scale):
    cfg = SGD.with_(**{"weighting.method": method, "weighting.params": params})
    trainer, before, result, weights = _one_step(cfg)
    scale = expected_head_scale(weights)
    for t, task in enumerate(mtl.TASKS):
        head = trainer.model.heads[task]
        moved = trainer.model.theta[:, head] - before[:, head]
        expected = -0.1 * scale[:, t : t + 1] * result.grads[t, :, head]
        assert torch.allclose(moved, expected, atol=1e-7), task


def test_shared_parameters_follow_the_weighted_gradients():
    trainer, before, result, weights = _one_step(SGD.with_(**{"weighting.method": "mgda"}))
    shared = trainer.model.shared
    expected = -0.1 * (weights.unsqueeze(-1) * result.G).sum(1)
    assert torch.allclose(trainer.model.theta[:, shared] - before[:, shared], expected, atol=1e-7)
    assert weights.sum().item() == pytest.approx(1.0)  # MGDA's weights lie on the simplex


def test_mgda_upper_bound_weights_come_from_the_representation():
    from mtl.data import build_dataset, split_dataset
    from mtl.models import PopulationModel
    from mtl.weighting.mgda import mgda_weights

    cfg = SGD.with_(**{"weighting.method": "mgda", "weighting.params": (("upper_bound", True),)})
    _, _, result, weights = _one_step(cfg)
    # Independently: the trunk's output Z for the same initial model, and each task's dL/dZ.
    data = build_dataset(cfg.data)
    s = split_dataset(data, cfg.data.test_fraction, cfg.data.seed, cfg.data.standardize)
    model = PopulationModel(cfg.model, data.n_features, 1, data.n_classes, [cfg.seed])
    views = model.layer_views(model.theta)
    z = model._trunk(views, s.x_train).detach().requires_grad_()
    reg = model._linear(views["regression_head"], z)
    logits = model._linear(views["classification_head"], z)
    g_reg = torch.autograd.grad(mtl.losses.mse(reg, s.y_reg_train).sum(), z)[0]
    g_cls = torch.autograd.grad(mtl.losses.cross_entropy(logits, s.y_cls_train).sum(), z)[0]
    rep = torch.stack((g_reg.flatten(1), g_cls.flatten(1)), dim=1)  # [1, T, N * H]
    assert result.rep is not None and torch.allclose(result.rep, rep, atol=1e-6)
    assert torch.allclose(weights, mgda_weights(rep), atol=1e-5)
    # ... and they differ from plain MGDA's, which works on the parameter gradients
    assert not torch.allclose(weights, mgda_weights(result.G), atol=1e-3)


@pytest.mark.parametrize("batch_size", [None, 16])
def test_every_split_is_evaluated_at_the_same_parameters(batch_size):
    """Epoch e of the test split is the model after e epochs, like the training split's.

    The test split is replaced by the training rows, so evaluating both at the same parameters
    must give the same numbers at every epoch (an off-by-one would shift them by a step).
    """
    from mtl.engine import _Trainer

    cfg = BASE.with_(**{"optim.batch_size": batch_size}, epochs=5)
    trainer = _Trainer(cfg, Population(weights=((0.5, 0.5),), seeds=(0,)))
    s = trainer.split
    # make the test split the training rows, so both evaluations must agree epoch by epoch
    object.__setattr__(s, "x_test", s.x_train)
    object.__setattr__(s, "y_reg_test", s.y_reg_train)
    object.__setattr__(s, "y_cls_test", s.y_cls_train)
    trainer.recorder = type(trainer.recorder)(
        epochs=cfg.epochs,
        members=1,
        targets={"train": (s.y_reg_train, s.y_cls_train), "test": (s.y_reg_train, s.y_cls_train)},
        with_regularization=False,
    )
    h = trainer.run(None).history
    train = h[h.split == "train"].set_index(["epoch", "component"]).loss
    test = h[h.split == "test"].set_index(["epoch", "component"]).loss
    pd.testing.assert_series_equal(train, test, check_names=False, rtol=1e-5)


def test_a_member_that_diverges_in_its_first_epoch_keeps_a_finite_epoch_0():
    cfg = mtl.RunConfig(
        data=mtl.DataSpec(name="autompg", test_fraction=0.2, standardize=False),
        model=mtl.ModelSpec(shape="notebook"),
        weighting=mtl.WeightingSpec(method="famo", weights=(0.0, 1.0)),
        optim=mtl.OptimSpec(kind="sgd", lr=1.0, batch_size=1),
        epochs=1,
    )
    result = mtl.train(cfg)
    s = result.summary.iloc[0]
    assert bool(s.diverged)
    h = result.history
    assert (h.epoch < s.diverged_epoch).all()
    assert np.isfinite(h.loss).all() and np.isfinite(h.weight).all()


def test_regularization_is_logged_at_the_same_parameters_as_the_losses():
    """Hypothesis found the L2 value of epoch e taken after the step (a NaN once it diverged)."""
    from mtl.models import PopulationModel

    cfg = SGD.with_(**{"loss.l2": 0.01}, epochs=3)
    h = mtl.train(cfg).history
    reg = h[(h.component == "regularization") & (h.split == "train")].set_index("epoch").loss
    data = mtl.build_dataset(cfg.data)
    model = PopulationModel(cfg.model, data.n_features, 1, data.n_classes, [cfg.seed])
    assert reg[0] == pytest.approx(model.l2().item(), rel=1e-6)  # the initial weights
    assert reg[1] != pytest.approx(reg[0])


def test_device_cpu_equals_the_default_bit_for_bit(monkeypatch):
    monkeypatch.delenv("MTL_DEVICE", raising=False)
    cfg = BASE.with_(**{"optim.batch_size": 20, "weighting.method": "mgda"})
    default = mtl.sweep(cfg, weights=[(0.3, 0.7), (0.8, 0.2)])
    on_cpu = mtl.sweep(cfg, weights=[(0.3, 0.7), (0.8, 0.2)], device="cpu")
    for ours, theirs in zip(
        (default.history, default.metrics, default.diagnostics, default.summary),
        (on_cpu.history, on_cpu.metrics, on_cpu.diagnostics, on_cpu.summary),
        strict=True,
    ):
        pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert default.config == on_cpu.config  # the device is not part of a run's identity


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_asking_for_an_absent_cuda_device_is_a_clear_config_error(monkeypatch):
    with pytest.raises(mtl.ConfigError, match="no CUDA GPU") as err:
        mtl.train(BASE, device="cuda")
    assert err.value.field == "device"
    monkeypatch.setenv("MTL_DEVICE", "cuda")
    with pytest.raises(mtl.ConfigError, match="no CUDA GPU"):
        mtl.sweep(BASE, weights=[(0.5, 0.5)])
    with pytest.raises(mtl.ConfigError, match="device"):
        face_off(BASE, ["static"], device="tpu-please")
