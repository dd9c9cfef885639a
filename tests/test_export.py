"""The exported script prints the app's final MSE and accuracy.

Each case runs the script in this process, in a namespace of its own (a subprocess would spend
its time importing torch again), and every method's script is checked to import nothing but torch
and the standard library. One test, the notebook's, runs its script as a separate ``python``
process, as a user would, to prove that is all it needs.
"""

import ast
import subprocess
import sys

import pytest
import torch

import mtl
from mtl.export import DYNAMIC_METHODS, STATIC_METHODS, to_script
from mtl.weighting import METHODS


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train fastest on one thread (and the suite shares its cores): pin it here."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


CASES = {  # the notebook's own preset runs as a separate process below
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
    _assert_prints_the_apps_figures(cfg, capsys)


def test_a_dynamic_methods_script_differs_from_static_weights(capsys):
    """The written-out update matters: the same run with static weights prints other figures."""
    cfg = DYNAMIC_CASES["pcgrad_l2_momentum"]
    dynamic = _printed_in_process(to_script(cfg), capsys)
    static = _printed_in_process(to_script(cfg.with_(**{"weighting.method": "equal_sum"})), capsys)
    assert abs(dynamic["MSE"] - static["MSE"]) > 1e-3


@pytest.mark.slow
def test_notebook_script_runs_standalone_and_prints_the_notebooks_and_the_apps_figures(tmp_path):
    cfg = mtl.preset("notebook")
    script = tmp_path / "run.py"
    script.write_text(to_script(cfg))
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    printed = _figures(out)
    assert f"{printed['MSE']:.4f}" == "4.1031" and printed["accuracy"] == 0.5  # the notebook's
    row = mtl.train(cfg).summary.iloc[0]
    assert printed["MSE"] == pytest.approx(row["train_mse"], abs=1e-4, rel=1e-4)
    assert printed["accuracy"] == pytest.approx(row["train_accuracy"], abs=1e-4)


def test_too_much_data_to_embed_is_refused():
    cfg = mtl.preset("conflicting").with_(**{"data.n_samples": 20_000, "data.n_features": 64})
    with pytest.raises(mtl.ConfigError, match="embedded numbers"):
        to_script(cfg)


# Every registered method on a tiny configuration (64 rows, 15 full-batch epochs) unless a case
# above trains it already, other settings (MGDA-UB, IMTL-L, CR-MOGM smoothing, mini-batches for
# the stateful and random ones, other model shapes), and one method of each family on the page's
# first preset. Other hyper-parameter values are checked step by step in test_snippets.py.
TINY = mtl.preset("conflicting").with_(epochs=15, **{"data.n_samples": 64})
EVERY_METHOD = {name: TINY.with_(**{"weighting.method": name}) for name in METHODS}


def _tiny(method: str, epochs: int = 15, **fields: object) -> mtl.RunConfig:
    params = tuple(fields.pop("params", {}).items())  # type: ignore[union-attr]
    return TINY.with_(
        epochs=epochs, **{"weighting.method": method, "weighting.params": params}, **fields
    )


SETTINGS = {
    "mgda_upper_bound": _tiny("mgda", params={"upper_bound": True, "normalize": "l2"}),
    "imtl_loss": _tiny("imtl", params={"mode": "loss"}),
    "imtl_gradient_smoothing": _tiny("imtl", params={"mode": "gradient", "smoothing": 0.5}),
    "pcgrad_smoothing": _tiny("pcgrad", params={"smoothing": 0.9}),
    "gradnorm_smoothing_weights": _tiny(
        "gradnorm", params={"smoothing": 0.5, "alpha": 0.5}, **{"weighting.weights": (0.8, 0.2)}
    ),
    "nash_mtl_smoothing": _tiny("nash_mtl", params={"smoothing": 0.3}),
    "gradvac_beta": _tiny("gradvac", params={"beta": 0.9, "smoothing": 0.2}),
    "graddrop_minibatch_leak": _tiny(
        "graddrop", 3, params={"leak": 0.2}, **{"optim.batch_size": 16}
    ),
    "famo_minibatch_l2": _tiny("famo", 3, **{"optim.batch_size": 16, "loss.l2": 0.01}),
    "moco_minibatch": _tiny("moco", 3, **{"optim.batch_size": 16}),
    "upgrad_sgd_momentum_l2": _tiny(
        "upgrad", **{"optim.kind": "sgd", "optim.lr": 0.02, "optim.momentum": 0.9, "loss.l2": 0.01}
    ),
    "dualproj_notebook": mtl.preset("notebook").with_(
        epochs=30, **{"weighting.method": "dualproj"}
    ),
    "graddrop_article": mtl.preset("article").with_(epochs=30, **{"weighting.method": "graddrop"}),
    "mgda_ub_notebook": mtl.preset("notebook").with_(
        epochs=30, **{"weighting.method": "mgda", "weighting.params": (("upper_bound", True),)}
    ),
}
FIRST_PRESET = {  # one per family on the page's first screen, all of its 150 epochs
    name: mtl.preset("tradeoff").with_(**{"weighting.method": name})
    for name in ("famo", "nash_mtl", "stch")
}


def _assert_prints_the_apps_figures(cfg: mtl.RunConfig, capsys: pytest.CaptureFixture[str]):
    source = to_script(cfg)
    assert "w_reg, w_cls =" not in source  # not exported as static weights
    printed = _printed_in_process(source, capsys)
    row = mtl.train(cfg).summary.iloc[0]
    split = "test" if cfg.data.test_fraction > 0 else "train"
    assert printed["MSE"] == pytest.approx(row[f"{split}_mse"], abs=1e-4, rel=1e-4)
    assert printed["accuracy"] == pytest.approx(row[f"{split}_accuracy"], abs=1e-4)


ALREADY_TRAINED = {cfg.weighting.method for cfg in DYNAMIC_CASES.values()} - {"imtl"}
"""Methods the cases above already train with their default settings (IMTL's there is IMTL-G)."""


@pytest.mark.parametrize("name", [m for m in DYNAMIC_METHODS if m not in ALREADY_TRAINED])
def test_every_dynamic_methods_script_prints_the_apps_figures(name, capsys):
    _assert_prints_the_apps_figures(EVERY_METHOD[name], capsys)


@pytest.mark.parametrize("name", SETTINGS)
def test_scripts_of_other_settings_print_the_apps_figures(name, capsys):
    _assert_prints_the_apps_figures(SETTINGS[name], capsys)


@pytest.mark.parametrize("name", FIRST_PRESET)
def test_one_method_of_each_family_on_the_first_preset_prints_the_apps_figures(name, capsys):
    _assert_prints_the_apps_figures(FIRST_PRESET[name], capsys)


def _imported_modules(source: str) -> set[str]:
    """The top-level modules ``source``'s import statements name."""
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0] if node.level == 0 else "<relative>")
    return modules


@pytest.mark.parametrize("name", [*EVERY_METHOD, "mgda_upper_bound", "imtl_loss"])
def test_every_methods_script_imports_torch_and_the_standard_library_only(name):
    cfg = EVERY_METHOD.get(name) or SETTINGS[name]
    assert _imported_modules(to_script(cfg)) <= {"torch", "math", "itertools"}


def test_every_registered_method_exports():
    """No method is refused: every one is static weights or a dynamic method written out."""
    assert set(STATIC_METHODS) | set(DYNAMIC_METHODS) == set(METHODS)
    for name in DYNAMIC_METHODS:
        first_line = to_script(EVERY_METHOD[name]).splitlines()[0]
        assert f"{METHODS[name].label}, its update written out" in first_line
