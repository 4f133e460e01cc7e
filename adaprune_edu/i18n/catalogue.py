"""The translation catalogue: Chinese markdown for every notebook cell, keyed by cell id.

One catalogue file per notebook, ``catalogue/NN_name.zh.json``::

    {"notebook": "00_setup_and_tour.ipynb", "language": "zh",
     "cells": {"00-000": {"en_sha256": "...", "en": "<the English it translates>", "zh": "<Chinese markdown>"}}}

``en_sha256`` is the SHA-256 of the English cell's source at the time of translation, and ``en``
that source itself, so when the English changes the entry is *stale* and the builder can show the
translator exactly what changed. The English notebook stays the only source of code and outputs:
:func:`build_twin` copies it and swaps in the Chinese markdown. :func:`check` says, per cell, what
is missing, stale or orphaned (a translation whose cell no longer exists).
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

CATALOGUE_DIR = Path(__file__).with_name("catalogue")
LANGUAGE = "zh"
#: inline code, fenced code and $...$ maths: a translation keeps every one of them unchanged
VERBATIM = re.compile(r"```.*?```|`[^`]+`|\$\$.*?\$\$|\$[^$\n]+\$", re.S)
CJK = re.compile(r"[\u4e00-\u9fff]")


def source_sha256(text: str) -> str:
    """SHA-256 of a cell's source, exactly as stored (a changed space makes the translation stale)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verbatim_parts(text: str) -> list:
    """The code spans, code blocks and formulas of a markdown text, sorted (what a translation must keep)."""
    return sorted(VERBATIM.findall(text))


def catalogue_path(notebook_name: str, folder=None) -> Path:
    """``catalogue/NN_name.zh.json`` for ``NN_name.ipynb``."""
    return Path(folder or CATALOGUE_DIR) / (Path(notebook_name).stem + f".{LANGUAGE}.json")


def load_catalogue(notebook_name: str, folder=None) -> dict:
    """The catalogue of a notebook (an empty one if it has none yet)."""
    path = catalogue_path(notebook_name, folder)
    if not path.exists():
        return {"notebook": Path(notebook_name).name, "language": LANGUAGE, "cells": {}}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("language") != LANGUAGE or not isinstance(data.get("cells"), dict):
        raise ValueError(f"{path} is not a {LANGUAGE} translation catalogue (needs 'language' and 'cells')")
    return data


