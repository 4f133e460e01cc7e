"""Preallocated arrays for the training loop: allocate once, reuse for every batch.

An epoch runs the same computation on batch after batch of the same shape. Written
naively, NumPy allocates fresh arrays for every intermediate result of every batch: the
pre-activations, the im2col columns, the back-propagated gradients, the parameter gradients.
A :class:`Workspace` holds one scratch dict per layer, and each layer writes into the arrays
it finds there (see :func:`adaprune_edu.nn.layers.base.buffer`) instead of allocating new
ones. Not a single number changes; only the time spent asking the memory allocator (and
touching fresh memory) goes away.

An epoch needs at most two workspaces: one for the full batches and one for the last,
shorter batch when ``batch_size`` does not divide ``n_samples``.
"""
from __future__ import annotations

import numpy as np


def param_layout(params) -> tuple:
    """The keys, shapes and dtypes of ``params``: a workspace built for one layout fits only it.

    Pruning by surgery (physically removing neurons or channels) changes the shapes between
    epochs; the training loop then builds new workspaces.
    """
    return tuple(tuple((key, value.shape, value.dtype) for key, value in p.items()) for p in params)


class Workspace:
    """Buffers for one batch size of one network.

    Parameters
    ----------
    layers : list of layers, the network's top-level layers (one scratch dict each)
    n_samples : int, the batch size these buffers are for
    sample_shape : tuple, the shape of one input sample, e.g. ``(64,)`` or ``(8, 8, 1)``
    dtype : the network's dtype

    Attributes
    ----------
    X : ndarray of shape (n_samples, *sample_shape)
        The batch's inputs, gathered here from the shuffled training set.
    y : ndarray of shape (n_samples,)
        The batch's labels.
    layers : list of dicts, one per top-level layer: that layer's scratch arrays (filled on
        first use: ``"Z"``, ``"dW"``, ``"cols"``, ...), which include the gradients it returns.
    """

    def __init__(self, layers, n_samples: int, sample_shape: tuple, dtype):
        self.n_samples = n_samples
        self.X = np.empty((n_samples, *sample_shape), dtype=dtype)
        self.y = np.empty(n_samples, dtype=np.int64)
        self.layers = [{} for _ in layers]
