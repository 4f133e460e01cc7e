"""``adaprune-edu release``: generate the student notebooks (``exercises/``) from ``solutions/``.

It runs nbgrader's own preprocessors, in the order ``nbgrader generate_assignment`` uses,
without a course directory or a database:

``LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata``

(nbgrader also runs ``IncludeHeaderFooter``, ``InstantiateTests`` and ``SaveCells``, which need a
course directory and a database; our notebooks use neither headers nor ``### AUTOTEST``.)
Checksums are recomputed after the hidden tests are removed, as nbgrader does. The notebook
is stamped with its assignment id (``metadata["adaprune_edu"]["assignment"]``, the source
file's name without ``.ipynb``) so a renamed submission still finds its assignment.

The output is deterministic (same source, same bytes), so a test can regenerate it and
compare with the committed ``exercises/``. Only ``*.ipynb`` files are written: a README in
the destination survives. nbgrader is an optional dependency (``pip install
'adaprune-edu[classroom]'``); it is imported only when this command runs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from .._files import atomic_write_text
from .cells import METADATA_KEY, assignment_id

#: nbgrader's generate_assignment order, minus the steps that need a course database
PREPROCESSOR_ORDER = ("LockCells", "ClearSolutions", "ClearOutput", "CheckCellMetadata", "ComputeChecksums",
                      "ClearHiddenTests", "ClearMarkScheme", "ComputeChecksums", "CheckCellMetadata")


class MissingClassroomExtra(RuntimeError):
    """nbgrader is not installed."""


def load_preprocessors() -> list:
    """nbgrader's preprocessor instances in :data:`PREPROCESSOR_ORDER` (imports nbgrader lazily)."""
    try:
        from nbgrader import preprocessors
    except ImportError as error:
        raise MissingClassroomExtra(
            "adaprune-edu release needs nbgrader, which is in the optional 'classroom' extra: "
            "pip install 'adaprune-edu[classroom]'  (or: pip install 'nbgrader>=0.9.6,<0.10')"
        ) from error
    return [getattr(preprocessors, name)() for name in PREPROCESSOR_ORDER]


def release_notebook(nb, assignment: str, steps=None):
    """The student version of the solution notebook ``nb`` (a new notebook; ``nb`` is not changed)."""
    student = nbformat.reads(nbformat.writes(nb), as_version=4)  # a deep, independent copy
    resources = {}
    for preprocessor in steps if steps is not None else load_preprocessors():
        student, resources = preprocessor.preprocess(student, resources)
    student.metadata[METADATA_KEY] = {"assignment": assignment}
    nbformat.validate(student)
    return student


def source_notebooks(source: Path) -> list:
    """Sorted ``*.ipynb`` files directly in ``source`` (checkpoints ignored)."""
    return sorted(path for path in Path(source).glob("*.ipynb") if path.is_file())


def release(source, dest) -> list:
    """Write the student version of every notebook in ``source`` into ``dest``; returns the paths.

    Raises
    ------
    FileNotFoundError
        ``source`` is not a directory or holds no notebook.
    ValueError
        A source notebook's stamped assignment id differs from its file name.
    """
    source, dest = Path(source), Path(dest)
    if not source.is_dir():
        raise FileNotFoundError(f"source={str(source)!r} is not a directory of solution notebooks")
    paths = source_notebooks(source)
    if not paths:
        raise FileNotFoundError(f"source={str(source)!r} holds no .ipynb notebook")
    if source.resolve() == dest.resolve():
        raise ValueError(f"dest={str(dest)!r} is the source directory; the solutions would be overwritten")
    steps = load_preprocessors()
    released = []
    for path in paths:  # build everything first: nothing is written if one notebook fails
        nb = nbformat.read(path, as_version=4)
        stamped = assignment_id(nb)
        if stamped is not None and stamped != path.stem:
            raise ValueError(f"{path} is stamped as assignment {stamped!r} but is named {path.stem!r}; "
                             "rename the file or fix metadata['adaprune_edu']['assignment']")
        released.append((dest / path.name, release_notebook(nb, path.stem, steps)))
    dest.mkdir(parents=True, exist_ok=True)
    for target, nb in released:
        atomic_write_text(target, nbformat.writes(nb) + "\n")
    return [target for target, _ in released]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="adaprune-edu release",
                                     description="Generate student notebooks from the solution notebooks.")
    parser.add_argument("--source", default="solutions", help="directory of solution notebooks (default: solutions)")
    parser.add_argument("--dest", default="exercises", help="directory for the student notebooks (default: exercises)")
    args = parser.parse_args(argv)
    try:
        written = release(args.source, args.dest)
    except (MissingClassroomExtra, FileNotFoundError, ValueError) as error:
        print(f"adaprune-edu release: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0
