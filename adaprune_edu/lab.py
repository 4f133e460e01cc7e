"""``adaprune-edu lab``: JupyterLab on the course notebooks, set up to work offline.

The news feed, the update check and the extension manager all reach the network, so
they are switched off; as root, JupyterLab also needs ``--allow-root``. The flags alone still
leave a pop-up asking whether to fetch news, so the lab also reads setting defaults from
``adaprune_edu/lab_settings/overrides.json`` ("never fetch news").
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

SETTINGS_DIR = Path(__file__).resolve().parent / "lab_settings"

OFFLINE_FLAGS = [
    f"--LabApp.app_settings_dir={SETTINGS_DIR}",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
]


def lab_command(notebook_dir, port=None, extra=()):
    """The ``jupyter lab`` command line (a list) for ``notebook_dir``."""
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={notebook_dir}", *OFFLINE_FLAGS]
    if port is not None:
        cmd.append(f"--port={port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd + list(extra)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="adaprune-edu lab", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=None, help="folder to open (default: the repository's notebooks/)")
    parser.add_argument("--port", type=int, default=None)
    args, extra = parser.parse_known_args(argv)
    folder = Path(args.dir) if args.dir else Path(__file__).resolve().parent.parent / "notebooks"
    if not folder.is_dir():
        parser.error(f"--dir {str(folder)!r} is not a folder")
    return subprocess.call(lab_command(folder, args.port, extra))
