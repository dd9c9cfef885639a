"""The Data tab's table: the dataset's rows, the two columns to plot, and the words about them.

Cached on the data's key (:func:`ui.keys.data_key`), so a change of weights or method reuses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

import mtl
from mtl.data import split_dataset
from ui import inert
from ui.keys import data_key

MAX_SCATTER_ROWS = 2000
"""Rows the data scatter draws at most (a random sample beyond that keeps the page light)."""


@dataclass(frozen=True)
class DataView:
    """What the Data tab draws for one dataset.

    Attributes:
        frame: one row per sample (at most :data:`MAX_SCATTER_ROWS`), under internal column
            names that no file can collide with: the raw features ``x0, x1, ...``, the
            regression target ``target``, ``class`` (the class name) and ``split``.
        x, y: the columns of ``frame`` to plot against each other.
        titles: internal column name -> the name shown (the file's own, whatever characters
            it holds), for the axes, legend and tooltips.
        caption: why those two columns, in a sentence (the real names).
        extras: for the notebook, its unused ``classification_data`` beside the inputs actually
            used, with the class labels: ``value, class, source``; else ``None``.
        description, source: the dataset's own paragraph and provenance.
    """

    frame: pd.DataFrame
    x: str
    y: str
    titles: dict[str, str]
    caption: str
    extras: pd.DataFrame | None
    description: str
    source: str


def _columns(dataset: mtl.Dataset) -> tuple[list[str], str, dict[str, str]]:
    """Internal names of the features and the target, and every internal name's title.

    A feature or target named ``class``, ``split``, ``member`` or ``epoch``, two names that
    differ only in punctuation (``a.b`` and ``a_b``), or a name full of quotes and brackets:
    none of them can collide with each other or with the page's own columns, because the frame
    never uses them as column names; they are only shown.
    """
    features = [f"x{j}" for j in range(len(dataset.feature_names))]
    titles = dict(zip(features, (str(n) for n in dataset.feature_names), strict=True))
    titles["target"] = str(dataset.regression_names[0])
    titles["class"] = "class"
    titles["split"] = "split"
    return features, "target", titles


@st.cache_data(max_entries=16, show_spinner=False)
def _data_view(key: str, _spec: mtl.DataSpec) -> DataView:
    """Build :class:`DataView` for ``_spec`` (identified by ``key``)."""
    dataset = mtl.build_dataset(_spec)
    split = split_dataset(dataset, _spec.test_fraction, _spec.seed, _spec.standardize)
    features, target, titles = _columns(dataset)
    x = dataset.x.double().numpy()
    y = dataset.y_reg[:, 0].double().numpy()
    frame = pd.DataFrame(x, columns=features)
    frame[target] = y
    classes = np.asarray(dataset.class_names, dtype=object)[dataset.y_cls.numpy()]
    frame["class"] = classes
    labels = np.full(dataset.n_rows, "train", dtype=object)
    labels[split.test_index.numpy()] = "test"
    frame["split"] = labels
    if len(features) == 1:
        chosen = features[0]
        caption = (
            f"The only feature, {inert.code(titles[chosen])}, against the regression target "
            f"{inert.code(titles[target])}."
        )
    else:
        corr = [abs(_corr(x[:, j], y)) for j in range(x.shape[1])]
        j = int(np.nanargmax(corr)) if not all(math.isnan(c) for c in corr) else 0
        chosen = features[j]
        caption = (
            f"The regression target {inert.code(titles[target])} against "
            f"{inert.code(titles[chosen])}, the feature most correlated with it "
            f"(|r| = {corr[j]:.2f}; {len(features)} features in all)."
        )
    caption += " Colour: class. Hollow points: test rows."
    if len(frame) > MAX_SCATTER_ROWS:
        frame = frame.sample(MAX_SCATTER_ROWS, random_state=0).sort_index()
        caption += f" A random {MAX_SCATTER_ROWS} of the {dataset.n_rows} rows are drawn."
    extras = None
    if "classification_data" in dataset.extras:
        unused = dataset.extras["classification_data"][:, 0].double().numpy()
        extras = pd.concat(
            [
                pd.DataFrame({"value": x[:, 0], "class": classes, "source": "inputs used"}),
                pd.DataFrame({"value": unused, "class": classes, "source": "classification_data"}),
            ],
            ignore_index=True,
        )
    return DataView(
        frame, chosen, target, titles, caption, extras, dataset.description, dataset.source
    )


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation, NaN for a constant column."""
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def data_view(spec: mtl.DataSpec) -> DataView:
    """The Data tab's content for ``spec``, cached on the data's key."""
    return _data_view(data_key(spec), spec)
