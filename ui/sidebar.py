"""The sidebar: every control of a run, producing a :class:`~mtl.config.RunConfig` or a problem.

Widgets carry keys named after the config fields (see :mod:`ui.state`) and take their values from
``st.session_state`` only (never a ``value=`` argument), so a preset or a button fills them by
writing the keys in a callback. Controls that do not apply are not drawn; ``persist_state="page"``
keeps a hidden control's value until it shows again. Ranges come from ``mtl.config.LIMITS`` and
the method classes' ``hparams`` declarations (label, help, range or choices), so the widgets and
the core's validation agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

import mtl
from mtl.config import CHOICES, LIMITS
from mtl.data import DATASETS
from mtl.losses import CLASSIFICATION_LABELS, REGRESSION_LABELS
from mtl.weighting import METHODS, HParam
from ui import csv_upload, inert
from ui.state import (
    CSV,
    DEFAULT_PRESET,
    PRESET_LABELS,
    WIDGET_STEPS,
    changed_fields,
    config_from_state,
    hparam_key,
    hparam_step,
    limit_key,
    load_into_widgets,
    widget_bounds,
)
from ui.wording import config_problem, field_label

LR_GRID: tuple[float, ...] = (
    *(float(f"{m}e{e}") for e in range(-4, 1) for m in (1, 2, 3, 5)),
    10.0,
)
"""Learning rates offered: a 1-2-3-5 log grid from 1e-4 to 10 (the allowed maximum)."""
L2_GRID: tuple[float, ...] = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0)
"""L2 coefficients offered: off, then a log grid up to the allowed maximum."""
WIDTH_GRID: tuple[int, ...] = tuple(2**i for i in range(10))
"""MLP widths offered: powers of two from 1 to 512."""

MODEL_LABELS: dict[str, str] = {
    "notebook": "Notebook chain (regression output feeds the classifier)",
    "article": "Article (one linear layer, one output for both losses)",
    "shared": "Shared MLP trunk + two heads",
}
OPTIM_LABELS: dict[str, str] = {"sgd": "SGD", "adam": "Adam"}
FORM_LABELS: dict[str, str] = {"alpha": "α slider", "free": "Two free weights"}
DATA_WIDGETS: dict[str, tuple[str, str]] = {
    "n_samples": (
        "Samples",
        "How many rows to generate. More rows give smoother curves and a more reliable test "
        "score, and cost proportionally more time.",
    ),
    "n_features": (
        "Features",
        "Input dimension. The task directions live in this space; with 1 feature the tasks can "
        "only agree (0°) or oppose (180°).",
    ),
    "angle": (
        "Angle between tasks",
        "Angle between the input directions the two targets follow. 0° the tasks help each "
        "other, 90° they are unrelated, 180° they pull a shared model in opposite directions: "
        "watch the gradient-conflict tab.",
    ),
    "noise": (
        "Target noise",
        "Standard deviation of the noise on the regression target: the MSE no model can beat.",
    ),
    "label_noise": (
        "Label noise",
        "Fraction of class labels flipped to a random other class: caps the reachable accuracy.",
    ),
    "target_scale": (
        "Target scale",
        "Multiplies the regression target. A larger scale makes the MSE (and its gradient) "
        "dominate the cross-entropy unless the weights compensate: the classic reason to weight.",
    ),
    "n_classes": ("Classes", "Number of classes of the classification task."),
}
"""DataSpec field -> (label, help) of its widget; the steps are in ``WIDGET_STEPS``."""


@dataclass(frozen=True)
class Problem:
    """Why the current controls cannot be trained: a title and the core's message."""

    title: str
    message: str


@dataclass(frozen=True)
class SidebarOutcome:
    """What the sidebar produced: a config, or a problem, or a note that it waits for input."""

    cfg: mtl.RunConfig | None
    problem: Problem | None = None
    waiting: str | None = None


def init_state() -> None:
    """Fill every control from the default preset on a session's first run."""
    if "preset" not in st.session_state:
        load_into_widgets(mtl.preset(DEFAULT_PRESET), st.session_state)


def apply_preset() -> None:
    """``on_change`` of the preset box: write every control of the chosen preset."""
    load_into_widgets(mtl.preset(st.session_state["preset"]), st.session_state)


