"""Copyable plain-PyTorch snippets of each weighting method's update, for one's own training loop.

:func:`snippet` returns the source of a small self-contained piece of code (it needs only torch,
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
  direction's coefficients likewise). A stateful one (GradNorm, GradVac, ExcessMTL, MoCo, DB-MTL,
  IMTL-L) is an object with that call, created once; a method whose weights multiply the losses
  (GradNorm, Nash-MTL, FairGrad, ExcessMTL) back-propagates ``sum_t w_t L_t`` instead; MoCo and
  DB-MTL set their own shared direction, DB-MTL and IMTL-L scale the heads too; GradDrop and
  MGDA-UB also take the shared representation.

The snippets follow the app's conventions (tasks in the order regression, classification; the
configured weights as a preference for Tchebycheff and STCH, and as GradNorm's start); their
module docstrings give the paper. Every method in :data:`~mtl.weighting.METHODS` has one, for
every setting of its hyper-parameters: a solver is written out as the core runs it (same
float64 arithmetic, iterations and tolerances), a random method takes the app's draws as an
argument (drawn with ``torch`` when not given), and CR-MOGM smoothing appends a small class that
averages the weights. A name that is not a method, or hyper-parameters it does not take, raise
:class:`~mtl.errors.ConfigError`.

``tests/test_snippets.py`` compiles every snippet and checks, on hand-made gradients and losses,
that it gives the weights or direction of :mod:`mtl.weighting` to 1e-6 (the stateful ones step by
step); ``tests/test_export.py`` trains with each inside an exported script.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtl.errors import ConfigError
from mtl.weighting import METHODS, SMOOTHING

SNIPPET_METHODS: tuple[str, ...] = tuple(METHODS)
"""The methods :func:`snippet` writes out: every registered method, every setting."""

ENTRY_POINTS: dict[str, str] = {
    "static": "weighted_loss",
    "equal_sum": "weighted_loss",
    "equal_mean": "weighted_loss",
    "uncertainty": "UncertaintyWeighting",
    "dwa": "DWA",
    "rlw": "rlw_loss",
    "famo": "FAMO",
    "gradnorm": "gradnorm_backward",
    "pcgrad": "pcgrad_backward",
    "mgda": "mgda_backward",
    "cagrad": "cagrad_backward",
    "imtl": "imtl_backward",
    "upgrad": "upgrad_backward",
    "dualproj": "dualproj_backward",
    "aligned_mtl": "aligned_mtl_backward",
    "config": "config_backward",
    "gls": "gls_loss",
    "nash_mtl": "nash_mtl_backward",
    "fairgrad": "fairgrad_backward",
    "gradvac": "gradvac_backward",
    "excess_mtl": "excess_mtl_backward",
    "graddrop": "graddrop_backward",
    "moco": "moco_backward",
    "db_mtl": "db_mtl_backward",
    "tchebycheff": "Tchebycheff",
    "stch": "SmoothTchebycheff",
}
"""The name each snippet defines with its default settings: a loss function, a loss class, or a
``*_backward`` callable (a function, or the instance of a class that keeps the method's state);
:func:`entry_point` gives it for other settings (MGDA-UB, IMTL-G)."""

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
{smooth}    direction = w.to(g.dtype) @ g
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


# ---------------------------------------------------------------------------------------------
# The remaining methods. Their snippets share two helpers (the per-task gradients, and setting
# .grad from a shared direction and head weights) and, when a method learns state, keep it on an
# object whose call does one step, the way the app's engine asks for the weights, applies them
# and then lets the method learn from the same step.

_HELPERS = '''

def task_gradients(losses, params):
    """Each task's gradient on params, flattened: [T, P], one row per task."""
    params = list(params)
    rows = []
    for loss in losses:
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([
            (torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)
        ]))
    return torch.stack(rows)


def set_gradients(losses, shared_params, direction=None, head_weights=None):
    """.grad of every parameter: backward of sum_t head_weights_t L_t (ones by default), so each
    task's head gets its own task's gradient times its head weight; then, when a direction [P]
    is given, the shared parameters' .grad is overwritten with it."""
    stacked = torch.stack(losses)
    if head_weights is None:
        head_weights = torch.ones_like(stacked)
    (head_weights.detach().to(stacked.dtype) * stacked).sum().backward()
    if direction is not None:
        offset = 0
        for p in shared_params:
            p.grad = direction[offset : offset + p.numel()].view_as(p).clone()
            offset += p.numel()
'''

_SMOOTHING = '''

# CR-MOGM smoothing (Zhou, Zhang, Jiang, Zhong, Gu & Zhu, "On the Convergence of Stochastic
# Multi-Objective Gradient Manipulation and Beyond", NeurIPS 2022): the weights applied are the
# moving average lambda_k = beta lambda_{{k-1}} + (1 - beta) w_k of the method's weights w_k.
SMOOTHING = {beta!r}  # beta


class Smoothing:
    def __init__(self, beta=SMOOTHING):
        self.beta, self.last = beta, None

    def __call__(self, w):
        """The weights to apply this step (w itself at the first step)."""
        if self.last is not None:
            w = (self.beta * self.last + (1 - self.beta) * w.double()).to(w.dtype)
        self.last = w.detach().double()
        return w


smooth = Smoothing()
'''

_SMOOTH_LINE = "    w = smooth(w)  # CR-MOGM: the moving average of the weights\n"

_ADAM = '''

class Adam:
    """Adam (Kingma & Ba, ICLR 2015) on one tensor, in place: torch.optim.Adam's arithmetic."""

    def __init__(self, param, lr, betas=(0.9, 0.999), eps=1e-8):
        self.param, self.lr, self.betas, self.eps = param, lr, betas, eps
        self.m, self.v, self.t = torch.zeros_like(param), torch.zeros_like(param), 0

    def step(self, grad):
        b1, b2 = self.betas
        self.t += 1
        self.m.lerp_(grad, 1 - b1)
        self.v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        denom = (self.v.sqrt() / math.sqrt(1 - b2**self.t)).add_(self.eps)
        self.param.addcdiv_(self.m, denom, value=-(self.lr / (1 - b1**self.t)))
