import pytest

import mtl
from mtl.config import CHOICES, LIMITS
from mtl.weighting import METHODS
from ui.sidebar import DATA_WIDGETS
from ui.wording import FIELD_LABELS, config_problem, field_label


def test_every_ranged_or_chosen_field_has_a_label():
    fields = set(LIMITS) | set(CHOICES)
    fields -= {"weighting.weight"}  # a range shared by both weights, each has its own label
    assert fields <= set(FIELD_LABELS), fields - set(FIELD_LABELS)


@pytest.mark.parametrize("param", sorted(DATA_WIDGETS))
def test_data_labels_are_the_sidebars(param):
    assert FIELD_LABELS[f"data.{param}"] == DATA_WIDGETS[param][0]


def test_a_hyper_parameter_reads_its_declaration():
    (c,) = [h for h in METHODS["cagrad"].hparams if h.name == "c"]
    assert field_label("weighting.params.c", "cagrad") == c.label
    assert field_label("weighting.params.some_thing") == "Some thing"


@pytest.mark.parametrize(
    ("change", "label"),
    [
        ({"optim.lr": 50.0}, "Learning rate"),
        ({"epochs": 0}, "Epochs"),
        ({"weighting.weights": (0.0, 0.0)}, "Weights"),
        ({"weighting.weights": (-1.0, 1.0)}, "Regression weight"),
    ],
)
def test_a_config_error_is_worded_with_the_controls_label(change, label):
    with pytest.raises(mtl.ConfigError) as caught:
        mtl.RunConfig().with_(**change)
    message = config_problem(caught.value)
    assert message.startswith(f"{label}: ")
    assert caught.value.field not in message  # no dotted API name
    assert caught.value.allowed in message


def test_a_work_budget_refusal_keeps_its_own_words():
    cfg = mtl.preset("conflicting").with_(
        **{"optim.batch_size": 1, "data.n_samples": 20000, "epochs": 2000}
    )
    with pytest.raises(mtl.ConfigError) as caught:
        mtl.train(cfg)
    assert config_problem(caught.value) == str(caught.value)
    assert "Lower the epochs" in str(caught.value)
