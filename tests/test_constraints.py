"""constraints.txt, the tested environment that `make` installs, agrees with pyproject.toml.

Every dependency has an exact pin for Python 3.10 and for 3.11+, each pin is allowed by
pyproject's range, and each lower bound in pyproject is a version that was actually tested
(the oldest pinned release starts with it), so the ranges stay honest.
"""
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parent.parent
SIDES = {"3.10": {"python_version": "3.10"}, "3.11+": {"python_version": "3.11"}}


def pins(text: str) -> dict:
    """{side: {name: Version}} from a constraints file's ``name==version[; marker]`` lines."""
    result = {side: {} for side in SIDES}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        if spec.operator != "==":
            raise ValueError(f"constraints.txt line {line!r} must pin one exact version with ==")
        for side, env in SIDES.items():
            if requirement.marker is None or requirement.marker.evaluate(env):
                result[side][canonical(requirement.name)] = Version(spec.version)
    return result


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(extra_names=("test",)):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extra_names:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def test_pins_parses_markers_and_rejects_ranges():
    parsed = pins('a==1.0\nb==2.0; python_version < "3.11"\nb==3.0; python_version >= "3.11"\n# c==9\n')
    assert parsed["3.10"] == {"a": Version("1.0"), "b": Version("2.0")}
    assert parsed["3.11+"] == {"a": Version("1.0"), "b": Version("3.0")}
    with pytest.raises(ValueError, match="exact version"):
        pins("a>=1.0")


def test_every_dependency_is_pinned_within_its_range_on_both_sides():
    locked = pins((ROOT / "constraints.txt").read_text())
    for side, env in SIDES.items():
        for requirement in requirements():
            if requirement.marker is not None and not requirement.marker.evaluate(env):
                continue
            name = canonical(requirement.name)
            assert name in locked[side], f"{name} has no pin for Python {side} in constraints.txt"
            assert locked[side][name] in requirement.specifier, \
                f"{name}=={locked[side][name]} (Python {side}) is outside pyproject's {requirement.specifier}"


def test_lower_bounds_are_tested_versions():
    locked = pins((ROOT / "constraints.txt").read_text())
    for requirement in requirements():
        name = canonical(requirement.name)
        bounds = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        tested = [locked[side][name] for side, env in SIDES.items()
                  if name in locked[side] and (requirement.marker is None or requirement.marker.evaluate(env))]
        if not bounds or not tested:
            continue
        oldest = min(tested)
        bound = bounds[0].release
        assert oldest.release[:len(bound)] == bound, \
            f"pyproject says {name}>={bounds[0]} but the oldest tested version is {oldest}"


def test_makefile_installs_with_the_constraints():
    makefile = (ROOT / "Makefile").read_text()
    assert "CONSTRAINTS ?= constraints.txt" in makefile
    assert "-c $(CONSTRAINTS)" in makefile