'''

_FAMO = '''\
"""FAMO: Fast Adaptive Multitask Optimization (Liu, Feng, Stone & Liu, NeurIPS 2023,
arXiv:2306.03792), Algorithm 1. Plain PyTorch.

Learned logits xi [T] (start 0), z = softmax(xi). The loss weights task t by
w_t = (z_t / D_t) / sum_s (z_s / D_s), D_t = L_t + 1e-8, so every log-loss falls at the same
rate. Before each step's weights the logits take one Adam step (rate W_LR, L2 decay GAMMA) on
z * (delta - z . delta), delta_t = log D_t(previous step) - log D_t(this step): a task whose loss
fell less than the others gains weight. (The paper re-evaluates the losses after the update; in a
full-batch loop the next step's losses are exactly those.)
"""
import math

import torch

W_LR = {w_lr!r}  # the logits' Adam learning rate
GAMMA = {gamma!r}  # the logits' decay
EPS = 1e-8
{adam}

class FAMO:
    def __init__(self, n_tasks=2, w_lr=W_LR, gamma=GAMMA):
        self.logits = torch.zeros(n_tasks)  # xi
        self.optimizer = Adam(self.logits, w_lr)
        self.gamma = gamma
        self.previous = None  # the last step's losses

    def __call__(self, losses):
        """The weighted sum of the task losses; call .backward() on it."""
        stacked = torch.stack(losses)
        current = stacked.detach().to(self.logits.dtype)
        if self.previous is not None:  # learn from how much each log-loss fell
            z = torch.softmax(self.logits, dim=-1)
            delta = torch.log(self.previous + EPS) - torch.log(current + EPS)
            grad = z * (delta - (z * delta).sum(-1, keepdim=True))
            self.optimizer.step(grad.add_(self.logits, alpha=self.gamma))
        self.previous = current.clone()
        ratio = torch.softmax(self.logits, dim=-1) / (current + EPS)
        w = ratio / ratio.sum(-1, keepdim=True)
        return (w * stacked).sum()


# famo = FAMO(); in each step: famo([loss_reg, loss_cls]).backward()
'''

_GRADNORM = '''\
"""GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018, arXiv:1711.02257), Algorithm 1.
Plain PyTorch.

Learned loss weights w [T], positive and summing to T (from the configured weights). At every
step, with n_t the norm of task t's gradient on the last shared layer (its weight and bias):
G_t = w_t n_t, r_t = (L_t / L_t(0)) / mean_s (L_s / L_s(0)), target_t = mean(G) r_t^alpha.
The model steps with sum_t w_t g_t (heads included); then w takes one Adam step on
d/dw sum_t |G_t - target_t| = sign(G_t - target_t) n_t, is clamped at 1e-4 and rescaled to sum T.
"""
import math

import torch

WEIGHTS = {weights!r}  # the starting weights (regression, classification), rescaled to sum T
ALPHA = {alpha!r}  # the restoring force
WEIGHT_LR = {weight_lr!r}  # the weights' Adam learning rate
{adam}{helpers}

class GradNorm:
    def __init__(self, weights=WEIGHTS, alpha=ALPHA, weight_lr=WEIGHT_LR):
        base = torch.tensor(weights).clamp_min(1e-4)
        self.w = len(base) * base / base.sum()
        self.alpha = alpha
        self.optimizer = Adam(self.w, weight_lr)
        self.initial = None  # L(0), the first step's losses

    def __call__(self, losses, shared_params):
        """Set .grad of every parameter for this step and return the weights applied.

        shared_params: the shared parameters in layer order; the last two are the last shared
        layer's weight and bias, where the gradient norms are measured. Then optimizer.step().
        """
        shared_params = list(shared_params)
        norms = task_gradients(losses, shared_params[-2:]).norm(dim=-1).to(self.w.dtype)  # n_t
        current = torch.stack(losses).detach().to(self.w.dtype)
        w = self.w.clone()
{smooth}        set_gradients(losses, shared_params, head_weights=w)  # sum_t w_t g_t everywhere
        if self.initial is None:
            self.initial = current.clone()
        inverse_rate = current / self.initial.clamp_min(1e-12)
        relative = inverse_rate / inverse_rate.mean().clamp_min(1e-12)
        G = self.w * norms
        target = G.mean() * relative.pow(self.alpha)
        self.optimizer.step(torch.sign(G - target) * norms)
        self.w.clamp_(min=1e-4)
        self.w.mul_(len(self.w) / self.w.sum())
        return w


gradnorm_backward = GradNorm()

# In the training loop:
#     optimizer.zero_grad()
#     gradnorm_backward([loss_reg, loss_cls], shared_params)
#     optimizer.step()
'''

_DUAL_CONE = '''

def project_dual_cone(U, G):
    """Minimisers v of v^T G v subject to v >= u, one per row u of U [M, T].

    J^T v is then the projection of J^T u onto the dual cone {x : x . g_t >= 0 for every t}.
    Exact: every active set in turn (few tasks), each candidate clamped to v >= u, the least
    v^T G v kept. G is divided by its trace first (scale-invariant weights).
    """
    trace = G.diagonal().sum()
    G = G / (trace if trace > 0 else 1.0)
    T = len(G)
    best = U.clone()  # all constraints active: v = u
    best_obj = ((best @ G) * best).sum(-1)
    for m in range(1, T + 1):
        for free in itertools.combinations(range(T), m):
            cand = U.clone()
            if m == T:
                cand = torch.zeros_like(U)
            elif m == 1:  # v_j = -(G_j. u - G_jj u_j) / G_jj
                j = free[0]
                gjj = G[j, j]
                if gjj > 0:
                    cand[:, j] = -((U @ G[:, j]) - gjj * U[:, j]) / gjj
            else:
                f = list(free)
                a = [t for t in range(T) if t not in free]
                rhs = U[:, a] @ G[f][:, a].T
                cand[:, f] = -(rhs @ torch.linalg.pinv(G[f][:, f], hermitian=True).T)
            cand = torch.maximum(cand, U)  # feasible
            obj = ((cand @ G) * cand).sum(-1)
            better = obj < best_obj
            best = torch.where(better.unsqueeze(-1), cand, best)
            best_obj = torch.where(better, obj, best_obj)
    return best
