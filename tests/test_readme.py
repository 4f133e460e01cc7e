"""The README's promises match the repository: notebooks, commands and options it names exist."""
import contextlib
import io
import re
from pathlib import Path

import pytest

from adaprune_edu import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_quick_start_is_the_two_make_commands():
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_every_notebook_is_listed_once_and_every_listed_notebook_exists():
    listed = re.findall(r"^\| `(\d\d_[a-z0-9_]+\.ipynb)` \|", README, re.M)
    on_disk = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(listed) == on_disk
    assert listed == sorted(listed), "the table should follow the course order"


def test_command_table_matches_the_cli():
    table = README.split("## Command line", 1)[1].split("##", 1)[0]
    listed = re.findall(r"^\| `([a-z]+)` \|", table, re.M)
    assert listed == list(cli.COMMANDS)


def _help(command):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.main([command, "--help"])
    return out.getvalue()


@pytest.mark.parametrize("command,section", [("demo", "## The main job"), ("quiz", "## Command line")])
def test_options_named_in_the_readme_exist(command, section):
    text = README.split(section, 1)[1].split("\n## ", 1)[0]
    if command == "quiz":
        text = next(line for line in text.splitlines() if line.startswith("| `quiz`"))
    options = set(re.findall(r"`(--[a-z][a-z-]*)", text))
    assert options, "no options found in the README section"
    help_text = _help(command)
    missing = sorted(o for o in options if o not in help_text)
    assert not missing, f"README names options that 'adaprune-edu {command}' lacks: {missing}"


def test_demo_choices_in_the_readme_are_the_real_ones():
    from adaprune_edu.data import DATASETS
    from adaprune_edu.pruning.model import CRITERIA, GRANULARITIES

    text = README.split("## The main job", 1)[1]
    assert f"--dataset {{{','.join(DATASETS)}}}" in text
    assert f"--criterion {{{','.join(CRITERIA)}}}" in text
    assert f"--granularity {{{','.join(GRANULARITIES)}}}" in text


def test_assignment_table_matches_solutions_and_exercises():
    table = README.split("## For instructors", 1)[1].split("```", 1)[0]
    listed = re.findall(r"^\| `(a\d_[a-z0-9_]+)` \|", table, re.M)
    solutions = sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
    exercises = sorted(p.stem for p in (ROOT / "exercises").glob("*.ipynb"))
    assert listed == solutions == exercises