def use_corrected_data(shown: mtl.RunConfig) -> None:
    """``on_click``: switch to the ``linear`` preset's data (the notebook's toy, each row's label).

    The run the controls describe keeps everything but its data (the model, losses, weights and
    optimizer stay) and is written back whole. ``shown`` is the run the button was drawn for,
    used when the controls do not describe a valid run.
    """
    try:
        current = config_from_state(st.session_state)
    except mtl.ConfigError:
        current = shown
    load_into_widgets(replace(current, data=mtl.preset("linear").data), st.session_state)


def render() -> SidebarOutcome:
    """Draw the sidebar and return the configuration it describes (or why there is none)."""
    init_state()
    with st.sidebar:
        _preset_section()
        table, upload = _data_section()
        _model_section()
        _loss_section()
        _weighting_section()
        _optim_section()
    if upload is not None:
        return upload
    try:
        cfg = config_from_state(st.session_state, table)
    except mtl.ConfigError as error:
        method = st.session_state.get("weighting.method")
        label = field_label(error.field, method)
        return SidebarOutcome(
            None, Problem(f"Can't use “{inert.text(label)}”", config_problem(error, method))
        )
    reference = mtl.preset(st.session_state["preset"])
    changed = changed_fields(cfg, reference)
    if changed:
        st.sidebar.caption(
            "Changed from the preset: "
            + ", ".join(f"`{k}`" for k in changed[:6])
            + (f" and {len(changed) - 6} more" if len(changed) > 6 else "")
        )
    return SidebarOutcome(cfg)


def _preset_section() -> None:
    st.header("Run")
    st.selectbox(
        "Preset",
        list(PRESET_LABELS),
        format_func=PRESET_LABELS.__getitem__,
        key="preset",
        on_change=apply_preset,
        help="A ready configuration. Choosing one fills every control below, which you can then "
        "change. 'Notebook' reproduces the source notebook exactly, quirks included; "
        "'Trade-off' shows alpha trading one task for the other; 'Conflicting tasks, Adam' "
        "shows how little a weight change moves Adam.",
    )


def _data_section() -> tuple[mtl.Dataset | None, SidebarOutcome | None]:
    """Dataset controls; returns the uploaded dataset, or an outcome when the upload blocks."""
    st.subheader("Data")
    names = [*DATASETS, CSV]
    st.selectbox(
        "Dataset",
        names,
        format_func=lambda n: "Upload a CSV…" if n == CSV else DATASETS[n].label,
        key="data.name",
        persist_state="page",
        help="What to learn from. Each dataset has a regression target and a class target on "
        "the same rows (the notebook's own data excepted, on purpose: see its note), or upload "
        "your own CSV.",
    )
    name = st.session_state["data.name"]
    table: mtl.Dataset | None = None
    outcome: SidebarOutcome | None = None
    if name == CSV:
        table, outcome = _csv_section()
    else:
        st.caption(DATASETS[name].summary)
        for param in DATASETS[name].params:
            if param in DATA_WIDGETS:
                _data_widget(param)
    _slider(
        "data.test_fraction",
        "Test fraction",
        "Share of rows held out to measure generalisation. 0 trains and evaluates on the same "
        "rows, as the notebook does.",
    )
    st.checkbox(
        "Standardise features",
        key="data.standardize",
        persist_state="page",
        help="Rescale each feature to mean 0 and standard deviation 1 using the training rows. "
        "Off reproduces the notebook; on usually makes the learning rate far less touchy.",
    )
    st.checkbox(
        "Standardise the regression target",
        key="data.standardize_target",
        persist_state="page",
        help="Train the regression head on (y − mean) / std, with the mean and standard "
        "deviation of the training rows, so its loss starts near 1 like the cross-entropy "
        "instead of in the target's squared units. Every MSE, MAE and R² shown is still in the "
        "target's own units (predictions are mapped back); the loss curves show the loss the "
        "optimiser sees, on the standardised target.",
    )
    if name == CSV or "seed" in DATASETS[name].params:
        _number(
            "data.seed",
            "Data seed",
            "Seed of the data generation and of the train/test split; the model's seed is "
            "separate (under Optimisation).",
        )
    return table, outcome


def _data_widget(param: str) -> None:
    label, help_text = DATA_WIDGETS[param]
    key = f"data.{param}"
    if param in ("n_samples", "noise", "target_scale"):
        _number(key, label, help_text, fmt=None if param == "n_samples" else "%g")
    else:
        _slider(key, label, help_text, fmt="%.0f°" if param == "angle" else None)


