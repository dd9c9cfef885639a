"""Copyable plain-PyTorch snippets of each weighting method's update, for one's own training loop.

:func:`snippet` returns the source of a small self-contained piece of code (it imports torch only,
never this package) that does what :mod:`mtl.weighting` does for one method on one model:

* a **loss-based** method becomes a function or a small class that turns the task losses
  ``[L_1, ..., L_T]`` (scalar tensors) into the one loss to call ``backward()`` on. Its gradient
  with respect to each ``L_t`` is the method's weight ``w_t``, so the update is ``sum_t w_t g_t``
  exactly as in the app. A stateful method keeps its state on the object (uncertainty weighting's
  learned log-variances, DWA's last two epoch losses, Tchebycheff's first-step losses).
* a **gradient-based** method becomes ``<method>_backward(losses, shared_params)``: the per-task
  gradients on the shared parameters by ``torch.autograd.grad``, the method's combination of them
  (computed in float64), one ``backward()`` of the summed losses so that every task head gets its
  own task's gradient, and the shared parameters' ``.grad`` overwritten with the combination.
  It returns the weights ``w`` (the shared update is ``sum_t w_t g_t``; PCGrad returns its
  direction's coefficients likewise).

The snippets follow the app's conventions (tasks in the order regression, classification; the
configured weights as a preference for Tchebycheff and STCH); their module docstrings give the
paper. Methods not in :data:`SNIPPET_METHODS` (and hyper-parameter settings a snippet does not
write out, such as CR-MOGM smoothing) raise :class:`~mtl.errors.ConfigError`; the page then says
the snippet is not available yet and names the paper.

``tests/test_snippets.py`` compiles every snippet and checks, on hand-made gradients and losses,
that it gives the weights or direction of :mod:`mtl.weighting` to 1e-6.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtl.errors import ConfigError
from mtl.weighting import METHODS, SMOOTHING

SNIPPET_METHODS: tuple[str, ...] = (
    "static",
    "equal_sum",
    "equal_mean",
    "uncertainty",
    "dwa",
    "rlw",
    "gls",
    "tchebycheff",
    "stch",
    "pcgrad",
    "mgda",
    "cagrad",
    "imtl",
)
"""The methods :func:`snippet` writes out (``imtl`` in its gradient mode, IMTL-G, only)."""

ENTRY_POINTS: dict[str, str] = {
    "static": "weighted_loss",
    "equal_sum": "weighted_loss",
    "equal_mean": "weighted_loss",
    "uncertainty": "UncertaintyWeighting",
    "dwa": "DWA",
    "rlw": "rlw_loss",
    "gls": "gls_loss",
    "tchebycheff": "Tchebycheff",
    "stch": "SmoothTchebycheff",
    "pcgrad": "pcgrad_backward",
    "mgda": "mgda_backward",
    "cagrad": "cagrad_backward",
    "imtl": "imtl_g_backward",
}
"""The name each snippet defines: a loss function, a loss class, or a ``*_backward`` function."""

_STATIC = '''\
"""{title}: L = sum_t w_t L_t with fixed weights. Plain PyTorch."""
import torch

WEIGHTS = {weights!r}  # (regression, classification)


def weighted_loss(losses, weights=WEIGHTS):
    """The weighted sum of the task losses; call .backward() on it."""
    return sum(w * loss for w, loss in zip(weights, losses))


# In the training loop:
#     optimizer.zero_grad()
#     weighted_loss([loss_reg, loss_cls]).backward()
#     optimizer.step()
'''

_BALANCED = '''\
"""Static weights with a balanced start: the weights are divided by each task's loss on the
first step and rescaled to keep their sum, then fixed. Plain PyTorch."""
import torch


class BalancedStart:
    """w_t = c * weight_t / L_t(0), c = sum(weight) / sum(weight_t / L_t(0)), fixed afterwards."""

    def __init__(self, weights={weights!r}):  # (regression, classification)
        self.base = torch.tensor(weights, dtype=torch.float64)
        self.weights = None  # set on the first call

    def __call__(self, losses):
        """The weighted sum of the task losses; call .backward() on it."""
        if self.weights is None:
            first = torch.stack([loss.detach() for loss in losses]).double()
            ok = torch.isfinite(first) & (first > 0)
            raw = self.base / torch.where(ok, first, torch.ones_like(first))
            self.weights = (raw * (self.base.sum() / raw.sum())).tolist()
        return sum(w * loss for w, loss in zip(self.weights, losses))


weighted_loss = BalancedStart()

# In the training loop:
#     optimizer.zero_grad()
#     weighted_loss([loss_reg, loss_cls]).backward()
#     optimizer.step()
'''

_UNCERTAINTY = '''\
"""Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018, arXiv:1705.07115). Plain PyTorch.

