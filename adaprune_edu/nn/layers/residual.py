"""A residual block: ``out = F(X) + X``, or ``F(X) + P(X)`` with a projection ``P``.

``F`` is an inner list of layers; ``P`` (optional) is usually a 1x1 ``Conv2D`` that makes the
skip path's channels (and stride) match ``F``'s output. Backward sends ``dout`` down both paths
and adds what comes back: ``dX = dF/dX(dout) + dP/dX(dout)`` (``dout`` itself for the identity).

The block's parameters are those of the inner layers, in order, then the projection's: the
network's ``params`` list holds one dict for each, and the block receives them as a list.
"""
from __future__ import annotations

import numpy as np

from .base import Layer, buffer
from .chain import backward_chain, forward_chain


class Residual(Layer):
    """``Residual(layers, projection=None)``: the inner layers' output plus the (projected) input.

    Parameters
    ----------
    layers : list of layers, the residual branch ``F``
    projection : layer or None
        ``None`` is the identity skip (``F`` must keep the input's shape); otherwise a layer
        (typically ``Conv2D(c_in, c_out, 1)``) applied to the input on the skip path.

    Shapes: ``X`` -> ``F(X)`` (which must equal the skip path's shape); cache
    ``(inner caches, projection cache)``.
    """

    is_container = True

    def __init__(self, layers, projection=None):
        if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)) or not layers:
            raise TypeError(f"layers={layers!r} must be a non-empty list of layers")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}]={layer!r} is not a layer")
        if projection is not None and not isinstance(projection, Layer):
            raise TypeError(f"projection={projection!r} must be a layer (e.g. Conv2D(c_in, c_out, 1)) or None")
        self.layers = list(layers)
        self.projection = projection

    @property
    def children(self) -> list:
        """The inner layers, then the projection (if any): the order of this block's params."""
        return self.layers + ([] if self.projection is None else [self.projection])

    @property
    def n_param_dicts(self) -> int:
        return sum(layer.n_param_dicts for layer in self.children)

    @property
    def input_ndim(self):
        return self.layers[0].input_ndim

    def init_params(self, rng, dtype) -> list:
        params = []
        for layer in self.children:
            share = layer.init_params(rng, dtype)
            if getattr(layer, "is_container", False):
                params.extend(share)
            elif layer.n_param_dicts:
                params.append(share)
        return params

    def _split(self, params):
        n_inner = sum(layer.n_param_dicts for layer in self.layers)
        inner, rest = params[:n_inner], params[n_inner:]
        if self.projection is None or getattr(self.projection, "is_container", False):
            return inner, rest
        return inner, (rest[0] if rest else None)

    def _scratches(self, scratch):
        if scratch is None:
            return None, None
        inner = scratch.setdefault("inner", [{} for _ in self.layers])
        return inner, scratch.setdefault("projection", {})

    def forward(self, params, X, training=False, scratch=None):
        inner_params, projection_params = self._split(params)
        inner_scratch, projection_scratch = self._scratches(scratch)
        branch, inner_caches = forward_chain(self.layers, inner_params, X, training, inner_scratch)
        projection_cache = None
        if self.projection is None:
            skip = X
        else:
            skip, projection_cache = self.projection.forward(projection_params, X, training, projection_scratch)
        if branch.shape != skip.shape:
            raise ValueError(f"Residual: the branch gives shape {branch.shape} but the skip path {skip.shape}; "
                             "add a projection (e.g. Conv2D(c_in, c_out, 1, stride)) to match them")
        out = np.add(branch, skip, out=buffer(scratch, "out", branch.shape, branch.dtype))
        return out, (inner_caches, projection_cache)

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        inner_caches, projection_cache = cache
        inner_params, projection_params = self._split(params)
        inner_scratch, projection_scratch = self._scratches(scratch)
        dX, grads = backward_chain(self.layers, inner_params, dout, inner_caches, need_dX=True, scratches=inner_scratch)
        if self.projection is None:
            dskip = dout
        else:
            dskip, projection_grads = self.projection.backward(projection_params, dout, projection_cache,
                                                               need_dX=True, scratch=projection_scratch)
            if getattr(self.projection, "is_container", False):
                grads = grads + projection_grads
            elif self.projection.n_param_dicts:
                grads = grads + [projection_grads]
        return np.add(dX, dskip, out=buffer(scratch, "dX", dX.shape, dX.dtype)), grads

    def config(self):
        return {"layers": self.layers, "projection": self.projection}

    def buffers(self):
        return {}

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Residual([{inner}], projection={self.projection!r})"
