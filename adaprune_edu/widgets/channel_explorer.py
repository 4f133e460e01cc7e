"""The channel explorer: one slider per convolution, and what removing channels buys a CNN.

>>> explorer = ChannelExplorer(model, data)      # doctest: +SKIP
>>> explorer                                     # in a notebook: criterion, sliders, numbers, plot

Each slider sets the fraction of a convolution's output channels that is kept (never fewer than
``min_channels``). Every change prunes a copy of the trained CNN from its dense state, one shot
and without fine-tuning, with the same calls as the MLP explorer
(:func:`~adaprune_edu.widgets.explorer_logic.dense_scores` once per criterion, then
:func:`~adaprune_edu.widgets.explorer_logic.prune_copy`, which calls
:func:`adaprune_edu.pruning.prune_to_sparsity` with one target per layer of channels), and
measures it with :func:`~adaprune_edu.widgets.explorer_logic.model_numbers`: validation accuracy,
parameters and MACs of the masked network and of the smaller one after surgery, and their
measured latency. The lesson it shows: removing a fraction ``f`` of every layer's channels
removes about ``1 - (1 - f)**2`` of the MACs (a convolution's cost is ``C_in * C_out``), while
the latency falls less (per-call overhead, BatchNorm, pooling and memory traffic do not shrink
as fast).

Criteria (:data:`CHANNEL_CRITERIA`): the L1 norm of each filter (Li et al. 2017), the
BatchNorm scale ``|gamma|`` after the convolution (Network Slimming, Liu et al. 2017), random.

The logic is testable without a browser: set ``explorer.keep[0].value = 0.5`` and read
``explorer.numbers``, ``explorer.readout.value`` and ``explorer.plot.outputs``.
"""
from __future__ import annotations

import html
import time
from collections import OrderedDict

import ipywidgets as widgets
import numpy as np
from IPython.display import Image
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

from .._checks import check_choice, check_int, check_labels
from ..nn.layers import Conv2D
from ..pruning.groups import layer_groups
from . import plots
from .explorer_logic import Settings, dense_scores, model_numbers, prune_copy, split_data

__all__ = ["ChannelExplorer", "CHANNEL_CRITERIA", "kept_channels"]

#: what the criterion picker shows -> (registry criterion, norm order n)
CHANNEL_CRITERIA = {"L1 filter norm": ("magnitude", 1), "BN |gamma|": ("bn_scale", 2), "random": ("random", 2)}


def kept_channels(fractions, sizes, min_channels: int = 1) -> list:
    """Channels kept per layer: ``round(fraction * size)``, at least ``min_channels`` (at most ``size``).

    >>> kept_channels([0.5, 0.3, 0.0], [16, 32, 64], min_channels=2)
    [8, 10, 2]
    """
    return [int(min(size, max(min_channels, round(f * size)))) for f, size in zip(fractions, sizes)]


class ChannelFigure:
    """Left: channels kept and removed per layer. Right: what the smaller network costs, as a fraction of dense.

    The bars are made once; :meth:`update` only changes their heights and labels (rebuilding axes and
    ticks on every slider move costs more than drawing them).
    """

    COSTS = ("channels", "parameters", "MACs", "latency")

    def __init__(self, sizes):
        self.figure = Figure(figsize=(10, 3.6), dpi=72)
        self.ax_channels, self.ax_costs = self.figure.subplots(1, 2)
        self.figure.subplots_adjust(left=0.07, right=0.98, top=0.88, bottom=0.16, wspace=0.28)
        x = np.arange(len(sizes))
        self.kept_bars = self.ax_channels.bar(x, sizes, color=plots.KEPT_COLOR, label="kept")
        self.removed_bars = self.ax_channels.bar(x, 0, bottom=sizes, color=plots.PRUNED_COLOR, label="removed")
        self.ax_channels.set_xticks(x, [f"conv {i + 1}" for i in x])
        self.ax_channels.set_ylim(0, 1.1 * max(sizes))
        self.ax_channels.set_ylabel("channels")
        self.ax_channels.set_title("channels per convolution")
        self.ax_channels.legend(loc="upper left", fontsize=8)
        colors = [plots.KEPT_COLOR] * 3 + [plots.POINT_COLOR]
        self.cost_bars = self.ax_costs.bar(self.COSTS, [1.0] * 4, color=colors)
        self.labels = [self.ax_costs.text(i, 1.02, "", ha="center", fontsize=9) for i in range(4)]
        self.ax_costs.axhline(1.0, color="gray", linewidth=1)
        self.ax_costs.set_ylim(0, 1.25)
        self.ax_costs.set_ylabel("after surgery / masked dense")
        self.ax_costs.set_title("what the smaller network costs")

    def update(self, kept, sizes, fractions: dict) -> bytes:
        """Redraw; ``fractions`` maps each of :attr:`COSTS` to (after surgery) / (masked dense); returns PNG bytes."""
        for kept_bar, removed_bar, k, size in zip(self.kept_bars, self.removed_bars, kept, sizes):
            kept_bar.set_height(k)
            removed_bar.set_y(k)
            removed_bar.set_height(size - k)
        for bar, label, name in zip(self.cost_bars, self.labels, self.COSTS):
            value = min(fractions[name], 1.2)  # latency is measured: noise can put it above 1
            bar.set_height(value)
            label.set_y(value + 0.02)
            label.set_text(f"{fractions[name]:.0%}")
        return plots.to_png(self.figure)