Each task learns a log-variance s_t = log sigma_t^2 (start 0) with the model; the objective is
sum_t (c_t exp(-s_t) L_t + s_t / 2) with c = 1/2 for a regression (Gaussian) loss and 1 for a
classification loss, so the weights are w_t = c_t exp(-s_t).
"""
import torch
import torch.nn as nn


class UncertaintyWeighting(nn.Module):
    def __init__(self, scales=(0.5, 1.0)):  # c_t: regression 1/2, classification 1
        super().__init__()
        self.register_buffer("scales", torch.tensor(scales))
        self.log_vars = nn.Parameter(torch.zeros(len(scales)))  # s_t = log sigma_t^2

    def weights(self):
        return self.scales * torch.exp(-self.log_vars)

    def forward(self, losses):
        """The objective to call .backward() on (it can go negative: log sigma < 0)."""
        return (self.weights() * torch.stack(losses) + 0.5 * self.log_vars).sum()


# Train the log-variances with the model (the app uses a plain optimizer of the model's kind
# and learning rate for them, without momentum):
#     uw = UncertaintyWeighting()
#     uw_optimizer = torch.optim.SGD(uw.parameters(), lr=lr)   # or Adam
#     optimizer.zero_grad(); uw_optimizer.zero_grad()
#     uw([loss_reg, loss_cls]).backward()
#     optimizer.step(); uw_optimizer.step()
'''

_DWA = '''\
"""Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019, arXiv:1803.10704). Plain PyTorch.

w_t(e) = T softmax_t(r_t / Temp), r_t = L_t(e-1) / L_t(e-2), from the mean training losses of the
last two epochs; w_t = 1 during the first two epochs.
"""
import torch

TEMPERATURE = {temperature!r}


class DWA:
    def __init__(self, n_tasks=2, temperature=TEMPERATURE):
        self.temperature = temperature
        self.weights = torch.ones(n_tasks)
        self.last = None  # L(e - 1)
        self.before = None  # L(e - 2)

    def __call__(self, losses):
        """The weighted sum of the task losses; call .backward() on it."""
        return (self.weights * torch.stack(losses)).sum()

    def epoch_end(self, mean_losses):
        """Call after every epoch with its mean training loss of each task."""
        self.before, self.last = self.last, torch.as_tensor(mean_losses, dtype=torch.float32)
        if self.before is not None:
            ok = self.before != 0
            ratio = torch.where(ok, self.last / torch.where(ok, self.before, 1.0), 1.0)
            self.weights = len(ratio) * torch.softmax(ratio / self.temperature, dim=0)


# dwa = DWA(); in each step: dwa([loss_reg, loss_cls]).backward()
# after each epoch: dwa.epoch_end([mean_loss_reg, mean_loss_cls])
'''

_RLW = '''\
"""Random Loss Weighting (Lin et al., TMLR 2022, arXiv:2111.10603). Plain PyTorch.

