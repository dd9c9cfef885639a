"""The exported script prints the app's final MSE and accuracy.

Each case runs the script in this process, in a namespace of its own (a subprocess would spend
its time importing torch again); one test runs it as a separate ``python`` process, as a user
would, to prove it needs nothing but torch.
"""

import subprocess
import sys

import pytest
import torch

import mtl
from mtl.export import to_script

CASES = {
    "notebook": mtl.preset("notebook"),
    "article": mtl.preset("article"),
    "conflicting": mtl.preset("conflicting").with_(epochs=60),
    "penguins_minibatch": mtl.preset("penguins").with_(epochs=20, **{"optim.batch_size": 32}),
    "linear_everything": mtl.preset("linear").with_(
        epochs=80,
        **{
            "loss.regression": "huber",
            "loss.classification": "focal",
            "loss.l2": 0.01,
            "optim.momentum": 0.9,
            "weighting.weights": (0.8, 0.3),
        },
    ),
    "balanced_standardised_target": mtl.preset("conflicting").with_(
        epochs=30,
        **{
            "weighting.scale": "balanced",
            "weighting.weights": (0.3, 0.7),
            "data.standardize_target": True,
            "data.target_scale": 40.0,
        },
    ),
    "balanced_minibatch": mtl.preset("penguins").with_(
        epochs=5,
        **{"optim.batch_size": 32, "weighting.scale": "balanced", "data.standardize_target": True},
    ),
    "equal_sum_smoothing": mtl.preset("autompg").with_(
        epochs=30, **{"weighting.method": "equal_sum", "loss.classification": "label_smoothing"}
    ),
}


DYNAMIC_CASES = {
    "uncertainty_sgd": mtl.preset("conflicting").with_(
        epochs=40, **{"weighting.method": "uncertainty"}
    ),
    "uncertainty_adam_minibatch": mtl.preset("penguins").with_(
        epochs=6, **{"weighting.method": "uncertainty", "optim.batch_size": 32}
    ),
    "dwa_minibatch": mtl.preset("penguins").with_(
        epochs=8,
        **{
            "weighting.method": "dwa",
            "weighting.params": (("temperature", 0.5),),
            "optim.batch_size": 32,
        },
    ),
    "dwa_full_batch": mtl.preset("conflicting").with_(epochs=30, **{"weighting.method": "dwa"}),
    "rlw_full_batch": mtl.preset("conflicting").with_(epochs=30, **{"weighting.method": "rlw"}),
    "rlw_minibatch": mtl.preset("penguins").with_(
        epochs=5, seed=3, **{"weighting.method": "rlw", "optim.batch_size": 32}
    ),
    "gls_l2": mtl.preset("linear").with_(epochs=40, **{"weighting.method": "gls", "loss.l2": 0.01}),
    "tchebycheff": mtl.preset("conflicting").with_(
        epochs=40, **{"weighting.method": "tchebycheff", "weighting.weights": (0.7, 0.3)}
    ),
    "tchebycheff_best_seen_minibatch": mtl.preset("penguins").with_(
        epochs=6,
        **{
            "weighting.method": "tchebycheff",
            "weighting.params": (("reference", "best_seen"),),
            "optim.batch_size": 32,
        },
    ),
    "stch_raw_losses": mtl.preset("conflicting").with_(
        epochs=30,
        **{"weighting.method": "stch", "weighting.params": (("mu", 0.5), ("normalize", "none"))},
    ),
    "pcgrad_l2_momentum": mtl.preset("conflicting").with_(
        epochs=40,
        **{"weighting.method": "pcgrad", "loss.l2": 0.01, "optim.momentum": 0.9},
    ),
    "pcgrad_minibatch": mtl.preset("penguins").with_(
        epochs=5, **{"weighting.method": "pcgrad", "optim.batch_size": 32}
    ),
    "mgda_notebook": mtl.preset("notebook").with_(epochs=200, **{"weighting.method": "mgda"}),
    "mgda_loss_normalised": mtl.preset("conflicting").with_(
        epochs=40,
        **{"weighting.method": "mgda", "weighting.params": (("normalize", "loss+"),)},
    ),
    "cagrad_minibatch": mtl.preset("penguins").with_(
        epochs=5, **{"weighting.method": "cagrad", "optim.batch_size": 32}
    ),
    "imtl_g_article": mtl.preset("article").with_(
        epochs=100,
        **{"weighting.method": "imtl", "weighting.params": (("mode", "gradient"),)},
    ),
}


