"""Quiz progress on disk: a small JSON file, written atomically, never lost to a crash.

The file holds a :class:`~adaprune_edu.quiz.leitner.LeitnerState` (each card's box and the
session count). Writing goes to a temporary file in the same folder that then replaces the
old one (``os.replace`` is atomic), so an interrupted write leaves the previous progress intact.
A file that cannot be read (not JSON, wrong structure) is not deleted: it is renamed to
``<name>.corrupt-<timestamp>`` and a fresh progress starts, with a message saying so.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .._files import atomic_write_text
from .leitner import LeitnerState

#: where ``adaprune-edu quiz`` keeps progress unless told otherwise
DEFAULT_PROGRESS_PATH = Path("~/.adaprune-edu/quiz_progress.json")


def load_progress(path):
    """Read progress from ``path``.

    Returns
    -------
    state : LeitnerState
        The stored progress, or a fresh one if the file is missing or unreadable.
    message : str or None
        What happened when the file was unreadable (it was backed up), else ``None``.
    """
    path = Path(path).expanduser()
    if not path.exists():
        return LeitnerState(), None
    try:
        return LeitnerState.from_dict(json.loads(path.read_text(encoding="utf-8"))), None
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        backup = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        suffix = 1
        while backup.exists():
            backup = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{suffix}")
            suffix += 1
        os.replace(path, backup)
        message = (f"Progress file {path} could not be read ({type(exc).__name__}: {exc}). "
                   f"It was kept as {backup}; starting with fresh progress.")
        return LeitnerState(), message


def save_progress(state: LeitnerState, path) -> Path:
    """Write ``state`` to ``path`` atomically (creating its folder); return the path."""
    text = json.dumps(state.to_dict(), indent=1, sort_keys=True)
    return atomic_write_text(path, text)