Fresh weights every step: w = softmax(z), z ~ N(0, I); positive, summing to 1.
"""
import torch


def rlw_loss(losses, z=None, generator=None):
    """The randomly weighted sum of the task losses; call .backward() on it.

    z: the normal draw (one number per task), drawn here when not given. (The app draws z from
    its own counter-based generator, so the same seed gives other numbers here.)
    """
    if z is None:
        z = torch.randn(len(losses), dtype=torch.float64, generator=generator)
    w = torch.softmax(z, dim=-1).to(losses[0].dtype)
    return (w * torch.stack(losses)).sum()
'''

_GLS = '''\
"""Geometric Loss Strategy (Chennupati et al., CVPR Workshops 2019, arXiv:1904.08492).

Minimise the geometric mean of the task losses, (prod_t L_t)^(1/T); its gradient weights task t by
w_t = L / (T L_t). Plain PyTorch.
"""
import torch


def gls_loss(losses):
    """The geometric mean of the task losses (in the log domain); call .backward() on it."""
    stacked = torch.stack(losses).clamp_min(1e-12)
    return stacked.log().mean().exp()
'''

_PREFERENCE = '''\
"""{title}. Plain PyTorch.

The weights p are a preference, not loss weights. Each loss is normalised, x_t = L_t / n_t
({normalize_doc}); the model minimises
{objective_doc},
with z {reference_doc}.
"""
import torch

PREFERENCE = {preference!r}  # p_t: (regression, classification)


class {cls}:
    def __init__(self, preference=PREFERENCE):
        self.p = torch.tensor(preference, dtype=torch.float64)
        self.n = None  # the normalisation n_t, from the first step
        self.best = None  # the lowest x_t so far (the running ideal point)

    def __call__(self, losses):
        """The scalarised objective; call .backward() on it."""
        stacked = torch.stack(losses)
        raw = stacked.detach().double()
{normalize_code}
        x = raw / self.n
{reference_code}
        terms = self.p * (stacked.double() / self.n - z)
{objective_code}
'''

_NORMALIZE_CODE = {
    "initial": (
        "        if self.n is None:\n"
        "            self.n = raw.clamp_min(1e-12)  # every x_t starts at 1",
        "n_t: the task's loss on the first step",
    ),
    "none": (
        "        if self.n is None:\n            self.n = torch.ones_like(raw)  # raw losses",
        "n_t = 1: the raw losses",
    ),
}
_REFERENCE_CODE = {
    "zero": ("        z = torch.zeros_like(x)", "= 0"),
    "best_seen": (
        "        self.best = x if self.best is None else torch.minimum(self.best, x)\n"
        "        z = self.best",
        "the lowest x_t seen so far (this step included)",
    ),
}

_GRADIENT_COMMON = '''\
def {name}_backward(losses, shared_params):
    """Set .grad of every parameter for this step and return the task weights w.

    losses: the task losses (scalar tensors); shared_params: the parameters all tasks share.
    The shared parameters get sum_t w_t g_t with g_t each task's gradient on them; every task's
    own head gets its own task's gradient. Then call optimizer.step().
    """
    shared_params = list(shared_params)
    rows = []
    for loss in losses:
        grads = torch.autograd.grad(loss, shared_params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([
            (torch.zeros_like(p) if g is None else g).reshape(-1)
            for p, g in zip(shared_params, grads)
        ]))
    g = torch.stack(rows)  # [T, P], one row per task
    w = {name}_weights(g.double(){weights_args})  # [T]
    direction = w.to(g.dtype) @ g
    sum(losses).backward()  # the heads: each gets its own task's gradient
    offset = 0
    for p in shared_params:  # the shared parameters: the method's combination
        p.grad = direction[offset : offset + p.numel()].view_as(p).clone()
        offset += p.numel()
    return w


# In the training loop:
#     optimizer.zero_grad()
#     {name}_backward([loss_reg, loss_cls], model.shared.parameters())
#     optimizer.step()
'''

_PCGRAD = '''\
"""PCGrad, gradient surgery (Yu et al., NeurIPS 2020, arXiv:2001.06782). Plain PyTorch.

