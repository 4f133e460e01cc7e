"""Quiz progress on disk: a small JSON file, written atomically, never lost to a crash.

The file holds a :class:`~adaprune_edu.quiz.scheduler.ReviewState` (each card's FSRS memory state
and the session count). Writing goes to a temporary file in the same folder that then replaces the
old one (``os.replace`` is atomic), so an interrupted write leaves the previous progress intact.

Reading handles three cases besides a current file:

- a **version-1 file** (the Leitner boxes of earlier releases) is converted to FSRS state; the
  original is copied to ``<name>.leitner-v1`` first and also kept inside the new file;
- a file that is **not JSON** or **not a quiz progress file** (another program's JSON, a wrong
  structure) is not deleted: it is renamed to ``<name>.corrupt-<timestamp>`` and a fresh progress
  starts, with a message saying so.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from .._files import atomic_write_text
from .scheduler import ReviewState, from_leitner, utc_now

#: where ``adaprune-edu quiz`` keeps progress unless told otherwise
DEFAULT_PROGRESS_PATH = Path("~/.adaprune-edu/quiz_progress.json")


def _aside(path: Path, tag: str) -> Path:
    """A free name ``<name>.<tag>-<timestamp>[-k]`` next to ``path``."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    backup, suffix = path.with_name(f"{path.name}.{tag}-{stamp}"), 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.{tag}-{stamp}-{suffix}")
        suffix += 1
    return backup


def load_progress(path, now=None):
    """Read progress from ``path`` (``now``: the time used to convert a Leitner file, default the clock).

    Returns
    -------
    state : ReviewState
        The stored progress, converted if it was a Leitner file, or a fresh one if the file is
        missing or unreadable.
    message : str or None
        What happened when the file was converted or unreadable, else ``None``.
    """
    path = Path(path).expanduser()
    if not path.exists():
        return ReviewState(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("version") == 1 and "boxes" in data:
            state = from_leitner(data, utc_now() if now is None else now)
            copy = path.with_name(f"{path.name}.leitner-v1")
            shutil.copy2(path, copy)
            save_progress(state, path)
            return state, (f"Progress file {path} used the old Leitner boxes; it was converted to FSRS scheduling "
                           f"({len(state.cards)} cards kept). The original was copied to {copy}.")
        return ReviewState.from_dict(data), None
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        backup = _aside(path, "corrupt")
        os.replace(path, backup)
        message = (f"Progress file {path} could not be read as quiz progress ({type(exc).__name__}: {exc}). "
                   f"It was kept as {backup}; starting with fresh progress.")
        return ReviewState(), message


def save_progress(state: ReviewState, path) -> Path:
    """Write ``state`` to ``path`` atomically (creating its folder); return the path."""
    text = json.dumps(state.to_dict(), indent=1, sort_keys=True, ensure_ascii=False)
    return atomic_write_text(path, text)