'''

_UPGRAD = '''\
"""UPGrad (Quinton & Rey, 2024, "Jacobian Descent for Multi-Objective Optimization",
arXiv:2406.16232, TorchJD). Plain PyTorch.

Each task gradient is projected onto the dual cone of all of them (the directions that increase
no task loss to first order) and the projections are averaged: d = (1/T) sum_i proj(g_i). With
G = J J^T, proj(J^T u) = J^T argmin_{{v >= u}} v^T G v, so the weights are the mean of those v.
"""
import itertools

import torch
{dual_cone}

def upgrad_weights(g):
    """Weights w [T] with d = w^T g, from the gradients g [T, P]."""
    G = g @ g.T
    T = len(G)
    return project_dual_cone(torch.eye(T, dtype=G.dtype) / T, G).sum(0)


'''

_DUALPROJ = '''\
"""DualProj (Quinton & Rey, 2024, arXiv:2406.16232; the projection of Lopez-Paz & Ranzato,
"Gradient Episodic Memory for Continual Learning", NeurIPS 2017). Plain PyTorch.

The mean gradient projected onto the dual cone of the task gradients (the directions that
increase no task loss to first order): d = J^T v, v = argmin_{{v >= 1/T}} v^T G v, G = J J^T.
"""
import itertools

import torch
{dual_cone}

def dualproj_weights(g):
    """Weights w [T] with d = w^T g, from the gradients g [T, P]."""
    G = g @ g.T
    T = len(G)
    return project_dual_cone(torch.full((1, T), 1.0 / T, dtype=G.dtype), G)[0]


'''

_ALIGNED = '''\
"""Aligned-MTL (Senushkin, Patakin, Kuznetsov & Konushin, "Independent Component Alignment for
Multi-Task Learning", CVPR 2023), Algorithm 1. Plain PyTorch.

The gradients' principal directions all get the same singular value ({scale_doc}):
G = J J^T = V Lambda V^T (the eigenvalues above lambda_max T eps kept),
w = sqrt(s) V Lambda^-1/2 V^T (1/T, ..., 1/T), d = w^T J.
"""
import torch


def aligned_mtl_weights(g):
    """Weights w [T] with d = w^T g, from the gradients g [T, P]."""
    G = g @ g.T
    T = len(G)
    lam, V = torch.linalg.eigh(G)  # ascending
    valid = lam > lam[-1] * T * torch.finfo(G.dtype).eps
    rank = int(valid.sum())
    if rank == 0:  # every gradient zero
        return torch.full((T,), 1.0 / T, dtype=G.dtype)
    first = T - rank  # the smallest eigenvalue kept
{scale_code}
    inv_sqrt = torch.where(valid, torch.where(valid, lam, 1.0).rsqrt(), 0.0)
    inv_sqrt = inv_sqrt * scale.clamp_min(0).sqrt()
    pref = torch.full((T, 1), 1.0 / T, dtype=G.dtype)
    return ((V * inv_sqrt.unsqueeze(-2)) @ (V.T @ pref)).squeeze(-1)


'''

_ALIGNED_SCALE = {
    "min": ("    scale = lam[first]", "the smallest, the paper's"),
    "median": (
        "    scale = lam[first + (rank - 1) // 2]",
        "the median, the lower for an even count",
    ),
    "rmse": ("    scale = (lam * valid).sum() / rank", "their mean"),
}

_CONFIG = '''\
"""ConFIG (Liu, Chu & Thuerey, "ConFIG: Towards Conflict-free Training of Physics Informed
Neural Networks", ICLR 2025, arXiv:2408.11104), Equation 2. Plain PyTorch.

The direction b with equal cosine to every task gradient (b = U^+ 1, U the unit gradients), with
the length of the gradients' summed projections on it: d = (sum_t g_t . b^) b^. For two tasks,
d = (|g_1| + |g_2|) / 2 (u_1 + u_2).
"""
import torch


def config_weights(g):
    """Weights w [T] with d = w^T g, from the gradients g [T, P]."""
    G = g @ g.T
    T = len(G)
    norms = G.diagonal().clamp_min(0.0).sqrt()
    nonzero = norms > 0
    safe = torch.where(nonzero, norms, 1.0)
    if T == 2:
        count = nonzero.sum().clamp_min(1).to(G.dtype)
        return torch.where(nonzero, norms.sum() / (count * safe), 0.0)
    C = G / (safe.unsqueeze(-1) * safe.unsqueeze(-2))  # the unit gradients' Gram matrix
    y = torch.linalg.pinv(C, rtol=1e-12, hermitian=True) @ torch.ones(T, dtype=G.dtype)
    a = torch.where(nonzero, y / safe, 0.0)  # b = sum_t a_t g_t
    Ga = G @ a
    length2 = (a * Ga).sum()  # |b|^2
    if length2 > 1e-24 * G.diagonal().sum() * (a * a).sum():
        return a * Ga.sum() / length2
    return torch.zeros(T, dtype=G.dtype)


'''

_POWER = '''

