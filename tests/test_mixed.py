"""Mixed populations: every member trains exactly as its solo run (same method, lr and seed)."""

import pytest
import torch

import mtl
from mtl.config import WeightingSpec
from mtl.engine import Population, _Trainer, train_population
from mtl.mixed import MixedMethod, groups_of
from mtl.optim import FlatAdam, FlatSGD, member_rates

CFG = mtl.preset("conflicting").with_(epochs=40)

# stateful (famo, gradnorm, uncertainty and imtl, the last two reading the learning rate),
# gradient-combining (mgda, pcgrad), seeded (rlw), methods with their own shared direction (moco,
# db_mtl), GradDrop (its shared update back-propagated from the representation) and plain static
# with its configured weights
METHODS = (
    "static",
    "graddrop",
    "famo",
    "gradnorm",
    "mgda",
    "pcgrad",
    "uncertainty",
    "imtl",
    "rlw",
    "moco",
    "db_mtl",
)
LRS = (0.003, 0.03)
SEEDS = (1, 2)
COLUMNS = ("train_mse", "train_accuracy", "test_mse", "test_accuracy")


def _members() -> list[tuple[str, float, int, tuple[float, float]]]:
    members = []
    for method in METHODS:
        for lr in LRS:
            for seed in SEEDS:
                weights = (0.7, 0.3) if method == "static" else (0.5, 0.5)
                members.append((method, lr, seed, weights))
    return members


@pytest.fixture(scope="module")
def mixed() -> mtl.Result:
    members = _members()
    population = Population(
        weights=tuple(w for *_, w in members),
        seeds=tuple(s for _, _, s, _ in members),
        lrs=tuple(lr for _, lr, _, _ in members),
        methods=tuple(WeightingSpec(method=m) for m, *_ in members),
    )
    return train_population(CFG, population)


@pytest.mark.parametrize("method", METHODS)
def test_members_at_each_rate_and_seed_equal_their_solo_runs(mixed, method):
    """Each method's members at (the first rate, the first seed) and (the second, the second).

    Those two differ in both rate and seed, and in their position in the population; the other
    two combinations would add two solo runs and no other case.
    """
    for i, (name, lr, seed, weights) in enumerate(_members()):
        if name != method or LRS.index(lr) != SEEDS.index(seed):
            continue
        spec = WeightingSpec(method=name, weights=weights)
        solo = mtl.train(CFG.with_(weighting=spec, seed=seed, **{"optim.lr": lr}))
        row, alone = mixed.summary.iloc[i], solo.summary.iloc[0]
        for column in COLUMNS:
            assert row[column] == pytest.approx(alone[column], rel=1e-5, abs=1e-7), (
                name,
                lr,
                seed,
                column,
            )
        # the weights in force at every epoch too (dynamic methods' state evolves alike)
        hist = mixed.history
        mine = hist[(hist.member == i) & (hist.split == "train")].weight.to_numpy()
        theirs = solo.history[solo.history.split == "train"].weight.to_numpy()
        assert len(mine) == len(theirs) > 0
        assert mine == pytest.approx(theirs, rel=1e-5, abs=1e-6)


def test_learning_rates_differ_between_members(mixed):
    # a sanity check that the rates reach the optimizer: the two rates give different models
    s = mixed.summary
    assert s.train_mse.iloc[0] != pytest.approx(s.train_mse.iloc[2], rel=1e-3)


def test_groups_are_runs_of_equal_method_and_params():
    specs = [
        WeightingSpec(method="famo"),
        WeightingSpec(method="famo"),
        WeightingSpec(method="cagrad", params=(("c", 0.2),)),
        WeightingSpec(method="cagrad"),
        WeightingSpec(method="famo"),
    ]
    assert [(m, s.start, s.stop) for m, _, s in groups_of(specs)] == [
        ("famo", 0, 2),
        ("cagrad", 2, 3),
        ("cagrad", 3, 4),
        ("famo", 4, 5),
    ]


