"""Export a single run as a standalone PyTorch script (torch only) that prints the same figures.

The script is what a practitioner would write by hand: the data, a ``nn.Module`` built layer by
layer in the same order as here (so ``torch.manual_seed(seed)`` gives the same initial weights),
the configured losses summed with their weights, ``torch.optim``, and the final evaluation. It
prints the final MSE and accuracy of the run (on the test split, or on the training data when
there is none) to six decimals; the tests run it and compare them with the app's run.

The data are embedded as literals (already split and standardised), so the script needs nothing but
torch. A standardised regression target is embedded in its own units with its training-row mean and
standard deviation, standardised in the script with the same arithmetic, and the predictions are
mapped back before the MSE is taken, as the app does. A balanced start (``weighting.scale =
"balanced"``) divides the weights by the first step's losses in the script, as
:func:`mtl.weighting.static.balanced_weights` does. Mini-batch order comes from this package's
counter-based generator, whose source is embedded verbatim.

Methods that fix the weights (static, equal sum, equal mean) write the weighted sum out. Every
other method (:data:`DYNAMIC_METHODS`, with every setting of its hyper-parameters) embeds its
update rule in plain PyTorch, the snippet of :mod:`mtl.snippets` (the Method tab's), and the loop
calls it as the app's engine calls the method:

* a loss-based method (uncertainty weighting, DWA, RLW, FAMO, GLS, Tchebycheff, STCH) gives the
  loss to back-propagate. RLW draws its normal numbers from the embedded counter-based generator
  with the run's seed and the step, exactly as the app does; uncertainty weighting's
  log-variances get an optimizer of the model's kind and learning rate (plain SGD, no momentum,
  or Adam), stepped after the model's, as in the app; DWA is told each epoch's mean training
  losses (the full-batch step's losses, or the mean over the epoch's batches);
* a gradient-based method sets ``.grad`` itself from the per-task gradients on the shared layers
  (its combination or its own direction on them, each head its own task's gradient times the
  method's head weight; or, for the methods whose weights multiply the losses, GradNorm,
  Nash-MTL, FairGrad and ExcessMTL, the weighted sum everywhere), keeping its state between
  steps (GradNorm, GradVac, ExcessMTL, MoCo, DB-MTL, IMTL-L, CR-MOGM smoothing); GradDrop and
  MGDA-UB read the shared representation, which the script's model then returns too, and
  GradDrop's draws come from the embedded generator with the run's seed and the step. The L2
  penalty's gradient is added on top, as the engine adds it to the combined direction.

The one refusal left (a :class:`ConfigError`) is data too large to embed, or a dataset whose
random draws a script cannot replay.
"""

from __future__ import annotations

import inspect
import json

import torch

from mtl import counter_rng
from mtl.config import RunConfig
from mtl.data import build_dataset, notebook, split_dataset
from mtl.errors import ConfigError
from mtl.models import layers_of
from mtl.snippets import entry_point, snippet
from mtl.weighting import METHODS

STATIC_METHODS = ("static", "equal_sum", "equal_mean")
DYNAMIC_METHODS = tuple(name for name in METHODS if name not in STATIC_METHODS)
"""Dynamic methods, whose update the script writes out: every other registered method, with every
setting of its hyper-parameters (MGDA-UB, IMTL's three modes and CR-MOGM smoothing included)."""
EXPORTABLE_METHODS = STATIC_METHODS + DYNAMIC_METHODS
REPRESENTATION_METHODS = ("graddrop",)
"""Methods whose update always reads the gradients on the shared representation (MGDA reads them
with its upper bound on, MGDA-UB): the script's model then returns the representation too."""
MAX_EMBEDDED_NUMBERS = 200_000
"""Cap on the numbers embedded as data, to keep the script a readable download."""

