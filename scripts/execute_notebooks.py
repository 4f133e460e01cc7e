"""Execute notebooks in place so their stored outputs are fresh and reproducible.

Usage::

    .venv/bin/python scripts/execute_notebooks.py                      # every notebooks/*.ipynb
    .venv/bin/python scripts/execute_notebooks.py notebooks/03_criteria.ipynb

Each notebook runs top to bottom in a fresh kernel started in the notebook's own folder
(as nbval does), with ``PYTHONHASHSEED=0`` so nothing depends on hash order. A cell marked
``# NBVAL_RAISES_EXCEPTION`` may raise; any other error stops the run and the notebook on
disk is left untouched. Timing metadata is not recorded, so re-running an unchanged notebook
rewrites the same file (images aside).

After a successful run the notebook's metadata gets ``adaprune_edu.code_sha256``: a hash of
its code cells' sources. ``tests/test_notebooks_fresh.py`` recomputes it, so a code cell
edited without re-executing the notebook is caught without re-running anything; nbval then
checks that a re-execution reproduces the stored outputs.

Every notebook has one code cell tagged ``parameters`` (papermill's convention) whose only
statement is ``SEED = 0``. ``--seed N`` runs a copy of the notebook with that cell set to
``SEED = N`` and writes nothing: every ``assert`` in the notebook must hold for any seed::

    .venv/bin/python scripts/execute_notebooks.py --seed 1 notebooks/03_criteria.ipynb
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
RAISES_MARKER = "# NBVAL_RAISES_EXCEPTION"
PARAMETERS_TAG = "parameters"
SEED_LINE = re.compile(r"^SEED = \d+(\s*#.*)?$")


def code_sha256(nb) -> str:
    """Hash of the code cells' sources, in order (markdown edits do not change outputs)."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode("utf-8"))
            digest.update(b"\0")
    return digest.hexdigest()


def allows_error(cell) -> bool:
    """True if the cell is marked to raise (comment line or the nbval cell tag)."""
    lines = [line.strip() for line in cell.source.splitlines()]
    tags = cell.get("metadata", {}).get("tags", [])
    return RAISES_MARKER in lines or "raises-exception" in tags


def parameters_cell(nb):
    """The one code cell tagged ``parameters``; ValueError unless there is exactly one, setting SEED."""
    tagged = [c for c in nb.cells if c.cell_type == "code" and PARAMETERS_TAG in c.metadata.get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"a notebook needs exactly one code cell tagged {PARAMETERS_TAG!r}, found {len(tagged)}")
    statements = [line for line in tagged[0].source.splitlines() if line.strip() and not line.startswith("#")]
    if len(statements) != 1 or not SEED_LINE.match(statements[0]):
        raise ValueError(f"the {PARAMETERS_TAG!r} cell must hold one line 'SEED = <int>', found {tagged[0].source!r}")
    return tagged[0]


def with_seed(nb, seed: int):
    """A copy of ``nb`` whose parameters cell sets ``SEED = seed`` (outputs cleared)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative int")
    copy = nbformat.reads(nbformat.writes(nb), as_version=4)
    parameters_cell(copy).source = f"SEED = {seed}"
    for cell in copy.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return copy


def run(nb, folder: Path, timeout: int = 300):
    """Execute ``nb`` (in memory) in a fresh kernel started in ``folder``; returns the seconds it took."""
    tagged = []  # cells marked by comment only: tag them for nbclient, untag before saving
    for cell in nb.cells:
        if cell.cell_type == "code" and allows_error(cell):
            tags = cell.metadata.setdefault("tags", [])
            if "raises-exception" not in tags:  # lets nbclient continue past this cell only
                tags.append("raises-exception")
                tagged.append(cell)
    os.environ["PYTHONHASHSEED"] = "0"  # inherited by the kernel
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(folder)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        if cell.cell_type == "code":
            for output in cell.outputs:
                if output.output_type == "error" and not allows_error(cell):
                    raise RuntimeError(f"unexpected error in a cell: {output.ename}: {output.evalue}")
    for cell in tagged:
        cell.metadata["tags"].remove("raises-exception")
        if not cell.metadata["tags"]:
            del cell.metadata["tags"]
    return elapsed


def execute_with_seed(path: Path, seed: int, timeout: int = 300) -> float:
    """Run a copy of ``path`` with ``SEED = seed``; writes nothing; raises if any cell fails."""
    nb = with_seed(nbformat.read(path, as_version=4), seed)
    try:
        return run(nb, path.parent, timeout)
    except Exception as error:  # name the notebook and the seed
        raise RuntimeError(f"{path.name} with SEED = {seed}: {error}") from error


def execute(path: Path, timeout: int = 300) -> float:
    """Run ``path`` in place; returns the wall-clock seconds it took."""
    nb = nbformat.read(path, as_version=4)
    try:
        elapsed = run(nb, path.parent, timeout)
    except Exception as error:
        raise RuntimeError(f"{path.name}: {error}") from error
    nb.metadata.setdefault("adaprune_edu", {})["code_sha256"] = code_sha256(nb)
    nbformat.write(nb, path)
    return elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to execute (default: every notebooks/*.ipynb)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell")
    parser.add_argument("--seed", type=int, default=None,
                        help="run a copy with the parameters cell set to SEED = N; writes nothing")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    for path in paths:
        if args.seed is None:
            seconds = execute(path.resolve(), timeout=args.timeout)
            print(f"{path.name}: executed in {seconds:.1f} s")
        else:
            seconds = execute_with_seed(path.resolve(), args.seed, timeout=args.timeout)
            print(f"{path.name}: every cell ran with SEED = {args.seed} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