def test_a_mixed_population_refuses_representation_gradients():
    specs = (
        WeightingSpec(method="static"),
        WeightingSpec(method="mgda", params=(("upper_bound", True),)),
    )
    population = Population(weights=((0.5, 0.5),) * 2, seeds=(0, 1), methods=specs)
    with pytest.raises(mtl.ConfigError, match="representation"):
        train_population(CFG.with_(epochs=1), population)


def test_population_refuses_rates_or_methods_of_the_wrong_length():
    with pytest.raises(mtl.ConfigError, match="lrs"):
        Population(weights=((0.5, 0.5),) * 2, seeds=(0, 1), lrs=(0.1,))
    with pytest.raises(mtl.ConfigError, match="methods"):
        Population(weights=((0.5, 0.5),) * 2, seeds=(0, 1), methods=(WeightingSpec(),))


def test_mixed_method_declares_gradients_when_any_group_combines_them():
    ctx_specs = [WeightingSpec(method="static"), WeightingSpec(method="pcgrad")]
    from mtl.weighting import MethodContext

    ctx = MethodContext(
        n_members=2,
        n_tasks=2,
        base_weights=torch.full((2, 2), 0.5),
        seeds=torch.tensor([0, 1]),
        lr=member_rates([0.01, 0.1]),
        optimizer="adam",
        last_shared=slice(0, 4),
        steps_per_epoch=1,
    )
    method = MixedMethod(ctx, ctx_specs)
    assert (method.kind, method.combines) == ("gradient", "gradients")
    # each group's context holds its own member's rate, as a float like a solo run's
    assert [sub.ctx.lr for _, sub in method.groups] == [0.01, 0.1]
    # static's heads follow its weights, pcgrad's heads get ones
    w = torch.tensor([[0.25, 0.75], [0.4, 0.6]])
    assert method.head_weights(w).tolist() == [[0.25, 0.75], [1.0, 1.0]]


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_per_member_rates_equal_the_scalar_rate(kind):
    torch.manual_seed(0)
    theta = torch.randn(3, 20)
    a, b = theta.clone(), theta.clone()
    if kind == "adam":
        one, each = FlatAdam(a, 0.03), FlatAdam(b, member_rates([0.03] * 3))
    else:
        one, each = FlatSGD(a, 0.03, 0.9), FlatSGD(b, member_rates([0.03] * 3), 0.9)
    for _ in range(50):
        g = torch.randn(3, 20)
        one.step(g)
        each.step(g)
    assert torch.allclose(a, b, rtol=0, atol=1e-6)


def test_per_member_rates_apply_member_by_member():
    theta = torch.zeros(2, 3)
    FlatSGD(theta, member_rates([0.1, 1.0])).step(torch.ones(2, 3))
    assert theta[0].tolist() == pytest.approx([-0.1] * 3)
    assert theta[1].tolist() == pytest.approx([-1.0] * 3)


def test_graddrop_mixes_with_mini_batches_and_equals_its_solo_run():
    # mini-batches: GradDrop's member back-propagates its combination through a forward pass of
    # its own mini-batch; the other member's update comes from the population's pass alone
    cfg = CFG.with_(epochs=3, **{"optim.batch_size": 64})
    specs = (WeightingSpec(method="pcgrad"), WeightingSpec(method="graddrop"))
    population = Population(weights=((0.5, 0.5),) * 2, seeds=(4, 4), methods=specs)
    mixed = train_population(cfg, population)
    for i, spec in enumerate(specs):
        solo = mtl.train(cfg.with_(weighting=spec, seed=4))
        for column in COLUMNS:
            assert mixed.summary[column].iloc[i] == pytest.approx(
                solo.summary[column].iloc[0], rel=1e-5, abs=1e-7
            ), (spec.method, column)