class ChannelExplorer:
    """Per-convolution channel sliders for a trained CNN, with accuracy, parameters, MACs and latency.

    Parameters
    ----------
    model : Sequential with Conv2D layers (e.g. :func:`adaprune_edu.nn.presets.cnn`), trained; copied, never modified
    data : Dataset of images (``load_dataset("digits", images=True)``) or tuple (X_train, y_train, X_val, y_val)
        Accuracy and latency on the validation split; nothing here needs training data except
        that it is checked (the criteria here are data-free).
    criterion : a key of :data:`CHANNEL_CRITERIA`, the initial picker value
    keep : float in (0, 1] or one per layer of channels, the initial fractions kept
    min_channels : int >= 1, no layer keeps fewer channels (the sliders stop there)
    latency_repeats : int >= 1, runs per latency measurement (median)
    cache_size : int >= 1, pruned states kept
    seed : int, for the "random" criterion
    """

    def __init__(self, model, data, criterion="L1 filter norm", keep=1.0, min_channels=1, latency_repeats=2,
                 cache_size=64, seed=0):
        if not any(isinstance(layer, Conv2D) for layer in getattr(model, "leaves", lambda: [])()):
            raise TypeError(f"model={type(model).__name__} has no Conv2D layer: the channel explorer is for CNNs "
                            "(use PruningExplorer for an MLP)")
        check_choice("criterion", criterion, tuple(CHANNEL_CRITERIA))
        self.min_channels = check_int("min_channels", min_channels, minimum=1)
        self.latency_repeats = check_int("latency_repeats", latency_repeats, minimum=1)
        self.cache_size = check_int("cache_size", cache_size, minimum=1)
        self.seed = check_int("seed", seed, minimum=0)
        self.groups = layer_groups(model)
        self.sizes = [g.size for g in self.groups]
        too_small = [(g.name, g.size) for g in self.groups if g.size < self.min_channels]
        if too_small:
            raise ValueError(f"min_channels={min_channels} is more than {too_small[0][0]} has ({too_small[0][1]}); "
                             f"allowed: 1 to {min(self.sizes)}")
        keep = [keep] * len(self.sizes) if np.ndim(keep) == 0 else list(keep)
        if len(keep) != len(self.sizes):
            raise ValueError(f"keep has {len(keep)} values; the model has {len(self.sizes)} layers of channels")
        for i, k in enumerate(keep):
            if isinstance(k, bool) or not isinstance(k, (int, float, np.floating)) or not 0 < k <= 1:
                raise ValueError(f"keep[{i}]={k!r} must be a fraction of channels kept in (0, 1]")
        X_train, y_train, X_val, y_val = split_data(data)
        X_train = model._check_X("X_train", X_train)
        check_labels("y_train", y_train, X_train.shape[0], model.n_classes)
        self.X_val = model._check_X("X_val", X_val)
        self.y_val = check_labels("y_val", y_val, self.X_val.shape[0], model.n_classes)

        self.model = model.copy().eval()
        self.dense_state = self.model.get_state()
        self.baseline = self.model.score(self.X_val, self.y_val)
        self._states = OrderedDict()  # (criterion, kept) -> pruned state, least recently used first
        self._scores = {}  # criterion label -> scores of the dense model
        self.numbers, self.error, self.last_update_seconds, self.update_times = {}, None, None, []
        self._figure = ChannelFigure(self.sizes)
        self._build_controls(criterion, keep)
        self.update()

    # ------------------------------------------------------------------ layout
    def _build_controls(self, criterion, keep):
        style = {"description_width": "150px"}
        self.criterion = widgets.Dropdown(options=list(CHANNEL_CRITERIA), value=criterion, description="criterion")
        self.keep = [widgets.FloatSlider(value=k, min=self.min_channels / size, max=1.0, step=1 / size,
                                         description=f"conv {i + 1} kept (of {size})", continuous_update=False,
                                         readout_format=".0%", style=style, layout=widgets.Layout(width="440px"))
                     for i, (k, size) in enumerate(zip(keep, self.sizes))]
        self.readout, self.status, self.plot = widgets.HTML(), widgets.HTML(), widgets.Output()
        for control in [self.criterion, *self.keep]:
            control.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HBox([widgets.VBox([self.criterion]), widgets.VBox(self.keep)]),
                                    self.status, self.readout, self.plot])

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ state
    def kept(self) -> list:
        """Channels kept per layer at the sliders' positions."""
        return kept_channels([s.value for s in self.keep], self.sizes, self.min_channels)

    def settings(self) -> Settings:
        """The explorer's :class:`~adaprune_edu.widgets.explorer_logic.Settings`: structured, one target per layer."""
        criterion = CHANNEL_CRITERIA[self.criterion.value][0]
        targets = tuple((size - k) / size for k, size in zip(self.kept(), self.sizes))
        return Settings(criterion, "structured", "per-layer", 0.0, targets)

    def pruned(self):
        """The working model with the channels the controls remove masked (from the cache when possible)."""
        label, kept = self.criterion.value, tuple(self.kept())
        if (label, kept) in self._states:
            self._states.move_to_end((label, kept))
            self.model.set_state(self._states[label, kept])
            return self.model
        criterion, n = CHANNEL_CRITERIA[label]
        settings = self.settings()
        if label not in self._scores:
            self.model.set_state(self.dense_state)
            self._scores[label] = dense_scores(self.model, settings, None, None, n=n, seed=self.seed)
        prune_copy(self.model, self.dense_state, settings, None, None, scores=self._scores[label])
        self._states[label, kept] = self.model.get_state()
        while len(self._states) > self.cache_size:
            self._states.popitem(last=False)
        return self.model

    # ------------------------------------------------------------------ the update
    def update(self, change=None) -> None:
        """Prune for the current controls, refresh numbers, readout and plot (timed, one BLAS thread)."""
        start = time.perf_counter()
        with threadpool_limits(limits=1, user_api="blas"):
            try:
                model = self.pruned()
            except (ValueError, TypeError) as exc:
                self.error = str(exc)
                self.status.value = f'<p style="color:#b00020"><b>Cannot prune with these settings:</b> ' \
                                    f'{html.escape(self.error)}</p>'
                return
            self.error, self.status.value = None, ""
            self.numbers = model_numbers(model, self.X_val, self.y_val, self.latency_repeats)
            self.numbers["kept_channels"] = self.kept()
            self.readout.value = self._readout_html()
            n = self.numbers
            image = self._figure.update(self.numbers["kept_channels"], self.sizes, {
                "channels": sum(self.numbers["kept_channels"]) / sum(self.sizes),
                "parameters": n["shrunk_params"] / n["params"], "MACs": n["shrunk_macs"] / n["macs"],
                "latency": n["shrunk_latency"] / n["latency"]})
            self.plot.outputs = ()
            self.plot.append_display_data(Image(data=image, format="png"))
        self.last_update_seconds = time.perf_counter() - start
        self.update_times.append(self.last_update_seconds)

    def _readout_html(self) -> str:
        n = self.numbers
        drop = 100 * (self.baseline - n["accuracy"])
        removed = 1 - sum(n["kept_channels"]) / sum(self.sizes)
        rows = [
            ("validation accuracy", f"{100 * n['accuracy']:.2f}% (dense {100 * self.baseline:.2f}%, drop {drop:.2f} "
                                    "points; one shot, no fine-tuning)"),
            ("channels kept", ", ".join(f"{k}/{size}" for k, size in zip(n["kept_channels"], self.sizes))
             + f" ({removed:.0%} removed; criterion {self.criterion.value})"),
            ("parameters", f"{n['params']:,} stored masked, {n['shrunk_params']:,} after surgery"),
            ("MACs per image", f"{n['macs']:,} masked (dense kernel), {n['shrunk_macs']:,} after surgery "
                               f"({n['macs'] / n['shrunk_macs']:.2f}x fewer)"),
            ("latency (validation set)", f"{1000 * n['latency']:.1f} ms masked, {1000 * n['shrunk_latency']:.1f} ms "
                                         f"after surgery ({n['latency'] / n['shrunk_latency']:.2f}x faster)"),
        ]
        body = "".join(f"<tr><td style='padding-right:1em'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                       for k, v in rows)
        return f"<table class='adaprune-readout'>{body}</table>"