def solve_power_equation(G, p):
    """Positive w with G w = w^(-p), from the Gram matrix G [T, T] (float64).

    The minimum of the convex f(w) = w^T G w / 2 - sum_t h(w_t), h' = w^-p, by damped Newton
    steps (fraction to the boundary, Armijo backtracking), on G divided by its mean diagonal s
    with a 1e-12 ridge; the solution is scaled back by s^(-1 / (1 + p)). A zero gradient is
    solved as orthogonal with the mean size; if zero is a convex combination of the gradients
    (no positive solution) the null combination is returned, scaled to sum T.
    """
    T = G.shape[-1]
    diag = G.diagonal()
    zero = diag <= 1e-20 * diag.amax()
    s = torch.where(zero, 0.0, diag).sum() / (~zero).sum().clamp_min(1)
    s = torch.where(s > 0, s, 1.0)
    keep = (~zero).to(G.dtype)
    Gn = (G / s) * keep.unsqueeze(-1) * keep.unsqueeze(-2)
    Gn = Gn + torch.diag_embed(1.0 - keep + 1e-12)
    dn = Gn.diagonal()

    def f_of(w):
        quad = 0.5 * (w * (Gn @ w)).sum()
        return quad - (w.log() if p == 1.0 else w.pow(1.0 - p) / (1.0 - p)).sum()

    if T == 2:  # exact for p = 1 and for equal norms
        cos = Gn[0, 1] / (dn[0] * dn[1]).sqrt()
        w = (dn * (1.0 + cos).clamp_min(1e-15)).pow(-1.0 / (1.0 + p))
    else:  # exact for orthogonal gradients
        w = dn.pow(-1.0 / (1.0 + p))
    f = f_of(w)
    previous = math.inf
    for _ in range(100):
        grad = Gn @ w - w.pow(-p)
        H = Gn + torch.diag_embed(p * w.pow(-p - 1.0))
        if T == 2:  # the 2 x 2 system in closed form
            det = H[0, 0] * H[1, 1] - H[0, 1] * H[0, 1]
            step = -torch.stack([
                (H[1, 1] * grad[0] - H[0, 1] * grad[1]) / det,
                (H[0, 0] * grad[1] - H[0, 1] * grad[0]) / det,
            ])
        else:
            step = -torch.linalg.solve(H, grad)
        decrement = -(grad * step).sum()  # the Newton decrement squared
        slack = 1e-13 * (1.0 + f.abs())
        if not decrement > 1e-20 * (1.0 + f.abs()):
            break
        f_before = f
        shrink = torch.where(step < 0, -0.99 * w / step.clamp_max(-1e-300), torch.inf)
        t = shrink.amin().clamp_max(1.0)
        for _ in range(50):  # Armijo backtracking
            trial = w + t * step
            f_trial = f_of(trial)
            if f_trial <= f - 0.25 * t * decrement + slack:
                w, f = trial, f_trial
                break
            t = 0.5 * t
        if f_before - f <= slack and decrement > 0.5 * previous:
            break  # stalled at the optimum to rounding (ill-conditioned)
        previous = decrement
    stationary = bool((1e-12 * w.pow(1.0 + p) > 1e-4).any())
    w = w * s.pow(-1.0 / (1.0 + p))
    if not stationary:
        return w
    null = torch.linalg.eigh(Gn).eigenvectors[:, 0]  # G's null combination
    null = (null * (-1.0 if (null * w).sum() < 0 else 1.0)).clamp_min(0.0)
    return T * null / null.sum().clamp_min(1e-300)
'''

_LOSS_GRADIENT_COMMON = '''
def {name}_backward(losses, shared_params):
    """Set .grad of every parameter for this step and return the task weights w.

    losses: the task losses (scalar tensors); shared_params: the parameters all tasks share.
    The weights come from the gradients on the shared parameters and multiply the losses: every
    parameter, heads included, gets sum_t w_t g_t. Then call optimizer.step().
    """
    shared_params = list(shared_params)
    g = task_gradients(losses, shared_params)  # [T, P]
    w = {name}_weights(g.double()).to(g.dtype)
{smooth}    set_gradients(losses, shared_params, head_weights=w)
    return w


# In the training loop:
#     optimizer.zero_grad()
#     {name}_backward([loss_reg, loss_cls], model.shared.parameters())
#     optimizer.step()
'''

_NASH = '''\
"""Nash-MTL (Navon, Shamsian, Achituve, Maron, Kawaguchi, Chechik & Fetaya, "Multi-Task Learning
as a Bargaining Game", ICML 2022, arXiv:2202.01017). Plain PyTorch.

The Nash bargaining solution: weights alpha > 0 with G alpha = 1 / alpha (elementwise), G the
Gram matrix of the task gradients divided by its Frobenius norm. The weights multiply the
losses. (The official code approximates this equation by a sequence of convex problems; here it
is solved by Newton's method.)
"""
import math

import torch
{helpers}{power}

def nash_mtl_weights(g):
    """Weights alpha [T] from the gradients g [T, P]."""
    G = g @ g.T
    norm = torch.linalg.matrix_norm(G)
    return solve_power_equation(G / (norm if norm > 0 else 1.0), 1.0)

'''

_FAIRGRAD = '''\
"""FairGrad (Ban & Ji, "Fair Resource Allocation in Multi-Task Learning", ICML 2024,
arXiv:2402.15638). Plain PyTorch.

alpha-fair improvements: weights w > 0 with G w = w^(-1/alpha) (elementwise), G = J J^T the Gram
matrix of the task gradients, so each task's improvement g_t . d, d = sum_t w_t g_t, is shared
alpha-fairly. The weights multiply the losses. (The official code calls
scipy.optimize.least_squares; here the equation is solved by Newton's method.)
"""
import math

import torch

ALPHA = {alpha!r}  # the fairness exponent
{helpers}{power}

def fairgrad_weights(g, alpha=ALPHA):
    """Weights w [T] from the gradients g [T, P]."""
    return solve_power_equation(g @ g.T, 1.0 / alpha)

'''

_GRADVAC = '''\
"""GradVac, Gradient Vaccine (Wang, Tsvetkov, Firat & Cao, ICLR 2021, arXiv:2010.05874),
Algorithm 1, at LibMTL's whole-model granularity. Plain PyTorch.

Each ordered task pair (i, j) keeps a target cosine phi_ij (start 0). With p_i task i's gradient
as modified so far, rho = cos(p_i, g_j); if rho < phi_ij, p_i gains
|p_i| (phi sqrt(1 - rho^2) - rho sqrt(1 - phi^2)) / (|g_j| sqrt(1 - phi^2)) g_j (now at cosine
phi); then phi_ij <- (1 - beta) phi_ij + beta rho. The update is d = sum_i p_i; each head gets its
own task's gradient. Everything follows from the Gram matrix: p_i = sum_j C_ij g_j.
"""
import torch