_REGRESSION_LOSS = {
    "mse": "F.mse_loss(reg, y_reg)",
    "l1": "F.l1_loss(reg, y_reg)",
    "huber": "F.huber_loss(reg, y_reg, delta={huber_delta!r})",
}
_CLASSIFICATION_LOSS = {
    "ce": "F.cross_entropy(logits, y_cls)",
    "label_smoothing": "F.cross_entropy(logits, y_cls, label_smoothing={label_smoothing!r})",
    "focal": "focal_loss(logits, y_cls, gamma={focal_gamma!r})",
}
_FOCAL = '''
def focal_loss(logits, target, gamma):
    """Focal loss (Lin et al., 2017): -(1 - p_t)^gamma log p_t, averaged."""
    log_p = logits.log_softmax(-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    one_minus_p = (1 - log_p.exp()).clamp_min(torch.finfo(log_p.dtype).tiny)  # finite at p = 1
    return (-(one_minus_p**gamma) * log_p).mean()
'''
_NOTEBOOK_PREAMBLE = """\
# The notebook draws its data from the same generator before building the model; replay those
# draws so the initial weights are the notebook's.
torch.randn(100, 1), torch.randn(100, 1), torch.randn(50, 1), torch.randn(50, 1)
"""


def _weights(cfg: RunConfig) -> tuple[float, float] | None:
    """The fixed weights of a static method, ``None`` for a dynamic one (written out)."""
    method = cfg.weighting.method
    if method in DYNAMIC_METHODS:
        return None
    if method == "equal_sum":
        return 1.0, 1.0
    if method == "equal_mean":
        return 0.5, 0.5
    return cfg.weighting.weights


def _reads_representation(cfg: RunConfig) -> bool:
    """Whether the method reads the gradients on the shared representation.

    GradDrop and MGDA with the upper bound (MGDA-UB) do; the script's model then returns it.
    """
    w = cfg.weighting
    if w.method in REPRESENTATION_METHODS:
        return True
    return w.method == "mgda" and bool(
        METHODS["mgda"].resolve_params(dict(w.params))["upper_bound"]
    )


_BALANCED = '''
def balanced(weights, first_losses):
    """Balanced start: the weights over the first step's losses, rescaled to keep their sum."""
    w = torch.tensor(weights)
    raw = w / torch.stack(first_losses).detach()
    return (raw * (w.sum() / raw.sum())).tolist()
'''


def _literal(tensor: torch.Tensor) -> str:
    """An exact Python literal for a float32/int64 tensor (shortest float repr round-trips)."""
    return json.dumps(tensor.tolist())


