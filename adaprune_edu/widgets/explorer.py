"""The pruning explorer: move a sparsity slider and watch a trained network lose weights.

>>> explorer = PruningExplorer(model, data)      # doctest: +SKIP
>>> explorer                                     # in a notebook: shows the controls and plots

Every change prunes a *copy* of the trained model from its dense state, one shot and without
fine-tuning, with :func:`adaprune_edu.pruning.prune_to_sparsity` (nothing here re-implements
pruning), then shows what it cost and what it bought: validation accuracy, parameters and
non-zeros, bytes dense and in CSR, FLOPs, latency, and the same after structured surgery.

Speed: the dense model's scores are computed once per (criterion, granularity) and handed to
the library (``scores=``); a setting's pruned state is cached, so going back to a setting
costs nothing; the accuracy-vs-sparsity curve is computed once per (criterion, granularity,
scope). Data-driven criteria are scored as :func:`~adaprune_edu.pruning.prune_to_sparsity` scores
them by default (and as notebooks 03 and 06 do): on all training samples, in batches of 64, per-batch
scores averaged. Each update measures itself in :attr:`PruningExplorer.last_update_seconds`.

The sliders set either a sparsity (``cut_by="sparsity"``, any criterion) or a cut on ``|w|``
(``cut_by="threshold"``: magnitude pruning of single weights, one threshold for the network or
one per layer); :mod:`adaprune_edu.widgets.explorer_logic` turns both into the same library call.

The logic is testable without a browser: set ``explorer.target.value = 0.8`` and read
``explorer.numbers``, ``explorer.readout.value`` and ``explorer.plot.outputs``.
"""
from __future__ import annotations

import html
import time
from collections import OrderedDict

import ipywidgets as widgets
import numpy as np
from IPython.display import Image
from threadpoolctl import threadpool_limits

from .._checks import check_choice, check_features, check_float, check_int, check_labels
from ..pruning.model import CRITERIA, GRANULARITIES, layer_sparsities, neuron_masks
from . import plots
from .explorer_logic import (
    CURVE_TARGETS,
    CUT_MODES,
    MAX_SPARSITY,
    SCOPES,
    Settings,
    achieved_sparsity,
    dense_scores,
    model_numbers,
    prune_copy,
    split_data,
    threshold_range,
    threshold_settings,
)

__all__ = ["PruningExplorer", "Settings", "SCOPES", "CUT_MODES", "CURVE_TARGETS"]


