"""Population models: K members' parameters as the rows of one flat matrix ``theta [K, P]``.

Each member's parameters are laid out in one row, layer by layer in creation order, shared layers
first and then each task's head, so the shared parameters are one contiguous slice of every row
and each head is another. The forward pass slices ``theta`` into per-layer views (no copies) and
applies every linear layer to all members at once with one ``torch.baddbmm``: a layer's weight
view is ``[K, out, in]`` and inputs are ``[N, in]`` (shared by all members) or ``[K, N, in]``.
Members never mix, so differentiating a sum over members gives each member its own gradient.

Why flat: the optimizer then updates one tensor in a few ops whatever the architecture, and the
shared gradient ``[K, P_shared]`` is a slice rather than a concatenation. Each task's gradient
comes from its own backward pass through one shared graph (:meth:`PopulationModel.forward_rep`
and the engine); ``bench/bench_engine_layout.py`` measured that against a population duplicated
per task with one backward pass for all tasks, and the duplicate was no faster.

Initialisation copies ``nn.Linear.reset_parameters`` (Kaiming-uniform weight with ``a = sqrt(5)``,
uniform bias in ``±1/sqrt(fan_in)``) on each member's own ``torch.Generator``, in the order a
``nn.Module`` would create the layers, so member k of any population starts exactly where a
K = 1 run with member k's seed starts, and the notebook preset starts where the notebook does.

What "shared" means for each shape (the weighting methods act on the shared parameters; each
head gets its own task's gradient):

- ``notebook``: ``reg = Linear(D, R)(x)``; ``logits = Linear(R, C)(reg)``. The regression layer
  feeds both losses, so it is shared; the classifier is the classification head; regression has
  no head of its own.
- ``article``: one ``Linear(D, max(R, C))`` whose outputs feed both losses (regression reads the
  first R outputs, classification the first C; with the article's R = C = 2 that is the article's
  model). Everything is shared; there are no heads.
- ``shared``: an MLP trunk (``depth`` hidden layers of ``width`` with ``activation``) and two
  linear heads: hard parameter sharing, the standard multi-task shape. The trunk is shared.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mtl.config import TASKS, ModelSpec

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "gelu": F.gelu,
}


@dataclass(frozen=True)
class Layer:
    """A linear layer of a shape: its name, sizes and owner (``"shared"`` or a task name)."""

    name: str
    fan_in: int
    fan_out: int
    owner: str

    @property
    def size(self) -> int:
        """Parameters per member: weight ``out * in`` plus bias ``out``."""
        return self.fan_out * self.fan_in + self.fan_out


def layers_of(spec: ModelSpec, d: int, r: int, c: int) -> list[Layer]:
    """The linear layers of a shape in creation order: shared first, then the heads."""
    if spec.shape == "notebook":
        return [Layer("linear", d, r, "shared"), Layer("classifier", r, c, "classification")]
    if spec.shape == "article":
        return [Layer("linear", d, max(r, c), "shared")]
    trunk = [
        Layer(f"trunk{i}", d if i == 0 else spec.width, spec.width, "shared")
        for i in range(spec.depth)
    ]
    return [
        *trunk,
        Layer("regression_head", spec.width, r, "regression"),
        Layer("classification_head", spec.width, c, "classification"),
    ]


_KAIMING_GAIN = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))
"""``nn.init.calculate_gain("leaky_relu", sqrt(5))``, the gain ``nn.Linear`` initialises with."""


def _init_linear(layer: Layer, g: torch.Generator) -> torch.Tensor:
    """``nn.Linear.reset_parameters`` drawn from ``g``, flattened.

    The same arithmetic and the same draws as ``kaiming_uniform_(weight, a=sqrt(5))`` followed by
    ``uniform_(bias, -1/sqrt(fan_in), 1/sqrt(fan_in))``, without ``nn.init``'s per-call checks
    (they cost more than the draws when a large population is initialised); the tests compare
    the result with ``nn.Linear`` bit for bit. The weight is drawn as ``nn.Linear`` draws it,
    ``[out, in]``, and stored transposed, ``[in, out]``, so the forward pass multiplies by it
    without a transpose; the bias follows.
    """
    weight_bound = math.sqrt(3.0) * (_KAIMING_GAIN / math.sqrt(layer.fan_in))
    weight = torch.empty(layer.fan_out, layer.fan_in).uniform_(
        -weight_bound, weight_bound, generator=g
    )
    bias_bound = 1 / math.sqrt(layer.fan_in) if layer.fan_in > 0 else 0.0
    bias = torch.empty(layer.fan_out).uniform_(-bias_bound, bias_bound, generator=g)
    return torch.cat((weight.t().reshape(-1), bias))


LayerViews = dict[str, tuple[torch.Tensor, torch.Tensor]]
"""Each layer's ``(weight [M, in, out], bias [M, 1, out])`` views, by layer name."""


