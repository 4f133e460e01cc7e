"""Sensitivity analysis: how much accuracy does each layer lose when it alone is pruned?

For every layer and every sparsity of a grid, prune that layer only (no fine-tuning),
measure validation accuracy, and restore the model. Layers whose accuracy holds up to high
sparsity can take a larger share of the pruning; fragile layers (often the first and the
last) should be spared. This is Distiller's ``sensitivity_analysis`` and the per-layer scan
of MIT 6.5940's Lab 1; the adaptive controller can derive per-layer budgets from it.

>>> table = sensitivity_scan(model, X_val, y_val, sparsities=(0.5, 0.8, 0.9))   # doctest: +SKIP
>>> print(table.to_text())                                                      # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import check_choice, check_float, check_labels
from .groups import layer_groups
from .model import layer_sparsities, neuron_masks, prune_to_sparsity
from .registry import REGISTRY, weight_layers

#: The default grid: coarse where little happens, fine where accuracy usually breaks.
DEFAULT_SPARSITIES = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98)


@dataclass
class SensitivityTable:
    """The result of :func:`sensitivity_scan`.

    ``rows`` holds one dict per (layer, sparsity): ``layer`` (index of the dense layer for
    unstructured, of the hidden layer for structured), ``sparsity`` (the requested one),
    ``achieved`` (fraction of that layer's weights or neurons actually pruned),
    ``val_accuracy`` and ``drop`` (baseline minus accuracy, in [0, 1] units).
    """

    baseline: float
    granularity: str
    criterion: str
    rows: list = field(default_factory=list)

    @property
    def layers(self) -> list:
        return sorted({row["layer"] for row in self.rows})

    def curve(self, layer: int):
        """``(sparsities, accuracies)`` of one layer, as arrays, for plotting."""
        rows = [row for row in self.rows if row["layer"] == layer]
        if not rows:
            raise ValueError(f"layer={layer!r} is not in this table; layers: {self.layers}")
        return np.array([r["sparsity"] for r in rows]), np.array([r["val_accuracy"] for r in rows])

    def max_sparsity(self, tolerance: float) -> list:
        """Per layer, the largest grid sparsity whose drop stays within ``tolerance``.

        The scan is monotone in spirit but noisy in practice; we take the largest sparsity
        *before* the first violation, so a lucky point after a failure does not count.
        Returns 0.0 for a layer that fails at the smallest grid sparsity.
        """
        tolerance = check_float("tolerance", tolerance, minimum=0.0, maximum=1.0)
        allowed = []
        for layer in self.layers:
            best = 0.0
            for row in (r for r in self.rows if r["layer"] == layer):
                if row["drop"] > tolerance + 1e-12:
                    break
                best = row["sparsity"]
            allowed.append(best)
        return allowed

    def to_text(self) -> str:
        """A layer-by-sparsity grid of validation accuracies, in percent."""
        sparsities = sorted({row["sparsity"] for row in self.rows})
        lookup = {(r["layer"], r["sparsity"]): r["val_accuracy"] for r in self.rows}
        kind = "dense layer" if self.granularity == "unstructured" else "hidden layer"
        lines = [f"sensitivity ({self.granularity}, {self.criterion}); baseline val accuracy {self.baseline:.2%}",
                 f"{kind:<13}" + "".join(f"{s:>8.0%}" for s in sparsities)]
        for layer in self.layers:
            lines.append(f"{layer:<13}" + "".join(f"{100 * lookup[(layer, s)]:>8.2f}" for s in sparsities))
        return "\n".join(lines)


def sensitivity_scan(model, X_val, y_val, sparsities=DEFAULT_SPARSITIES, criterion="magnitude",
                     granularity="unstructured", X_score=None, y_score=None, seed=0) -> SensitivityTable:
    """Prune one layer at a time over a grid of sparsities and evaluate; the model is never changed.

    Parameters
    ----------
    model : MLP or Sequential (a CNN)
        A trained (possibly already pruned) network; each measurement prunes a copy.
    X_val : ndarray of shape (n_samples, n_features), or images (n_samples, H, W, C) for a CNN
    y_val : ndarray of shape (n_samples,)
    sparsities : sequence of floats in (0, 1]
        Per-layer sparsities to try: fraction of the layer's weights (unstructured) or of its
        groups -- neurons or channels -- (structured). Sparsities already exceeded by existing
        masks change nothing.
    criterion : a name in ``registry.REGISTRY``
        The gradient-based ones score on ``(X_score, y_score)``; activation-based on ``X_score``.
    granularity : {"unstructured", "structured"}
        Unstructured scans every Dense/Conv2D layer; structured every layer of groups
        (:func:`.groups.layer_groups`: hidden layers, convolutions' channels, residual ties).
    X_score, y_score : arrays, optional
        Data for data-driven criteria (e.g. a training batch); defaults to the validation data.
    seed : int, for criterion="random"

    Returns
    -------
    SensitivityTable
    """
    if not isinstance(getattr(model, "layers", None), list) or not hasattr(model, "_check_X"):
        raise TypeError(f"model must be an adaprune_edu.nn.MLP or Sequential, got {type(model).__name__}")
    X_val = model._check_X("X_val", X_val)
    y_val = check_labels("y_val", y_val, X_val.shape[0], model.n_classes)
    check_choice("criterion", criterion, tuple(REGISTRY))
    check_choice("granularity", granularity, {"unstructured", "structured"})
    if isinstance(sparsities, (str, bytes)) or not hasattr(sparsities, "__iter__"):
        raise TypeError(f"sparsities={sparsities!r} must be a sequence of floats in (0, 1]")
    sparsities = sorted(check_float(f"sparsities[{i}]", s, minimum=0.0, maximum=1.0, strict_min=True)
                        for i, s in enumerate(sparsities))
    if not sparsities:
        raise ValueError("sparsities is empty; give at least one sparsity in (0, 1]")
    if X_score is None:
        X_score, y_score = X_val, y_val
    n_groups = len(weight_layers(model)) if granularity == "unstructured" else len(layer_groups(model))
    if n_groups == 0:
        raise ValueError("granularity='structured' scans hidden layers, but this model has none")

    table = SensitivityTable(baseline=model.score(X_val, y_val), granularity=granularity, criterion=criterion)
    for layer in range(n_groups):
        for sparsity in sparsities:
            trial = model.copy()  # the input model is never touched
            targets = [0.0] * n_groups
            targets[layer] = sparsity
            prune_to_sparsity(trial, None, criterion=criterion, granularity=granularity, scope=targets,
                              X=X_score, y=y_score, seed=seed)
            accuracy = trial.score(X_val, y_val)
            table.rows.append({"layer": layer, "sparsity": sparsity, "achieved": _achieved(trial, layer, granularity),
                               "val_accuracy": accuracy, "drop": table.baseline - accuracy})
    return table


def _achieved(model, layer: int, granularity: str) -> float:
    """Fraction of ``layer``'s weights (unstructured) or neurons (structured) now pruned."""
    if granularity == "unstructured":
        return layer_sparsities(model)[layer]
    return float(1.0 - np.mean(neuron_masks(model)[layer]))
