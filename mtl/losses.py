"""Loss registries: plain functions in dicts, each reduced per member.

Every loss takes a population's predictions with a leading member dimension K and returns one
value per member, ``[K]``, so a population's losses are evaluated in one call. Targets broadcast:
a full-batch target ``[N, ...]`` is shared by all members, a mini-batch target ``[K, B, ...]``
is per member. Each matches its ``torch.nn.functional`` counterpart with ``reduction="mean"``
applied member by member (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F

from mtl.config import LossSpec

RegressionLossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``(pred [K, N, R], target [N, R] or [K, N, R]) -> [K]``."""
ClassificationLossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``(logits [K, N, C], target [N] or [K, N] int64) -> [K]``."""


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per member, ``[K]`` (``nn.MSELoss``)."""
    return (pred - target).square().mean(dim=(-2, -1))


def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per member, ``[K]`` (``nn.L1Loss``)."""
    return (pred - target).abs().mean(dim=(-2, -1))


def huber(pred: torch.Tensor, target: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Huber loss per member, ``[K]`` (``nn.HuberLoss(delta=delta)``).

    Quadratic near 0 and linear beyond ``delta``, so outliers pull less than under MSE.
    """
    target = target.expand_as(pred)
    return F.huber_loss(pred, target, reduction="none", delta=delta).mean(dim=(-2, -1))


def _per_sample_ce(
    logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Cross-entropy per sample ``[K, N]``, ``F.cross_entropy``'s values bit for bit.

    The arithmetic of ``F.cross_entropy(..., reduction="none", label_smoothing=eps)`` written
    out on the ``[K, C, N]`` view (members as the batch, samples as the spatial dimension):
    ``logp = log_softmax`` over the classes, the target's ``-logp`` (what ``nll_loss`` takes),
    and with smoothing ``(1 - eps) * nll + (-sum_c logp_c) * (eps / C)``, the same operations
    in the same order, so the same floats (``tests/test_losses.py``). Written out because the
    fused call spends most of its time in ``nll_loss2d`` and its backward on these shapes: the
    gather and a sum over the C classes are about twice as fast at a face-off's hundreds of
    members (``bench/bench_tuned.py``) and no slower at a dozen.
    """
    k, n, c = logits.shape
    logp = logits.transpose(1, 2).log_softmax(1)  # [K, C, N]
    nll = -logp.gather(1, target.expand(k, n).unsqueeze(1)).squeeze(1)  # [K, N]
    if label_smoothing == 0.0:
        return nll
    smooth = -logp.sum(1)  # [K, N]
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / c)


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per member, ``[K]`` (``nn.CrossEntropyLoss``)."""
    return _per_sample_ce(logits, target).mean(-1)


def smoothed_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, smoothing: float = 0.1
) -> torch.Tensor:
    """Cross-entropy against targets smoothed towards uniform by ``smoothing``, ``[K]``.

    Szegedy et al., 2016, "Rethinking the Inception Architecture for Computer Vision"; the same
    as ``nn.CrossEntropyLoss(label_smoothing=smoothing)``.
    """
    return _per_sample_ce(logits, target, label_smoothing=smoothing).mean(-1)


def focal(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Focal loss ``-(1 - p_t)^gamma log p_t`` per member, ``[K]``.

    Lin et al., 2017, "Focal Loss for Dense Object Detection": down-weights examples that are
    already classified well; ``gamma = 0`` is plain cross-entropy.

    ``1 - p_t`` is floored at the dtype's smallest normal number: for a row classified with
    ``p_t = 1`` in floating point, ``d(1 - p)^gamma / dp = -gamma (1 - p)^(gamma - 1)`` is infinite
    when ``gamma < 1`` and the chain rule's ``inf * log p_t = inf * 0`` made the gradient NaN with
    a finite loss. The true gradient there is 0 (the term vanishes like ``(1 - p)^gamma``), which
    the floor gives; every value above the floor is unchanged.
    """
    k, n, _ = logits.shape
    log_p = logits.log_softmax(-1).gather(-1, target.expand(k, n).unsqueeze(-1)).squeeze(-1)
    one_minus_p = (1 - log_p.exp()).clamp_min(torch.finfo(log_p.dtype).tiny)
    return (-(one_minus_p**gamma) * log_p).mean(-1)


REGRESSION_LOSSES: dict[str, RegressionLossFn] = {"mse": mse, "l1": l1, "huber": huber}
CLASSIFICATION_LOSSES: dict[str, ClassificationLossFn] = {
    "ce": cross_entropy,
    "label_smoothing": smoothed_cross_entropy,
    "focal": focal,
}

REGRESSION_LABELS: dict[str, str] = {"mse": "MSE", "l1": "L1 (MAE)", "huber": "Huber"}
CLASSIFICATION_LABELS: dict[str, str] = {
    "ce": "Cross-entropy",
    "label_smoothing": "Cross-entropy, label smoothing",
    "focal": "Focal",
}


def regression_loss(spec: LossSpec) -> RegressionLossFn:
    """The configured regression loss with its parameters bound."""
    if spec.regression == "huber":
        return partial(huber, delta=spec.huber_delta)
    return REGRESSION_LOSSES[spec.regression]


def classification_loss(spec: LossSpec) -> ClassificationLossFn:
    """The configured classification loss with its parameters bound."""
    if spec.classification == "label_smoothing":
        return partial(smoothed_cross_entropy, smoothing=spec.label_smoothing)
    if spec.classification == "focal":
        return partial(focal, gamma=spec.focal_gamma)
    return CLASSIFICATION_LOSSES[spec.classification]
