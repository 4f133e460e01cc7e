"""The experiments of notebook 11 and ``benchmarks/bench_training_methods.py``, one per method.

Each function runs one seed of one method family on a dataset and returns plain numbers
(test accuracies in [0, 1] per arm), so a notebook can loop over seeds and plot mean and
spread, and the benchmark can run the same code at the prototype's full size.
"""
from __future__ import annotations

import numpy as np

from ..data import Dataset
from ..nn import MLP
from .at_init import prune_at_init, shuffle_within_layers
from .lottery import find_tickets, random_masks_like, reinitialised, rewind
from .movement import GradualPruning, cubic_schedule, with_new_head
from .sparse_training import DynamicSparseTraining, erk_densities, random_masks, training_macs
from .trial import set_weight_masks, train_and_measure

__all__ = ["HIDDEN", "class_subset", "lottery_experiment", "at_init_experiment", "sparse_training_experiment",
           "movement_experiment", "mean_std"]

#: the prototype's network: [n_features, 300, 100, n_classes]
HIDDEN = (300, 100)


def mean_std(values) -> tuple:
    """``(mean, std)`` of a list of numbers (population std, ``ddof=0``)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std())


def class_subset(data, classes) -> Dataset:
    """The samples of ``data`` whose label is in ``classes``, relabelled 0, 1, ... in that order."""
    classes = list(classes)
    lookup = {c: i for i, c in enumerate(classes)}
    def pick(X, y):
        keep = np.isin(y, classes)
        return X[keep], np.array([lookup[int(c)] for c in y[keep]], dtype=np.int64)
    parts = [a for X, y in ((data.X_train, data.y_train), (data.X_val, data.y_val), (data.X_test, data.y_test))
             for a in pick(X, y)]
    return Dataset(f"{data.name}{classes}", *parts, mean=data.mean, scale=data.scale)


def lottery_experiment(data, seed, epochs, rate, rounds, control_rounds, long_factor=3, long_rounds=None,
                       long_controls=("reinit", "random_mask")) -> dict:
    """IMP with rewinding to init, and the two controls at the rounds in ``control_rounds``.

    Returns
    -------
    dict with ``densities`` and ``ticket`` (lists over rounds 0..rounds, round 0 dense),
    ``ticket_iteration`` (early-stopping iterations), and for each control round ``k``:
    ``reinit[k]``, ``random_mask[k]``, ``reinit_iteration[k]`` (same epochs) and, for ``k`` in
    ``long_rounds`` (default: all control rounds), ``reinit_long[k]`` and ``random_mask_long[k]``
    (only the arms in ``long_controls``) after ``long_factor`` times the epochs.
    """
    model = MLP(data.default_layer_sizes(HIDDEN), seed=seed)
    initial = model.get_state()["params"]
    result = find_tickets(model, data, rounds=rounds, epochs=epochs, rate=rate, controls=False, seed=seed)
    out = {"densities": result.densities, "ticket": [t.test_accuracy for t in result.ticket],
           "ticket_iteration": [t.early_stop_iteration for t in result.ticket], "reinit": {}, "random_mask": {},
           "reinit_long": {}, "random_mask_long": {}, "reinit_iteration": {}}
    long_rounds = control_rounds if long_rounds is None else long_rounds
    rng = np.random.default_rng(seed + 10_000)
    for k in control_rounds:
        masks = result.masks[k]
        reinit_seed, mask_seed = (int(s) for s in rng.integers(2**31, size=2))
        runs = [("", epochs, ("reinit", "random_mask"))]
        if long_factor and k in long_rounds:
            runs.append(("_long", long_factor * epochs, long_controls))
        for suffix, n_epochs, arms in runs:
            if "reinit" in arms:
                trial = train_and_measure(reinitialised(model, masks, reinit_seed), data, n_epochs)
                out["reinit" + suffix][k] = trial.test_accuracy
                if not suffix:
                    out["reinit_iteration"][k] = trial.early_stop_iteration
            if "random_mask" in arms:
                control = MLP(model.layer_sizes, seed=seed)
                rewind(control, initial, random_masks_like(masks, mask_seed))
                out["random_mask" + suffix][k] = train_and_measure(control, data, n_epochs).test_accuracy
    return out


def at_init_experiment(data, seed, density, epochs, methods=("snip", "grasp", "synflow", "magnitude", "random"),
                       shuffled=("snip", "synflow"), batch=640) -> dict:
    """Prune at initialisation to ``density`` (global), train, return test accuracy per arm.

    Arms are the method names, plus ``"<name>_shuffled"`` (its mask shuffled within each
    layer) for each name in ``shuffled``; ``layer_density[name]`` gives each layer's kept fraction.
    """
    layer_sizes = data.default_layer_sizes(HIDDEN)
    X, y = data.X_train[:batch], data.y_train[:batch]
    out = {"accuracy": {}, "layer_density": {}}
    for name in list(methods) + [f"{m}_shuffled" for m in shuffled]:
        method = name.removesuffix("_shuffled")
        model = MLP(layer_sizes, seed=seed)
        masks = prune_at_init(model, method, density, X, y, seed=seed)
        if name.endswith("_shuffled"):
            masks = shuffle_within_layers(masks, seed=seed)
        set_weight_masks(model, masks)
        out["layer_density"][name] = [float(m.mean()) for m in masks]
        out["accuracy"][name] = train_and_measure(model, data, epochs).test_accuracy
    return out


def sparse_training_experiment(data, seed, density, epochs, methods=("static", "set", "rigl")) -> dict:
    """Train from scratch at ``density`` (ERK per layer): static random mask, SET, RigL.

    Returns ``accuracy[arm]`` and ``macs_ratio[arm]``, training multiply-adds relative to
    dense training for the same epochs (see :func:`training_macs`).
    """
    layer_sizes = data.default_layer_sizes(HIDDEN)
    densities = erk_densities(layer_sizes, density)
    n_samples = len(data.y_train)
    out = {"accuracy": {}, "macs_ratio": {}, "densities": densities}
    for arm in methods:
        model = MLP(layer_sizes, seed=seed)
        masks = random_masks(layer_sizes, densities, seed=seed)
        set_weight_masks(model, masks)
        callbacks = [] if arm == "static" else [DynamicSparseTraining(arm, data.X_train, data.y_train, epochs,
                                                                      seed=seed)]
        out["accuracy"][arm] = train_and_measure(model, data, epochs, callbacks=callbacks).test_accuracy
        dense = sum(p["W"].size for p in model.params)
        active = int(sum(m.sum() for m in masks))
        extra = callbacks[0].dense_gradient_samples_ if callbacks else 0
        macs = training_macs(active, n_samples, epochs, dense_weights=dense, dense_gradient_samples=extra)
        out["macs_ratio"][arm] = macs / training_macs(dense, n_samples, epochs)
    return out


def movement_experiment(data, seed, sparsities, epochs, transfer=True, criteria=("movement", "magnitude")) -> dict:
    """Movement vs magnitude pruning under the same cubic schedule; hidden layers pruned, head dense.

    ``transfer=True``: pretrain on classes 0-4 for ``epochs``, then fine-tune with pruning on
    classes 5-9 with a new head. ``transfer=False``: prune while training from scratch on all classes.

    Returns ``accuracy[criterion][sparsity]`` (test accuracy on the task pruned for) and
    ``pretrained`` (the pretrained model's accuracy on classes 0-4, transfer only).
    """
    layer_sizes = data.default_layer_sizes(HIDDEN)
    out = {"accuracy": {c: {} for c in criteria}}
    if transfer:
        source, target = class_subset(data, range(5)), class_subset(data, range(5, 10))
        pretrained = MLP(layer_sizes[:-1] + [5], seed=seed)
        out["pretrained"] = train_and_measure(pretrained, source, epochs).test_accuracy
    else:
        target = data
    steps = epochs * -(-len(target.y_train) // 64)
    hidden_layers = list(range(len(layer_sizes) - 2))
    for criterion in criteria:
        for sparsity in sparsities:
            model = with_new_head(pretrained, 5, seed + 1) if transfer else MLP(layer_sizes, seed=seed)
            optimizer = GradualPruning(model, cubic_schedule(sparsity, steps), criterion, hidden_layers, "adam", 1e-3)
            out["accuracy"][criterion][sparsity] = train_and_measure(model, target, epochs,
                                                                     optimizer=optimizer).test_accuracy
    return out
