"""The two install routes (pip via pyproject, conda via environment.yml) agree, and the CLI dispatches."""
import re
import sys
from pathlib import Path

import pytest

from adaprune_edu import cli

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\s\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra}
    lines = (ROOT / "environment.yml").read_text().split("dependencies:")[1].splitlines()
    deps = [line.strip()[2:] for line in lines if line.startswith("  - ") and not line.strip().endswith(":")]
    deps += [line.strip()[2:] for line in lines if line.startswith("      - ") and line.strip() != "- -e ."]  # pip:
    conda = {_name(d) for d in deps} - {"python", "pip"}
    assert conda == wanted
    assert any(line.strip() == "- -e ." for line in lines), "environment.yml must install the package itself"


def test_no_deep_learning_framework_is_a_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    assert not names & {"torch", "tensorflow", "jax", "keras"}


def test_cli_lists_commands_and_rejects_unknown_ones(capsys):
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().out
    assert cli.main(["--help"]) == 0
    assert cli.main(["fly"]) == 2
    assert "unknown command 'fly'" in capsys.readouterr().err


def test_every_cli_module_exists_and_has_main():
    import importlib

    for name, (module_name, _) in cli.COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            pytest.fail(f"adaprune-edu {name}: module {module_name} is missing")
        assert callable(getattr(module, "main", None)), module_name


def test_lab_command_is_offline_and_root_safe(tmp_path, monkeypatch):
    from adaprune_edu import lab

    monkeypatch.setattr(lab.os, "geteuid", lambda: 0)
    cmd = lab.lab_command(tmp_path, port=8899)
    assert cmd[:4] == [sys.executable, "-m", "jupyter", "lab"]
    assert "--allow-root" in cmd and "--port=8899" in cmd
    assert "--LabApp.news_url=None" in cmd
    assert "--LabApp.extension_manager=readonly" in cmd
    settings_flag = next(flag for flag in cmd if flag.startswith("--LabApp.app_settings_dir="))
    overrides = Path(settings_flag.split("=", 1)[1]) / "overrides.json"
    import json

    news = json.loads(overrides.read_text())["@jupyterlab/apputils-extension:notification"]
    assert news["fetchNews"] == "false"
