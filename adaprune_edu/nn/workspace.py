"""Preallocated arrays for the training loop: allocate once, reuse for every batch.

An epoch runs the same computation on batch after batch of the same shape. Written
naively, NumPy allocates fresh arrays for every intermediate result of every batch: the
pre-activations ``Z``, the back-propagated gradients ``dA``, the parameter gradients
``dW`` and ``db``. A :class:`Workspace` allocates them once per batch size, and the
layers write into them through their ``out=`` arguments. Not a single number changes;
only the time spent asking the memory allocator (and touching fresh memory) goes away.

An epoch needs at most two workspaces: one for the full batches and one for the last,
shorter batch when ``batch_size`` does not divide ``n_samples``.
"""
from __future__ import annotations

import numpy as np


def param_layout(params) -> tuple:
    """The shapes and dtype of ``params``: a workspace built for one layout fits only it.

    Pruning by surgery (physically removing neurons) changes the shapes between epochs;
    the training loop then builds new workspaces.
    """
    return tuple((p["W"].shape, p["W"].dtype) for p in params)


class Workspace:
    """Buffers for one batch size of one network.

    Parameters
    ----------
    params : list of dicts ``{"W": (n_in, n_out), "b": (n_out,)}``
        The network's parameters (only their shapes and dtype are used).
    n_samples : int
        The batch size these buffers are for.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        The batch's inputs, gathered here from the shuffled training set.
    y : ndarray of shape (n_samples,)
        The batch's labels.
    Z : list of ndarrays of shape (n_samples, n_out), one per layer
        Pre-activations; hidden layers' activations overwrite them in place.
    dA : list, ``None`` for the first layer, then ndarrays of shape (n_samples, n_in)
        Gradients with respect to each layer's input (the first layer's input is data).
    grads : list of dicts ``{"W": (n_in, n_out), "b": (n_out,)}``
        Parameter gradients, in the same structure as ``params``.
    """

    def __init__(self, params, n_samples: int):
        dtype = params[0]["W"].dtype
        shapes = [p["W"].shape for p in params]
        self.n_samples = n_samples
        self.X = np.empty((n_samples, shapes[0][0]), dtype=dtype)
        self.y = np.empty(n_samples, dtype=np.int64)
        self.Z = [np.empty((n_samples, n_out), dtype=dtype) for _, n_out in shapes]
        self.dA = [None] + [np.empty((n_samples, n_in), dtype=dtype) for n_in, _ in shapes[1:]]
        self.grads = [{"W": np.empty((n_in, n_out), dtype=dtype), "b": np.empty(n_out, dtype=dtype)}
                      for n_in, n_out in shapes]