class PruningExplorer:
    """Controls, plots and numbers for pruning a trained ``model`` interactively.

    Parameters
    ----------
    model : MLP
        A trained network; it is copied, never modified.
    data : Dataset or tuple (X_train, y_train, X_val, y_val)
        Accuracy is measured on the validation split; data-driven criteria are scored on
        the first ``score_samples`` training samples (all of them by default), in batches of 64.
    criterion, granularity : initial picker values (see :data:`CRITERIA`, :data:`GRANULARITIES`)
    target : float in [0, 0.99], initial sparsity
    cut_by : {"sparsity", "threshold"}
        What the sliders set: a sparsity (any criterion and granularity), or a cut on ``|w|``
        (magnitude pruning of single weights). The threshold sliders start at the ``|w|``
        that gives ``target``.
    tolerance : float in [0, 20], accuracy drop allowed, in percentage points
    score_samples : int >= 1 or None, default None (every training sample)
    latency_repeats : int >= 1, runs per latency measurement (median)
    cache_size : int >= 1, pruned states kept
    curve_targets : sequence of float in [0, 0.99], where the accuracy curve is measured
    """

    def __init__(self, model, data, criterion="magnitude", granularity="unstructured", target=0.5,
                 tolerance=1.0, score_samples=None, latency_repeats=5, cache_size=64, curve_targets=CURVE_TARGETS,
                 cut_by="sparsity"):
        check_choice("criterion", criterion, CRITERIA)
        check_choice("granularity", granularity, GRANULARITIES)
        check_choice("cut_by", cut_by, CUT_MODES)
        target = check_float("target", target, minimum=0.0, maximum=MAX_SPARSITY)
        tolerance = check_float("tolerance", tolerance, minimum=0.0, maximum=20.0)
        if score_samples is not None:
            score_samples = check_int("score_samples", score_samples, minimum=1)
        self.latency_repeats = check_int("latency_repeats", latency_repeats, minimum=1)
        self.cache_size = check_int("cache_size", cache_size, minimum=1)
        if isinstance(curve_targets, (str, bytes)) or not hasattr(curve_targets, "__len__") or not curve_targets:
            raise TypeError(f"curve_targets={curve_targets!r} must be a non-empty sequence of sparsities")
        self.curve_targets = tuple(check_float(f"curve_targets[{i}]", t, minimum=0.0, maximum=0.99)
                                   for i, t in enumerate(curve_targets))
        if model.n_layers < 2:
            raise ValueError(f"model has {model.n_layers} layer(s); the explorer needs at least one hidden layer")
        X_train, y_train, X_val, y_val = split_data(data)
        X_train = check_features("X_train", X_train, model.n_features)
        y_train = check_labels("y_train", y_train, X_train.shape[0], model.n_classes)
        self.X_val = check_features("X_val", X_val, model.n_features)
        self.y_val = check_labels("y_val", y_val, self.X_val.shape[0], model.n_classes)
        self.X_score, self.y_score = X_train[:score_samples], y_train[:score_samples]

        self.model = model.copy()
        self.dense_state = self.model.get_state()
        self.baseline = self.model.score(self.X_val, self.y_val)
        self._states = OrderedDict()  # Settings -> pruned state (least recently used first)
        self._curves = {}  # (criterion, granularity, scope) -> (x, accuracy)
        self._scores = {}  # (criterion, granularity) -> scores of the dense model
        self.numbers = {}
        self.error = None
        self.last_update_seconds = None
        self.update_times = []
        self.stage_seconds = {}  # the last update's time per stage: prune, numbers, draw
        self._figure = plots.ExplorerFigure([p["W"] for p in self.dense_state["params"]])
        self._build_controls(criterion, granularity, target, tolerance, cut_by)
        self.update()

    # ------------------------------------------------------------------ layout
    def _build_controls(self, criterion, granularity, target, tolerance, cut_by):
        style = {"description_width": "140px"}

        def slider(value, description, maximum=MAX_SPARSITY, step=0.01, readout_format=".2f"):
            # one Layout per slider: a shared one would show or hide them all at once
            return widgets.FloatSlider(value=value, min=0.0, max=maximum, step=step, description=description,
                                       continuous_update=False, readout_format=readout_format, style=style,
                                       layout=widgets.Layout(width="440px"))

        sizes = self.model.layer_sizes
        names = [f"layer {i + 1} ({sizes[i]}→{sizes[i + 1]})" for i in range(self.model.n_layers)]
        self.target = slider(target, "sparsity")
        self.layer_targets = [slider(target, name) for name in names]
        # the same controls as a cut on |w|; each starts where the sparsity target puts the cut
        dense_weights = [p["W"] for p in self.dense_state["params"]]
        self._dense_weights = dense_weights
        top, tops = threshold_range(dense_weights)
        everything = np.abs(np.concatenate([np.ravel(W) for W in dense_weights]))
        self.magnitude_threshold = slider(float(np.quantile(everything, target)), "threshold |w| <", top,
                                          step=top / 500, readout_format=".4f")
        self.layer_thresholds = [slider(float(np.quantile(np.abs(W), target)), f"{name} |w| <", layer_top,
                                        step=layer_top / 500, readout_format=".4f")
                                 for name, W, layer_top in zip(names, dense_weights, tops)]
        self.cut_by = widgets.Dropdown(options=[("sparsity", "sparsity"), ("|w| threshold", "threshold")],
                                       value=cut_by, description="cut by")
        self.criterion = widgets.Dropdown(options=CRITERIA, value=criterion, description="criterion")
        self.granularity = widgets.Dropdown(options=GRANULARITIES, value=granularity, description="granularity")
        self.scope = widgets.Dropdown(options=[("one global ranking", "global"), ("same in every layer", "layer"),
                                               ("per-layer sliders", "per-layer")],
                                      value="global", description="scope")
        self.tolerance = widgets.FloatSlider(value=tolerance, min=0.0, max=20.0, step=0.5, continuous_update=False,
                                             description="tolerance (points)", style=style,
                                             layout=widgets.Layout(width="440px"))
        self.show_layer = widgets.Dropdown(options=[(f"layer {i + 1}", i) for i in range(self.model.n_layers)],
                                           value=0, description="plot layer")
        self.readout = widgets.HTML()
        self.status = widgets.HTML()
        self.plot = widgets.Output()
        for control in [self.target, *self.layer_targets, self.magnitude_threshold, *self.layer_thresholds,
                        self.cut_by, self.criterion, self.granularity, self.scope, self.tolerance, self.show_layer]:
            control.observe(self.update, names="value")
        pickers = widgets.VBox([self.cut_by, self.criterion, self.granularity, self.scope, self.show_layer])
        sliders = widgets.VBox([self.target, *self.layer_targets, self.magnitude_threshold, *self.layer_thresholds,
                                self.tolerance])
        self.widget = widgets.VBox([widgets.HBox([pickers, sliders]), self.status, self.readout, self.plot])

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ state
    def settings(self) -> Settings:
        """The :class:`Settings` the controls are at now.

        Raises ``ValueError`` when cutting by threshold with another criterion than magnitude
        or another granularity than unstructured: a cut on ``|w|`` is neither.
        """
        if self.cut_by.value == "threshold":
            if (self.criterion.value, self.granularity.value) != ("magnitude", "unstructured"):
                raise ValueError(f"a |w| threshold prunes single weights by magnitude: it needs criterion 'magnitude' "
                                 f"and granularity 'unstructured', not {self.criterion.value!r} and "
                                 f"{self.granularity.value!r}. Pick those, or cut by sparsity.")
            if self.scope.value == "per-layer":
                return threshold_settings(self._dense_weights, [s.value for s in self.layer_thresholds])
            return threshold_settings(self._dense_weights, self.magnitude_threshold.value)
        layer_targets = ()
        if self.scope.value == "per-layer":
            values = [round(s.value, 4) for s in self.layer_targets]
            layer_targets = tuple(values[:-1] if self.granularity.value == "structured" else values)
        return Settings(self.criterion.value, self.granularity.value, self.scope.value, round(self.target.value, 4),
                        layer_targets)

    def pruned(self, settings: Settings):
        """The working model pruned as ``settings`` say (from the cache when possible)."""
        if settings in self._states:
            self._states.move_to_end(settings)
            self.model.set_state(self._states[settings])
            return self.model
        key = (settings.criterion, settings.granularity)
        if key not in self._scores:
            self.model.set_state(self.dense_state)
            self._scores[key] = dense_scores(self.model, settings, self.X_score, self.y_score)
        prune_copy(self.model, self.dense_state, settings, self.X_score, self.y_score, scores=self._scores[key])
        self._states[settings] = self.model.get_state()
        while len(self._states) > self.cache_size:
            self._states.popitem(last=False)
        return self.model

    def curve(self, settings: Settings):
        """``(achieved sparsity, validation accuracy)`` arrays over ``curve_targets``.

        In per-layer mode the reference curve is the "same in every layer" one.
        """
        scope = "layer" if settings.scope == "per-layer" else settings.scope
        key = (settings.criterion, settings.granularity, scope)
        if key not in self._curves:
            x, accuracy = [], []
            for target in self.curve_targets:
                model = self.pruned(Settings(settings.criterion, settings.granularity, scope, target))
                x.append(achieved_sparsity(model, settings.granularity))
                accuracy.append(model.score(self.X_val, self.y_val))
            self._curves[key] = (np.array(x), np.array(accuracy))
        return self._curves[key]

    def threshold(self, layer: int):
        """``(smallest kept |w|, largest pruned |w|)`` in ``layer`` (``None`` where there are none).

        With magnitude scoring the first is above the second: a clean cut. With other criteria
        the two overlap: the cut is not a magnitude threshold.
        """
        dense_W = np.abs(self.dense_state["params"][layer]["W"])
        mask = self.model.masks[layer]["W"]
        kept = dense_W if mask is None else dense_W[mask != 0]
        pruned = np.empty(0) if mask is None else dense_W[mask == 0]
        return (float(kept.min()) if kept.size else None, float(pruned.max()) if pruned.size else None)

    def cut(self, layer: int):
        """The |w| threshold the sliders set for ``layer`` (``None`` when cutting by sparsity)."""
        if self.cut_by.value != "threshold":
            return None
        slider = self.layer_thresholds[layer] if self.scope.value == "per-layer" else self.magnitude_threshold
        return float(slider.value)

    # ------------------------------------------------------------------ the update
    def update(self, change=None) -> None:
        """Prune for the current controls, refresh numbers, readout and plots (timed).

        BLAS is limited to one thread meanwhile: at these matrix sizes a second thread only
        adds hand-off cost, and on a busy machine it can make a product ten times slower.
        """
        start = time.perf_counter()
        with threadpool_limits(limits=1, user_api="blas"):
            self._update()
        if self.error is None:
            self.last_update_seconds = time.perf_counter() - start
            self.update_times.append(self.last_update_seconds)

    def _show_sliders(self) -> None:
        """Enable and show the sliders that the cut mode and scope use; disable and hide the rest."""
        per_layer = self.scope.value == "per-layer"
        by_threshold = self.cut_by.value == "threshold"
        structured = self.granularity.value == "structured"
        last = len(self.layer_targets) - 1
        active = {id(self.target): not by_threshold and not per_layer,
                  id(self.magnitude_threshold): by_threshold and not per_layer}
        active.update({id(s): not by_threshold and per_layer and not (i == last and structured)
                       for i, s in enumerate(self.layer_targets)})
        active.update({id(s): by_threshold and per_layer for s in self.layer_thresholds})
        for slider in [self.target, *self.layer_targets, self.magnitude_threshold, *self.layer_thresholds]:
            slider.disabled = not active[id(slider)]
            slider.layout.display = None if active[id(slider)] else "none"

    def _update(self) -> None:
        self._show_sliders()
        start = time.perf_counter()
        try:
            settings = self.settings()
            model = self.pruned(settings)
            curve_x, curve_accuracy = self.curve(settings)
            model = self.pruned(settings)  # the curve moved the working model
        except (ValueError, TypeError) as exc:
            self.error = str(exc)
            self.status.value = f'<p style="color:#b00020"><b>Cannot prune with these settings:</b> ' \
                                f'{html.escape(self.error)}</p>'
            return
        self.error = None
        self.status.value = ""
        pruned = time.perf_counter()
        self.numbers = model_numbers(model, self.X_val, self.y_val, self.latency_repeats)
        self.numbers["threshold"] = self.threshold(self.show_layer.value)
        self.numbers["cut"] = self.cut(self.show_layer.value)
        self.numbers["layer_sparsity"] = layer_sparsities(model)
        self.readout.value = self._readout_html()
        measured = time.perf_counter()
        self._draw(settings, curve_x, curve_accuracy)
        self.stage_seconds = {"prune": pruned - start, "numbers": measured - pruned,
                              "draw": time.perf_counter() - measured}

    def _readout_html(self) -> str:
        n = self.numbers
        drop = 100 * (self.baseline - n["accuracy"])
        tolerance = self.tolerance.value
        unit = "point" if tolerance == 1 else "points"
        verdict = ("within" if drop <= tolerance else "outside") + f" the tolerance of {tolerance:g} {unit}"
        kept, cut = n["threshold"]
        layer = self.show_layer.value + 1
        threshold = f"layer {layer}: "
        if n["cut"] is not None:
            threshold += f"cut at |w| < {n['cut']:.4f}; "
        threshold += f"smallest kept |w| = {kept:.5f}" if kept is not None else "every weight pruned"
        if cut is not None:
            threshold += f", largest pruned |w| = {cut:.5f}"
        rows = [
            ("validation accuracy", f"{100 * n['accuracy']:.2f}% (dense {100 * self.baseline:.2f}%, "
                                    f"drop {drop:.2f} points: {verdict})"),
            ("weights pruned", f"{100 * n['sparsity']:.1f}%; hidden neurons removed {100 * n['neuron_sparsity']:.1f}%"),
            ("threshold", threshold),
            ("parameters", f"{n['params']:,} stored, {n['nonzeros']:,} non-zero"),
            ("bytes", f"dense {n['bytes_dense']:,}, CSR {n['bytes_csr']:,}"),
            ("FLOPs per sample", f"dense {n['flops_dense']:,}, non-zero only {n['flops_nonzero']:,}"),
            ("latency (validation set)", f"{1000 * n['latency']:.2f} ms masked dense"),
            ("after surgery", f"layers {n['shrunk_layer_sizes']}, {n['shrunk_params']:,} parameters, "
                              f"{n['shrunk_flops']:,} FLOPs, {1000 * n['shrunk_latency']:.2f} ms"),
        ]
        body = "".join(f"<tr><td style='padding-right:1em'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                       for k, v in rows)
        return f"<table class='adaprune-readout'>{body}</table>"

    def _draw(self, settings: Settings, curve_x, curve_accuracy) -> None:
        layer = self.show_layer.value
        mask = self.model.masks[layer]["W"]
        mask = np.ones_like(self.dense_state["params"][layer]["W"]) if mask is None else mask
        kept, cut = self.numbers["threshold"]
        clean_cut = settings.criterion == "magnitude" and settings.granularity == "unstructured" and cut is not None
        line = self.numbers["cut"] if self.numbers["cut"] is not None else (kept if clean_cut else None)
        structured = settings.granularity == "structured"
        removed = [float(np.mean(~alive)) for alive in neuron_masks(self.model)]
        image = self._figure.update(
            layer, mask, line, curve_x, curve_accuracy,
            current=(achieved_sparsity(self.model, settings.granularity), self.numbers["accuracy"]),
            baseline=self.baseline, tolerance=self.tolerance.value,
            xlabel="fraction of hidden neurons removed" if structured else "fraction of weights pruned",
            title=f"Accuracy vs sparsity ({settings.criterion}, {settings.granularity})",
            layer_sparsity=self.numbers["layer_sparsity"],
            neurons_removed=None if settings.granularity == "unstructured" else removed)
        self.plot.outputs = ()
        self.plot.append_display_data(Image(data=image, format="png"))
