"""Every nbval marker in a notebook is one nbval recognises.

nbval only honours a comment line that is exactly ``# NBVAL_IGNORE_OUTPUT`` (or another marker):
``# NBVAL_IGNORE_OUTPUT (floats)`` is silently an ordinary comment, and the cell's floats are then
compared on every CPU. Put explanations on the next line.
"""
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import comment_markers

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def bad_markers(source: str) -> list:
    """Comment lines that mention NBVAL_ but are not exactly one of nbval's markers."""
    bad = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and "NBVAL_" in stripped:
            if stripped.lstrip("#").strip() not in comment_markers:
                bad.append(stripped)
    return bad


def test_bad_markers_finds_trailing_text():
    assert bad_markers("# NBVAL_IGNORE_OUTPUT\nx = 1") == []
    assert bad_markers("# NBVAL_IGNORE_OUTPUT (floats)\nx = 1") == ["# NBVAL_IGNORE_OUTPUT (floats)"]
    assert bad_markers("#NBVAL_CHECK_OUTPUT") == []
    assert bad_markers("# NBVAL_IGNORE_OUTPUTS") == ["# NBVAL_IGNORE_OUTPUTS"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_marker_is_exact(path):
    nb = nbformat.read(path, as_version=4)
    problems = [(i, line) for i, c in enumerate(nb.cells) if c.cell_type == "code" for line in bad_markers(c.source)]
    assert problems == [], f"{path.name}: nbval ignores these lines (put the explanation on the next line): {problems}"
