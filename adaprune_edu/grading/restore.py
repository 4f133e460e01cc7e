"""Rebuild a submission for grading: the student's answers, the instructor's everything else.

The notebook that is executed follows the **source** (solution) notebook cell by cell:

- protected cells (read-only set-up and test cells) come from the source, hidden tests
  included, whatever the submission holds: an edited, emptied or deleted test is back;
- answer cells (``solution: true``) come from the submission, matched by ``grade_id``; a
  missing answer becomes an empty cell (its tests then fail);
- cells the student added (no known ``grade_id``) are kept, right after the source cell they
  followed in the submission, as ordinary code: if they carry nbgrader metadata (a copied
  test cell, a made-up ``grade_id``) it is removed, so they can never earn points;
- notebook metadata (the kernel to use) comes from the source; all outputs are cleared;
- a written answer left exactly as released is flagged, so it scores 0 as in nbgrader.

What changed is reported as notes for the feedback file.
"""
from __future__ import annotations

import copy

import nbformat

from .cells import grade_id, is_protected

#: cell metadata flag the grader sets on a written answer left as released
UNANSWERED = "adaprune_edu_unanswered"


def visible_source(source: str) -> str:
    """``source`` without its hidden-test block, as nbgrader's ``ClearHiddenTests`` leaves it."""
    kept, hidden = [], False
    for line in source.splitlines():
        if line.strip() == "### BEGIN HIDDEN TESTS":
            hidden = True
        elif line.strip() == "### END HIDDEN TESTS":
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept).strip()


TEXT_STUB = "YOUR ANSWER HERE"  # what nbgrader's ClearSolutions leaves in a written answer


def released_text(source: str) -> str:
    """A markdown answer as nbgrader's ``ClearSolutions`` releases it (solution region -> stub)."""
    lines, inside, replaced = [], False, False
    for line in source.split("\n"):
        if "### BEGIN SOLUTION" in line:
            inside = replaced = True
            lines.append(line[: len(line) - len(line.lstrip())] + TEXT_STUB)
        elif "### END SOLUTION" in line:
            inside = False
        elif not inside:
            lines.append(line)
    return "\n".join(lines) if replaced else TEXT_STUB


def _clean(cell):
    """A copy of ``cell`` without outputs or execution count."""
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    cell.metadata.pop("execution", None)
    return cell


def _as_plain(cell):
    """A student's extra cell with any nbgrader metadata removed."""
    cell = _clean(cell)
    cell.metadata.pop("nbgrader", None)
    return cell


def restore_cells(submission, source):
    """The notebook to execute for ``submission`` and a list of notes about what was restored.

    Parameters
    ----------
    submission, source : nbformat.NotebookNode
        The student's notebook and the instructor's solution notebook (with hidden tests).

    Returns
    -------
    notebook : nbformat.NotebookNode
        A new notebook; neither input is modified.
    notes : list of str
    """
    source_ids = {grade_id(cell) for cell in source.cells if grade_id(cell)}
    answers, extras_after, notes = {}, {}, []
    anchor = None  # the last source grade_id seen while walking the submission
    for cell in submission.cells:
        gid = grade_id(cell)
        if gid in source_ids:
            source_cell = next(c for c in source.cells if grade_id(c) == gid)
            if is_protected(source_cell):
                if visible_source(cell.source) != visible_source(source_cell.source):
                    notes.append(f"cell {gid!r} differs from the original; the original was used")
                anchor = gid
                continue
            if gid not in answers:
                answers[gid] = cell
                anchor = gid
                continue
            notes.append(f"answer cell {gid!r} appears twice; the second copy runs as ordinary code")
        elif gid is not None:
            notes.append(f"cell with unknown grade_id {gid!r} runs as ordinary code and earns no points")
        extras_after.setdefault(anchor, []).append(_as_plain(cell))

    cells = list(extras_after.get(None, []))
    for source_cell in source.cells:
        gid = grade_id(source_cell)
        if gid is not None and not is_protected(source_cell):
            if gid in answers:
                make = nbformat.v4.new_code_cell if source_cell.cell_type == "code" else nbformat.v4.new_markdown_cell
                answer = make(source=answers[gid].source,
                              metadata={"nbgrader": copy.deepcopy(source_cell.metadata["nbgrader"])})
                if source_cell.cell_type == "markdown" and \
                        answer.source.strip() == released_text(source_cell.source).strip():
                    answer.metadata[UNANSWERED] = True  # set by the grader only: the metadata is rebuilt here
                cells.append(answer)
            else:
                notes.append(f"answer cell {gid!r} is missing; graded as empty")
                empty = _clean(source_cell)
                empty.source = ""
                if empty.cell_type == "markdown":
                    empty.metadata[UNANSWERED] = True
                cells.append(empty)
        else:
            if gid is not None and not any(grade_id(c) == gid for c in submission.cells):
                notes.append(f"cell {gid!r} was deleted; the original was put back")
            cells.append(_clean(source_cell))
        if gid is not None:
            cells.extend(extras_after.get(gid, []))

    notebook = nbformat.v4.new_notebook()
    notebook.metadata = copy.deepcopy(source.metadata)
    for index, cell in enumerate(cells):  # fresh ids: a student's copied cells may repeat ids
        cell.id = f"cell-{index}"
    notebook.cells = cells
    return notebook, notes
