"""Build the Chinese notebooks ``notebooks/zh/NN_*.ipynb`` from the English ones and the translation catalogue.

Usage::

    .venv/bin/python scripts/build_zh.py                 # check every notebook, write the twins that are complete
    .venv/bin/python scripts/build_zh.py --check         # only report what needs work; write nothing
    .venv/bin/python scripts/build_zh.py --stub          # add empty entries for missing/stale cells to the catalogue
    .venv/bin/python scripts/build_zh.py notebooks/03_criteria.ipynb   # one notebook

The English notebook is the only source of code cells and stored outputs; the catalogue
(``adaprune_edu/i18n/catalogue/NN_name.zh.json``) holds the Chinese markdown of each cell with the
SHA-256 of the English it translates. For every notebook the script prints how many cells are current,
and each cell that is missing, stale (with a diff of what changed in the English), broken (code or
formulas changed in translation) or orphaned. Exit status 1 when any cell needs work.

``--stub`` writes, for each missing or stale cell, an entry with the current English and an empty
``zh`` (a stale one keeps its old translation as ``zh_previous``): fill in ``zh`` and run the script again.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adaprune_edu.i18n.catalogue import (  # noqa: E402
    build_twin,
    check,
    describe,
    load_catalogue,
    read_notebook,
    save_catalogue,
    stub,
)

SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TWINS = ROOT / "notebooks" / "zh"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="English notebooks (default: all)")
    parser.add_argument("--check", action="store_true", help="report only; write nothing")
    parser.add_argument("--stub", action="store_true", help="add empty catalogue entries for cells that need work")
    args = parser.parse_args(argv)
    needs_work = False
    for path in args.notebooks or SOURCES:
        nb = read_notebook(path)
        catalogue = load_catalogue(path.name)
        status = check(nb, catalogue, path.name)
        print(describe(status, nb, catalogue))
        if args.stub and not status.complete:
            ids = stub(nb, catalogue)
            print(f"  -> {len(ids)} entries to translate written to {save_catalogue(catalogue)}")
        if not status.complete:
            needs_work = True
            continue
        if not args.check:
            TWINS.mkdir(exist_ok=True)
            nbformat.write(build_twin(nb, catalogue), str(TWINS / path.name))
            print(f"  -> wrote {(TWINS / path.name).relative_to(ROOT)}")
    return 1 if needs_work else 0


if __name__ == "__main__":
    sys.exit(main())