BETA = {beta!r}  # the targets' EMA rate
EPS = 1e-8
{helpers}

def gradvac_step(G, targets, beta=BETA):
    """(w [T], new targets [T, T]) from the Gram matrix G [T, T] and the targets."""
    T = len(G)
    norms = G.diagonal().clamp_min(0.0).sqrt()  # |g_j|
    new = targets.clone()
    if T == 2:  # both pairs see the same cosine while p_i = g_i
        other = norms.flip(-1)
        rho = G[0, 1] / (norms[0] * norms[1] + EPS)
        phi = torch.stack([targets[0, 1], targets[1, 0]])
        sin_rho = (1.0 - rho * rho).clamp_min(0.0).sqrt()
        sin_phi = (1.0 - phi * phi).clamp_min(0.0).sqrt()
        coef = norms * (phi * sin_rho - rho * sin_phi) / (other * sin_phi + EPS)
        coef = torch.where((rho < phi) & (other > 0), coef, 0.0)  # c_12, c_21
        moved = (1.0 - beta) * phi + beta * rho
        new[0, 1], new[1, 0] = moved[0], moved[1]
        return 1.0 + coef.flip(-1), new
    C = torch.eye(T, dtype=G.dtype)  # p_i = sum_j C[i, j] g_j
    for i in range(T):
        for j in range(T):
            if j == i:
                continue
            cG = C[i] @ G  # p_i . g_s for every s
            p_norm = (cG * C[i]).sum().clamp_min(0.0).sqrt()
            rho = cG[j] / (p_norm * norms[j] + EPS)
            phi = targets[i, j]
            sin_rho = (1.0 - rho * rho).clamp_min(0.0).sqrt()
            sin_phi = (1.0 - phi * phi).clamp_min(0.0).sqrt()
            if rho < phi and norms[j] > 0:
                C[i, j] += p_norm * (phi * sin_rho - rho * sin_phi) / (norms[j] * sin_phi + EPS)
            new[i, j] = (1.0 - beta) * phi + beta * rho
    return C.sum(0), new


class GradVac:
    def __init__(self, n_tasks=2, beta=BETA):
        self.targets = torch.zeros(n_tasks, n_tasks, dtype=torch.float64)  # phi
        self.beta = beta

    def __call__(self, losses, shared_params):
        """Set .grad of every parameter for this step and return the weights w (d = w^T g)."""
        shared_params = list(shared_params)
        g = task_gradients(losses, shared_params)  # [T, P]
        gd = g.double()
        w, self.targets = gradvac_step(gd @ gd.T, self.targets, self.beta)
        w = w.to(g.dtype)
{smooth}        set_gradients(losses, shared_params, direction=w @ g)
        return w


gradvac_backward = GradVac()

# In the training loop:
#     optimizer.zero_grad()
#     gradvac_backward([loss_reg, loss_cls], model.shared.parameters())
#     optimizer.step()
'''

_EXCESS = '''\
"""ExcessMTL (He, Zhou, Zhang, Yun, Xu, Zeng, Chilimbi & Zhao, "Robust Multi-Task Learning with
Excess Risks", ICML 2024, arXiv:2402.02009), LibMTL's arithmetic. Plain PyTorch.

Each task's excess risk is estimated from its gradient g_t on the shared parameters and Adagrad's
curvature estimate: S_t <- S_t + g_t^2, e_t = g_t . (g_t / sqrt(S_t + 1e-7)). The first step
records e0_t; afterwards lambda_t <- lambda_t exp(eta e_t / e0_t), rescaled to sum T (kept as
log-weights and a softmax). The weights multiply the losses and already include this step's
update.
"""
import torch

STEP_SIZE = {step_size!r}  # eta
EPS = 1e-7
{helpers}

class ExcessMTL:
    def __init__(self, n_tasks=2, step_size=STEP_SIZE):
        self.log_weights = torch.zeros(n_tasks, dtype=torch.float64)
        self.grad_sq = None  # S [T, P]
        self.initial = None  # e0 [T]
        self.step_size = step_size

    def __call__(self, losses, shared_params):
        """Set .grad of every parameter for this step and return the loss weights."""
        shared_params = list(shared_params)
        g32 = task_gradients(losses, shared_params)  # [T, P]
        g = g32.double()
        self.grad_sq = g.square() if self.grad_sq is None else self.grad_sq + g.square()
        excess = (g * g / (self.grad_sq + EPS).sqrt()).sum(-1)
        if self.initial is None:
            self.initial = excess
        else:
            ok = self.initial != 0
            ratio = torch.where(ok, excess / torch.where(ok, self.initial, 1.0), 0.0)
            self.log_weights = self.log_weights + self.step_size * ratio
        w = (len(g) * torch.softmax(self.log_weights, dim=-1)).to(g32.dtype)
{smooth}        set_gradients(losses, shared_params, head_weights=w)  # sum_t w_t g_t everywhere
        return w


excess_mtl_backward = ExcessMTL()

# In the training loop:
#     optimizer.zero_grad()
#     excess_mtl_backward([loss_reg, loss_cls], model.shared.parameters())
#     optimizer.step()
'''

_GRADDROP = '''\
"""GradDrop (Chen, Ngiam, Huang, Luong, Kretzschmar, Chai & Anguelov, "Just Pick a Sign:
Optimizing Deep Multitask Models with Gradient Sign Dropout", NeurIPS 2020, arXiv:2010.06808),
Algorithm 1. Plain PyTorch.

On the shared representation z (the shared layers' output, [N, H] over the batch), per feature h:
s_t = sum_n sign(z_n) dL_t/dz_n, P = (1 + sum_t s_t / sum_t |s_t|) / 2 (1/2 where all s_t are
0), U ~ Uniform(0, 1), M_t = [P > U and s_t > 0] or [P < U and s_t < 0]; the combined gradient
sum_t (leak + (1 - leak) M_t) dL_t/dz goes back through the shared layers, and each head gets its
own task's gradient.
"""
import torch

