"""Weighting methods: one per module, all registered in :data:`METHODS`.

See :mod:`mtl.weighting.base` for the contract between a method and the engine. A new method is
one module with its class (its ``kind``, ``combines``, ``hparams`` and, for a gradient method with
a pure form, ``from_grads``) plus one line in :data:`METHODS`: validation, links, the page and
:func:`gradient_weights` read the class.
"""

from __future__ import annotations

from typing import Any

import torch

from mtl.errors import ConfigError
from mtl.weighting.aligned_mtl import AlignedMTL
from mtl.weighting.base import SMOOTHING, MethodContext, WeightingMethod
from mtl.weighting.cagrad import CAGrad
from mtl.weighting.config import ConFIG
from mtl.weighting.db_mtl import DBMTL
from mtl.weighting.dualproj import DualProj
from mtl.weighting.dwa import DWA
from mtl.weighting.excess_mtl import ExcessMTL
from mtl.weighting.fairgrad import FairGrad
from mtl.weighting.famo import FAMO
from mtl.weighting.gls import GLS
from mtl.weighting.graddrop import GradDrop
from mtl.weighting.gradnorm import GradNorm
from mtl.weighting.gradvac import GradVac
from mtl.weighting.hparams import HParam
from mtl.weighting.imtl import IMTL
from mtl.weighting.mgda import MGDA
from mtl.weighting.moco import MoCo
from mtl.weighting.nash_mtl import NashMTL
from mtl.weighting.pcgrad import PCGrad
from mtl.weighting.rlw import RLW
from mtl.weighting.static import EqualMean, EqualSum, Static
from mtl.weighting.uncertainty import UncertaintyWeighting
from mtl.weighting.upgrad import UPGrad

METHODS: dict[str, type[WeightingMethod]] = {
    cls.name: cls
    for cls in (
        Static,
        EqualSum,
        EqualMean,
        UncertaintyWeighting,
        DWA,
        RLW,
        FAMO,
        GradNorm,
        PCGrad,
        MGDA,
        CAGrad,
        IMTL,
        # gradmethods: the TorchJD-paper methods, Aligned-MTL, ConFIG
        UPGrad,
        DualProj,
        AlignedMTL,
        ConFIG,
        # moremethods: begin
        GLS,
        NashMTL,
        FairGrad,
        GradVac,
        ExcessMTL,
        # moremethods: end
        # moco: methods that supply their own shared direction (WeightingMethod.shared_direction)
        MoCo,
        DBMTL,
        # moco: end
        # graddrop: a method that combines the representation's gradients
        GradDrop,
    )
}
"""Method name -> class, every method the page can offer, in the page's order."""

GRADIENT_METHODS: tuple[str, ...] = tuple(
    name for name, cls in METHODS.items() if cls.from_grads is not None
)
"""The names :func:`gradient_weights` accepts: the methods with a pure ``from_grads``
(``"imtl"`` is IMTL-G, the gradient part of IMTL)."""


def gradient_weights(
    name: str, grads: torch.Tensor, losses: torch.Tensor | None = None, **hparams: Any
) -> torch.Tensor:
    """Task weights of a gradient-based method: ``grads [..., T, P] -> weights [..., T]``.

    The update direction is ``(weights.unsqueeze(-1) * grads).sum(-2)`` (the TorchJD convention).
    Dispatches to ``METHODS[name].from_grads`` after checking ``hparams`` against the method's
    declaration.

    Args:
        name: one of :data:`GRADIENT_METHODS` (``"imtl"``: IMTL-G, the gradient part of IMTL, the
            only part that is a pure function of the gradients).
        grads: ``[..., T, P]`` per-task gradients, any leading batch dimensions.
        losses: ``[..., T]`` the task losses, for the methods that read them (MGDA's
            ``normalize="loss"`` and ``"loss+"``); passed on only when given, to those.
        **hparams: the method's hyper-parameters, e.g. ``c=0.5`` for CAGrad or
            ``normalize="l2"`` for MGDA; PCGrad takes none. CR-MOGM's ``smoothing`` may only be
            0 here: it averages weights over training steps, and this is one step.

    Raises:
        ConfigError: unknown ``name``, unknown hyper-parameter or a value not allowed, wrong type
            included (the field is ``weighting.method`` or ``weighting.params.<name>``).
    """
    cls = METHODS.get(name)
    if cls is None or cls.from_grads is None:
        raise ConfigError("weighting.method", name, "one of " + ", ".join(GRADIENT_METHODS))
    cls.check_params(hparams)
    smoothing = hparams.get(SMOOTHING.name, 0.0)
    if smoothing != 0.0:  # an average over training steps, which one call cannot have
        raise ConfigError(
            f"weighting.params.{SMOOTHING.name}", smoothing, "0 here (it averages over steps)"
        )
    params = cls.from_grads_params(hparams)
    if losses is not None and cls.from_grads_reads_losses():
        return cls.from_grads(grads, None, losses=losses, **params)
    return cls.from_grads(grads, None, **params)


__all__ = [
    "GRADIENT_METHODS",
    "METHODS",
    "SMOOTHING",
    "HParam",
    "MethodContext",
    "WeightingMethod",
    "gradient_weights",
]