def _csv_section() -> tuple[mtl.Dataset | None, SidebarOutcome | None]:
    """The upload and its column pickers; the dataset, or why there is none."""
    upload = st.file_uploader(
        "CSV file",
        type=["csv"],
        key="data.csv_file",
        help="A UTF-8 text file with a header row, separated by commas, semicolons or tabs "
        "(decimal commas are fine with semicolons; at most 10 MB, 20,000 rows, 50 columns). "
        "Choose a numeric column to regress, a column with a few categories to classify (NA "
        "there is a class; leave a cell empty if it is missing), and numeric feature columns.",
    )
    if upload is None:
        return None, SidebarOutcome(
            None, waiting="Upload a CSV file in the sidebar to train on it."
        )
    data = upload.getvalue()
    try:
        columns = _read_columns(data)
    except mtl.DataError as error:
        return None, SidebarOutcome(None, Problem("Can't use this CSV", str(error)))
    if st.session_state.get("_csv.file_id") != upload.file_id:  # a new file: fresh defaults
        st.session_state["_csv.file_id"] = upload.file_id
        st.session_state.pop("_csv.targets", None)
        st.session_state["data.csv.regression_target"] = columns.regression
        st.session_state["data.csv.classification_target"] = columns.classification
        st.session_state["data.csv.features"] = columns.default_features(
            columns.regression, columns.classification
        )
    st.selectbox(
        "Regression target",
        list(columns.numeric),
        key="data.csv.regression_target",
        help="The numeric column the regression head predicts (its loss is the MSE/L1/Huber).",
    )
    st.selectbox(
        "Class target",
        list(columns.columns),
        key="data.csv.classification_target",
        help="The column the classification head predicts: text or small integers, 2 to 20 "
        "distinct values.",
    )
    regression = st.session_state["data.csv.regression_target"]
    classification = st.session_state["data.csv.classification_target"]
    options = [c for c in columns.numeric if c not in (regression, classification)]
    st.session_state["data.csv.features"] = columns.features_after(
        st.session_state.get("data.csv.features", options),
        st.session_state.get("_csv.targets"),
        (regression, classification),
    )
    st.session_state["_csv.targets"] = (regression, classification)
    st.multiselect(
        "Features",
        options,
        key="data.csv.features",
        help="Numeric input columns. By default every numeric column other than the targets.",
    )
    st.checkbox(
        "Drop rows with missing values",
        key="data.csv.drop_invalid",
        help="Remove rows with an empty or infinite value in a used column instead of refusing "
        "the file.",
    )
    try:
        dataset = _load_csv(
            data,
            upload.name,
            regression,
            classification,
            tuple(st.session_state["data.csv.features"]),
            bool(st.session_state.get("data.csv.drop_invalid", False)),
        )
    except mtl.DataError as error:
        return None, SidebarOutcome(None, Problem("Can't use this CSV", str(error)))
    st.caption(inert.text(dataset.description))  # the file's name, columns and classes
    return dataset, None


@st.cache_data(max_entries=8, show_spinner=False)
def _read_columns(data: bytes) -> csv_upload.CsvColumns:
    return csv_upload.read_columns(data)


@st.cache_resource(max_entries=8, show_spinner=False)
def _load_csv(
    data: bytes,
    filename: str,
    regression: str,
    classification: str,
    features: tuple[str, ...],
    drop_invalid: bool,
) -> mtl.Dataset:
    """Cached :func:`ui.csv_upload.load` (a resource: the dataset is immutable, not copied)."""
    return csv_upload.load(data, filename, regression, classification, features, drop_invalid)


def _model_section() -> None:
    st.subheader("Model")
    st.selectbox(
        "Model shape",
        list(CHOICES["model.shape"]),
        format_func=MODEL_LABELS.__getitem__,
        key="model.shape",
        persist_state="page",
        help="Notebook: a regression layer whose output is the classifier's only input. "
        "Article: one linear layer whose outputs feed both losses. Shared: an MLP trunk with a "
        "head per task (hard parameter sharing), where the weighting matters most.",
    )
    if st.session_state["model.shape"] == "shared":
        _select_slider(
            "model.width",
            "Width",
            WIDTH_GRID,
            "Units per hidden layer of the shared trunk: its capacity to serve both tasks.",
        )
        _slider("model.depth", "Depth", "Hidden layers in the shared trunk.")
        st.selectbox(
            "Activation",
            list(CHOICES["model.activation"]),
            key="model.activation",
            persist_state="page",
            help="Non-linearity between the trunk's layers.",
        )