def _figures(out: str) -> dict[str, float]:
    """``{"MSE": ..., "accuracy": ...}`` from the script's two printed lines."""
    figures = {}
    for line in out.strip().splitlines():
        label, value = line.rsplit(":", 1)
        figures[label.split()[-1]] = float(value)
    return figures


def _printed_in_process(source: str, capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    """Run ``source`` as ``__main__`` in a fresh namespace; torch's global RNG is restored after."""
    code = compile(source, "<exported script>", "exec")
    capsys.readouterr()
    with torch.random.fork_rng():
        exec(code, {"__name__": "__main__"})
    return _figures(capsys.readouterr().out)


@pytest.mark.parametrize("name", CASES)
def test_script_prints_the_apps_figures(name, capsys):
    cfg = CASES[name]
    source = to_script(cfg)
    assert "import mtl" not in source and "from mtl" not in source  # torch only
    printed = _printed_in_process(source, capsys)
    row = mtl.train(cfg).summary.iloc[0]
    split = "test" if cfg.data.test_fraction > 0 else "train"
    assert printed["MSE"] == pytest.approx(row[f"{split}_mse"], abs=1e-4, rel=1e-4)
    assert printed["accuracy"] == pytest.approx(row[f"{split}_accuracy"], abs=1e-4)


@pytest.mark.parametrize("name", DYNAMIC_CASES)
def test_script_of_a_dynamic_method_writes_its_update_out_and_prints_the_apps_figures(name, capsys):
    cfg = DYNAMIC_CASES[name]
    source = to_script(cfg)
    assert "import mtl" not in source and "from mtl" not in source  # torch only
    assert "w_reg, w_cls =" not in source  # not exported as static weights
    printed = _printed_in_process(source, capsys)
    row = mtl.train(cfg).summary.iloc[0]
    split = "test" if cfg.data.test_fraction > 0 else "train"
    assert printed["MSE"] == pytest.approx(row[f"{split}_mse"], abs=1e-4, rel=1e-4)
    assert printed["accuracy"] == pytest.approx(row[f"{split}_accuracy"], abs=1e-4)


def test_a_dynamic_methods_script_differs_from_static_weights(capsys):
    """The written-out update matters: the same run with static weights prints other figures."""
    cfg = DYNAMIC_CASES["pcgrad_l2_momentum"]
    dynamic = _printed_in_process(to_script(cfg), capsys)
    static = _printed_in_process(to_script(cfg.with_(**{"weighting.method": "equal_sum"})), capsys)
    assert abs(dynamic["MSE"] - static["MSE"]) > 1e-3


@pytest.mark.slow
def test_notebook_script_runs_standalone_and_prints_the_notebooks_figures(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(to_script(mtl.preset("notebook")))
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    printed = _figures(out)
    assert f"{printed['MSE']:.4f}" == "4.1031" and printed["accuracy"] == 0.5


@pytest.mark.slow
def test_a_dynamic_methods_script_runs_standalone_and_prints_the_apps_figures(tmp_path):
    cfg = DYNAMIC_CASES["cagrad_minibatch"]
    script = tmp_path / "run.py"
    script.write_text(to_script(cfg))
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    printed = _figures(out)
    row = mtl.train(cfg).summary.iloc[0]
    assert printed["MSE"] == pytest.approx(row["test_mse"], abs=1e-4, rel=1e-4)
    assert printed["accuracy"] == pytest.approx(row["test_accuracy"], abs=1e-4)


@pytest.mark.parametrize(
    ("method", "params", "why"),
    [
        ("nash_mtl", (), "Nash-MTL's update is not written out yet"),
        ("fairgrad", (), "not written out yet"),
        ("mgda", (("upper_bound", True),), "MGDA-UB"),
        ("pcgrad", (("smoothing", 0.5),), "CR-MOGM smoothing"),
        ("imtl", (), "IMTL-L"),
    ],
)
def test_methods_not_written_out_are_refused_with_a_reason(method, params, why):
    cfg = mtl.preset("linear").with_(**{"weighting.method": method, "weighting.params": params})
    with pytest.raises(mtl.ConfigError, match="a script export writes out") as refused:
        to_script(cfg)
    assert why in str(refused.value)


def test_too_much_data_to_embed_is_refused():
    cfg = mtl.preset("conflicting").with_(**{"data.n_samples": 20_000, "data.n_features": 64})
    with pytest.raises(mtl.ConfigError, match="embedded numbers"):
        to_script(cfg)
