"""The pictures the widgets show, drawn on a matplotlib ``Figure`` and turned into PNG bytes.

The widgets never use ``pyplot``: a ``Figure`` made directly is not shown by the notebook's
inline backend on its own, so the only place a picture appears is the widget's output. Each
draw function clears the axes it is given and draws again, so one figure is reused for every
update.
"""
from __future__ import annotations

from io import BytesIO

import numpy as np
from matplotlib.figure import Figure

KEPT_COLOR, PRUNED_COLOR, POINT_COLOR = "#3b75af", "#ef8636", "#c03d3e"


class ExplorerFigure:
    """The explorer's 2 x 2 figure, drawn once and then updated in place.

    Top left: histogram of one layer's dense weights, pruned ones stacked on kept ones, with
    the cut at +-threshold. Top right: that layer's 0/1 mask (rows = inputs, columns =
    neurons). Bottom left: validation accuracy vs sparsity with the current point. Bottom
    right: per-layer sparsity bars.

    Only the data of existing artists changes on :meth:`update` (no ``Axes.clear``): rebuilding
    axes, ticks and legends costs more than drawing them.

    Parameters
    ----------
    dense_weights : list of ndarrays, ``dense_weights[l]`` of shape (n_in_l, n_out_l)
    """

    def __init__(self, dense_weights):
        self.dense_weights = [np.asarray(W, dtype=np.float64) for W in dense_weights]
        n_layers = len(self.dense_weights)
        self.figure = Figure(figsize=(10, 6.4), dpi=72)
        (self.ax_hist, self.ax_mask), (self.ax_curve, self.ax_bars) = self.figure.subplots(2, 2)
        self.figure.subplots_adjust(left=0.07, right=0.98, top=0.93, bottom=0.09, hspace=0.42, wspace=0.22)
        self.layer = None
        # histogram
        self.hist_all = self.ax_hist.stairs([0], [0, 1], fill=True, color=PRUNED_COLOR, label="pruned")
        self.hist_kept = self.ax_hist.stairs([0], [0, 1], fill=True, color=KEPT_COLOR, label="kept")
        self.cuts = [self.ax_hist.axvline(0, color="black", linestyle="--", linewidth=1) for _ in range(2)]
        self.ax_hist.set_xlabel("weight value (before pruning)")
        self.ax_hist.legend(loc="upper right", fontsize=8)
        # mask
        self.image = None
        self.ax_mask.set_xlabel("output neuron")
        self.ax_mask.set_ylabel("input")
        # accuracy curve
        self.curve_line, = self.ax_curve.plot([], [], marker="o", markersize=3, color=KEPT_COLOR,
                                              label="one-shot, no fine-tune")
        self.dense_line = self.ax_curve.axhline(0, color="gray", linewidth=1, label="dense")
        self.tolerance_line = self.ax_curve.axhline(0, color="gray", linestyle="--", linewidth=1,
                                                    label="dense - tolerance")
        self.point, = self.ax_curve.plot([], [], "o", markersize=9, color=POINT_COLOR, label="current")
        self.ax_curve.set_xlim(-0.02, 1.0)
        self.ax_curve.set_ylim(0, 100)
        self.ax_curve.set_ylabel("validation accuracy (%)")
        self.ax_curve.legend(loc="lower left", fontsize=8)
        # per-layer bars
        layers = np.arange(1, n_layers + 1)
        self.weight_bars = self.ax_bars.bar(layers - 0.19, np.zeros(n_layers), 0.38, color=KEPT_COLOR,
                                            label="weights pruned")
        self.neuron_bars = self.ax_bars.bar(layers[:-1] + 0.19, np.zeros(n_layers - 1), 0.38, color=PRUNED_COLOR,
                                            label="its output neurons removed")
        self.ax_bars.set_xticks(layers)
        self.ax_bars.set_ylim(0, 1)
        self.ax_bars.set_xlabel("layer")
        self.ax_bars.set_ylabel("fraction")
        self.ax_bars.set_title("Per-layer sparsity")
        self.neurons_shown = None

    def _show_layer(self, layer: int) -> None:
        """Set the histogram bins and the mask image up for ``layer`` (only when it changes)."""
        W = self.dense_weights[layer]
        self.edges = np.histogram_bin_edges(W, bins=60)
        counts, _ = np.histogram(W, bins=self.edges)
        self.hist_all.set_data(counts, self.edges)
        self.ax_hist.set_xlim(self.edges[0], self.edges[-1])
        self.ax_hist.set_ylim(0, 1.1 * counts.max())
        if self.image is not None:
            self.image.remove()
        self.image = self.ax_mask.imshow(np.ones_like(W), cmap="gray", vmin=0, vmax=1, aspect="auto",
                                         interpolation="nearest")
        self.ax_mask.set_title(f"Mask of layer {layer + 1} (black = pruned)")
        self.layer = layer

    def update(self, layer, mask, threshold, curve_x, curve_accuracy, current, baseline, tolerance, xlabel, title,
               layer_sparsity, neurons_removed=None) -> bytes:
        """Redraw with new data and return the PNG bytes.

        ``mask`` has the shape of ``dense_weights[layer]``; ``threshold`` is a magnitude cut or
        ``None``; accuracies are fractions and ``tolerance`` is in percentage points;
        ``neurons_removed`` is one fraction per hidden layer, or ``None`` to hide those bars.
        """
        if layer != self.layer:
            self._show_layer(layer)
        W = self.dense_weights[layer]
        kept = np.asarray(mask) != 0
        kept_counts, _ = np.histogram(W[kept], bins=self.edges)
        self.hist_kept.set_data(kept_counts, self.edges)
        for line, x in zip(self.cuts, (-1, 1)):
            line.set_visible(threshold is not None)
            if threshold is not None:
                line.set_xdata([x * threshold, x * threshold])
        pruned = W.size - int(kept.sum())
        cut = "" if threshold is None else f", cut |w| = {threshold:.4f}"
        self.ax_hist.set_title(f"Layer {layer + 1}: {pruned} of {W.size} weights pruned{cut}")
        self.image.set_data(kept.astype(np.float64))
        self.curve_line.set_data(curve_x, 100 * np.asarray(curve_accuracy))
        self.point.set_data([current[0]], [100 * current[1]])
        self.dense_line.set_ydata([100 * baseline] * 2)
        self.tolerance_line.set_ydata([100 * baseline - tolerance] * 2)
        self.ax_curve.set_xlabel(xlabel)
        self.ax_curve.set_title(title)
        for bar, value in zip(self.weight_bars, layer_sparsity):
            bar.set_height(value)
        shown = neurons_removed is not None
        for bar, value in zip(self.neuron_bars, neurons_removed if shown else [0.0] * len(self.neuron_bars)):
            bar.set_height(value)
            bar.set_visible(shown)
        if shown != self.neurons_shown:  # the legend lists only the bars on display
            handles = [self.weight_bars, self.neuron_bars] if shown else [self.weight_bars]
            self.ax_bars.legend(handles=handles, loc="upper left", fontsize=8)
            self.neurons_shown = shown
        return to_png(self.figure)


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def action_color(action: str) -> str:
    """Green for an accepted step, red for a rolled-back one, orange for a forced one, grey otherwise."""
    action = action.lower()
    if action.startswith(("accept", "keep")):
        return "#2e8b57"
    if action.startswith("force"):
        return PRUNED_COLOR
    if action.startswith(("roll", "reject", "revert")):
        return POINT_COLOR
    return "gray"