def _model_source(cfg: RunConfig, d: int, r: int, c: int, with_rep: bool = False) -> str:
    """The ``Model`` class; ``with_rep``: ``forward`` also returns the shared representation."""
    layers = layers_of(cfg.model, d, r, c)
    lines = ["class Model(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    for layer in layers:  # creation order fixes the RNG order, as in mtl.models
        lines.append(f"        self.{layer.name} = nn.Linear({layer.fan_in}, {layer.fan_out})")
    lines += ["", "    def forward(self, x):"]
    if cfg.model.shape == "notebook":
        rep = ", reg  # reg: the shared representation" if with_rep else ""
        lines += ["        reg = self.linear(x)", f"        return reg, self.classifier(reg){rep}"]
    elif cfg.model.shape == "article":
        rep = ", out  # out: the shared representation" if with_rep else ""
        lines += ["        out = self.linear(x)", f"        return out[:, :{r}], out[:, :{c}]{rep}"]
    else:
        act = {"relu": "torch.relu", "tanh": "torch.tanh", "gelu": "F.gelu"}[cfg.model.activation]
        lines.append("        h = x")
        lines += [f"        h = {act}(self.trunk{i}(h))" for i in range(cfg.model.depth)]
        rep = ", h  # h: the shared representation" if with_rep else ""
        lines.append(f"        return self.regression_head(h), self.classification_head(h){rep}")
    return "\n".join(lines)


def to_script(cfg: RunConfig) -> str:
    """The source of a standalone script reproducing ``mtl.train(cfg)``'s final MSE and accuracy.

    Raises :class:`ConfigError` for data too large to embed, or a dataset whose random draws the
    script cannot replay.
    """
    weights = _weights(cfg)
    method = cfg.weighting.method
    with_rep = _reads_representation(cfg)
    dataset = build_dataset(cfg.data)
    split = split_dataset(
        dataset,
        cfg.data.test_fraction,
        cfg.data.seed,
        cfg.data.standardize,
        cfg.data.standardize_target,
    )
    target_scale = split.target_scale
    balanced = cfg.weighting.scale == "balanced"
    n_numbers = dataset.n_rows * (dataset.n_features + dataset.n_regression + 1)
    if n_numbers > MAX_EMBEDDED_NUMBERS:
        raise ConfigError(
            "data.n_samples",
            dataset.n_rows,
            f"at most {MAX_EMBEDDED_NUMBERS} embedded numbers for a script export "
            f"(this dataset has {n_numbers})",
        )
    if dataset.rng_preamble not in (None, notebook.replay):
        raise ConfigError(
            "data.name", dataset.name, "a dataset whose RNG order a script can replay"
        )
    n_train = split.x_train.shape[0]
    batch = cfg.optim.batch_size
    minibatch = batch is not None and batch < n_train
    loss = cfg.loss
    reg_loss = _REGRESSION_LOSS[loss.regression].format(huber_delta=loss.huber_delta)
    cls_loss = _CLASSIFICATION_LOSS[loss.classification].format(
        label_smoothing=loss.label_smoothing, focal_gamma=loss.focal_gamma
    )
    if cfg.optim.kind == "adam":
        optimizer = f"torch.optim.Adam(model.parameters(), lr={cfg.optim.lr!r})"
    else:
        optimizer = (
            f"torch.optim.SGD(model.parameters(), lr={cfg.optim.lr!r}, "
            f"momentum={cfg.optim.momentum!r})"
        )
    l2_expr = (
        f"{loss.l2!r} * sum(m.weight.square().sum() for m in model.modules() "
        "if isinstance(m, nn.Linear))"
        if loss.l2 > 0
        else ""
    )
    l2_term = f" + {l2_expr}" if l2_expr else ""
    if weights is None:
        what = f"{METHODS[method].label}, its update written out"
    else:
        what = f"weights {weights[0]!r} / {weights[1]!r}"
    evaluate_on = "test" if split.has_test else "train"
    parts = [
        f'"""Reproduces one run of the loss-weighting explorer ({dataset.name} data, '
        f"{cfg.model.shape} model, {what}).",
        "",
        "Generated by mtl.export.to_script; needs only torch. Prints the final MSE and accuracy",
        f"on the {evaluate_on} split, which equal the app's run.",
        '"""',
        "import torch",
        "import torch.nn as nn",
        "import torch.nn.functional as F",
        "",
        f"# Data: {dataset.name}, split with seed {cfg.data.seed} "
        f"(test fraction {cfg.data.test_fraction!r})"
        + (", features standardised on the training rows." if cfg.data.standardize else "."),
        f"x_train = torch.tensor({_literal(split.x_train)})",
        f"y_reg_train = torch.tensor({_literal(split.y_reg_train_units)})",
        f"y_cls_train = torch.tensor({_literal(split.y_cls_train)})",
        f"x_test = torch.tensor({_literal(split.x_test)}).reshape(-1, {dataset.n_features})",
        f"y_reg_test = torch.tensor({_literal(split.y_reg_test_units)})"
        f".reshape(-1, {dataset.n_regression})",
        f"y_cls_test = torch.tensor({_literal(split.y_cls_test)}, dtype=torch.long)",
        *(
            [
                "# The regression target is standardised on the training rows: the model learns",
                "# (y - y_mean) / y_std; its predictions are mapped back for the MSE.",
                f"y_mean = torch.tensor({_literal(target_scale[0])})",
                f"y_std = torch.tensor({_literal(target_scale[1])})",
                "y_reg_train_units, y_reg_test_units = y_reg_train, y_reg_test",
                "y_reg_train = (y_reg_train - y_mean) / y_std",
                "y_reg_test = (y_reg_test - y_mean) / y_std",
            ]
            if target_scale is not None
            else []
        ),
        "",
        _model_source(cfg, dataset.n_features, dataset.n_regression, dataset.n_classes, with_rep),
        _FOCAL if loss.classification == "focal" else "",
        _BALANCED if balanced else "",
        "",
        "def losses(model, x, y_reg, y_cls):",
        *(
            [
                "    reg, logits, rep = model(x)",
                f"    return {reg_loss}, {cls_loss}, rep",
            ]
            if with_rep
            else ["    reg, logits = model(x)", f"    return {reg_loss}, {cls_loss}"]
        ),
        "",
        "",
        f"torch.manual_seed({cfg.seed})",
        _NOTEBOOK_PREAMBLE if dataset.rng_preamble is not None else "",
        "model = Model()",
        f"optimizer = {optimizer}",
        *(
            _method_setup(cfg, dataset.n_features, dataset.n_regression, dataset.n_classes)
            if weights is None
            else [
                f"w_reg, w_cls = {weights[0]!r}, {weights[1]!r}"
                + ("  # relative to the first step's losses (balanced start)" if balanced else "")
            ]
        ),
    ]
    n_steps = -(-n_train // batch) if minibatch and batch is not None else 1
    if weights is None:
        zero, backward, step, epoch_start, epoch_end = _method_step(cfg, l2_expr, n_steps)
    else:
        zero, backward, step = (
            ["optimizer.zero_grad()"],
            [f"(w_reg * l_reg + w_cls * l_cls{l2_term}).backward()"],
            ["optimizer.step()"],
        )
        epoch_start, epoch_end = [], []
    draws = {"rlw": "RLW's weights", "graddrop": "GradDrop's sign draws"}
    if minibatch or method in draws:
        rng_source = inspect.getsource(counter_rng).replace(
            "from __future__ import annotations\n", ""
        )
        uses = ["mini-batch order"] if minibatch else []
        uses += [draws[method]] if method in draws else []
        parts += [
            "",
            f"# {' and '.join(uses).capitalize()}: the explorer's counter-based generator, "
            "verbatim.",
            rng_source,
            f"seed, batch_size = torch.tensor([{cfg.seed}]), {batch if minibatch else None}",
        ]
    unpack = "l_reg, l_cls, rep" if with_rep else "l_reg, l_cls"
    if minibatch:
        loop = [
            f"for epoch in range({cfg.epochs}):",
            f"    order = permutations(seed, STREAM_BATCHES, epoch, {n_train})[0]",
            *_indent(epoch_start, 4),
            f"    for start in range(0, {n_train}, batch_size):",
            "        idx = order[start : start + batch_size]",
            *_indent(zero, 8),
            "        xb, yb_reg, yb_cls = x_train[idx], y_reg_train[idx], y_cls_train[idx]",
            f"        {unpack} = losses(model, xb, yb_reg, yb_cls)",
            *(
                [
                    "        if epoch == 0 and start == 0:",
                    "            w_reg, w_cls = balanced([w_reg, w_cls], [l_reg, l_cls])",
                ]
                if balanced
                else []
            ),
            *_indent(backward, 8),
            *_indent(step, 8),
            *_indent(epoch_end, 4),
        ]
    else:
        loop = [
            f"for epoch in range({cfg.epochs}):",
            *_indent(epoch_start, 4),
            *_indent(zero, 4),
            f"    {unpack} = losses(model, x_train, y_reg_train, y_cls_train)",
            *(
                [
                    "    if epoch == 0:",
                    "        w_reg, w_cls = balanced([w_reg, w_cls], [l_reg, l_cls])",
                ]
                if balanced
                else []
            ),
            *_indent(backward, 4),
            *_indent(step, 4),
            *_indent(epoch_end, 4),
        ]
    parts += [
        "",
        *loop,
        "",
        "with torch.no_grad():",
        f"    reg, logits{', _' if with_rep else ''} = model(x_{evaluate_on})",
        *(["    reg = reg * y_std + y_mean  # back to the target's units"] if target_scale else []),
        f"    mse = F.mse_loss(reg, y_reg_{evaluate_on}{'_units' if target_scale else ''}).item()",
        f"    accuracy = (logits.argmax(-1) == y_cls_{evaluate_on}).float().mean().item()",
        f'print(f"{evaluate_on} MSE: {{mse:.6f}}")',
        f'print(f"{evaluate_on} accuracy: {{accuracy:.6f}}")',
        "",
    ]
    return "\n".join(parts)


def _indent(lines: list[str], n: int) -> list[str]:
    return [" " * n + line for line in lines]


def _docstring_as_comments(source: str) -> list[str]:
    """``source``'s lines, its opening docstring turned into ``#`` comments (mid-script)."""
    if not source.startswith('"""'):
        return source.splitlines()
    end = source.index('"""', 3)
    doc = source[3:end].splitlines()
    return [f"# {line}".rstrip() for line in doc] + source[end + 3 :].lstrip("\n").splitlines()


def _method_setup(cfg: RunConfig, d: int, r: int, c: int) -> list[str]:
    """The dynamic method's snippet and the objects the loop uses (after the model exists)."""
    w = cfg.weighting
    method = w.method
    source = snippet(method, dict(w.params), weights=w.weights, scale=w.scale)
    lines = [
        "",
        f"# The weighting method, {METHODS[method].label}, in plain PyTorch: the snippet the",
        "# page's Method tab shows for these settings.",
        *_docstring_as_comments(source.rstrip()),
        "",
    ]
    entry = entry_point(method, dict(w.params))
    if METHODS[method].kind == "gradient":
        shared = [layer.name for layer in layers_of(cfg.model, d, r, c) if layer.owner == "shared"]
        layers = ", ".join(f"model.{name}" for name in shared) + ","
        lines.append(
            f"shared_params = [p for layer in ({layers}) for p in layer.parameters()]"
            "  # the layers both tasks use"
        )
        if entry == "imtl_backward":  # IMTL-L's scales learn at the model's learning rate
            lines.append(f"imtl_backward = IMTL(lr={cfg.optim.lr!r})")
    elif method in ("gls", "rlw"):
        lines.append(f"objective = {entry}")
    else:
        lines.append(f"objective = {entry}()")
    if method == "uncertainty":
        kind = "Adam" if cfg.optim.kind == "adam" else "SGD"
        lines += [
            "# The log-variances learn with an optimizer of the model's kind and learning rate",
            "# (without momentum), stepped after the model's, as in the app.",
            f"weighting_optimizer = torch.optim.{kind}(objective.parameters(), "
            f"lr={cfg.optim.lr!r})",
        ]
    return lines


def _method_step(
    cfg: RunConfig, l2_expr: str, n_steps: int
) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    """The loop's lines for a dynamic method: zero, backward, step, epoch start and end."""
    method = cfg.weighting.method
    zero = ["optimizer.zero_grad()"]
    step = ["optimizer.step()"]
    epoch_start: list[str] = []
    epoch_end: list[str] = []
    entry = entry_point(method, dict(cfg.weighting.params))
    if METHODS[method].kind == "gradient":
        if method == "graddrop":  # the app's draws for this member and step: seed, stream, step
            backward = [
                "u = uniform(seed, STREAM_GRADDROP, step, rep.shape[-1])[0]",
                f"{entry}([l_reg, l_cls], rep, shared_params, u=u)",
            ]
        elif entry == "mgda_ub_backward":
            backward = [f"{entry}([l_reg, l_cls], rep, shared_params)"]
        else:
            backward = [f"{entry}([l_reg, l_cls], shared_params)"]
        if l2_expr:
            backward.append(f"({l2_expr}).backward()  # the L2 penalty, added on top")
    else:
        l2_term = f" + {l2_expr}" if l2_expr else ""
        backward = [f"(objective([l_reg, l_cls]){l2_term}).backward()"]
    if method in ("rlw", "graddrop"):  # the global step, for the draws
        zero.append(
            f"step = epoch * {n_steps} + start // batch_size" if n_steps > 1 else "step = epoch"
        )
    if method == "rlw":  # the app's draw for this member and step: seed, stream, step
        l2_term = f" + {l2_expr}" if l2_expr else ""
        backward = [
            "z = normal(seed, STREAM_WEIGHTS, step, 2)[0]",
            f"(objective([l_reg, l_cls], z=z){l2_term}).backward()",
        ]
    if method == "uncertainty":
        zero.append("weighting_optimizer.zero_grad()")
        step.append("weighting_optimizer.step()")
    if method == "dwa":
        epoch_start = ["epoch_losses = torch.zeros(2)"]
        step.append("epoch_losses += torch.stack([l_reg, l_cls]).detach()")
        epoch_end = [f"objective.epoch_end(epoch_losses / {n_steps})  # the epoch's mean losses"]
    return zero, backward, step, epoch_start, epoch_end