LEAK = {leak!r}


def graddrop_backward(losses, rep, shared_params, u=None, leak=LEAK):
    """Set .grad of every parameter for this step and return the per-task masks [T, H].

    rep: the shared representation [N, H] the losses were computed from (in the graph);
    u: the uniform draws [H] (drawn here when not given).
    """
    shared_params = list(shared_params)
    rep_grads = torch.stack(  # dL_t/dz [T, N, H]
        [torch.autograd.grad(loss, rep, retain_graph=True)[0] for loss in losses]
    )
    if u is None:
        u = torch.rand(rep.shape[-1], dtype=torch.float64)
    signed = (rep_grads * rep.detach().sign()).sum(-2)  # s_t [T, H]
    total, mass = signed.sum(0), signed.abs().sum(0)
    purity = 0.5 * (1.0 + torch.where(mass > 0, total / torch.where(mass > 0, mass, 1.0), 0.0))
    keep = ((u < purity) & (signed > 0)) | ((u > purity) & (signed < 0))
    masks = leak + (1.0 - leak) * keep.to(signed.dtype)  # [T, H]
    combined = (rep_grads * masks.unsqueeze(-2)).sum(0)  # [N, H]
    shared = torch.autograd.grad(rep, shared_params, combined, retain_graph=True)
    sum(losses).backward()  # the heads: each gets its own task's gradient
    for p, grad in zip(shared_params, shared):
        p.grad = grad.clone()
    return masks


# In the training loop (the model returns its shared representation too):
#     optimizer.zero_grad()
#     reg, logits, rep = model(x)
#     graddrop_backward([loss_reg, loss_cls], rep, model.shared.parameters())
#     optimizer.step()
'''

_MOCO = '''\
"""MoCo (Fernando, Shen, Liu, Chaudhury, Murugesan & Chen, "Mitigating Gradient Bias in
Multi-objective Learning: A Provably Convergent Approach", ICLR 2023, arXiv:2210.12624),
LibMTL's arithmetic. Plain PyTorch.

At step n (from 1): gt_t = L_t g_t / (|g_t| + 1e-8); tracked gradients
y <- y - (beta / n^beta_sigma) (y - gt) (from 0); weights
lambda <- softmax(lambda - (gamma / n^gamma_sigma) (y y^T + rho I) lambda) (from 1/T); the shared
update is d = y^T lambda and each head gets its own task's gradient.
"""
import torch

BETA, BETA_SIGMA = {beta!r}, {beta_sigma!r}  # the tracking step beta / n^sigma
GAMMA, GAMMA_SIGMA = {gamma!r}, {gamma_sigma!r}  # the weight step gamma / n^sigma
RHO = {rho!r}  # the weights' L2 regularisation
EPS = 1e-8
{helpers}

class MoCo:
    def __init__(self, n_tasks=2):
        self.step = 0
        self.y = None  # the tracked gradients [T, P]
        self.lambd = torch.full((n_tasks,), 1.0 / n_tasks, dtype=torch.float64)

    def __call__(self, losses, shared_params):
        """Set .grad of every parameter for this step and return the weights lambda."""
        shared_params = list(shared_params)
        g = task_gradients(losses, shared_params)  # [T, P]
        current = torch.stack(losses).detach()
        n = self.step + 1
        target = g / (g.norm(dim=-1, keepdim=True) + EPS) * current.unsqueeze(-1)
        y = torch.zeros_like(g) if self.y is None else self.y
        y = y - (BETA / n**BETA_SIGMA) * (y - target)
        M = y @ y.T + RHO * torch.eye(len(y), dtype=y.dtype)
        previous = self.lambd.to(y.dtype)
        lambd = torch.softmax(previous - (GAMMA / n**GAMMA_SIGMA) * (M @ previous), dim=-1)
        if not torch.isfinite(lambd).all():  # gradients not finite: keep the weights
            lambd = previous
        self.y, self.lambd, self.step = y, lambd, n
        set_gradients(losses, shared_params, direction=(lambd.unsqueeze(-1) * y).sum(0))
        return lambd


moco_backward = MoCo()

# In the training loop:
#     optimizer.zero_grad()
#     moco_backward([loss_reg, loss_cls], model.shared.parameters())
#     optimizer.step()
'''

_DBMTL = '''\
"""DB-MTL, Dual-Balancing (Lin, Jiang, Ye, Zhang, Chen, Chen, Liu & Kwok, "Dual-Balancing for
Multi-Task Learning", arXiv:2308.12029), LibMTL's arithmetic. Plain PyTorch.

At step n (from 1), with h_t = g_t / (L_t + 1e-8) the gradient of log L_t on the shared
parameters: m_t <- h_t + (beta / n^sigma) (m_t - h_t) (from 0), a_t = max_s |m_s| / (|m_t| + 1e-8),
and the shared update is d = sum_t a_t m_t (every task pulls as hard as the strongest); each head
gets the gradient of its log loss, g_t / (L_t + 1e-8).
"""
import torch

BETA, BETA_SIGMA = {beta!r}, {beta_sigma!r}  # the EMA weight beta / n^sigma
EPS = 1e-8
{helpers}

class DBMTL:
    def __init__(self):
        self.step = 0
        self.buffer = None  # m [T, P]

    def __call__(self, losses, shared_params):
        """Set .grad of every parameter for this step and return a_t / (L_t + 1e-8)."""
        shared_params = list(shared_params)
        g = task_gradients(losses, shared_params)  # [T, P]
        current = torch.stack(losses).detach()
        h = g / (current + EPS).unsqueeze(-1)
        rate = BETA / (self.step + 1) ** BETA_SIGMA
        previous = torch.zeros_like(h) if self.buffer is None else self.buffer
        self.buffer = h + rate * (previous - h)
        norms = self.buffer.norm(dim=-1)
        a = norms.amax(-1, keepdim=True) / (norms + EPS)
        self.step += 1
        set_gradients(
            losses,
            shared_params,
            direction=(a.unsqueeze(-1) * self.buffer).sum(0),
            head_weights=1.0 / (current + EPS),
        )
        return a / (current + EPS)


