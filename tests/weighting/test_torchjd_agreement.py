"""Agreement with TorchJD 0.18 on the shared catalogue of Jacobians.

For every catalogue case (random, zero, parallel, (nearly) opposite, one zero row, rank-deficient,
scales 1e-8 to 1e15; :data:`tests.weighting.test_properties_gradient.CATALOGUE`) the direction
``d = sum_t w_t g_t`` of our method is compared with TorchJD's aggregator on the same ``J``. The
error is ``|d - d_ref| / |J|_F`` (absolute where ``J = 0``).

Conventions (each documented in the method's module):

* UPGrad, DualProj: TorchJD's default projector adds a ``1e-4`` ridge to the trace-normalised Gram
  matrix and treats ``|J|_F^2 < 1e-4`` as zero. We compare with the same QP solved by quadprog
  without those (``norm_eps=0``, ``reg_eps=1e-12``), where the two agree to solver rounding, and
  with TorchJD's defaults to ``1e-3`` (the ridge moves ``d`` by up to ``~5e-4 |J|_F``) where
  ``|J|_F^2 >= 1e-4``.
* GradDrop: TorchJD's aggregator draws ``U = torch.rand(P)``; we draw the same numbers from the
  same seed and pass them to :func:`~mtl.weighting.graddrop.graddrop_combine` in its matrix form
  (``N = 1``, no input signs). Where a column is all zero TorchJD's purity is NaN and ours 1/2;
  both keep 0 there. TorchJD's ``leak`` is one number per task; we compare with equal ones.
* IMTL-G: for two tasks we use the paper's closed form, TorchJD the pseudo-inverse; they differ
  on exactly dependent rows (:data:`IMTL_DIFFERENCES`), and TorchJD's pinv is only accurate to
  ``~1e-4`` on nearly parallel rows; TorchJD's absolute ``|sum(v)| < 1e-12`` test zeroes the
  weights when ``|J|`` is huge.
"""

from __future__ import annotations

import pytest
import torch
from torchjd._linalg import QuadprogProjector
from torchjd.aggregation import (
    AlignedMTLWeighting,
    ConFIG,
    DualProjWeighting,
    GradDrop,
    IMTLGWeighting,
    UPGradWeighting,
)

from mtl.weighting import gradient_weights
from mtl.weighting.graddrop import graddrop_combine

from .test_properties_gradient import CATALOGUE

_EXACT_QP = QuadprogProjector(norm_eps=0.0, reg_eps=1e-12)


def _projector(J: torch.Tensor) -> QuadprogProjector:
    """The ridge-free projector, or TorchJD's default for ``J = 0`` (where norm_eps=0 gives NaN)."""
    return _EXACT_QP if float(J.square().sum()) > 0 else QuadprogProjector()


REFERENCES = {
    "upgrad": lambda J: UPGradWeighting(projector=_projector(J))(J @ J.T) @ J,
    "dualproj": lambda J: DualProjWeighting(projector=_projector(J))(J @ J.T) @ J,
    "aligned_mtl": lambda J: AlignedMTLWeighting()(J @ J.T) @ J,
    "config": lambda J: ConFIG()(J),
    "imtl": lambda J: IMTLGWeighting()(J @ J.T) @ J,
}
"""Method -> TorchJD's direction for ``J [T, P]``."""

TOLERANCE = 1e-6
"""Default bound on ``|d - d_ref| / |J|_F``: rounding of a closed form or of a converged QP."""

IMTL_DIFFERENCES = {
    # exactly dependent rows: TorchJD's pinv picks another solution (see mtl/weighting/imtl.py)
    "parallel-2": "TorchJD: min-norm pinv solution (1/3, 2/3)-like; ours the closed form's limit",
    "opposite-unequal-2": "TorchJD: (-1/2, 3/2), d = -5 g (conflicting); ours d = 0, the paper's",
    "random-2-x1e+15": "TorchJD: absolute |sum v| < 1e-12 zeroes the weights at |g| ~ 1e15",
    "random-3-x1e+15": "TorchJD: absolute |sum v| < 1e-12 zeroes the weights at |g| ~ 1e15",
}
LOOSER = {("imtl", "near-parallel-2"): 1e-3}  # TorchJD's pinv of a Gram with cond ~ 1e13


def relative_error(d: torch.Tensor, ref: torch.Tensor, J: torch.Tensor) -> float:
    """``|d - ref| / |J|_F`` (absolute when ``J = 0``)."""
    scale = float(J.norm())
    return float((d - ref).norm()) / (scale if scale > 0 else 1.0)


def _cases() -> list[object]:
    params = []
    for name in REFERENCES:
        for case in CATALOGUE:
            marks = []
            if name == "imtl" and case in IMTL_DIFFERENCES:
                continue
            params.append(pytest.param(name, case, id=f"{name}-{case}", marks=marks))
    return params


@pytest.mark.parametrize(("name", "case"), _cases())
def test_direction_matches_torchjd(name: str, case: str) -> None:
    J = CATALOGUE[case]
    d = gradient_weights(name, J) @ J
    err = relative_error(d, REFERENCES[name](J), J)
    assert err == err, "NaN"
    assert err <= LOOSER.get((name, case), TOLERANCE), err


@pytest.mark.parametrize("name", ["upgrad", "dualproj"])
@pytest.mark.parametrize("case", sorted(CATALOGUE))
def test_torchjd_default_ridge_is_the_only_difference(name: str, case: str) -> None:
    J = CATALOGUE[case]
    if float(J.square().sum()) < 1e-4:
        pytest.skip("TorchJD's default norm_eps treats this J as zero")
    weighting = UPGradWeighting() if name == "upgrad" else DualProjWeighting()
    ref = weighting(J @ J.T) @ J
    assert relative_error(gradient_weights(name, J) @ J, ref, J) <= 1e-3


@pytest.mark.parametrize("case", sorted(IMTL_DIFFERENCES))
def test_imtl_differences_are_where_documented(case: str) -> None:
    J = CATALOGUE[case]
    d = gradient_weights("imtl", J) @ J
    assert relative_error(d, REFERENCES["imtl"](J), J) > 1e-2


@pytest.mark.parametrize("leak", [0.0, 0.25])
@pytest.mark.parametrize("case", sorted(CATALOGUE))
def test_graddrop_matches_torchjd_with_the_same_draws(case: str, leak: float) -> None:
    J = CATALOGUE[case]
    errors = []
    for seed in range(3):
        torch.manual_seed(seed)
        ref = GradDrop(leak=torch.full((J.shape[0],), leak, dtype=J.dtype))(J)
        torch.manual_seed(seed)
        u = torch.rand(J.shape[1], dtype=J.dtype)  # what TorchJD drew
        d = graddrop_combine(J.unsqueeze(-2), None, u, leak).squeeze(-2)
        errors.append(relative_error(d, ref, J))
    assert max(errors) <= 1e-12, errors
