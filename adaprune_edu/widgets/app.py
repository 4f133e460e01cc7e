"""``adaprune-edu explore``: the pruning explorer as a standalone web app (Voila).

Voila runs ``notebooks/08_explorer.ipynb`` and serves only its outputs and widgets, no code:
a page for projecting in a classroom. It listens on 127.0.0.1 only and needs no network
(its default template asks a font CDN for icons; without a connection the page still works).

The page is the lesson without its worked answers (:func:`classroom_copy`): those re-run the
adaptive controller twice, which would make the page load take twice as long, and a class looks
at the answers in the notebook, not on the projector.

``adaprune-edu explore --model cnn`` serves the channel explorer instead
(:class:`~adaprune_edu.widgets.channel_explorer.ChannelExplorer`: one slider per convolution of the
course CNN): a two-cell page written by :func:`cnn_page` that trains the CNN on the digits images
when it loads (``CNN_PAGE_EPOCHS`` epochs, a few seconds) and shows the explorer.
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
MODELS = ("mlp", "cnn")
#: training epochs of the CNN that the ``--model cnn`` page trains when it loads
CNN_PAGE_EPOCHS = 10
CNN_PAGE_CODE = """from adaprune_edu import load_dataset
from adaprune_edu.nn.presets import cnn
from adaprune_edu.widgets import ChannelExplorer

data = load_dataset("digits", images=True, seed=0)  # 8x8 images, channels last
model = cnn(seed=0).fit(data.X_train, data.y_train, epochs={epochs}, learning_rate=0.05, progress=False)
ChannelExplorer(model, data)"""


def cnn_page(folder) -> Path:
    """Write the channel explorer's page (a markdown cell and one code cell) into ``folder``; returns its path."""
    intro = ("# Channel pruning explorer\n\nThe course CNN (three convolutions of 16/32/64 channels with BatchNorm) "
             "trained on the digits images. Each slider keeps a fraction of one convolution's channels, pruned one "
             "shot by the criterion you pick; the readout compares the masked network with the smaller one after "
             "surgery: parameters, MACs and measured latency.")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(intro),
                                         nbformat.v4.new_code_cell(CNN_PAGE_CODE.format(epochs=CNN_PAGE_EPOCHS))])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    target = Path(folder) / "cnn_channel_explorer.ipynb"
    nbformat.write(nb, str(target))
    return target


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
    parser.add_argument("--model", default="mlp", choices=MODELS,
                        help="mlp: the explorer notebook (default); cnn: the channel explorer of the course CNN")
    parser.add_argument("--notebook", default=str(DEFAULT_NOTEBOOK), help="notebook to serve (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default %(default)s)")
    parser.add_argument("--browser", action="store_true", help="also open a web browser on the page")
    args, extra = parser.parse_known_args(argv)
    notebook = Path(args.notebook)
    if args.model == "cnn" and notebook != DEFAULT_NOTEBOOK:
        parser.error("--model cnn serves its own page; leave out --notebook")
    if args.model == "mlp" and not notebook.is_file():
        parser.error(f"--notebook {str(notebook)!r} does not exist; run from a source checkout "
                     "or pass the path of 08_explorer.ipynb")
    if not 1 <= args.port <= 65535:
        parser.error(f"--port {args.port} must be between 1 and 65535")
    with tempfile.TemporaryDirectory(prefix="adaprune-explore-") as folder:
        page = cnn_page(folder) if args.model == "cnn" else classroom_copy(notebook, folder)
        print(f"Serving {page.name} at http://127.0.0.1:{args.port}/ (Ctrl-C to stop)", flush=True)
        try:
            return subprocess.call(voila_command(page, args.port, args.browser, extra), cwd=folder)
        except KeyboardInterrupt:
            return 0
