"""``adaprune-edu explore``: the pruning explorer as a standalone web app (Voila).

Voila runs ``notebooks/08_explorer.ipynb`` and serves only its outputs and widgets, no code:
a page for projecting in a classroom. It listens on 127.0.0.1 only and needs no network
(its default template asks a font CDN for icons; without a connection the page still works).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

#: the explorer notebook in a source checkout
DEFAULT_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "08_explorer.ipynb"


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
    try:
        return subprocess.call(voila_command(notebook, args.port, args.browser, extra))
    except KeyboardInterrupt:
        return 0
