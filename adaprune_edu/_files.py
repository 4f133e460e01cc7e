"""Writing files so that a crash never leaves half of one behind.

``atomic_write_bytes`` writes into a temporary file in the same folder, flushes it to
disk, then renames it over the target: readers see the old file or the new one, never a
partial one, and a failed write leaves the old file untouched.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating its folder; return the path."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically; return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))
