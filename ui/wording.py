"""The page's words for the core's fields, so no message shows the API's names.

The core names a bad value by its dotted field (``optim.lr``, ``weighting.params.c``), which is
right for code and links but not for a person at the sidebar: :func:`field_label` gives the
control's own label, and :func:`config_problem` words a :class:`mtl.ConfigError` with it.
No Streamlit here, so it is tested with plain values.
"""

from __future__ import annotations

import mtl
from mtl.weighting import METHODS

FIELD_LABELS: dict[str, str] = {
    "data.name": "Dataset",
    "data.n_samples": "Samples",
    "data.n_features": "Features",
    "data.noise": "Target noise",
    "data.label_noise": "Label noise",
    "data.angle": "Angle between tasks",
    "data.target_scale": "Target scale",
    "data.n_classes": "Classes",
    "data.test_fraction": "Test fraction",
    "data.standardize": "Standardise features",
    "data.standardize_target": "Standardise the regression target",
    "data.seed": "Data seed",
    "data.table": "Uploaded CSV",
    "model.shape": "Model shape",
    "model.width": "Width",
    "model.depth": "Depth",
    "model.activation": "Activation",
    "loss.regression": "Regression loss",
    "loss.classification": "Classification loss",
    "loss.huber_delta": "Huber delta",
    "loss.label_smoothing": "Label smoothing",
    "loss.focal_gamma": "Focal gamma",
    "loss.l2": "L2 regularisation",
    "weighting.method": "Method",
    "weighting.weights": "Weights",
    "weighting.weights.regression": "Regression weight",
    "weighting.weights.classification": "Classification weight",
    "weighting.alpha": "α",
    "weighting.scale": "Balanced start",
    "weighting.balanced": "Balanced start",
    "optim.kind": "Optimizer",
    "optim.lr": "Learning rate",
    "optim.momentum": "Momentum",
    "optim.batch_size": "Batch size",
    "epochs": "Epochs",
    "seed": "Seed",
}
"""Config field -> the sidebar control's label (the data parameters' labels as the sidebar's)."""


def field_label(field: str, method: str | None = None) -> str:
    """The sidebar's label for ``field``; a method's hyper-parameter reads its declaration.

    An unknown field (a new one, or ``work``) falls back to its last dotted part, words spaced.
    """
    if field in FIELD_LABELS:
        return FIELD_LABELS[field]
    if field.startswith("weighting.params."):
        name = field.removeprefix("weighting.params.")
        owner = METHODS.get(method or "")
        declared = {h.name: h.label for h in owner.hparams} if owner is not None else {}
        return declared.get(name, name.replace("_", " ").capitalize())
    return field.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def config_problem(error: mtl.ConfigError, method: str | None = None) -> str:
    """``error`` in the page's words: the control's label, the value, what is allowed.

    A subclass that words its own message for people (the work budget's refusal) keeps it.
    """
    if type(error) is not mtl.ConfigError:
        return str(error)
    label = field_label(error.field, method)
    return f"{label}: {error.value!r} is not allowed; expected {error.allowed}."