def replay_figure() -> Figure:
    """A 1 x 2 figure: the run so far, and the per-layer sparsity at the current step."""
    fig = Figure(figsize=(10, 3.6), dpi=72)
    fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    fig.subplots_adjust(left=0.07, right=0.93, top=0.88, bottom=0.15, wspace=0.35)
    return fig


def draw_replay(fig: Figure, history, current: int) -> None:
    """Validation accuracy and target sparsity per step (markers coloured by action), and bars for ``current``.

    ``history`` is a list of records with ``step``, ``target``, ``val_accuracy``, ``action``
    and ``layer_sparsity`` (see :mod:`adaprune_edu.widgets.replay`).
    """
    ax_run, ax_bars = fig.axes[:2]
    for extra in fig.axes[2:]:
        extra.remove()
    ax_run.clear()
    steps = [r["step"] for r in history]
    accuracy = [100 * r["val_accuracy"] for r in history]
    ax_run.plot(steps, accuracy, color="lightgray", zorder=1)
    ax_run.scatter(steps, accuracy, c=[action_color(r["action"]) for r in history], s=30, zorder=2)
    ax_run.axvline(history[current]["step"], color="black", linewidth=1)
    ax_run.set_xlabel("step")
    ax_run.set_ylabel("validation accuracy (%)")
    ax_run.set_title("Controller run (green = accepted, red = rolled back)")
    ax_target = ax_run.twinx()
    ax_target.step(steps, [r["target"] for r in history], where="mid", color=KEPT_COLOR, linewidth=1)
    ax_target.set_ylim(0, 1)
    ax_target.set_ylabel("target sparsity", color=KEPT_COLOR)
    ax_bars.clear()
    sparsity = history[current]["layer_sparsity"]
    ax_bars.bar(np.arange(1, len(sparsity) + 1), sparsity, color=action_color(history[current]["action"]))
    ax_bars.set_xticks(np.arange(1, len(sparsity) + 1))
    ax_bars.set_ylim(0, 1)
    ax_bars.set_xlabel("layer")
    ax_bars.set_title(f"Per-layer sparsity at step {history[current]['step']}")