Each task gradient loses its component along every other task's gradient it conflicts with
(negative dot product); the update is the sum of the projected gradients. Tasks visit the others
in index order (the paper draws a random order; for two tasks it makes no difference).
"""
import torch


def pcgrad_weights(g):
    """Coefficients w [T] with sum_t w_t g_t = sum_i g_i^PC, from the gradients g [T, P]."""
    G = g @ g.T
    T = len(G)
    C = torch.eye(T, dtype=g.dtype)  # g_i^PC = sum_k C[i, k] g_k
    for i in range(T):
        for j in range(T):
            inner = C[i] @ G[:, j]  # g_i^PC . g_j
            if j != i and inner < 0 and G[j, j] > 0:
                C[i, j] -= inner / G[j, j]  # g_i^PC -= (g_i^PC . g_j) / |g_j|^2 g_j
    return C.sum(0)


'''

_MGDA = '''\
"""MGDA for two tasks (Sener & Koltun, NeurIPS 2018, arXiv:1810.04650). Plain PyTorch.

The shortest convex combination of the two task gradients, in closed form:
gamma = clamp((g2 - g1) . g2 / |g1 - g2|^2, 0, 1), w = (gamma, 1 - gamma).
{normalize_doc}
"""
import torch


def mgda_weights(g, losses):
    """Weights w [2] of the min-norm point of conv(g_1, g_2), from the gradients g [2, P]."""
{normalize_code}
    ok = torch.isfinite(n) & (n > 0)
    n = torch.where(ok, n, torch.ones_like(n))  # a zero or undefined n_t: left undivided
    u = g / n[:, None]
    g11, g12, g22 = u[0] @ u[0], u[0] @ u[1], u[1] @ u[1]
    den = g11 + g22 - 2 * g12  # |u1 - u2|^2
    if den > 1e-12 * (g11 + g22):
        gamma = ((g22 - g12) / den).clamp(0.0, 1.0)
    else:  # identical gradients: every gamma gives the same direction
        gamma = torch.tensor(0.5, dtype=g.dtype)
    return torch.stack([gamma, 1 - gamma]) / n


'''

_MGDA_NORMALIZE = {
    "none": ("    n = torch.ones(2, dtype=g.dtype)", "The gradients are used as they are."),
    "l2": (
        "    n = g.norm(dim=1)",
        "The gradients are first divided by their length (unit gradients);\n"
        "the weights apply to the original ones.",
    ),
    "loss": (
        "    n = torch.stack([loss.detach() for loss in losses]).to(g.dtype)",
        "Each gradient is first divided by its task's loss;\n"
        "the weights apply to the original gradients.",
    ),
    "loss+": (
        "    n = torch.stack([loss.detach() for loss in losses]).to(g.dtype) * g.norm(dim=1)",
        "Each gradient is first divided by its task's loss times its length;\n"
        "the weights apply to the original gradients.",
    ),
}

_CAGRAD = '''\
"""CAGrad for two tasks (Liu et al., NeurIPS 2021, arXiv:2110.14048). Plain PyTorch.

