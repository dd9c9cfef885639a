"""The command line: real training, clear errors."""

import pytest
import torch

from mtl.__main__ import _parser, main
from mtl.data import DATASETS


def test_notebook_by_default_prints_its_figures(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "notebook: 1 member(s), 100 epochs" in out
    assert "4.1031" in out and "0.5000" in out  # the notebook's MSE and accuracy


def test_sweep_prints_one_row_per_member(capsys):
    assert main(["--preset", "conflicting", "--epochs", "5", "--sweep", "3", "--seeds", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "6 member(s)" in lines[0]
    assert len(lines) == 2 + 6  # title, header, one row per member


def test_bad_value_exits_2_with_the_reason(capsys):
    assert main(["--lr", "50"]) == 2
    assert "optim.lr = 50.0" in capsys.readouterr().err


def test_threads_are_limited(capsys):
    torch.set_num_threads(2)  # the suite's conftest pins 1: start from more, or this proves nothing
    try:
        main(["--epochs", "1"])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(1)


def test_sweep_is_the_cores_sweep_from_the_runs_seed(capsys):
    from mtl.sweeps import alpha_grid

    argv = [
        "--preset",
        "conflicting",
        "--epochs",
        "2",
        "--seed",
        "5",
        "--sweep",
        "3",
        "--seeds",
        "2",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "static weighting" in out
    rows = [line.split() for line in out.strip().splitlines()[2:]]
    assert [(float(r[0]), int(r[1])) for r in rows] == [
        (a, s) for a in alpha_grid(3) for s in (5, 6)
    ]


def test_sweep_refuses_a_method_and_too_many_points(capsys):
    assert main(["--method", "dwa", "--sweep", "3"]) == 2
    assert "--method" in capsys.readouterr().err
    assert main(["--sweep", "500"]) == 2
    assert "sweep.points" in capsys.readouterr().err


def test_every_registered_dataset_is_offered():
    choices = next(a.choices for a in _parser()._actions if a.dest == "dataset")
    assert set(choices) == set(DATASETS)
    assert {"iris", "penguins", "autompg"} <= set(choices)


@pytest.mark.parametrize("name", ["iris", "autompg"])
def test_a_bundled_dataset_trains_from_the_command_line(capsys, name):
    assert main(["--preset", "penguins", "--dataset", name, "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"penguins on {name}: 1 member(s), 3 epochs")


def test_balanced_start_standardised_target_and_the_log_grid_from_the_command_line(capsys):
    argv = ["--preset", "conflicting", "--epochs", "2", "--balanced", "--standardize-target"]
    assert main(argv) == 0
    assert "(balanced start)" in capsys.readouterr().out
    assert main(["--preset", "conflicting", "--epochs", "2", "--sweep", "3", "--grid", "log"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.strip().splitlines()[2:]]
    assert [float(r[0]) for r in rows] == pytest.approx([1e-4, 0.5, 1.0], abs=2e-4)
    with pytest.raises(SystemExit):
        main(["--sweep", "3", "--grid", "cubic"])
