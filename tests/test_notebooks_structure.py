"""The course notebooks follow the course's conventions (checked on the .ipynb text, no execution).

Every numbered notebook but the explorer (08) and the drill (09), which are tools rather than lessons.
"""
import re
from pathlib import Path

import nbformat
import pytest

NUMBERED = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TOOLS = ("08", "09")
COURSE = [p for p in NUMBERED if p.name[:2] not in TOOLS]
CJK = re.compile(r"[\u4e00-\u9fff]")


def markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def code(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def fit_calls(source: str) -> list:
    """The text of every ``.fit(...)`` call, parentheses balanced."""
    calls = []
    for match in re.finditer(r"\.fit\(", source):
        depth, end = 0, match.end() - 1
        for end in range(match.end() - 1, len(source)):
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            if depth == 0:
                break
        calls.append(source[match.start():end + 1])
    return calls


def test_fit_calls_parses_nested_parentheses():
    assert fit_calls("m.fit(X, f(y), epochs=3)\nm.fit(a)") == [".fit(X, f(y), epochs=3)", ".fit(a)"]


def test_the_sequence_is_complete():
    assert [p.name[:2] for p in NUMBERED] == [f"{i:02d}" for i in range(len(NUMBERED))], "numbers without gaps"
    assert len(NUMBERED) >= 10


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_notebook_conventions(path):
    nb = nbformat.read(path, as_version=4)
    text, source = markdown(nb), code(nb)
    first = nb.cells[0].source
    assert nb.cells[0].cell_type == "markdown" and CJK.search(first), "opens with the original question in Chinese"
    assert "After this notebook you will be able to" in first
    assert "## Summary" in text and "## Exercises" in text
    assert "Interview answer" in text
    assert "import *" not in source
    assert source.count("SEED") >= 1 and "np.random.seed(" not in source.replace("np.random.seed(SEED)", "")
    assert "progress=True" not in source
    for call in fit_calls(source):
        if "epochs=" in call:  # an MLP.fit (AdaptivePruner.fit takes no epochs and shows no progress bar)
            assert "progress=False" in call, f"{path.name}: {call}"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
def test_no_cell_is_a_wall_of_code(path):
    """A cell longer than ~15 lines of logic belongs in the package (comments and blank lines don't count)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            logic = [line for line in cell.source.splitlines() if line.strip() and not line.strip().startswith("#")]
            assert len(logic) <= 20, f"{path.name}: a code cell has {len(logic)} lines:\n{cell.source[:200]}"