def _loss_section() -> None:
    st.subheader("Losses")
    st.selectbox(
        "Regression loss",
        list(REGRESSION_LABELS),
        format_func=REGRESSION_LABELS.__getitem__,
        key="loss.regression",
        persist_state="page",
        help="MSE punishes large errors quadratically (the notebook's choice); L1 linearly; "
        "Huber is quadratic near zero and linear beyond delta, so outliers pull less.",
    )
    if st.session_state["loss.regression"] == "huber":
        _number(
            "loss.huber_delta",
            "Huber delta",
            "Error size where the Huber loss turns from quadratic to linear.",
            fmt="%g",
        )
    st.selectbox(
        "Classification loss",
        list(CLASSIFICATION_LABELS),
        format_func=CLASSIFICATION_LABELS.__getitem__,
        key="loss.classification",
        persist_state="page",
        help="Cross-entropy (the notebook's and the article's), with label smoothing (targets "
        "pulled towards uniform), or focal (down-weights examples already classified well).",
    )
    if st.session_state["loss.classification"] == "label_smoothing":
        _slider(
            "loss.label_smoothing",
            "Label smoothing",
            "Share of each target's probability spread over all classes. It keeps the loss above "
            "zero even for a perfect classifier.",
        )
    elif st.session_state["loss.classification"] == "focal":
        _slider(
            "loss.focal_gamma",
            "Focal gamma",
            "How strongly well-classified examples are down-weighted; 0 is cross-entropy.",
        )
    _select_slider(
        "loss.l2",
        "L2 regularisation",
        L2_GRID,
        "Coefficient of an L2 penalty on the weights: a third loss component with a fixed "
        "weight, drawn as 'regularization'. 0 turns it off.",
    )


def _weighting_section() -> None:
    st.subheader("Weighting")
    st.selectbox(
        "Method",
        list(METHODS),
        format_func=lambda m: METHODS[m].label,
        key="weighting.method",
        persist_state="page",
        help="How the task losses are combined. Static weights are the notebook's and the "
        "article's; dynamic methods change the weights as training goes; gradient-based ones "
        "(PCGrad, MGDA, CAGrad, IMTL) combine the tasks' gradients on the shared layers. See the "
        "Method tab.",
    )
    method = st.session_state["weighting.method"]
    cls = METHODS[method]
    for h in cls.hparams:
        _hparam(method, h)
    if not cls.uses_base_weights:
        st.caption(f"{cls.label} sets the task weights itself: there are no weights to choose.")
        return
    st.radio(
        "Weights as",
        list(FORM_LABELS),
        format_func=FORM_LABELS.__getitem__,
        key="weighting.form",
        horizontal=True,
        persist_state="page",
        help="The notebook's form w = (α, 1 − α), or a free weight per task (the article sums "
        "its losses: both weights 1).",
    )
    if cls.preference:
        st.caption(
            f"{cls.label} reads these weights as a preference between the tasks, not as loss "
            "multipliers: each step favours the task furthest from its goal relative to its "
            "weight, so a sweep over α traces the front point by point."
        )
    if st.session_state["weighting.form"] == "alpha":
        st.slider(
            "α (regression weight)",
            min_value=0.0,
            max_value=1.0,
            step=0.01,
            key="weighting.alpha",
            persist_state="page",
            help="Loss = α · regression + (1 − α) · classification. 1 trains only the regression "
            "head, 0 only the classifier.",
        )
    else:
        for task in ("regression", "classification"):
            _number(
                f"weighting.weights.{task}",
                f"{task.capitalize()} weight",
                f"Multiplies the {task} loss in the total. Only the ratio between the weights "
                "matters for the direction; their size scales the step like the learning rate.",
                fmt="%g",
            )
    if cls.balances_base_weights:
        st.checkbox(
            "Balanced start (relative to the initial losses)",
            key="weighting.balanced",
            persist_state="page",
            help="Divide each weight by its task's loss on the first training step, then "
            "rescale so the weights keep their sum: w_t ∝ weight_t / L_t(0). Equal weights "
            "(α = 0.5) then start both tasks with the same weighted loss, however different the "
            "losses' scales (an MSE of 3,000 beside a cross-entropy of 0.7). The weights are "
            "fixed after that first step; the Weights tab shows the ones in force.",
        )


