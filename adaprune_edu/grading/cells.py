"""What each notebook cell is to the grader, and reading notebooks that may be broken.

nbgrader marks cells with ``cell.metadata["nbgrader"]``:

===================  =====  ========  ======  ==========================================
kind                 grade  solution  locked  meaning
===================  =====  ========  ======  ==========================================
answer               False  True      False   the student writes code here
test                 True   False     True    autograded: full points if it runs cleanly
written answer       True   True      False   a markdown answer graded by hand
read-only            False  False     True    set-up code the student must not change
===================  =====  ========  ======  ==========================================

Each graded cell has a unique ``grade_id`` and its ``points``. Our release also stamps the
assignment id into the notebook metadata, ``metadata["adaprune_edu"]["assignment"]``, so a
submission is matched to its assignment whatever its file is called.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat

#: notebook metadata key holding ``{"assignment": id}``
METADATA_KEY = "adaprune_edu"


class SubmissionError(Exception):
    """A submission that cannot be graded at all; ``status`` is the short code for the CSV."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def nbgrader_metadata(cell) -> dict:
    """The cell's nbgrader metadata dict (empty if it has none or it is malformed)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell):
    """The cell's ``grade_id`` or ``None``."""
    value = nbgrader_metadata(cell).get("grade_id")
    return value if isinstance(value, str) and value else None


def is_answer(cell) -> bool:
    """A cell the student writes in (code or markdown, graded or not)."""
    return bool(nbgrader_metadata(cell).get("solution", False))


def is_test(cell) -> bool:
    """An autograded test cell: graded, code, not an answer."""
    meta = nbgrader_metadata(cell)
    return bool(meta.get("grade", False)) and not meta.get("solution", False) and cell.cell_type == "code"


def is_written_answer(cell) -> bool:
    """A manually graded answer cell (graded and an answer)."""
    meta = nbgrader_metadata(cell)
    return bool(meta.get("grade", False)) and bool(meta.get("solution", False))


def is_protected(cell) -> bool:
    """A cell the grader takes from the source, never from the submission: locked or a test."""
    meta = nbgrader_metadata(cell)
    return not meta.get("solution", False) and (bool(meta.get("locked", False)) or is_test(cell))


def released_checksum(cell):
    """nbgrader's checksum of a cell (``nbgrader.utils.compute_checksum``), without importing nbgrader.

    md5 of the source, the cell type, the grade / solution / locked flags, the ``grade_id`` and,
    for a graded cell, its points. The release stores it in ``metadata.nbgrader.checksum``;
    a protected cell whose checksum no longer matches was edited after the release.
    """
    meta = nbgrader_metadata(cell)
    solution, grade = bool(meta.get("solution", False)), bool(meta.get("grade", False))
    locked = False if solution else (True if grade else bool(meta.get("locked", False)))
    digest = hashlib.md5()
    for part in (cell.source, cell.cell_type, str(meta.get("grade", False)), str(meta.get("solution", False)),
                 str(locked), meta.get("grade_id", "")):
        digest.update(str(part).encode("utf-8"))
    if grade:
        digest.update(str(float(meta.get("points", 0))).encode("utf-8"))
    return digest.hexdigest()


def edited_protected_cells(nb) -> list:
    """``grade_id`` of every locked or test cell whose source differs from the released one."""
    return [grade_id(cell) for cell in nb.cells if is_protected(cell) and nbgrader_metadata(cell).get("checksum")
            and released_checksum(cell) != nbgrader_metadata(cell)["checksum"]]


def points(cell) -> float:
    """The cell's points (0 if it is not graded)."""
    meta = nbgrader_metadata(cell)
    return float(meta.get("points", 0) or 0) if meta.get("grade", False) else 0.0


def questions(nb) -> list:
    """The graded cells of ``nb`` in order: a list of dicts ``{question, max_points, kind}``.

    ``kind`` is ``"auto"`` for test cells and ``"manual"`` for written answers.
    """
    found = []
    for cell in nb.cells:
        if is_test(cell) or is_written_answer(cell):
            found.append({"question": grade_id(cell), "max_points": points(cell),
                          "kind": "auto" if is_test(cell) else "manual"})
    return found


def assignment_id(nb):
    """The assignment id stamped by ``adaprune-edu release``, or ``None``."""
    meta = nb.get("metadata", {}).get(METADATA_KEY, {})
    value = meta.get("assignment") if isinstance(meta, dict) else None
    return value if isinstance(value, str) and value else None


def read_notebook_bytes(data: bytes, name: str = "notebook"):
    """Parse and validate notebook bytes; raise :class:`SubmissionError` with a clear status."""
    if not data.strip():
        raise SubmissionError("empty", f"{name} is empty")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SubmissionError("invalid_notebook", f"{name} is not valid JSON ({error})") from None
    if not isinstance(raw, dict) or "cells" not in raw or "nbformat" not in raw:
        raise SubmissionError("invalid_notebook", f"{name} is JSON but not a Jupyter notebook (no cells/nbformat)")
    try:
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # nbformat raises several exception types for bad notebooks
        raise SubmissionError("invalid_notebook", f"{name} is not a valid notebook: {str(error)[:200]}") from None
    return nb


def read_notebook(path):
    """Read a notebook file, raising :class:`SubmissionError` (missing / empty / invalid_notebook)."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError("missing", f"{path} does not exist")
    if not path.is_file():
        raise SubmissionError("invalid_notebook", f"{path} is not a file")
    return read_notebook_bytes(path.read_bytes(), name=str(path))