Within a ball of radius c |g_0| around the average gradient g_0, the direction that most improves
the worst task: d = g_0 + (c |g_0| / |g_w|) g_w, with w the minimiser over w = (a, 1 - a) of
g_w . g_0 + c |g_0| |g_w| (g_w = a g_1 + (1 - a) g_2), here in closed form.{rescale_doc}
"""
import math

import torch

C = {c!r}  # the ball's radius, relative to |g_0|
DIVISOR = {divisor!r}  # the step is divided by this ({rescale})


def cagrad_weights(g, c=C):
    """Weights w [2] with d = w_1 g_1 + w_2 g_2, from the gradients g [2, P]."""
    G = g @ g.T
    g11, g12, g22 = G[0, 0].item(), G[0, 1].item(), G[1, 1].item()
    b = [(g11 + g12) / 2, (g12 + g22) / 2]  # g_t . g_0
    r = c * math.sqrt(max((b[0] + b[1]) / 2, 0.0))  # c |g_0|
    A = g11 + g22 - 2 * g12  # |g_1 - g_2|^2
    if A > 1e-12 * (g11 + g22):
        B = g12 - g22  # (g_1 - g_2) . g_2
        q = (g11 - g22) / 2  # (g_1 - g_2) . g_0
        m = max(g22 - B * B / A, 0.0)  # squared distance from 0 to the line through g_1, g_2
        s = r * r * A - q * q
        if s > 0:  # the minimum is inside
            a = -B / A - q * math.sqrt(m / (A * s))
        else:  # the objective is monotone: an end point
            a = 1.0 if q < 0 else 0.0 if q > 0 else 0.5
        a = min(max(a, 0.0), 1.0)
    else:  # identical gradients: every a gives the same g_w
        a = 0.5
    gw = math.sqrt(max(a * a * g11 + 2 * a * (1 - a) * g12 + (1 - a) ** 2 * g22, 0.0))
    frob = math.sqrt(max(g11 + g22, 0.0))
    if gw > 1e-6 * frob or r == 0:
        w = [0.5 + r / (gw if gw > 0 else 1.0) * a, 0.5 + r / (gw if gw > 0 else 1.0) * (1 - a)]
    elif min(b) >= -1e-12 * frob * frob:  # 0 in the hull, g_0 conflicts with no task
        w = [0.5, 0.5]
    else:  # 0 in the hull: no step improves both tasks
        w = [0.0, 0.0]
    return torch.tensor(w, dtype=g.dtype) / DIVISOR


'''

_IMTL_G = '''\
"""IMTL-G for two tasks (Liu et al., ICLR 2021, "Towards Impartial Multi-task Learning").