def _hparam(method: str, h: HParam) -> None:
    """One hyper-parameter widget, as declared: a select box, a checkbox or a number box."""
    key = hparam_key(method, h.name)
    help_text = f"{h.help} Default {h.format(h.default)}; allowed: {h.describe()}."
    if h.choices is not None:
        st.selectbox(
            h.label,
            list(h.choices),
            format_func=h.choice_label,
            key=key,
            persist_state="page",
            help=help_text,
        )
        return
    if h.range is None:
        st.checkbox(h.label, key=key, persist_state="page", help=help_text)
        return
    step = hparam_step(method, h.name)
    lo, hi = widget_bounds(h.range, step)
    st.number_input(
        h.label,
        min_value=lo,
        max_value=hi,
        step=step,
        format=None if h.range.integer else "%g",
        key=key,
        persist_state="page",
        help=help_text,
    )


def _optim_section() -> None:
    st.subheader("Optimisation")
    st.radio(
        "Optimizer",
        list(CHOICES["optim.kind"]),
        format_func=OPTIM_LABELS.__getitem__,
        key="optim.kind",
        horizontal=True,
        persist_state="page",
        help="SGD (the notebook's) takes steps proportional to the weighted gradient, so the "
        "weights directly scale each task's pull. Adam rescales every parameter's step, which "
        "partly undoes loss weighting.",
    )
    _select_slider(
        "optim.lr",
        "Learning rate",
        LR_GRID,
        "Step size. Too large and the loss diverges (the run is flagged); too small and 100 "
        "epochs are not enough.",
    )
    if st.session_state["optim.kind"] == "sgd":
        _slider(
            "optim.momentum",
            "Momentum",
            "SGD momentum: 0 is plain SGD (the notebook); around 0.9 smooths and speeds it up.",
        )
    st.checkbox(
        "Full batch",
        key="optim.full_batch",
        persist_state="page",
        help="One step per epoch on all training rows (the notebook's way). Off: mini-batches, "
        "several noisier steps per epoch.",
    )
    if not st.session_state["optim.full_batch"]:
        _number(
            "optim.batch_size",
            "Batch size",
            "Rows per mini-batch; at most the number of training rows.",
        )
    _number(
        "epochs",
        "Epochs",
        "Passes over the training data. The notebook trains 100.",
    )
    _number(
        "seed",
        "Seed",
        "Seed of the model's initialisation and of any randomness in training (mini-batch order, "
        "random weights).",
    )


def _slider(key: str, label: str, help_text: str, fmt: str | None = None) -> None:
    """A slider over ``LIMITS[key]`` in steps of ``WIDGET_STEPS[key]``."""
    step = WIDGET_STEPS[key]
    lo, hi = widget_bounds(LIMITS[key], step)
    st.slider(
        label,
        min_value=lo,
        max_value=hi,
        step=int(step) if LIMITS[key].integer else float(step),
        format=fmt,
        key=key,
        persist_state="page",
        help=help_text,
    )


def _number(
    key: str,
    label: str,
    help_text: str,
    *,
    fmt: str | None = None,
) -> None:
    """A number box over the key's range in steps of ``WIDGET_STEPS[key]``."""
    allowed = LIMITS[limit_key(key)]
    step = WIDGET_STEPS[key]
    lo, hi = widget_bounds(allowed, step if not allowed.integer else 1)
    st.number_input(
        label,
        min_value=lo,
        max_value=hi,
        step=int(step) if allowed.integer else float(step),
        format=fmt,
        key=key,
        persist_state="page",
        help=help_text,
    )


def _select_slider(key: str, label: str, grid: tuple[Any, ...], help_text: str) -> None:
    """A select slider over ``grid`` (plus the current value if it is off the grid)."""
    allowed = LIMITS[key]
    options = sorted({*grid, st.session_state[key]} if key in st.session_state else set(grid))
    options = [v for v in options if allowed.contains(v)]
    st.select_slider(
        label,
        options=options,
        format_func=lambda v: f"{v:g}",
        key=key,
        persist_state="page",
        help=help_text,
    )
