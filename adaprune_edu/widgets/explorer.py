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
scope). Data-driven criteria are scored on one batch of ``score_samples`` training samples. Each update
measures itself in :attr:`PruningExplorer.last_update_seconds`.

The logic is testable without a browser: set ``explorer.target.value = 0.8`` and read
``explorer.numbers``, ``explorer.readout.value`` and ``explorer.plot.outputs``.
"""
from __future__ import annotations

import html
import time
from collections import OrderedDict
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from IPython.display import Image
from threadpoolctl import threadpool_limits

from .._checks import check_choice, check_features, check_float, check_int, check_labels
from ..metrics import (
    bytes_csr,
    bytes_dense,
    count_nonzeros,
    count_params,
    flops_per_sample,
    measure_latency,
)
from ..pruning.model import (
    CRITERIA,
    GRANULARITIES,
    global_sparsity,
    layer_sparsities,
    neuron_masks,
    neuron_scores,
    neuron_sparsity,
    prune_to_sparsity,
    weight_scores,
)
from ..pruning.surgery import shrink
from . import plots

SCOPES = ("global", "layer", "per-layer")
#: sparsities at which the accuracy curve is measured
CURVE_TARGETS = (0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)


@dataclass(frozen=True)
class Settings:
    """One position of the controls: what to prune, how, and how much.

    ``scope="per-layer"`` uses ``layer_targets`` (one per dense layer for unstructured, one
    per hidden layer for structured); otherwise ``target`` applies globally ("global": one
    ranking over all layers) or in every layer ("layer").
    """

    criterion: str = "magnitude"
    granularity: str = "unstructured"
    scope: str = "global"
    target: float = 0.5
    layer_targets: tuple = ()


def dense_scores(model, settings: Settings, X_score, y_score):
    """Importance scores of the dense ``model`` for ``settings``' criterion, or ``None`` for hybrid.

    One array per dense layer (unstructured) or per hidden layer (structured), exactly what
    :func:`~adaprune_edu.pruning.prune_to_sparsity` would compute itself from the dense
    model, so they can be computed once and reused for every target.
    """
    options = dict(X=X_score, y=y_score, batch_size=len(X_score), n_batches=1)
    if settings.granularity == "unstructured":
        return weight_scores(model, settings.criterion, **options)
    if settings.granularity == "structured":
        return neuron_scores(model, settings.criterion, **options)
    return None


def prune_copy(model, dense_state, settings: Settings, X_score, y_score, scores=None):
    """Reset ``model`` to ``dense_state`` and prune it as ``settings`` say; return it.

    The one place the explorer calls the pruning library. ``X_score``, ``y_score`` is the
    batch that data-driven criteria (gradient, Taylor, activation, APoZ) are scored on;
    ``scores`` are precomputed :func:`dense_scores` (``None``: computed by the library).
    """
    if settings.scope == "per-layer" and settings.granularity == "hybrid":
        raise ValueError("granularity='hybrid' prunes to one target (neurons first, then weights); per-layer "
                         "sliders work with 'unstructured' and 'structured'. Pick another scope or granularity.")
    model.set_state(dense_state)
    if settings.scope == "per-layer":
        scope, target = list(settings.layer_targets), None
    else:
        scope, target = settings.scope, settings.target
    return prune_to_sparsity(model, target, criterion=settings.criterion, granularity=settings.granularity,
                             scope=scope, X=X_score, y=y_score, batch_size=len(X_score), n_batches=1,
                             scores=scores)


def achieved_sparsity(model, granularity: str) -> float:
    """What the slider controls: fraction of hidden neurons removed (structured) or of weights pruned."""
    return neuron_sparsity(model) if granularity == "structured" else global_sparsity(model)


def model_numbers(model, X, y, latency_repeats: int = 5) -> dict:
    """Accuracy and costs of ``model`` on ``(X, y)``, plus the same after structured surgery.

    Latency is the median time to predict all of ``X`` (seconds); it varies from run to run.
    """
    small = shrink(model)
    return {
        "accuracy": model.score(X, y),
        "sparsity": global_sparsity(model),
        "neuron_sparsity": neuron_sparsity(model),
        "params": count_params(model),
        "nonzeros": count_nonzeros(model),
        "bytes_dense": bytes_dense(model),
        "bytes_csr": bytes_csr(model),
        "flops_dense": flops_per_sample(model),
        "flops_nonzero": flops_per_sample(model, sparse=True),
        "latency": measure_latency(model.predict, X, repeats=latency_repeats, warmup=1),
        "shrunk_layer_sizes": list(small.layer_sizes),
        "shrunk_params": count_params(small),
        "shrunk_flops": flops_per_sample(small),
        "shrunk_latency": measure_latency(small.predict, X, repeats=latency_repeats, warmup=1),
    }


def _split_data(data):
    """``(X_train, y_train, X_val, y_val)`` from a Dataset or a 4-tuple."""
    if hasattr(data, "X_train") and hasattr(data, "X_val"):
        return data.X_train, data.y_train, data.X_val, data.y_val
    if isinstance(data, (tuple, list)) and len(data) == 4:
        return tuple(data)
    raise TypeError(f"data={type(data).__name__} must be a Dataset (from load_dataset) or a tuple "
                    "(X_train, y_train, X_val, y_val)")


class PruningExplorer:
    """Controls, plots and numbers for pruning a trained ``model`` interactively.

    Parameters
    ----------
    model : MLP
        A trained network; it is copied, never modified.
    data : Dataset or tuple (X_train, y_train, X_val, y_val)
        Accuracy is measured on the validation split; data-driven criteria are scored on
        the first ``score_samples`` training samples.
    criterion, granularity : initial picker values (see :data:`CRITERIA`, :data:`GRANULARITIES`)
    target : float in [0, 0.99], initial sparsity
    tolerance : float in [0, 20], accuracy drop allowed, in percentage points
    score_samples : int >= 1
    latency_repeats : int >= 1, runs per latency measurement (median)
    cache_size : int >= 1, pruned states kept
    curve_targets : sequence of float in [0, 0.99], where the accuracy curve is measured
    """

    def __init__(self, model, data, criterion="magnitude", granularity="unstructured", target=0.5,
                 tolerance=1.0, score_samples=512, latency_repeats=5, cache_size=64, curve_targets=CURVE_TARGETS):
        check_choice("criterion", criterion, CRITERIA)
        check_choice("granularity", granularity, GRANULARITIES)
        target = check_float("target", target, minimum=0.0, maximum=0.99)
        tolerance = check_float("tolerance", tolerance, minimum=0.0, maximum=20.0)
        score_samples = check_int("score_samples", score_samples, minimum=1)
        self.latency_repeats = check_int("latency_repeats", latency_repeats, minimum=1)
        self.cache_size = check_int("cache_size", cache_size, minimum=1)
        if isinstance(curve_targets, (str, bytes)) or not hasattr(curve_targets, "__len__") or not curve_targets:
            raise TypeError(f"curve_targets={curve_targets!r} must be a non-empty sequence of sparsities")
        self.curve_targets = tuple(check_float(f"curve_targets[{i}]", t, minimum=0.0, maximum=0.99)
                                   for i, t in enumerate(curve_targets))
        if model.n_layers < 2:
            raise ValueError(f"model has {model.n_layers} layer(s); the explorer needs at least one hidden layer")
        X_train, y_train, X_val, y_val = _split_data(data)
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
        self._build_controls(criterion, granularity, target, tolerance)
        self.update()

    # ------------------------------------------------------------------ layout
    def _build_controls(self, criterion, granularity, target, tolerance):
        style = {"description_width": "140px"}
        layout = widgets.Layout(width="440px")
        slider = dict(min=0.0, max=0.99, step=0.01, continuous_update=False, readout_format=".2f", style=style,
                      layout=layout)
        self.target = widgets.FloatSlider(value=target, description="sparsity", **slider)
        sizes = self.model.layer_sizes
        self.layer_targets = [
            widgets.FloatSlider(value=target, description=f"layer {i + 1} ({sizes[i]}→{sizes[i + 1]})", **slider)
            for i in range(self.model.n_layers)
        ]
        self.criterion = widgets.Dropdown(options=CRITERIA, value=criterion, description="criterion")
        self.granularity = widgets.Dropdown(options=GRANULARITIES, value=granularity, description="granularity")
        self.scope = widgets.Dropdown(options=[("one global ranking", "global"), ("same in every layer", "layer"),
                                               ("per-layer sliders", "per-layer")],
                                      value="global", description="scope")
        self.tolerance = widgets.FloatSlider(value=tolerance, min=0.0, max=20.0, step=0.5, continuous_update=False,
                                             description="tolerance (points)", style=style, layout=layout)
        self.show_layer = widgets.Dropdown(options=[(f"layer {i + 1}", i) for i in range(self.model.n_layers)],
                                           value=0, description="plot layer")
        self.readout = widgets.HTML()
        self.status = widgets.HTML()
        self.plot = widgets.Output()
        for control in [self.target, *self.layer_targets, self.criterion, self.granularity, self.scope,
                        self.tolerance, self.show_layer]:
            control.observe(self.update, names="value")
        pickers = widgets.VBox([self.criterion, self.granularity, self.scope, self.show_layer])
        sliders = widgets.VBox([self.target, *self.layer_targets, self.tolerance])
        self.widget = widgets.VBox([widgets.HBox([pickers, sliders]), self.status, self.readout, self.plot])

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ state
    def settings(self) -> Settings:
        """The :class:`Settings` the controls are at now."""
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

    def _update(self) -> None:
        per_layer = self.scope.value == "per-layer"
        self.target.disabled = per_layer
        for i, slider in enumerate(self.layer_targets):
            output_layer = i == len(self.layer_targets) - 1
            slider.disabled = not per_layer or (output_layer and self.granularity.value == "structured")
        settings = self.settings()
        start = time.perf_counter()
        try:
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
        threshold = (f"layer {layer}: smallest kept |w| = {kept:.4f}" if kept is not None else
                     f"layer {layer}: every weight pruned")
        if cut is not None:
            threshold += f", largest pruned |w| = {cut:.4f}"
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
        structured = settings.granularity == "structured"
        removed = [float(np.mean(~alive)) for alive in neuron_masks(self.model)]
        image = self._figure.update(
            layer, mask, kept if clean_cut else None, curve_x, curve_accuracy,
            current=(achieved_sparsity(self.model, settings.granularity), self.numbers["accuracy"]),
            baseline=self.baseline, tolerance=self.tolerance.value,
            xlabel="fraction of hidden neurons removed" if structured else "fraction of weights pruned",
            title=f"Accuracy vs sparsity ({settings.criterion}, {settings.granularity})",
            layer_sparsity=self.numbers["layer_sparsity"],
            neurons_removed=None if settings.granularity == "unstructured" else removed)
        self.plot.outputs = ()
        self.plot.append_display_data(Image(data=image, format="png"))
