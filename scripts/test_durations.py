"""Write ``tests/durations.json``: each test file's total time in a run, for the suite's schedule.

The suite runs on every core with one test file per work unit (``--dist loadfile``; the browser
files that share a server are one unit together), and ``tests/conftest.py`` hands out the units
that take longest first, so the run does not end with one worker still busy on a long unit while
the others idle. This script records what "longest" means, from a run's JUnit report:

    .venv/bin/python -m pytest -n auto --dist loadfile --junitxml=/tmp/junit.xml
    rm -rf .mypy_cache && .venv/bin/python -m pytest tests/test_typecheck.py --junitxml=/tmp/c.xml
    .venv/bin/python scripts/test_durations.py /tmp/junit.xml /tmp/c.xml

A file's time comes from the last report that has it: the second run above gives the type check's
time without mypy's cache, as in a fresh clone (CI), where a warm run takes 2 s. (Or record a
whole run with the cache deleted first: the check then took 39 s, under the suite's load.)
Only the order of the files matters, so the figures of a run on a busy machine serve as well.
A file missing from the record is scheduled first (its cost is unknown).
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "durations.json"


def file_of(classname: str) -> str | None:
    """The test file, relative to the repository, of a JUnit ``classname``; None if none.

    A ``classname`` is a module's dotted path (``tests.test_app``), with a class after it when
    the test is a method (``tests.weighting.test_mgda.TestClass``).
    """
    parts = classname.split(".")
    for end in range(len(parts), 0, -1):
        candidate = Path(*parts[:end]).with_suffix(".py")
        if (ROOT / candidate).is_file():
            return candidate.as_posix()
    return None


def durations(report: Path) -> dict[str, float]:
    """Seconds per test file in the JUnit ``report`` (setup, call and teardown)."""
    totals: Counter[str] = Counter()
    for case in ET.parse(report).iter("testcase"):
        path = file_of(case.get("classname") or "")
        if path is not None:
            totals[path] += float(case.get("time") or 0.0)
    return dict(totals)


def merged(reports: list[Path]) -> dict[str, float]:
    """Seconds per test file, each from the last of ``reports`` that has it; longest first."""
    record: dict[str, float] = {}
    for report in reports:
        record.update(durations(report))
    ordered = sorted(record.items(), key=lambda item: item[1], reverse=True)
    return {path: round(seconds, 1) for path, seconds in ordered}


def main() -> None:
    """Read the reports named on the command line, write :data:`OUT`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "reports",
        type=Path,
        nargs="+",
        help="JUnit XML reports: the whole suite's, then runs of some files that replace theirs",
    )
    args = parser.parse_args()
    record = merged(args.reports)
    if not record:
        sys.exit(f"no test cases found in {', '.join(map(str, args.reports))}")
    OUT.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"{len(record)} files, {sum(record.values()):.0f} s in all -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
