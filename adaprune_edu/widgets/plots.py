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


def explorer_figure() -> Figure:
    """A 2 x 2 figure: histogram, mask, accuracy curve, per-layer bars."""
    fig = Figure(figsize=(10, 6.4), dpi=72)
    fig.subplots(2, 2)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.93, bottom=0.09, hspace=0.42, wspace=0.22)
    return fig


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def draw_histogram(ax, W, mask, layer: int, threshold=None) -> None:
    """Histogram of ``W`` (n_in, n_out), pruned weights stacked on kept ones, with the cut at +-threshold."""
    ax.clear()
    W = np.asarray(W, dtype=np.float64).ravel()
    pruned = np.asarray(mask).ravel() == 0
    edges = np.histogram_bin_edges(W, bins=60)
    kept_counts, _ = np.histogram(W[~pruned], bins=edges)
    all_counts, _ = np.histogram(W, bins=edges)
    ax.stairs(all_counts, edges, fill=True, color=PRUNED_COLOR, label=f"pruned ({int(pruned.sum())})")
    ax.stairs(kept_counts, edges, fill=True, color=KEPT_COLOR, label=f"kept ({int((~pruned).sum())})")
    if threshold is not None:
        for x in (-threshold, threshold):
            ax.axvline(x, color="black", linestyle="--", linewidth=1)
    ax.set_title(f"Layer {layer + 1} weights (before pruning)" + ("" if threshold is None else
                                                                  f", cut |w| = {threshold:.4f}"))
    ax.set_xlabel("weight value")
    ax.legend(loc="upper right", fontsize=8)


def draw_mask(ax, mask, layer: int) -> None:
    """The 0/1 mask of one layer as an image: rows are inputs, columns are neurons (white = kept)."""
    ax.clear()
    ax.imshow(np.asarray(mask), cmap="gray", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_title(f"Mask of layer {layer + 1} (black = pruned)")
    ax.set_xlabel("output neuron")
    ax.set_ylabel("input")


def draw_curve(ax, x, accuracy, current, baseline: float, tolerance: float, xlabel: str, title: str) -> None:
    """Accuracy vs sparsity for one setting, the baseline, the tolerance band and the current point.

    ``accuracy`` and ``baseline`` are fractions; ``tolerance`` is in percentage points.
    """
    ax.clear()
    ax.plot(x, 100 * np.asarray(accuracy), marker="o", markersize=3, color=KEPT_COLOR, label="one-shot, no fine-tune")
    ax.axhline(100 * baseline, color="gray", linewidth=1, label="dense")
    ax.axhline(100 * baseline - tolerance, color="gray", linestyle="--", linewidth=1,
               label=f"dense - tolerance ({tolerance:g} points)")
    ax.plot([current[0]], [100 * current[1]], "o", markersize=9, color=POINT_COLOR, label="current")
    ax.set_xlim(-0.02, 1.0)
    ax.set_ylim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)


def draw_layer_bars(ax, weight_sparsity, neuron_sparsity=None) -> None:
    """Per-layer weight sparsity (and, for hidden layers, the fraction of neurons removed)."""
    ax.clear()
    layers = np.arange(1, len(weight_sparsity) + 1)
    width = 0.38 if neuron_sparsity is not None else 0.7
    ax.bar(layers - (width / 2 if neuron_sparsity is not None else 0), weight_sparsity, width,
           color=KEPT_COLOR, label="weights pruned")
    if neuron_sparsity is not None:
        hidden = np.arange(1, len(neuron_sparsity) + 1)
        ax.bar(hidden + width / 2, neuron_sparsity, width, color=PRUNED_COLOR, label="its output neurons removed")
    ax.set_xticks(layers)
    ax.set_ylim(0, 1)
    ax.set_xlabel("layer")
    ax.set_ylabel("fraction")
    ax.set_title("Per-layer sparsity")
    ax.legend(loc="upper left", fontsize=8)


def action_color(action: str) -> str:
    """Green for an accepted step, red for a rolled-back one, grey for anything else."""
    action = action.lower()
    if action.startswith(("accept", "keep")):
        return "#2e8b57"
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