def test_a_smoothed_member_keeps_its_after_step_in_a_mixed_population():
    # CR-MOGM smoothing lives in after_step: a mixed population calls the hook for such a group
    # (it skips only groups whose hooks are the base class's no-ops)
    cfg = CFG.with_(epochs=6)
    specs = (
        WeightingSpec(method="static"),
        WeightingSpec(method="pcgrad", params=(("smoothing", 0.8),)),
        WeightingSpec(method="pcgrad"),
    )
    population = Population(weights=((0.5, 0.5),) * 3, seeds=(2, 2, 2), methods=specs)
    mixed = train_population(cfg, population)
    for i, spec in enumerate(specs):
        solo = mtl.train(cfg.with_(weighting=spec, seed=2))
        assert mixed.summary.test_mse.iloc[i] == pytest.approx(
            solo.summary.test_mse.iloc[0], rel=1e-5
        )
    # and the smoothing changed the run (the test would not notice a skipped hook otherwise)
    assert mixed.summary.test_mse.iloc[1] != pytest.approx(mixed.summary.test_mse.iloc[2], rel=1e-6)


# GradDrop groups of 3 members and of 1 (the lone-member path of mtl.models), between groups of
# other methods, with per-member seeds and rates
GRADDROP_SPECS = (
    (WeightingSpec(method="pcgrad"),) * 2
    + (WeightingSpec(method="graddrop"),) * 3
    + (WeightingSpec(method="famo"), WeightingSpec(method="graddrop"), WeightingSpec())
)
GRADDROP_SEEDS = (1, 2, 1, 2, 3, 1, 5, 1)
GRADDROP_LRS = (0.01, 0.03, 0.01, 0.03, 0.02, 0.01, 0.03, 0.01)


def _graddrop_population() -> Population:
    return Population(
        weights=((0.5, 0.5),) * len(GRADDROP_SPECS),
        seeds=GRADDROP_SEEDS,
        lrs=GRADDROP_LRS,
        methods=GRADDROP_SPECS,
    )


@pytest.mark.parametrize("batch_size", [None, 64])
def test_graddrop_groups_of_one_and_several_members_equal_their_solo_runs(batch_size):
    # every loss of every epoch, both splits, to 1e-6 (measured: at most 3e-7 in full-batch
    # mode, bit for bit with mini-batches), tighter than the 1e-5 on the final figures above
    cfg = CFG.with_(epochs=30 if batch_size is None else 3, **{"optim.batch_size": batch_size})
    mixed = train_population(cfg, _graddrop_population())
    hist = mixed.history
    checked = 0
    for i, spec in enumerate(GRADDROP_SPECS):
        if spec.method != "graddrop":
            continue
        solo = mtl.train(
            cfg.with_(weighting=spec, seed=GRADDROP_SEEDS[i], **{"optim.lr": GRADDROP_LRS[i]})
        )
        mine = hist[hist.member == i].loss.to_numpy()
        assert len(mine) == len(solo.history) > 0
        assert mine == pytest.approx(solo.history.loss.to_numpy(), rel=1e-6, abs=1e-9), i
        for column in COLUMNS:
            assert mixed.summary[column].iloc[i] == pytest.approx(
                solo.summary[column].iloc[0], rel=1e-6, abs=1e-9
            ), (i, column)
        checked += 1
    assert checked == 4


def test_graddrop_in_a_mixed_population_leaves_the_populations_pass_alone():
    # only GradDrop's members pay for GradDrop: the pass every member shares takes no extra
    # output and keeps no graph (a GradDrop population of its own still does), and GradDrop's
    # groups are the only ones whose update goes back through the representation
    cfg = CFG.with_(epochs=1)
    trainer = _Trainer(cfg, _graddrop_population())
    s = trainer.split
    step = trainer._forward_backward(s.x_train, s.y_reg_train, s.y_cls_train, 0, for_step=True)
    assert step.rep is None and step.graph is None
    assert [(m.start, m.stop) for m, _ in trainer.representation_groups] == [(2, 5), (6, 7)]
    alone = _Trainer(cfg.with_(**{"weighting.method": "graddrop"}), Population(((0.5, 0.5),), (1,)))
    own = alone._forward_backward(s.x_train, s.y_reg_train, s.y_cls_train, 0, for_step=True)
    assert own.rep is not None and own.graph is not None
    assert alone.representation_groups == []