db_mtl_backward = DBMTL()

# In the training loop:
#     optimizer.zero_grad()
#     db_mtl_backward([loss_reg, loss_cls], model.shared.parameters())
#     optimizer.step()
'''

_MGDA_UB = '''
def mgda_ub_backward(losses, rep, shared_params):
    """Set .grad of every parameter for this step and return the task weights w.

    MGDA-UB: the weights come from the gradients on the shared representation rep [N, H] (the
    shared layers' output, in the graph) and combine the gradients on the shared parameters.
    Each task's own head gets its own task's gradient. Then call optimizer.step().
    """
    shared_params = list(shared_params)
    z = task_gradients(losses, [rep])  # [T, N * H]
    w = mgda_weights(z.double(), losses).to(z.dtype)
{smooth}    g = task_gradients(losses, shared_params)  # [T, P]
    set_gradients(losses, shared_params, direction=w @ g)
    return w


# In the training loop (the model returns its shared representation too):
#     optimizer.zero_grad()
#     reg, logits, rep = model(x)
#     mgda_ub_backward([loss_reg, loss_cls], rep, model.shared.parameters())
#     optimizer.step()
'''

_IMTL = '''\
"""IMTL (Liu, Li, Kuang, Xue, Chen, Yang, Liao & Zhang, "Towards Impartial Multi-task Learning",
ICLR 2021), {mode_doc}. Plain PyTorch.

IMTL-L learns a scale s_t per task (start 0): the task's loss counts e^{{s_t}} times (its head too)
and s <- s - lr (e^s L - 1) after every step (plain SGD at the model's learning rate).
{hybrid_doc}
"""
import torch

MODE = {mode!r}
{helpers}

def imtl_g_weights(G):
    """IMTL-G for two tasks from the Gram matrix G [2, 2]: (|g_2|, |g_1|) / (|g_1| + |g_2|)."""
    n1, n2 = G.diagonal().clamp_min(0.0).sqrt()
    if n1 > 0 and n2 > 0:
        return torch.stack([n2, n1]) / (n1 + n2)
    return torch.stack([(n1 > 0), (n2 > 0)]).to(G.dtype)  # a zero gradient: all on the other


class IMTL:
    def __init__(self, lr, mode=MODE, n_tasks=2):
        self.lr, self.mode = lr, mode  # lr: the model's learning rate
        self.log_scale = torch.zeros(n_tasks, dtype=torch.float64)  # s

    def __call__(self, losses, shared_params):
        """Set .grad of every parameter for this step and return the weights w (d = w^T g)."""
        shared_params = list(shared_params)
        g = task_gradients(losses, shared_params)  # [T, P]
        scale = self.log_scale.exp()  # e^s
        if self.mode == "loss":
            w = scale.to(g.dtype)
        else:  # IMTL-G on the scaled gradients e^{{s_t}} g_t, whose Gram is diag(e^s) G diag(e^s)
            gd = g.double()
            alpha = imtl_g_weights((gd @ gd.T) * (scale.unsqueeze(-1) * scale.unsqueeze(-2)))
            w = (alpha.to(g.dtype).double() * scale).to(g.dtype)
{smooth}        heads = scale.to(g.dtype)  # each head: e^{{s_t}} times its own task's gradient
        set_gradients(losses, shared_params, direction=w @ g, head_weights=heads)
        current = torch.stack(losses).detach().double()
        updated = self.log_scale - self.lr * (scale * current - 1.0)
        self.log_scale = torch.where(torch.isfinite(updated), updated, self.log_scale)
        return w


imtl_backward = IMTL(lr=0.01)  # the model's learning rate

