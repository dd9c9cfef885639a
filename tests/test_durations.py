"""The suite's schedule: ``scripts/test_durations.py`` reads JUnit reports into per-file times,
and ``tests/conftest.py`` makes each file a unit of work (the browser files that share a server
one unit together) and hands the longest units out first."""

from __future__ import annotations

import json
from pathlib import Path

from scripts.test_durations import file_of, merged
from tests import conftest

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>"""


def report(tmp_path: Path, name: str, cases: list[tuple[str, float]]) -> Path:
    """A JUnit report with one test case per ``(classname, seconds)``."""
    body = "".join(f'<testcase classname="{c}" name="t" time="{s}"/>' for c, s in cases)
    path = tmp_path / name
    path.write_text(REPORT.format(cases=body), encoding="utf-8")
    return path


def test_a_classname_names_its_file_with_or_without_a_class():
    assert file_of("tests.test_app") == "tests/test_app.py"
    assert file_of("tests.weighting.test_mgda.TestSomething") == "tests/weighting/test_mgda.py"
    assert file_of("tests.no_such_file") is None


def test_times_add_up_per_file_and_a_later_report_replaces_a_files_time(tmp_path):
    full = report(
        tmp_path,
        "full.xml",
        [
            ("tests.test_app", 1.5),
            ("tests.test_app", 2.0),
            ("tests.test_typecheck", 2.0),
            ("tests.weighting.test_mgda.TestX", 3.0),
            ("not.a.test.file", 99.0),
        ],
    )
    cold = report(tmp_path, "cold.xml", [("tests.test_typecheck", 44.0)])
    record = merged([full, cold])
    assert record == {
        "tests/test_typecheck.py": 44.0,
        "tests/test_app.py": 3.5,
        "tests/weighting/test_mgda.py": 3.0,
    }
    assert list(record) == [
        "tests/test_typecheck.py",
        "tests/test_app.py",
        "tests/weighting/test_mgda.py",
    ]


class _Item:
    """What the ordering hook reads of a collected test: its file."""

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name


class _Config:
    rootpath = Path(conftest.__file__).resolve().parents[1]


def test_the_longest_units_come_first_unknown_ones_before_them_and_tests_keep_their_order(
    monkeypatch, tmp_path
):
    record = tmp_path / "durations.json"
    times = {"tests/b.py": 5.0, "tests/a.py": 50.0, "tests/c.py": 30.0, "tests/d.py": 30.0}
    record.write_text(json.dumps(times), encoding="utf-8")
    monkeypatch.setattr(conftest, "DURATIONS", record)
    monkeypatch.setattr(conftest, "SHARED_SERVER_FILES", {"tests/c.py", "tests/d.py"})
    tests = _Config.rootpath / "tests"
    items = [
        _Item(tests / "b.py", "b1"),
        _Item(tests / "c.py", "c1"),
        _Item(tests / "a.py", "a1"),
        _Item(tests / "new.py", "n1"),
        _Item(tests / "b.py", "b2"),
        _Item(tests / "d.py", "d1"),
        _Item(tests / "a.py", "a2"),
    ]
    conftest.pytest_collection_modifyitems(_Config(), items)  # type: ignore[arg-type]
    # c and d are one unit of 60 s, longer than a's 50 s, though each file is shorter
    assert [i.name for i in items] == ["n1", "c1", "d1", "a1", "a2", "b1", "b2"]


def test_the_scheduler_makes_the_shared_server_files_one_unit_and_every_other_file_its_own():
    scheduler = conftest.FilesAndSharedServer.__new__(conftest.FilesAndSharedServer)
    units = {
        scheduler._split_scope(f"{path}::test_x[1]")
        for path in sorted(conftest.SHARED_SERVER_FILES)
    }
    assert units == {conftest.SHARED_SERVER}
    assert scheduler._split_scope("tests/e2e/test_cancel.py::test_y") == "tests/e2e/test_cancel.py"
    assert scheduler._split_scope("tests/test_app.py::test_z[a::b]") == "tests/test_app.py"


def test_the_shared_server_files_are_those_that_use_the_sessions_server():
    """Read from the files' source, so a new browser test file that uses the shared ``server``
    fixture without being listed fails here (it would start a second server on another worker).
    """
    root = _Config.rootpath
    using = set()
    for path in sorted((root / "tests" / "e2e").glob("test_*.py")):
        source = path.read_text(encoding="utf-8")
        own = "def server(" in source
        uses = "server: str" in source or "(server)" in source
        if uses and not own:
            using.add(path.relative_to(root).as_posix())
    assert using == conftest.SHARED_SERVER_FILES


def test_auto_starts_one_worker_more_than_cores_unless_told(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr(conftest.os, "cpu_count", lambda: 2)
    assert conftest.pytest_xdist_auto_num_workers(_Config()) == 3  # type: ignore[arg-type]
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "5")
    assert conftest.pytest_xdist_auto_num_workers(_Config()) == 5  # type: ignore[arg-type]