def save_catalogue(catalogue: dict, folder=None) -> Path:
    path = catalogue_path(catalogue["notebook"], folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = dict(sorted(catalogue["cells"].items()))
    path.write_text(json.dumps({**catalogue, "cells": cells}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def markdown_cells(nb) -> list:
    """``(cell id, source)`` of every markdown cell; ``ValueError`` if a cell has no id (nbformat < 4.5)."""
    cells = []
    for index, cell in enumerate(nb.cells):
        if "id" not in cell:
            raise ValueError(f"cell #{index} has no id: save the notebook as nbformat 4.5 so ids are stable")
        if cell.cell_type == "markdown":
            cells.append((cell.id, cell.source))
    return cells


@dataclass
class Status:
    """What a catalogue lacks for one notebook."""

    notebook: str
    missing: list = field(default_factory=list)  # cell ids with no translation (or an empty one)
    stale: list = field(default_factory=list)  # cell ids whose English changed since translation
    orphaned: list = field(default_factory=list)  # catalogue entries whose cell is gone
    current: list = field(default_factory=list)
    broken: list = field(default_factory=list)  # (cell id, reason): code or formulas changed in translation

    @property
    def complete(self) -> bool:
        return not (self.missing or self.stale or self.broken)


def check(nb, catalogue: dict, name: str = "") -> Status:
    """Compare a notebook's markdown cells with its catalogue, cell by cell."""
    status = Status(notebook=name or catalogue.get("notebook", ""))
    entries = catalogue["cells"]
    ids = set()
    for cell_id, source in markdown_cells(nb):
        ids.add(cell_id)
        entry = entries.get(cell_id)
        if not entry or not str(entry.get("zh", "")).strip():
            status.missing.append(cell_id)
        elif entry.get("en_sha256") != source_sha256(source):
            status.stale.append(cell_id)
        elif verbatim_parts(entry["zh"]) != verbatim_parts(source):
            status.broken.append((cell_id, "its code spans, code blocks or formulas differ from the English"))
        elif not CJK.search(entry["zh"]) and CJK.sub("", source) == source:
            status.broken.append((cell_id, "the translation has no Chinese text"))
        else:
            status.current.append(cell_id)
    status.orphaned = sorted(set(entries) - ids)
    return status


def build_twin(nb, catalogue: dict, allow_incomplete: bool = False):
    """The Chinese twin: ``nb`` with every markdown cell replaced by its translation; code cells and outputs untouched.

    Raises ``ValueError`` listing the cells that need work, unless ``allow_incomplete`` (then
    untranslated cells keep their English under a visible note).
    """
    status = check(nb, catalogue)
    if not status.complete and not allow_incomplete:
        raise ValueError(f"{status.notebook}: missing {status.missing}, stale {status.stale}, "
                         f"broken {[cell_id for cell_id, _ in status.broken]}")
    twin = copy.deepcopy(nb)
    good = set(status.current)
    for cell in twin.cells:
        if cell.cell_type != "markdown":
            continue
        if cell.id in good:
            cell.source = catalogue["cells"][cell.id]["zh"]
        else:
            cell.source = "> *（本单元尚未翻译 · not yet translated）*\n\n" + cell.source
    meta = twin.metadata.setdefault("adaprune_edu", {})
    meta["translation"] = {"language": LANGUAGE, "source": catalogue.get("notebook"),
                           "generated_by": "scripts/build_zh.py (do not edit by hand)"}
    return twin


def stub(nb, catalogue: dict) -> list:
    """Add an entry with the current English and an empty ``zh`` for every missing or stale cell; return their ids.

    A stale entry keeps its old translation under ``zh_previous`` and its old English under
    ``en_previous``, so the translator edits only what changed.
    """
    status = check(nb, catalogue)
    sources = dict(markdown_cells(nb))
    for cell_id in status.missing + status.stale:
        old = catalogue["cells"].get(cell_id, {})
        entry = {"en_sha256": source_sha256(sources[cell_id]), "en": sources[cell_id], "zh": ""}
        if old.get("zh"):
            entry.update(en_previous=old.get("en", ""), zh_previous=old["zh"])
        catalogue["cells"][cell_id] = entry
    return status.missing + status.stale


def describe(status: Status, nb, catalogue: dict) -> str:
    """A worklist for translators: each cell that needs work, with its first line, and a diff for stale cells."""
    sources = dict(markdown_cells(nb))
    lines = [f"{status.notebook}: {len(status.current)} current, {len(status.missing)} missing, "
             f"{len(status.stale)} stale, {len(status.broken)} broken, {len(status.orphaned)} orphaned"]
    for cell_id in status.missing:
        lines.append(f"  missing  {cell_id}: {sources[cell_id].splitlines()[0][:80] if sources[cell_id] else ''}")
    for cell_id in status.stale:
        old = catalogue["cells"][cell_id].get("en", "")
        lines.append(f"  stale    {cell_id}: the English changed since it was translated:")
        diff = difflib.unified_diff(old.splitlines(), sources[cell_id].splitlines(), "translated", "now",
                                    lineterm="", n=0)
        lines += [f"           {line}" for line in list(diff)[2:]]
    for cell_id, reason in status.broken:
        lines.append(f"  broken   {cell_id}: {reason}")
    for cell_id in status.orphaned:
        lines.append(f"  orphaned {cell_id}: no such cell any more (the entry can be deleted)")
    return "\n".join(lines)


def read_notebook(path):
    return nbformat.read(str(path), as_version=4)