class PopulationModel:
    """K independent copies of one model shape.

    Attributes:
        theta: ``[K, P]`` float32, one member per row (a plain tensor, updated in place).
        layers: the shape's layers in layout order.
        shared: the slice of P holding the shared layers; ``heads[task]``: each head's slice.
        decay: ``[P]`` 1.0 on weight-matrix entries, 0.0 on biases (the L2 penalty's mask).
    """

    def __init__(
        self,
        spec: ModelSpec,
        n_features: int,
        n_regression: int,
        n_classes: int,
        seeds: list[int],
        rng_preamble: Callable[[torch.Generator], None] | None = None,
    ) -> None:
        self.spec = spec
        self.n_regression, self.n_classes = n_regression, n_classes
        self.activation = ACTIVATIONS[spec.activation]
        self.layers = layers_of(spec, n_features, n_regression, n_classes)
        self.pieces = [
            n for layer in self.layers for n in (layer.fan_in * layer.fan_out, layer.fan_out)
        ]
        rows = []
        for seed in seeds:  # initialisation only, never on the training path
            g = torch.Generator().manual_seed(int(seed))
            if rng_preamble is not None:
                rng_preamble(g)
            rows.append(torch.cat([_init_linear(layer, g) for layer in self.layers]))
        self.theta = torch.stack(rows)
        self.shared = self._slice_of("shared")
        self.heads = {task: self._slice_of(task) for task in TASKS}
        self.decay = torch.cat(
            [
                torch.cat((torch.ones(layer.fan_in * layer.fan_out), torch.zeros(layer.fan_out)))
                for layer in self.layers
            ]
        )

    def to(self, device: torch.device) -> None:
        """Move the parameters (and the L2 mask) to ``device``, in place."""
        self.theta = self.theta.to(device)
        self.decay = self.decay.to(device)

    def _slice_of(self, owner: str) -> slice:
        """The contiguous slice of P owned by ``owner`` (empty if it owns nothing)."""
        start = stop = 0
        offset = 0
        for layer in self.layers:
            if layer.owner == owner:
                if stop == start:
                    start = offset
                stop = offset + layer.size
            offset += layer.size
        return slice(start, stop)

    @property
    def n_members(self) -> int:
        """K."""
        return self.theta.shape[0]

    @property
    def n_params(self) -> int:
        """P, parameters per member."""
        return self.theta.shape[1]

    def last_shared_slice(self) -> slice:
        """Where the last shared layer's weight and bias sit within the shared slice."""
        sizes = [layer.size for layer in self.layers if layer.owner == "shared"]
        total = sum(sizes)
        return slice(total - sizes[-1], total)

    def layer_views(self, theta: torch.Tensor) -> LayerViews:
        """Per-layer ``(weight [M, in, out], bias [M, 1, out])`` views of ``theta [M, P]``.

        The weight view is the transpose of ``nn.Linear.weight``; no data is copied.
        """
        m = theta.shape[0]
        pieces = torch.split(theta, self.pieces, dim=1)
        return {
            layer.name: (
                pieces[2 * i].view(m, layer.fan_in, layer.fan_out),
                pieces[2 * i + 1].view(m, 1, layer.fan_out),
            )
            for i, layer in enumerate(self.layers)
        }

    @staticmethod
    def _linear(
        params: tuple[torch.Tensor, torch.Tensor], x: torch.Tensor, classes: bool = False
    ) -> torch.Tensor:
        """``x [N, in]`` or ``[M, N, in]`` -> ``[M, N, out]`` for M stacked layers.

        A layer with one input (the notebook's) is a broadcast multiply-add, several times
        faster than a batched matrix product of 1-wide matrices. A layer with one output fed
        the members' shared ``x [N, in]`` (a width-1 trunk over the whole split) is one matrix
        product ``x @ W [in, M]`` for all members, about 10x faster at hundreds of members than
        M products of 1-wide matrices (``bench/bench_tuned.py``'s mixed population).

        A lone member (``M = 1``, a single run) is computed as two copies of itself and the
        first kept: with one column, ``x @ W`` and ``bmm`` take the BLAS matrix-vector kernel,
        which rounds differently from the matrix-matrix kernel every larger population uses.
        On a chaotic run (the trade-off preset at high alpha) that last bit grew into a
        different accuracy, so the run on screen missed its own point on a sweep of the same
        alphas. With the copy, a single run equals its member of any population bit for bit on
        the trade-off preset (``tests/test_models.py``); the copy's gradient is zero, so adding
        it changes nothing.

        ``classes``: the layer gives class logits. A one-input such layer is computed samples
        last, ``[M, C, N]`` in memory, and returned as its ``[M, N, C]`` view: the same floats,
        in the layout the cross-entropy reads (``log_softmax`` over the classes of ``[M, C, N]``,
        :func:`mtl.losses.cross_entropy`), so it skips a copy, and the element-wise products of
        the layer's and the loss's backward run along N instead of along C's 2 or 3 entries:
        about 2 ms of every step's 7 ms at a face-off's 444 members (``bench/bench_tuned.py``).
        """
        weight, bias = params
        if weight.shape[1] == 1:
            if classes and weight.shape[2] > 1:  # [M, C, 1] + [M, 1, N] * [M, C, 1]
                xt = x.transpose(-2, -1)
                return torch.addcmul(bias.mT, xt, weight.mT).transpose(1, 2)
            return torch.addcmul(bias, x, weight)
        lone = weight.shape[0] == 1
        if lone:
            weight, bias = weight.expand(2, -1, -1), bias.expand(2, -1, -1)
            if x.dim() == 3:
                x = x.expand(2, -1, -1)
        if weight.shape[2] == 1 and x.dim() == 2:
            out = torch.addmm(bias.view(1, -1), x, weight.squeeze(2).t()).t().unsqueeze(-1)
        else:
            if x.dim() == 2:
                x = x.expand(weight.shape[0], -1, -1)
            out = torch.baddbmm(bias, x, weight)
        return out[:1] if lone else out

    def _trunk(self, views: LayerViews, x: torch.Tensor) -> torch.Tensor:
        h = x
        for i in range(self.spec.depth):
            h = self.activation(self._linear(views[f"trunk{i}"], h))
        return h

    def forward(
        self, x: torch.Tensor, theta: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Predictions of every member for ``x [N, D]`` (shared) or ``[M, N, D]``.

        Returns regression outputs ``[M, N, R]`` and class logits ``[M, N, C]``, with
        ``theta [M, P]`` defaulting to the model's own parameters.
        """
        reg, logits, _ = self.forward_rep(x, self.theta if theta is None else theta)
        return reg, logits

    def forward_rep(
        self, x: torch.Tensor, theta: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`forward` that also returns the shared representation ``[M, N, H]``.

        The representation is the output of the shared layers (the chain's first layer, the
        article's one layer, the MLP's trunk): MGDA-UB differentiates each task's loss with
        respect to it.
        """
        views = self.layer_views(theta)
        if self.spec.shape == "notebook":
            reg = self._linear(views["linear"], x)
            return reg, self._linear(views["classifier"], reg, classes=True), reg
        if self.spec.shape == "article":
            out = self._linear(views["linear"], x)
            return out[..., : self.n_regression], out[..., : self.n_classes], out
        h = self._trunk(views, x)
        return (
            self._linear(views["regression_head"], h),
            self._linear(views["classification_head"], h, classes=True),
            h,
        )

    def l2(self, theta: torch.Tensor | None = None) -> torch.Tensor:
        """The L2 penalty, the sum of squared weight entries (biases excluded), ``[K]``."""
        theta = self.theta if theta is None else theta
        return (theta.square() * self.decay).sum(-1)
