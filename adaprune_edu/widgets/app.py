"""``adaprune-edu explore``: the pruning explorer as a standalone web app (Voila).

Voila runs ``notebooks/08_explorer.ipynb`` and serves only its outputs and widgets, no code:
a page for projecting in a classroom. It listens on 127.0.0.1 only and needs no network
(its default template asks a font CDN for icons; without a connection the page still works).

The page is the lesson without its worked answers (:func:`classroom_copy`): those re-run the
adaptive controller twice, which would make the page load take twice as long, and a class looks
at the answers in the notebook, not on the projector.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

#: the explorer notebook in a source checkout
DEFAULT_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "08_explorer.ipynb"


#: the first markdown heading that the classroom page leaves out, with everything after it
ANSWERS_HEADING = "## Worked answers"


def classroom_copy(notebook, folder) -> Path:
    """Write ``notebook`` without its worked answers into ``folder``; returns the new path.

    Cells from the first markdown cell that starts with :data:`ANSWERS_HEADING` on are dropped
    (a notebook without that heading is copied whole). Nothing else changes.
    """
    nb = nbformat.read(str(notebook), as_version=4)
    cut = next((i for i, c in enumerate(nb.cells)
                if c.cell_type == "markdown" and c.source.lstrip().startswith(ANSWERS_HEADING)), len(nb.cells))
    nb.cells = nb.cells[:cut]
    target = Path(folder) / Path(notebook).name
    nbformat.write(nb, str(target))
    return target


def voila_command(notebook, port: int = 8866, open_browser: bool = False, extra=()) -> list:
    """The ``voila`` command line (a list) that serves ``notebook`` on 127.0.0.1:``port``."""
    cmd = [sys.executable, "-m", "voila", str(notebook), f"--port={port}", "--Voila.ip=127.0.0.1"]
    if not open_browser:
        cmd.append("--no-browser")
    return cmd + list(extra)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="adaprune-edu explore", description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--notebook", default=str(DEFAULT_NOTEBOOK), help="notebook to serve (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default %(default)s)")
    parser.add_argument("--browser", action="store_true", help="also open a web browser on the page")
    args, extra = parser.parse_known_args(argv)
    notebook = Path(args.notebook)
    if not notebook.is_file():
        parser.error(f"--notebook {str(notebook)!r} does not exist; run from a source checkout "
                     "or pass the path of 08_explorer.ipynb")
    if not 1 <= args.port <= 65535:
        parser.error(f"--port {args.port} must be between 1 and 65535")
    print(f"Serving {notebook.name} at http://127.0.0.1:{args.port}/ (Ctrl-C to stop)", flush=True)
    with tempfile.TemporaryDirectory(prefix="adaprune-explore-") as folder:
        page = classroom_copy(notebook, folder)
        try:
            return subprocess.call(voila_command(page, args.port, args.browser, extra), cwd=folder)
        except KeyboardInterrupt:
            return 0
