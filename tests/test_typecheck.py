"""``mtl/`` type-checks cleanly under mypy's strict mode (configured in pyproject.toml).

Part of the default test run, so a change that breaks a signature's promise fails the suite like
any other test. The first run in a fresh clone analyses the annotations of torch, numpy and
altair (about 18 s of one core here); later runs reuse ``.mypy_cache``.
"""

import ast
import sys
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mtl_is_clean_under_strict_mypy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # mypy reads [tool.mypy] from the working directory's pyproject
    limit = sys.getrecursionlimit()
    try:  # mypy raises the process's recursion limit to 16,384: give the other tests theirs back
        stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml")])
    finally:
        sys.setrecursionlimit(limit)
    assert status == 0, f"mypy found type errors:\n{stdout}{stderr}"
    assert "Success: no issues found" in stdout


def skipped_patterns() -> list[str]:
    """The module patterns pyproject.toml tells mypy not to follow (``follow_imports = "skip"``)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    return [
        pattern
        for override in config.get("overrides", [])
        if override.get("follow_imports") == "skip"
        for pattern in override["module"]
    ]


def skipped(module: str, patterns: list[str]) -> bool:
    """Whether mypy's ``pattern`` (``a.b.*`` is ``a.b`` and everything under it) covers it."""
    return any(
        module == pattern.removesuffix(".*") or fnmatchcase(module, pattern) for pattern in patterns
    )


def imported_modules(path: Path) -> set[str]:
    """Every absolute module an ``import`` or ``from ... import`` in ``path`` names."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names}
    return modules


def test_the_modules_mypy_skips_are_ones_mtl_never_imports() -> None:
    """A skipped module's values are Any to mypy: mtl importing one would go unchecked."""
    patterns = skipped_patterns()
    assert "torch._dynamo.*" in patterns and "narwhals.*" in patterns  # the list is read
    assert skipped("torch.fx", patterns) and skipped("torch.fx.graph", patterns)
    assert not skipped("torch.nn", patterns) and not skipped("torch", patterns)
    found = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "mtl").rglob("*.py"))
        for module in imported_modules(path)
        if skipped(module, patterns)
    }
    assert not found, f"mtl imports modules mypy does not analyse: {sorted(found)}"
