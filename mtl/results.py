"""Results: what a training call returns, and the tidy history schema.

:class:`Recorder` fills preallocated tensors during training (no ``.item()`` on the training
path); :meth:`Recorder.result` turns them into long-format DataFrames once, at the end.

``Result.history``: one row per member x epoch x split x component.

=============  =================================================================================
``member``     index of the member in the population
``epoch``      0 is before the first step; epoch e is after e epochs
``split``      ``train`` or ``test`` (no test rows when ``test_fraction == 0``)
``component``  ``regression``, ``classification``, and ``regularization`` when ``l2 > 0``
``loss``       the raw component loss on the whole split after the epoch (regularization: the
               sum of squared weights)
``weight``     the weight in force during that epoch: the mean of the weights applied by the
               epoch's steps (epoch 0: the first step's); the regularizer's is its coefficient
``weighted``   ``weight * loss``; the components of a split sum to the total loss
=============  =================================================================================

``Result.metrics`` (beside the history, same keys): ``member, epoch, split, metric, value`` with
metric in ``mse, mae, r2, accuracy``, evaluated like the history. MSE, MAE and R² are always in the
regression target's own units: with a standardised target (``DataSpec.standardize_target``) the
predictions are mapped back (``reg * std + mean``) before they are scored, while the history's
regression ``loss`` stays the loss the optimiser sees, on the standardised target.

``Result.diagnostics``: ``member, epoch, diagnostic, value`` with diagnostic in
``cosine`` (between the regression and classification gradients on the shared parameters),
``norm_ratio`` (``|g_regression| / |g_classification|``) and both norms ``grad_norm_regression``,
``grad_norm_classification``; taken on the whole training split at the parameters after e epochs.
The same for the weighted gradients, what the optimiser's shared update is made of:
``weighted_grad_norm_regression`` (``|w_regression| |g_regression|``),
``weighted_grad_norm_classification`` and ``weighted_norm_ratio``, with the weights logged for
that epoch (``history``'s ``weight``). A weighted sum of the losses gives the shared layers
``w_r g_r + w_c g_c``; a gradient-based method's combination is the same sum with its
coefficients, so the weighted ratio is what each task contributes to the step.

``Result.reference``: the scores of predicting without the inputs, per split (``train_mse``,
``test_mse``, ``train_accuracy``, ``test_accuracy``; NaN without a test split): the MSE of
predicting the training rows' mean target, and the accuracy of predicting the training rows'
most frequent class. A task that does no better than its reference has learnt nothing usable.

A member that diverged (non-finite loss) keeps its rows up to the epoch before it diverged; its
``summary`` row has ``diverged = True``, ``diverged_epoch`` and NaN final figures.

Coarse logs: a population's logs grow with members x epochs (about 500 bytes a member-epoch, and
a few times that while the frames are built and cached). When members x (epochs + 1) exceeds
:data:`FULL_LOG_MEMBER_EPOCHS`, only every k-th epoch is logged (:func:`log_stride`: epochs 0,
k, 2k, ... and always the last), so one result stays under about 30 MB. Training is unchanged,
every logged figure is exactly what a full log holds for that epoch, and ``summary`` (the final
epoch) is exact; ``Result.log_every`` says k. The default 303-member sweep is logged in full.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from mtl.config import TASKS

if TYPE_CHECKING:
    from mtl.config import RunConfig

FULL_LOG_MEMBER_EPOCHS = 50_000
"""Most member-epochs a request logs in full; beyond it every k-th epoch (see the module doc).