# In the training loop:
#     optimizer.zero_grad()
#     imtl_backward([loss_reg, loss_cls], model.shared.parameters())
#     optimizer.step()
'''


def unavailable(method: str, params: Mapping[str, Any] | None = None) -> str | None:
    """Why :func:`snippet` has nothing for ``method`` with ``params``, or ``None`` if it has.

    Every registered method has a snippet, for every setting of its hyper-parameters; this says
    so for an unknown name or for hyper-parameters the method does not take (a plain sentence
    for the page).
    """
    cls = METHODS.get(method)
    if cls is None:
        return f"There is no method {method!r}."
    try:
        cls.resolve_params(dict(params or {}))
    except ConfigError as error:
        return f"The snippet of {cls.label} needs valid settings: {error}"
    return None


def entry_point(method: str, params: Mapping[str, Any] | None = None) -> str:
    """The name :func:`snippet` defines for ``method`` with ``params`` (see :data:`ENTRY_POINTS`).

    The same as ``ENTRY_POINTS[method]`` except for MGDA-UB (``mgda_ub_backward``, which also
    takes the shared representation) and IMTL-G (IMTL in mode gradient: ``imtl_g_backward``).
    """
    p = METHODS[method].resolve_params(dict(params or {}))
    if method == "mgda" and p["upper_bound"]:
        return "mgda_ub_backward"
    if method == "imtl" and p["mode"] == "gradient":
        return "imtl_g_backward"
    return ENTRY_POINTS[method]


def snippet(
    method: str,
    params: Mapping[str, Any] | None = None,
    *,
    weights: tuple[float, ...] = (0.5, 0.5),
    scale: str = "raw",
) -> str:
    """The plain-PyTorch source of ``method``'s update with hyper-parameters ``params``.

    Args:
        method: a name in :data:`SNIPPET_METHODS` (every registered method).
        params: the method's hyper-parameters (defaults filled in and checked).
        weights: the configured weights: the static weights, the preference of Tchebycheff
            and STCH, or GradNorm's starting weights (ignored by the others).
        scale: ``"balanced"`` for static weights with a balanced start.

    Returns:
        Source that ``compile()`` accepts and that imports torch only (and ``math`` or
        ``itertools`` from the standard library); it defines :func:`entry_point`'s name. With
        CR-MOGM smoothing on, the snippet ends with the smoothing's small class.

    Raises:
        ConfigError: an unknown method or hyper-parameter, or a value not allowed.
    """
    reason = unavailable(method, params)
    if reason is not None:
        raise ConfigError("weighting.method", method, f"a method with a snippet. {reason}")
    p = METHODS[method].resolve_params(dict(params or {}))
    beta = float(p.get(SMOOTHING.name, 0.0))
    smooth = _SMOOTH_LINE if beta else ""
    source = _source(method, p, tuple(weights), scale, smooth)
    return source + _SMOOTHING.format(beta=beta) if beta else source


def _source(
    method: str, p: dict[str, Any], weights: tuple[float, ...], scale: str, smooth: str
) -> str:
    """:func:`snippet`'s source before the smoothing block (``smooth``: the line applying it)."""
    if method == "static":
        template = _BALANCED if scale == "balanced" else _STATIC
        return template.format(title="Static weights", weights=weights)
    if method == "equal_sum":
        return _STATIC.format(title="Equal weights (sum)", weights=(1.0, 1.0))
    if method == "equal_mean":
        return _STATIC.format(title="Equal weights (mean)", weights=(0.5, 0.5))
    simple = {"uncertainty": _UNCERTAINTY, "rlw": _RLW, "gls": _GLS}
    if method in simple:
        return simple[method]
    if method == "config":
        return _CONFIG + _GRADIENT_COMMON.format(name="config", weights_args="", smooth=smooth)
    if method == "dwa":
        return _DWA.format(temperature=p["temperature"])
    if method == "famo":
        return _FAMO.format(w_lr=p["w_lr"], gamma=p["gamma"], adam=_ADAM)
    if method == "gradnorm":
        return _GRADNORM.format(
            weights=weights,
            alpha=p["alpha"],
            weight_lr=p["weight_lr"],
            adam=_ADAM,
            helpers=_HELPERS,
            smooth=_indent(smooth, 4),
        )
    if method in ("tchebycheff", "stch"):
        return _preference(method, p, weights)
    if method == "pcgrad":
        return _PCGRAD + _GRADIENT_COMMON.format(name="pcgrad", weights_args="", smooth=smooth)
    if method == "mgda":
        code, doc = _MGDA_NORMALIZE[p["normalize"]]
        source = _MGDA.format(normalize_code=code, normalize_doc=doc)
        if p["upper_bound"]:
            return source.replace('"""\nimport torch', '"""\nimport torch' + _HELPERS, 1) + (
                _MGDA_UB.format(smooth=smooth)
            )
        return source + _GRADIENT_COMMON.format(name="mgda", weights_args=", losses", smooth=smooth)
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
        return source + _GRADIENT_COMMON.format(name="cagrad", weights_args="", smooth=smooth)
    if method == "imtl":
        if p["mode"] == "gradient":
            return (
                _IMTL_G
                + "\n\n"
                + _GRADIENT_COMMON.format(name="imtl_g", weights_args="", smooth=smooth)
            )
        hybrid = p["mode"] == "hybrid"
        return _IMTL.format(
            mode=p["mode"],
            mode_doc="the hybrid of IMTL-G and IMTL-L" if hybrid else "IMTL-L (loss balance)",
            hybrid_doc=(
                "IMTL-G then balances the scaled gradients e^{s_t} g_t: for two tasks the weights\n"
                "(|h_2|, |h_1|) / (|h_1| + |h_2|) on h_t = e^{s_t} g_t, times e^{s_t} on g_t."
                if hybrid
                else "The shared parameters get sum_t e^{s_t} g_t."
            ),
            helpers=_HELPERS,
            smooth=_indent(smooth, 4),
        )
    if method in ("upgrad", "dualproj"):
        template = _UPGRAD if method == "upgrad" else _DUALPROJ
        return template.format(dual_cone=_DUAL_CONE) + _GRADIENT_COMMON.format(
            name=method, weights_args="", smooth=smooth
        )
    if method == "aligned_mtl":
        code, doc = _ALIGNED_SCALE[p["scale_mode"]]
        return _ALIGNED.format(scale_code=code, scale_doc=doc) + _GRADIENT_COMMON.format(
            name="aligned_mtl", weights_args="", smooth=smooth
        )
    if method == "nash_mtl":
        return _NASH.format(helpers=_HELPERS, power=_POWER) + _LOSS_GRADIENT_COMMON.format(
            name="nash_mtl", smooth=smooth
        )
    if method == "fairgrad":
        return _FAIRGRAD.format(
            alpha=p["alpha"], helpers=_HELPERS, power=_POWER
        ) + _LOSS_GRADIENT_COMMON.format(name="fairgrad", smooth=smooth)
    if method == "gradvac":
        return _GRADVAC.format(beta=p["beta"], helpers=_HELPERS, smooth=_indent(smooth, 4))
    if method == "excess_mtl":
        return _EXCESS.format(step_size=p["step_size"], helpers=_HELPERS, smooth=_indent(smooth, 4))
    if method == "graddrop":
        return _GRADDROP.format(leak=p["leak"])
    if method == "moco":
        return _MOCO.format(helpers=_HELPERS, **{k: p[k] for k in _MOCO_PARAMS})
    if method == "db_mtl":
        return _DBMTL.format(helpers=_HELPERS, beta=p["beta"], beta_sigma=p["beta_sigma"])
    raise ConfigError("weighting.method", method, "a method with a snippet")


_MOCO_PARAMS = ("beta", "beta_sigma", "gamma", "gamma_sigma", "rho")


def _indent(line: str, n: int) -> str:
    """``line`` (a snippet's smoothing line, or nothing) indented ``n`` more spaces."""
    return " " * n + line if line else ""


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
