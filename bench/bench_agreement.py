"""Agreement of every gradient-based method with TorchJD on the shared catalogue of Jacobians.

For each method with a TorchJD counterpart, over every case of the catalogue the tests use
(:data:`tests.weighting.test_properties_gradient.CATALOGUE`: random, zero, one zero row, parallel,
rank-deficient, exactly and nearly opposite rows of unequal norms, scales 1e-8 to 1e15), the
direction ``d = sum_t w_t g_t`` of our :func:`mtl.weighting.gradient_weights` is compared with
TorchJD's on the same ``J``; the error is ``|d - d_ref| / |J|_F`` (absolute where ``J = 0``). Cases
where the two differ by documented convention (IMTL-G on exactly dependent rows, see
``tests/weighting/test_torchjd_agreement.py``) are counted apart, not hidden. Methods where TorchJD
runs an iterative solver (MGDA's Frank-Wolfe for T > 2, CAGrad's cvxpy) are within that solver's
tolerance, not rounding.

Run: ``python bench/bench_agreement.py`` (needs the test tools: ``requirements-test.txt``).
Prints a Markdown table: method, reference, cases compared, cases differing by convention, the
largest error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torchjd.aggregation import MGDAWeighting, PCGradWeighting

from mtl.weighting import GRADIENT_METHODS, gradient_weights
from tests.weighting.test_properties_gradient import CATALOGUE
from tests.weighting.test_torchjd_agreement import (
    IMTL_DIFFERENCES,
    REFERENCES,
    relative_error,
)

Reference = Callable[[torch.Tensor], torch.Tensor]


def _mgda(J: torch.Tensor) -> torch.Tensor:
    """TorchJD's MGDA run to a tight tolerance (plain Frank-Wolfe: exact for T = 2)."""
    return MGDAWeighting(epsilon=1e-12, max_iters=20000)(J @ J.T) @ J


def _references() -> dict[str, tuple[str, Reference]]:
    refs: dict[str, tuple[str, Reference]] = {
        name: ("TorchJD 0.18", fn) for name, fn in REFERENCES.items()
    }
    refs["mgda"] = ("TorchJD 0.18 MGDA (Frank-Wolfe, eps 1e-12)", _mgda)
    refs["pcgrad"] = ("TorchJD 0.18 PCGrad", lambda J: PCGradWeighting()(J @ J.T) @ J)
    try:  # CAGrad's TorchJD weighting needs the optional cvxpy + clarabel
        import clarabel  # noqa: F401
        import cvxpy  # noqa: F401
        from torchjd.aggregation import CAGradWeighting

        refs["cagrad"] = (
            "TorchJD 0.18 CAGrad (cvxpy), c = 0.5",
            lambda J: CAGradWeighting(c=0.5)(J @ J.T) @ J,
        )
    except ImportError:
        pass
    return refs


def _ours(name: str, J: torch.Tensor) -> torch.Tensor:
    params = {"c": 0.5} if name == "cagrad" else {}
    return gradient_weights(name, J, **params) @ J


def convention(name: str, case: str, J: torch.Tensor, ref: torch.Tensor) -> str | None:
    """Why a case is not compared for ``name`` (a documented convention), or ``None``."""
    if name == "imtl" and case in IMTL_DIFFERENCES:
        return "IMTL-G: exactly dependent rows or |J| ~ 1e15 (TorchJD's pinv / absolute test)"
    if name == "pcgrad" and J.shape[0] > 2:
        return "PCGrad, T > 2: TorchJD visits the tasks in a random order, we in a fixed one"
    if name == "mgda" and J.shape[0] > 2 and float(J.norm()) > 1e10:
        return "MGDA, T > 2, |J| ~ 1e15: Frank-Wolfe's absolute epsilon cannot converge"
    if name == "cagrad" and float(J.norm()) > 0 and bool((ref == 0).all()):
        return "CAGrad: TorchJD's solver returns d = 0 (tiny |J|, a zero row, 1e4 norm ratio)"
    return None


def main() -> None:
    refs = _references()
    print("| method | reference | cases | not compared (convention) | max error |")
    print("| --- | --- | --- | --- | --- |")
    reasons: set[str] = set()
    for name in GRADIENT_METHODS:
        if name not in refs:
            continue
        label, ref_of = refs[name]
        worst, compared, differ = 0.0, 0, 0
        for case, J in CATALOGUE.items():
            ref = ref_of(J)
            why = convention(name, case, J, ref)
            if why is not None:
                reasons.add(why)
                differ += 1
                continue
            err = relative_error(_ours(name, J), ref, J)
            worst = max(worst, err if err == err else float("inf"))
            compared += 1
        print(f"| {name} | {label} | {compared} | {differ} | {worst:.1e} |")
    for why in sorted(reasons):
        print(f"- {why}")
    others = [n for n in GRADIENT_METHODS if n not in refs]
    print(f"\nNo TorchJD counterpart (checked against LibMTL transcriptions in tests): {others}")


if __name__ == "__main__":
    main()