The combined gradient has equal projections on both tasks' unit gradients; for two tasks the
weights are (|g_2|, |g_1|) / (|g_1| + |g_2|). Plain PyTorch.
"""
import torch


def imtl_g_weights(g):
    """Weights w [2] from the gradients g [2, P]."""
    n1, n2 = g[0].norm(), g[1].norm()
    if n1 > 0 and n2 > 0:
        return torch.stack([n2, n1]) / (n1 + n2)
    return torch.stack([(n1 > 0), (n2 > 0)]).to(g.dtype)  # a zero gradient: all on the other
'''


def unavailable(method: str, params: Mapping[str, Any] | None = None) -> str | None:
    """Why :func:`snippet` has nothing for ``method`` with ``params``, or ``None`` if it has.

    A plain sentence naming the method's paper, for the page to show in place of the snippet.
    """
    cls = METHODS.get(method)
    if cls is None:
        return f"There is no method {method!r}."
    paper = f" See the paper: {cls.citation}" if cls.citation else ""
    if method not in SNIPPET_METHODS:
        return f"A plain-PyTorch snippet of {cls.label} is not available yet.{paper}"
    p = cls.resolve_params(dict(params or {}))
    if p.get(SMOOTHING.name, 0.0):
        return (
            f"The snippet of {cls.label} does not write out CR-MOGM smoothing yet; with the "
            "smoothing at 0 there is one."
        )
    if method == "mgda" and p["upper_bound"]:
        return (
            "The snippet of MGDA-UB (the upper bound) is not available yet; plain MGDA has one."
            + paper
        )
    if method == "imtl" and p["mode"] != "gradient":
        return (
            "A snippet of IMTL's learned loss scales (IMTL-L, and the hybrid) is not available "
            "yet; IMTL-G (mode 'gradient') has one." + paper
        )
    return None


def snippet(
    method: str,
    params: Mapping[str, Any] | None = None,
    *,
    weights: tuple[float, ...] = (0.5, 0.5),
    scale: str = "raw",
) -> str:
    """The plain-PyTorch source of ``method``'s update with hyper-parameters ``params``.

    Args:
        method: a name in :data:`SNIPPET_METHODS`.
        params: the method's hyper-parameters (defaults filled in and checked).
        weights: the configured weights: the static weights, or the preference of Tchebycheff
            and STCH (ignored by the others).
        scale: ``"balanced"`` for static weights with a balanced start.

    Returns:
        Source that ``compile()`` accepts and that imports torch only; it defines
        ``ENTRY_POINTS[method]``.

    Raises:
        ConfigError: the method (or this setting of it) has no snippet yet; the message names the
            paper.
    """
    reason = unavailable(method, params)
    if reason is not None:
        raise ConfigError("weighting.method", method, f"a method with a snippet. {reason}")
    p = METHODS[method].resolve_params(dict(params or {}))
    if method == "static":
        template = _BALANCED if scale == "balanced" else _STATIC
        return template.format(title="Static weights", weights=tuple(weights))
    if method == "equal_sum":
        return _STATIC.format(title="Equal weights (sum)", weights=(1.0, 1.0))
    if method == "equal_mean":
        return _STATIC.format(title="Equal weights (mean)", weights=(0.5, 0.5))
    if method == "uncertainty":
        return _UNCERTAINTY
    if method == "dwa":
        return _DWA.format(temperature=p["temperature"])
    if method == "rlw":
        return _RLW
    if method == "gls":
        return _GLS
    if method in ("tchebycheff", "stch"):
        return _preference(method, p, tuple(weights))
    if method == "pcgrad":
        return _PCGRAD + _GRADIENT_COMMON.format(name="pcgrad", weights_args="")
    if method == "mgda":
        code, doc = _MGDA_NORMALIZE[p["normalize"]]
        return _MGDA.format(normalize_code=code, normalize_doc=doc) + _GRADIENT_COMMON.format(
            name="mgda", weights_args=", losses"
        )
    if method == "cagrad":
        rescale = p["rescale"]
        divisor = {"none": 1.0, "one_plus_c2": 1.0 + p["c"] ** 2, "one_plus_c": 1.0 + p["c"]}
        rescale_doc = {
            "none": "",
            "one_plus_c2": "\nThe step is divided by 1 + c^2 (the official code's default).",
            "one_plus_c": "\nThe step is divided by 1 + c.",
        }
        source = _CAGRAD.format(
            c=p["c"], divisor=divisor[rescale], rescale=rescale, rescale_doc=rescale_doc[rescale]
        )
        return source + _GRADIENT_COMMON.format(name="cagrad", weights_args="")
    return _IMTL_G + "\n\n" + _GRADIENT_COMMON.format(name="imtl_g", weights_args="")


def _preference(method: str, p: dict[str, Any], preference: tuple[float, ...]) -> str:
    """Tchebycheff's or STCH's snippet for hyper-parameters ``p``."""
    normalize_code, normalize_doc = _NORMALIZE_CODE[p["normalize"]]
    reference_code, reference_doc = _REFERENCE_CODE[p["reference"]]
    if method == "tchebycheff":
        title = (
            "Weighted Tchebycheff scalarisation\n"
            "(Miettinen 1999, section 3.4; Zhang & Li 2007, MOEA/D)"
        )
        objective_doc = "max_t p_t (x_t - z_t): each step works on the worst-off task"
        objective_code = "        return terms.amax().to(stacked.dtype)  # ties share the step"
        cls_name = "Tchebycheff"
    else:
        title = "Smooth Tchebycheff, STCH (Lin et al., ICML 2024, arXiv:2402.19078)"
        objective_doc = "mu log sum_t exp(p_t (x_t - z_t) / mu), a smooth max"
        objective_code = (
            f"        mu = {p['mu']!r}\n"
            "        return (mu * torch.logsumexp(terms / mu, dim=0)).to(stacked.dtype)"
        )
        cls_name = "SmoothTchebycheff"
    return (
        _PREFERENCE.format(
            title=title,
            normalize_doc=normalize_doc,
            objective_doc=objective_doc,
            reference_doc=reference_doc,
            preference=preference,
            cls=cls_name,
            normalize_code=normalize_code,
            reference_code=reference_code,
            objective_code=objective_code,
        )
        + f"\n\n# objective = {cls_name}(); in each step: objective([loss_reg, loss_cls])"
        ".backward()\n"
    )