``$MTL_FULL_LOG`` overrides it (``0``: always log every epoch)."""
_FULL_LOG_ENV = "MTL_FULL_LOG"


def summary_split(summary: pd.DataFrame | pd.Series) -> str:
    """The split a summary's figures are read on: ``test``, or ``train`` when there is none.

    The one place this is decided, for a population's summary (a frame) and for one member's
    row (a series) alike. Without a test split (``test_fraction == 0``, the notebook's way) every
    ``test_*`` figure is NaN, so a summary with any test MSE has test rows; a diverged member's
    NaN figures alone do not make a split disappear unless every member diverged.
    """
    values = np.asarray(summary["test_mse"], dtype=float)
    return "test" if bool((~np.isnan(values)).any()) else "train"


def full_log_limit() -> int:
    """:data:`FULL_LOG_MEMBER_EPOCHS`, or ``$MTL_FULL_LOG`` when it is a non-negative integer."""
    try:
        return max(0, int(float(os.environ.get(_FULL_LOG_ENV, FULL_LOG_MEMBER_EPOCHS))))
    except ValueError:
        return FULL_LOG_MEMBER_EPOCHS


def log_stride(members: int, epochs: int, limit: int | None = None) -> int:
    """The k of "log every k-th epoch" that keeps ``members x logged epochs`` within ``limit``.

    1 (every epoch) when ``members x (epochs + 1)`` fits or ``limit`` is 0; ``limit`` defaults
    to :func:`full_log_limit`. The last epoch is always logged as well, hence the ``- 1``.
    """
    limit = full_log_limit() if limit is None else limit
    if not limit or members * (epochs + 1) <= limit:
        return 1
    rows = max(2, limit // members - 1)  # logged epochs besides the last
    return max(1, math.ceil(epochs / (rows - 1)))


METRICS: tuple[str, ...] = ("mse", "mae", "r2", "accuracy")
DIAGNOSTICS: tuple[str, ...] = (
    "cosine",
    "norm_ratio",
    "grad_norm_regression",
    "grad_norm_classification",
    "weighted_norm_ratio",
    "weighted_grad_norm_regression",
    "weighted_grad_norm_classification",
)


_BUFFER_BYTES = 32 * 2**20
"""Most bytes of per-epoch records held by reference before they are written out in bulk."""


class _OutputBuffer:
    """One split's raw outputs over consecutive epochs, for metrics computed in bulk.

    Computing the metrics of many epochs in a few vectorised ops is far cheaper than a dozen
    small ops per epoch. Each epoch's ``reg [K, N, R]`` and ``logits [K, N, C]`` are held by
    reference (the engine never changes them afterwards), up to about ``budget_bytes``; a full
    buffer is stacked and flushed into ``metrics [E+1, K, M]``.
    """

    def __init__(
        self,
        metrics: torch.Tensor,
        y_reg: torch.Tensor,
        y_cls: torch.Tensor,
        budget_bytes: int = _BUFFER_BYTES,
        target_scale: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        self.metrics, self.y_reg, self.y_cls = metrics, y_reg, y_cls
        self.target_scale = target_scale  # (mean [R], std [R]): outputs -> the target's units
        self.budget_bytes = budget_bytes
        self.reg: list[torch.Tensor] = []
        self.logits: list[torch.Tensor] = []
        self.first = 0  # row of the first buffered epoch
        self.bytes = 0
        self.sst = (y_reg - y_reg.mean(0)).square().sum()

    def add(self, row: int, reg: torch.Tensor, logits: torch.Tensor) -> None:
        """Buffer the outputs of logged row ``row`` (rows arrive in order, one after another)."""
        if not self.reg:
            self.first = row
        self.reg.append(reg)
        self.logits.append(logits)
        self.bytes += 4 * (reg.numel() + logits.numel())
        if self.bytes >= self.budget_bytes:
            self.flush()

    def flush(self) -> None:
        """Compute MSE, MAE, R² and accuracy for the buffered epochs."""
        if not self.reg:
            return
        used = len(self.reg)
        cpu = self.y_reg.device  # outputs computed on another device are copied here
        reg = torch.stack(self.reg).to(cpu)  # [B, K, N, R]
        if self.target_scale is not None:  # a standardised target: back to its own units
            reg = reg * self.target_scale[1] + self.target_scale[0]
        err = reg - self.y_reg
        # max().indices: 3x faster than argmax for small C
        pred = torch.stack(self.logits).to(cpu).max(dim=-1).indices
        sq = err.square()
        out = self.metrics[self.first : self.first + used]  # [B, K, M]
        out[..., 0] = sq.mean(dim=(-2, -1))
        out[..., 1] = err.abs().mean(dim=(-2, -1))
        out[..., 2] = 1 - sq.sum(dim=(-2, -1)) / self.sst if self.sst > 0 else float("nan")
        out[..., 3] = (pred == self.y_cls).float().mean(-1)
        self.reg, self.logits, self.bytes = [], [], 0


class _RowBuffer:
    """Per-epoch tensors held by reference and written into rows of ``target`` in bulk.

    One ``stack`` and one indexed write for many epochs instead of an indexed write per epoch.
    ``convert`` (applied to the stacked ``[B, ...]`` tensor before the write) lets a record be
    kept in a cheaper form until then, e.g. gradients whose Gram matrix is formed in bulk.
    """

    def __init__(
        self,
        target: torch.Tensor,
        convert: Callable[[torch.Tensor], torch.Tensor] | None = None,
        budget_bytes: int = _BUFFER_BYTES,
    ) -> None:
        self.target, self.convert, self.budget_bytes = target, convert, budget_bytes
        self.rows: list[int] = []
        self.values: list[torch.Tensor] = []
        self.bytes = 0

    def add(self, row: int, value: torch.Tensor) -> None:
        """Hold ``value`` for row ``row`` (it must not change until the next :meth:`flush`)."""
        self.rows.append(row)
        self.values.append(value)
        self.bytes += value.numel() * value.element_size()
        if self.bytes >= self.budget_bytes:
            self.flush()

    def flush(self) -> None:
        """Write every held value into its row of ``target``."""
        if not self.rows:
            return
        stacked = torch.stack(self.values)
        if self.convert is not None:
            stacked = self.convert(stacked)
        rows = self.rows
        if rows == list(range(rows[0], rows[0] + len(rows))):
            self.target[rows[0] : rows[0] + len(rows)] = stacked
        else:
            self.target[torch.tensor(rows)] = stacked
        self.rows, self.values, self.bytes = [], [], 0


def _gram_of(g: torch.Tensor) -> torch.Tensor:
    """``G G^T`` in float64 of gradients ``G [..., T, P]`` (the engine's arithmetic, in bulk)."""
    g = g.to(torch.float64)
    return g @ g.mT


class Recorder:
    """Preallocated per-epoch logs of one population's training.

    Shapes: losses ``[L, K, S, C]``, metrics ``[L, K, S, M]``, weights ``[L, K, C]``,
    gradient Gram matrices ``[L, K, T, T]`` with L logged epochs (``E + 1`` when ``every`` is 1:
    else epochs 0, every, 2 every, ... and the last), S splits, C components and M metrics.
    Records of epochs that are not logged are ignored. A record only keeps a reference to what it
    is given (the engine hands over fresh tensors it never changes; weights are copied, since a
    method may update its own in place); the references are written into the tensors, and the
    derived figures computed, in bulk (when about 32 MB are held, and in :meth:`result`).

    ``targets`` are in the regression target's own units; ``target_scale`` ``(mean, std)``, when
    the model trains on the standardised target, maps its outputs back before scoring.
    """

    def __init__(
        self,
        epochs: int,
        members: int,
        targets: dict[str, tuple[torch.Tensor, torch.Tensor]],
        with_regularization: bool,
        every: int = 1,
        target_scale: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        self.epochs, self.members, self.every = epochs, members, max(1, every)
        logged = list(range(0, epochs + 1, self.every))
        if logged[-1] != epochs:
            logged.append(epochs)
        self.logged = np.asarray(logged)  # the epoch of each row
        self._row = {epoch: row for row, epoch in enumerate(logged)}
        self.splits = tuple(targets)
        self.components = TASKS + (("regularization",) if with_regularization else ())
        e, k, s, c, t = len(logged), members, len(self.splits), len(self.components), len(TASKS)
        nan = float("nan")
        self.losses = torch.full((e, k, s, c), nan, dtype=torch.float64)
        self.metrics = torch.full((e, k, s, len(METRICS)), nan, dtype=torch.float64)
        self.weights = torch.full((e, k, c), nan, dtype=torch.float64)
        self.gram = torch.full((e, k, t, t), nan)
        self.diverged_epoch = torch.full((k,), -1, dtype=torch.int64)
        self._outputs = {
            split: _OutputBuffer(self.metrics[:, :, i], *targets[split], target_scale=target_scale)
            for i, split in enumerate(self.splits)
        }
        self.reference = reference_scores(targets)
        self._losses = {
            split: _RowBuffer(self.losses[:, :, i, : len(TASKS)])
            for i, split in enumerate(self.splits)
        }
        self._l2 = {
            split: _RowBuffer(self.losses[:, :, i, len(TASKS)]) if with_regularization else None
            for i, split in enumerate(self.splits)
        }
        self._weights = _RowBuffer(self.weights[:, :, : len(TASKS)])
        self._grams = _RowBuffer(self.gram)
        self._gradients = _RowBuffer(self.gram, convert=_gram_of)
        self._buffers: list[_OutputBuffer | _RowBuffer | None] = [
            *self._outputs.values(),
            *self._losses.values(),
            *self._l2.values(),
            self._weights,
            self._grams,
            self._gradients,
        ]

    def record(
        self,
        epoch: int,
        split: str,
        losses: torch.Tensor,
        l2: torch.Tensor | None,
        reg: torch.Tensor,
        logits: torch.Tensor,
    ) -> None:
        """Log one split's task losses ``[K, T]``, L2 ``[K]`` and outputs ``[K, N, R|C]``."""
        row = self._row.get(epoch)
        if row is None:
            return
        self._losses[split].add(row, losses)
        l2_buffer = self._l2[split]
        if l2 is not None and l2_buffer is not None:
            l2_buffer.add(row, l2)
        self._outputs[split].add(row, reg, logits)

    def record_weights(self, epoch: int, weights: torch.Tensor) -> None:
        """Log the task weights ``[K, T]`` in force during ``epoch``."""
        row = self._row.get(epoch)
        if row is not None:
            self._weights.add(row, weights.clone())

    def record_conflict(self, epoch: int, gram: torch.Tensor) -> None:
        """Log the Gram matrix ``G G^T [K, T, T]`` of the shared task gradients ``G [K, T, P]``.

        The engine computes it once per step (float64) when the method needs it and shares it;
        cosine and norms come from it. Stored in float32, which is plenty for a chart. Epochs a
        coarse log skips are not stored.
        """
        row = self._row.get(epoch)
        if row is not None:
            self._grams.add(row, gram)

    def record_gradients(self, epoch: int, shared: torch.Tensor) -> None:
        """:meth:`record_conflict` from the shared gradients ``G [K, T, P]`` themselves.

        For a pass whose Gram matrix nobody else needed: it is formed later for many epochs at
        once (the same float64 arithmetic, so the same figures).
        """
        row = self._row.get(epoch)
        if row is not None:
            self._gradients.add(row, shared)

    def mark_diverged(self, members: torch.Tensor, epoch: int) -> None:
        """Flag ``members`` (a ``[K]`` bool mask) as diverged at ``epoch``."""
        self.diverged_epoch[members] = epoch

    def result(
        self, cfg: RunConfig, seeds: torch.Tensor, base_weights: torch.Tensor, seconds: float
    ) -> Result:
        """Assemble the DataFrames."""
        for buffer in self._buffers:
            if buffer is not None:
                buffer.flush()
        if cfg.loss.l2 > 0:
            self.weights[:, :, len(TASKS)] = cfg.loss.l2
        e, k = len(self.logged), self.members
        diverged = self.diverged_epoch >= 0
        last = torch.where(diverged, self.diverged_epoch - 1, self.epochs)  # last kept epoch
        keep = torch.from_numpy(self.logged).view(e, 1) <= last.view(1, k)  # [L, K]

        weighted = self.losses * self.weights.unsqueeze(2)
        history = _long_frame(
            {
                "loss": self.losses,
                "weight": self.weights.unsqueeze(2).expand_as(self.losses),
                "weighted": weighted,
            },
            keep,
            self.logged,
            ("split", self.splits),
            ("component", self.components),
        )
        metrics = _long_frame(
            {"value": self.metrics}, keep, self.logged, ("split", self.splits), ("metric", METRICS)
        )
        diagnostics = _long_frame(
            {"value": self._diagnostics()}, keep, self.logged, ("diagnostic", DIAGNOSTICS)
        )
        summary = self._summary(seeds, base_weights, weighted, diverged)
        return Result(
            config=cfg,
            history=history,
            metrics=metrics,
            diagnostics=diagnostics,
            summary=summary,
            seconds=seconds,
            log_every=self.every,
            reference=self.reference,
        )

    def _diagnostics(self) -> torch.Tensor:
        """Cosine, norm ratio and norms of the task gradients, raw and weighted, ``[E+1, K, 7]``.

        The weighted norms are ``|w_t| |g_t|`` with the weights logged for the epoch.
        """
        gram = self.gram.double()
        sq_reg, sq_cls, dot = gram[..., 0, 0], gram[..., 1, 1], gram[..., 0, 1]
        n_reg, n_cls = sq_reg.clamp_min(0).sqrt(), sq_cls.clamp_min(0).sqrt()
        denom = n_reg * n_cls
        cosine = torch.where(denom > 0, dot / denom.clamp_min(1e-300), torch.nan).clamp(-1, 1)
        ratio = torch.where(n_cls > 0, n_reg / n_cls.clamp_min(1e-300), torch.nan)
        w_reg = self.weights[..., 0].abs() * n_reg
        w_cls = self.weights[..., 1].abs() * n_cls
        w_ratio = torch.where(w_cls > 0, w_reg / w_cls.clamp_min(1e-300), torch.nan)
        return torch.stack((cosine, ratio, n_reg, n_cls, w_ratio, w_reg, w_cls), dim=-1)

    def _summary(
        self,
        seeds: torch.Tensor,
        base_weights: torch.Tensor,
        weighted: torch.Tensor,
        diverged: torch.Tensor,
    ) -> pd.DataFrame:
        final = len(self.logged) - 1  # the last row is always the last epoch
        columns: dict[str, object] = {
            "member": np.arange(self.members),
            "seed": seeds.numpy(),
            "w_regression": base_weights[:, 0].numpy(),
            "w_classification": base_weights[:, 1].numpy(),
        }
        for split in ("train", "test"):
            for j, metric in enumerate(METRICS):
                if split in self.splits:
                    values = self.metrics[final, :, self.splits.index(split), j].clone()
                    values[diverged] = float("nan")
                    columns[f"{split}_{metric}"] = values.numpy()
                else:
                    columns[f"{split}_{metric}"] = np.full(self.members, np.nan)
            if split in self.splits:
                total = weighted[final, :, self.splits.index(split)].sum(-1).clone()
                total[diverged] = float("nan")
                columns[f"{split}_loss"] = total.numpy()
            else:
                columns[f"{split}_loss"] = np.full(self.members, np.nan)
        columns["diverged"] = diverged.numpy()
        columns["diverged_epoch"] = pd.array(
            [int(e) if e >= 0 else None for e in self.diverged_epoch.tolist()], dtype="Int64"
        )
        return pd.DataFrame(columns)


@functools.cache
def _categories(labels: tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of ``labels``, built once (building it is most of a column's cost)."""
    return pd.CategoricalDtype(list(labels))


def reference_scores(targets: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
    """The scores of predicting without the inputs, on each split (see the module docstring).

    ``targets`` maps a split to its regression targets ``[N, R]`` and classes ``[N]``; the
    ``train`` split sets the prediction (its mean target, its most frequent class, the lowest
    class on a tie). Keys ``<split>_mse`` and ``<split>_accuracy`` for ``train`` and ``test``;
    NaN for a split that is absent.
    """
    y_train, c_train = targets["train"]
    mean = y_train.double().mean(0)
    majority = int(torch.bincount(c_train.long()).argmax())
    scores: dict[str, float] = {}
    for split in ("train", "test"):
        if split not in targets:
            scores[f"{split}_mse"] = scores[f"{split}_accuracy"] = float("nan")
            continue
        y, c = targets[split]
        scores[f"{split}_mse"] = float((y.double() - mean).square().mean())
        scores[f"{split}_accuracy"] = float((c.long() == majority).double().mean())
    return scores


def _long_frame(
    values: dict[str, torch.Tensor],
    keep: torch.Tensor,
    epochs: np.ndarray,
    *axes: tuple[str, tuple[str, ...]],
) -> pd.DataFrame:
    """Flatten ``[L, K, *axes]`` tensors into a long frame sorted by member, epoch, axes.

    ``epochs [L]`` is the epoch of each row; ``keep [L, K]`` drops the epochs after a member
    diverged.
    """
    first = next(iter(values.values()))
    e, k = first.shape[:2]
    sizes = [len(labels) for _, labels in axes]
    order = (1, 0, *range(2, 2 + len(axes)))  # member-major
    mask = keep.permute(1, 0).reshape(k, e, *([1] * len(axes))).expand(k, e, *sizes).reshape(-1)
    mask_np = mask.numpy()
    grids = np.meshgrid(np.arange(k), np.arange(e), *[np.arange(n) for n in sizes], indexing="ij")
    frame: dict[str, object] = {
        "member": grids[0].reshape(-1)[mask_np],
        "epoch": epochs[grids[1].reshape(-1)[mask_np]],
    }
    for (name, labels), grid in zip(axes, grids[2:], strict=True):
        frame[name] = pd.Categorical.from_codes(
            grid.reshape(-1)[mask_np], dtype=_categories(labels), validate=False
        )  # codes from arange: valid by construction
    for name, tensor in values.items():
        frame[name] = tensor.permute(*order).reshape(-1).numpy()[mask_np]
    return pd.DataFrame(frame)


@dataclass(frozen=True)
class Result:
    """What :func:`mtl.train` and :func:`mtl.sweep` return.

    Attributes:
        config: the configuration trained.
        history: tidy component losses (see the module docstring for the schema).
        metrics: tidy MSE, MAE, R² and accuracy per member, epoch and split.
        diagnostics: tidy gradient-conflict diagnostics per member and epoch.
        summary: one row per member: ``member, seed, w_regression, w_classification``,
            ``train_``/``test_`` ``mse, mae, r2, accuracy, loss`` at the final epoch (NaN when
            there is no test split or the member diverged), ``diverged, diverged_epoch``.
        seconds: wall time of the training loop.
        log_every: k when only every k-th epoch (and the last) was logged to keep a large
            population's result small (see the module docstring); 1 for a full log.
        reference: the scores of predicting the training rows' mean target and most frequent
            class, per split (see the module docstring).
    """

    config: RunConfig
    history: pd.DataFrame
    metrics: pd.DataFrame
    diagnostics: pd.DataFrame
    summary: pd.DataFrame
    seconds: float = field(default=0.0, compare=False)
    log_every: int = 1
    reference: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def n_members(self) -> int:
        """K."""
        return len(self.summary)

    @property
    def nbytes(self) -> int:
        """Memory held by the result's frames, in bytes (for byte-bounded caches)."""
        frames = (self.history, self.metrics, self.diagnostics, self.summary)
        return int(sum(f.memory_usage(deep=True).sum() for f in frames))
