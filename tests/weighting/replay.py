"""Record what the engine passes a method in a real training run, for replay tests.

:func:`record` trains a short ``conflicting`` run of a population with the method swapped for a
subclass that logs, at every step, the inputs of :meth:`weights` (losses, shared gradients), the
weights it returned and the shared direction it supplied (for a method with
:meth:`~mtl.weighting.WeightingMethod.shared_direction`), plus every ``epoch_end`` call. A replay
test then feeds those inputs to an independent transcription of the reference implementation,
member by member, and compares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

import mtl
from mtl.weighting import METHODS


@dataclass
class Log:
    """Per step: ``losses [K, T]``, ``grads [K, T, P]``, ``weights [K, T]``, ``directions
    [K, P]`` (methods that supply one); per epoch end: ``epoch_losses [K, T]``."""

    losses: list[torch.Tensor] = field(default_factory=list)
    grads: list[torch.Tensor] = field(default_factory=list)
    weights: list[torch.Tensor] = field(default_factory=list)
    directions: list[torch.Tensor] = field(default_factory=list)  # [K, P], when supplied
    epoch_losses: list[torch.Tensor] = field(default_factory=list)


def record(
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    *,
    epochs: int = 20,
    seeds: tuple[int, ...] = (0, 1),
    params: dict[str, Any] | None = None,
    batch_size: int | None = None,
) -> Log:
    """Train ``method`` on the ``conflicting`` preset for ``seeds`` and return what it saw."""
    log = Log()
    base = METHODS[method]

    class Recording(base):  # type: ignore[misc, valid-type]
        def weights(
            self,
            losses: torch.Tensor,
            grads: torch.Tensor,
            step: int,
            gram: torch.Tensor | None = None,
        ) -> torch.Tensor:
            w = super().weights(losses, grads, step, gram=gram)
            log.losses.append(losses.detach().clone())
            log.grads.append(grads.detach().clone())
            log.weights.append(w.detach().clone())
            return w

        def shared_direction(
            self, losses: torch.Tensor, grads: torch.Tensor, weights: torch.Tensor
        ) -> torch.Tensor | None:
            d = super().shared_direction(losses, grads, weights)
            if d is not None:
                log.directions.append(d.detach().clone())
            return d

        def epoch_end(self, epoch: int, mean_losses: torch.Tensor) -> None:
            log.epoch_losses.append(mean_losses.detach().clone())
            super().epoch_end(epoch, mean_losses)

    monkeypatch.setitem(METHODS, method, Recording)
    overrides: dict[str, Any] = {"epochs": epochs, "weighting.method": method, "data.seed": 0}
    if params:
        overrides["weighting.params"] = params
    if batch_size is not None:
        overrides["optim.batch_size"] = batch_size
    cfg = mtl.preset("conflicting").with_(**overrides)
    mtl.sweep(cfg, seeds=list(seeds))
    assert log.weights, "the method was never asked for weights"
    return log
