"""The Community Cloud entry point runs the app, and its pins match the project's."""

from pathlib import Path

from packaging.requirements import Requirement
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def _pins(path: Path, platform: str = "linux") -> dict[str, str]:
    """Package -> exact version that ``path`` installs on ``platform`` (markers evaluated)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate({"sys_platform": platform}):
            continue
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{line}: pin an exact version"
        assert requirement.name.lower() not in pins, f"{requirement.name} pinned twice"
        pins[requirement.name.lower()] = specifier.version
    return pins


def test_deploy_requirements_pin_the_same_versions():
    root, deploy = _pins(ROOT / "requirements.txt"), _pins(ROOT / "deploy" / "requirements.txt")
    assert root == deploy
    assert deploy["torch"] == "2.13.0+cpu"


def test_torch_is_the_cpu_build_on_linux_and_the_same_release_elsewhere():
    """On Linux only the CPU index has ``+cpu`` wheels: pip cannot fall back to a CUDA build."""
    requirements = ROOT / "requirements.txt"
    linux = _pins(requirements, "linux")
    assert linux["torch"].endswith("+cpu")
    for platform in ("darwin", "win32"):
        assert _pins(requirements, platform) == {**linux, "torch": linux["torch"][: -len("+cpu")]}
    for path in (requirements, ROOT / "deploy" / "requirements.txt"):
        assert CPU_INDEX in path.read_text().splitlines()


def test_deploy_entry_point_runs_the_app():
    at = AppTest.from_file(str(ROOT / "deploy" / "streamlit_app.py"), default_timeout=90).run()
    assert not at.exception
    labels = {m.label for m in at.metric}
    assert {"Test MSE", "Test accuracy"} <= labels
