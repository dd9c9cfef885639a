"""Per-task gradients: one backward pass over a duplicated population, or one pass per task.

The engine needs every task's gradient for every member each step. Two ways to get them:

- ``duplicated``: the population is stored twice, ``copies [T, K, P]``, and one forward pass
  over ``theta2 [T*K, P]`` routes task t's loss only through copy t, so a single backward pass
  of ``sum_t L_t`` gives all of them (:meth:`mtl.models.PopulationModel.forward_per_task`).
- ``per_task``: one parameter matrix ``theta [K, P]``, one forward pass, and one
  ``torch.autograd.grad(L_t.sum(), theta, retain_graph=True)`` per task.

Each is timed as whole ``mtl.train`` / ``mtl.sweep`` calls (best of N, in this process) on the
notebook preset and the MLP presets, for K = 1 and K = 101 (303 for the MLP presets, 101 weights
x 3 seeds). The engine keeps the simpler ``per_task`` layout unless ``duplicated`` is at least
20% faster.

Run: ``python bench/bench_engine_layout.py [preset ...]``. Prints both CPU times and the ratio.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import mtl
from mtl import engine
from mtl.config import TASKS


class _Duplicated(engine._Trainer):
    """The former layout: the population repeated per task, one backward pass for all tasks."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        model = self.model
        self.copies = model.theta.detach().unsqueeze(0).repeat(len(TASKS), 1, 1)
        model.theta = self.copies[0]
        self.optimizer = engine.make_optimizer(self.cfg.optim, self.copies)

    def _forward_backward(
        self, x: torch.Tensor, y_reg: torch.Tensor, y_cls: torch.Tensor, epoch: int
    ) -> engine._Step:
        model = self.model
        k, p = model.n_members, model.n_params
        theta2 = self.copies.view(-1, p).detach().requires_grad_()
        views = model.layer_views(theta2)
        xx = x.repeat(2, 1, 1) if x.dim() == 3 else x
        if model.spec.shape == "notebook":
            z = model._linear(views["linear"], xx)
            reg, reg_cls = z.chunk(2)
            weight, bias = views["classifier"]
            logits = model._linear((weight[k:], bias[k:]), reg_cls)
        else:
            z = model._trunk(views, xx)
            h_reg, h_cls = z.chunk(2)
            w_reg, b_reg = views["regression_head"]
            w_cls, b_cls = views["classification_head"]
            reg = model._linear((w_reg[:k], b_reg[:k]), h_reg)
            logits = model._linear((w_cls[k:], b_cls[k:]), h_cls)
        losses = torch.stack((self.reg_loss(reg, y_reg), self.cls_loss(logits, y_cls)), dim=-1)
        (grad2,) = torch.autograd.grad(losses.sum(), theta2)
        grads = grad2.view(len(TASKS), k, p)
        return engine._Step(
            losses=losses.detach(),
            reg=reg.detach(),
            logits=logits.detach(),
            grads=grads,
            G=grads[:, :, model.shared].transpose(0, 1),
            rep=None,
            l2=model.l2() if self.l2_scale is not None else None,
        )


def _run(cfg: mtl.RunConfig, k: int, trainer: type[engine._Trainer]) -> None:
    weights = [(a / (k - 1), 1 - a / (k - 1)) for a in range(k)] if k > 1 else [(0.5, 0.5)]
    if k > 101:
        population = engine.Population(
            weights=tuple(w for w in weights[: k // 3] for _ in range(3)),
            seeds=tuple(s for _ in range(k // 3) for s in range(3)),
        )
    else:
        population = engine.Population(weights=tuple(weights), seeds=(cfg.seed,) * k)
    trainer(cfg, population).run(None)


def _interleaved(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Best-of-``repeat`` CPU times of ``fns``, run in turn so load drifts hit them alike.

    CPU time of this process (one torch thread): steadier than wall time on a loaded machine.
    """
    for fn in fns:
        fn()  # warm-up
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.process_time()
            fn()
            best[i] = min(best[i], time.process_time() - start)
    return best


def main() -> None:
    torch.set_num_threads(1)
    cases = [("notebook", 1), ("notebook", 101), ("conflicting", 1), ("conflicting", 303)]
    cases += [("penguins", 1), ("penguins", 303)]
    if len(sys.argv) > 1:  # e.g. ``notebook`` to run only that preset's cases
        cases = [case for case in cases if case[0] in sys.argv[1:]]
    print(f"{'preset':<12} {'K':>4} {'duplicated':>11} {'per_task':>9} {'dup/per':>8}")
    for name, k in cases:
        cfg = mtl.preset(name)
        repeat = 9 if k == 1 else 2
        dup, per = _interleaved(
            [
                lambda cfg=cfg, k=k: _run(cfg, k, _Duplicated),
                lambda cfg=cfg, k=k: _run(cfg, k, engine._Trainer),
            ],
            repeat,
        )
        print(f"{name:<12} {k:>4} {dup * 1e3:>9.1f}ms {per * 1e3:>7.1f}ms {dup / per:>8.2f}")


if __name__ == "__main__":
    main()
