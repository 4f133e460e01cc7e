"""Replay an adaptive pruning run step by step.

The adaptive controller records one entry per step in its ``history_``; this widget takes
that list (or any list of dicts with the same keys) and lets you step through it with a
slider or the play button:

- ``step`` (int): the step number;
- ``target`` (float in [0, 1]): the sparsity the step tried to reach;
- ``layer_sparsity`` (list of float in [0, 1]): each layer's sparsity after the step;
- ``val_accuracy`` (float in [0, 1]): validation accuracy after the step;
- ``action`` (str): what the controller did, e.g. "accept" or "rollback".

Other keys are shown in the readout as they are.

>>> ReplayWidget(pruner.history_)            # doctest: +SKIP
"""
from __future__ import annotations

import html
import numbers

import ipywidgets as widgets
from IPython.display import Image

from .._checks import check_int
from . import plots

REQUIRED_KEYS = ("step", "target", "layer_sparsity", "val_accuracy", "action")


def _fraction(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and 0.0 <= value <= 1.0


def check_history(history) -> list:
    """Return ``history`` as a list of dicts after checking every record's keys and values."""
    if isinstance(history, (str, bytes, dict)) or not hasattr(history, "__iter__"):
        raise TypeError(f"history must be a list of dicts (a controller's history_), got {type(history).__name__}")
    history = list(history)
    if not history:
        raise ValueError("history is empty; run the controller (fit) before replaying it")
    for i, record in enumerate(history):
        if not isinstance(record, dict):
            raise TypeError(f"history[{i}] must be a dict, got {type(record).__name__}")
        missing = [key for key in REQUIRED_KEYS if key not in record]
        if missing:
            raise ValueError(f"history[{i}] is missing {missing}; each record needs {list(REQUIRED_KEYS)}")
        if not isinstance(record["step"], numbers.Integral) or isinstance(record["step"], bool):
            raise TypeError(f"history[{i}]['step']={record['step']!r} must be an int")
        for key in ("target", "val_accuracy"):
            if not _fraction(record[key]):
                raise ValueError(f"history[{i}][{key!r}]={record[key]!r} must be a number in [0, 1]")
        sparsity = record["layer_sparsity"]
        if isinstance(sparsity, (str, bytes)) or not hasattr(sparsity, "__len__") or len(sparsity) == 0 \
                or not all(_fraction(s) for s in sparsity):
            raise ValueError(f"history[{i}]['layer_sparsity']={sparsity!r:.80} must be a non-empty list of "
                             "numbers in [0, 1]")
        if not isinstance(record["action"], str) or not record["action"]:
            raise TypeError(f"history[{i}]['action']={record['action']!r} must be a non-empty string")
    return history


class ReplayWidget:
    """A slider (and play button) over a controller's history, with a readout and a plot.

    Parameters
    ----------
    history : list of dict, see the module docstring
    interval : int, milliseconds between steps when playing
    """

    def __init__(self, history, interval: int = 700):
        interval = check_int("interval", interval, minimum=1)
        self.history = check_history(history)
        last = len(self.history) - 1
        self.step = widgets.IntSlider(value=0, min=0, max=last, description="step", continuous_update=True)
        self.play = widgets.Play(value=0, min=0, max=last, interval=interval, description="play")
        widgets.jslink((self.play, "value"), (self.step, "value"))
        self.readout = widgets.HTML()
        self.plot = widgets.Output()
        self._figure = plots.replay_figure()
        self.step.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.play, self.step]), self.readout, self.plot])
        self.update()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    @property
    def record(self) -> dict:
        """The history entry the slider is on."""
        return self.history[self.step.value]

    def update(self, change=None) -> None:
        """Show the record at the slider's position."""
        record = self.record
        accepted = sum(1 for r in self.history[: self.step.value + 1] if r["action"].lower().startswith("accept"))
        layers = ", ".join(f"{100 * s:.0f}%" for s in record["layer_sparsity"])
        rows = [
            ("step", f"{record['step']} ({self.step.value + 1} of {len(self.history)})"),
            ("action", record["action"]),
            ("target sparsity", f"{100 * record['target']:.1f}%"),
            ("validation accuracy", f"{100 * record['val_accuracy']:.2f}%"),
            ("per-layer sparsity", layers),
            ("accepted so far", str(accepted)),
        ]
        rows += [(key, f"{value:.4g}" if isinstance(value, float) else str(value))
                 for key, value in record.items() if key not in REQUIRED_KEYS and value is not None]
        body = "".join(f"<tr><td style='padding-right:1em'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                       for k, v in rows)
        self.readout.value = f"<table class='adaprune-replay'>{body}</table>"
        plots.draw_replay(self._figure, self.history, self.step.value)
        self.plot.outputs = ()
        self.plot.append_display_data(Image(data=plots.to_png(self._figure), format="png"))
