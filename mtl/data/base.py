"""The dataset contract shared by the registry, the CSV importer and the engine.

A :class:`Dataset` is the raw table: features and both targets on the same rows (the notebook's
dataset, faithfully, is the one exception). :func:`split_dataset` turns it into a :class:`Split`:
a seeded train/test partition with features (and, if asked, the regression target) standardised
on the training rows only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from mtl.errors import ConfigError


@dataclass(frozen=True, eq=False)
class Dataset:
    """A two-task table.

    Attributes:
        name: registry name, or ``"csv"`` for an upload.
        x: features ``[N, D]`` float32, raw (not standardised).
        y_reg: regression target(s) ``[N, R]`` float32.
        y_cls: class index ``[N]`` int64 in ``[0, n_classes)``.
        n_classes: number of classes C (2 to 20).
        feature_names: D names; regression_names: R names; class_names: C names.
        description: one paragraph for the page: what the data is and what to look for.
        source: provenance and licence (bundled data) or how it is generated.
        extras: named tensors the source made but the tasks do not use (the notebook's
            ``classification_data``), kept so the page can show them.
        rng_preamble: for datasets that reproduce a script whose model initialisation follows its
            data generation on one global RNG: replays those draws on a member's generator so the
            initial weights match the script's. ``None`` elsewhere.

    Equality and hashing go by a SHA-256 fingerprint of the name and the tensors, so a dataset can
    sit inside a frozen :class:`~mtl.config.RunConfig` and serve as a cache key.
    """

    name: str
    x: torch.Tensor
    y_reg: torch.Tensor
    y_cls: torch.Tensor
    n_classes: int
    feature_names: tuple[str, ...]
    regression_names: tuple[str, ...]
    class_names: tuple[str, ...]
    description: str = ""
    source: str = ""
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    rng_preamble: Callable[[torch.Generator], None] | None = None
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        n = self.x.shape[0]
        if self.x.ndim != 2 or self.y_reg.ndim != 2 or self.y_cls.ndim != 1:
            raise ValueError("Dataset wants x [N, D], y_reg [N, R] and y_cls [N]")
        if self.y_reg.shape[0] != n or self.y_cls.shape[0] != n:
            raise ValueError("Dataset targets must have one row per feature row")
        digest = hashlib.sha256(self.name.encode())
        for tensor in (self.x, self.y_reg, self.y_cls):
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.contiguous().numpy().tobytes())
        digest.update(repr((self.feature_names, self.regression_names, self.class_names)).encode())
        object.__setattr__(self, "fingerprint", digest.hexdigest())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and other.fingerprint == self.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, N={self.n_rows}, D={self.n_features}, "
            f"R={self.n_regression}, C={self.n_classes}, {self.fingerprint[:10]})"
        )

    @property
    def n_rows(self) -> int:
        """Number of rows N."""
        return int(self.x.shape[0])

    @property
    def n_features(self) -> int:
        """Number of input features D."""
        return int(self.x.shape[1])

    @property
    def n_regression(self) -> int:
        """Number of regression outputs R."""
        return int(self.y_reg.shape[1])


@dataclass(frozen=True, eq=False)
class Split:
    """A dataset partitioned into train and test rows, features standardised on train only.

    ``x_test`` etc. have zero rows when ``test_fraction == 0`` (the notebook evaluates on its
    training data). ``mean``/``std`` are the ``[D]`` statistics applied (zeros/ones when off).

    ``y_reg_train``/``y_reg_test`` are what the model trains on and is scored against by its
    loss: with a standardised target, ``(y - target_mean) / target_std`` with the ``[R]``
    training-row statistics ``target_mean``/``target_std`` (both ``None`` otherwise).
    :meth:`to_target_units` maps predictions back; ``y_reg_train_units``/``y_reg_test_units``
    are the targets in their own units (the dataset's values), which metrics are computed on.
    """

    dataset: Dataset
    x_train: torch.Tensor
    y_reg_train: torch.Tensor
    y_cls_train: torch.Tensor
    x_test: torch.Tensor
    y_reg_test: torch.Tensor
    y_cls_test: torch.Tensor
    train_index: torch.Tensor
    test_index: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    target_mean: torch.Tensor | None = None
    target_std: torch.Tensor | None = None

    @property
    def has_test(self) -> bool:
        """Whether there is a held-out split."""
        return self.x_test.shape[0] > 0

    @property
    def target_scale(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(target_mean, target_std)`` when the regression target is standardised, else None."""
        if self.target_mean is None or self.target_std is None:
            return None
        return self.target_mean, self.target_std

    @property
    def y_reg_train_units(self) -> torch.Tensor:
        """The training rows' regression target in its own units ``[N_train, R]``."""
        return self.dataset.y_reg[self.train_index] if self.target_scale else self.y_reg_train

    @property
    def y_reg_test_units(self) -> torch.Tensor:
        """The test rows' regression target in its own units ``[N_test, R]``."""
        return self.dataset.y_reg[self.test_index] if self.target_scale else self.y_reg_test

    def to_target_units(self, reg: torch.Tensor) -> torch.Tensor:
        """Regression outputs ``[..., R]`` in the target's own units: ``reg * std + mean``."""
        scale = self.target_scale
        return reg if scale is None else reg * scale[1] + scale[0]


def split_dataset(
    dataset: Dataset,
    test_fraction: float,
    seed: int,
    standardize: bool,
    standardize_target: bool = False,
) -> Split:
    """Partition rows with a permutation from ``torch.Generator().manual_seed(seed)``.

    ``round(N * test_fraction)`` rows go to test; both parts must keep at least one row, and the
    training part at least two (a standard deviation needs them). Standardisation uses the
    training rows' mean and (population) standard deviation; a constant feature keeps std 1.
    ``standardize_target`` does the same to each regression target, ``(y - mean) / std`` with
    the training rows' statistics, on both splits (a constant target keeps std 1).
    """
    n = dataset.n_rows
    n_test = round(n * test_fraction)
    if test_fraction > 0 and (n_test < 1 or n - n_test < 2):
        raise ConfigError(
            "data.test_fraction",
            test_fraction,
            f"a fraction leaving at least 1 test row and 2 training rows of the {n} rows",
        )
    if n_test == 0:
        order = torch.arange(n)
    else:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    test_index, train_index = order[:n_test].sort().values, order[n_test:].sort().values
    return split_rows(dataset, train_index, test_index, standardize, standardize_target)


def split_rows(
    dataset: Dataset,
    train_index: torch.Tensor,
    test_index: torch.Tensor,
    standardize: bool,
    standardize_target: bool = False,
) -> Split:
    """The :class:`Split` training on rows ``train_index`` and holding out ``test_index``.

    What :func:`split_dataset` does once it has drawn the rows, and what a tuned face-off uses
    for its validation rows: features (and, with ``standardize_target``, the regression targets)
    standardised on the training rows' mean and population standard deviation; a constant column
    keeps std 1.
    """
    x_train = dataset.x[train_index]
    d = dataset.n_features
    if standardize:
        mean = x_train.mean(0)
        std = x_train.std(0, unbiased=False)
        std = torch.where(std > 1e-12, std, torch.ones_like(std))
    else:
        mean, std = torch.zeros(d), torch.ones(d)

    def scale(x: torch.Tensor) -> torch.Tensor:
        return (x - mean) / std if standardize else x

    y_train, y_test = dataset.y_reg[train_index], dataset.y_reg[test_index]
    target_mean = target_std = None
    if standardize_target:
        target_mean = y_train.mean(0)
        spread = y_train.std(0, unbiased=False)
        target_std = torch.where(spread > 1e-12, spread, torch.ones_like(spread))
        y_train = (y_train - target_mean) / target_std
        y_test = (y_test - target_mean) / target_std

    return Split(
        dataset=dataset,
        x_train=scale(x_train),
        y_reg_train=y_train,
        y_cls_train=dataset.y_cls[train_index],
        x_test=scale(dataset.x[test_index]),
        y_reg_test=y_test,
        y_cls_test=dataset.y_cls[test_index],
        train_index=train_index,
        test_index=test_index,
        mean=mean,
        std=std,
        target_mean=target_mean,
        target_std=target_std,
    )
