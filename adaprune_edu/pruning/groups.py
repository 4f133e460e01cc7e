"""Groups: everything that is removed together when one structural unit goes.

Removing hidden neuron ``j`` of an MLP is not one array operation but three: column ``j`` of
``W[l]`` (what the neuron computes), entry ``j`` of ``b[l]``, and row ``j`` of ``W[l+1]`` (who reads
it). Removing output channel ``c`` of a convolution is the same idea with more pieces: the filter
``W[..., c]`` and bias ``b[c]``, the BatchNorm entries ``gamma[c]`` and ``beta[c]``, and the input
channel ``c`` of the next convolution -- or, after a ``Flatten``, the ``H*W`` rows of the next dense
layer that read channel ``c`` at every pixel. Channels joined by a residual add (``F(X) + X``) are
one unit: channel ``c`` of the sum exists only if it goes from both paths at once.

A **group** is that set of slices for one unit. :func:`layer_groups` derives the groups from the
network by walking its layers (nothing is listed by hand), and returns one :class:`LayerGroups` per
prunable layer of units: the hidden layers of an MLP, the convolutions of a CNN (two layers tied by
a residual add become one). Everything structured works on them: scores (:mod:`.registry`), masks
(:func:`alive_units`, :func:`remove_units`), surgery (:mod:`.surgery`) and MAC counts
(:func:`count_macs`). An MLP and a CNN go through the same code.

The slices are described, not copied: a :class:`Slice` names a parameter (``model.params[param][key]``),
the axis along which the units lie, and how many positions each unit owns on that axis (``repeat``:
``H*W`` for a dense layer after ``Flatten``, 1 otherwise). Torch-Pruning's dependency graph (Fang et
al. 2023, "DepGraph") is the same idea for PyTorch models.

>>> from adaprune_edu.nn import MLP
>>> [(g.name, g.size) for g in layer_groups(MLP([4, 8, 6, 3]))]
[('Dense params[0]', 8), ('Dense params[1]', 6)]
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Slice", "LayerGroups", "layer_groups", "unit_view", "alive_units", "remove_units", "count_macs"]

_PASS_THROUGH = ("MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "Flatten")


@dataclass(frozen=True)
class Slice:
    """The part of one parameter array that belongs to the units of a :class:`LayerGroups`.

    Unit ``u`` (of ``size`` units) owns the indices ``u + size * r`` for ``r < repeat`` along ``axis``
    of ``model.params[param][key]``. ``repeat`` is 1 except for a dense layer after ``Flatten``:
    channels-last features are ``(h*W + w)*C + c``, so channel ``c`` is read by rows ``c, c + C, ...``.
    """

    param: int
    key: str
    axis: int
    repeat: int = 1


@dataclass(frozen=True)
class LayerGroups:
    """The ``size`` groups of one layer of units (hidden neurons, or output channels).

    Attributes
    ----------
    name : str, e.g. ``"Conv2D params[2]"`` (the first layer that produces these units)
    size : int, the number of units (groups)
    kind : ``"neuron"`` (produced by a Dense layer) or ``"channel"`` (by a Conv2D)
    own : tuple of Slice, what each unit is: the producing layers' output slice of ``W`` and ``b``,
        and the BatchNorm ``gamma``/``beta`` entries applied to it
    reads : tuple of Slice, the weights that read the unit: input rows of the next Dense, input
        channels of the next Conv2D (several readers after a residual add)
    producers : tuple of int, ``params`` indices of the layers producing the units (two or more
        when a residual add ties them)
    steps : tuple of (str, int), what is applied to the units between producer and readers, in
        order: ``("batchnorm", param)``, ``("activation", leaf)``, ``("pool", leaf)``
    """

    name: str
    size: int
    kind: str
    own: tuple
    reads: tuple
    producers: tuple
    steps: tuple = ()

    @property
    def tied(self) -> bool:
        """True when a residual add joins several producers: their channels go together or not at all."""
        return len(self.producers) > 1

    @property
    def activations(self) -> tuple:
        """Leaf positions (see ``model.leaves()``) of the activation layers applied to these units."""
        return tuple(index for kind, index in self.steps if kind == "activation")

    @property
    def slices(self) -> tuple:
        """Every slice of a unit's group: ``own + reads``."""
        return self.own + self.reads


# ---------------------------------------------------------------------- deriving the groups
@dataclass
class _Space:
    """The channels (or features) of one tensor while walking the network; merged by residual adds."""

    size: int
    kind: str
    name: str
    order: int = -1  # creation order: the earliest space of a residual tie names it
    prunable: bool = True
    own: list = field(default_factory=list)
    reads: list = field(default_factory=list)
    producers: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    alias: "_Space | None" = None

    def root(self) -> "_Space":
        space = self
        while space.alias is not None:
            space = space.alias
        return space


def _merge(a: _Space, b: _Space) -> _Space:
    """The channel space of ``a + b`` (a residual add): one set of units, fed by both."""
    a, b = sorted((a.root(), b.root()), key=lambda space: space.order)
    if a is b:
        return a
    if a.size != b.size:
        raise ValueError(f"a residual add joins {a.size} and {b.size} channels ({a.name}, {b.name})")
    for name in ("own", "reads", "producers", "steps"):
        getattr(a, name).extend(getattr(b, name))
    a.prunable = a.prunable and b.prunable
    b.alias = a
    return a


class _Walk:
    """One pass over the layers, in the order of ``model.params`` and ``model.leaves()``."""

    def __init__(self, model):
        self.params = model.params
        self.param = 0  # next index into model.params
        self.leaf = 0  # next position in model.leaves()
        self.spaces = []

    def run(self, layers, space: _Space) -> _Space:
        for layer in layers:
            space = space.root()
            if getattr(layer, "is_container", False):  # Residual: F(X) + X or F(X) + P(X)
                branch = self.run(layer.layers, space)
                skip = space if layer.projection is None else self.run([layer.projection], space)
                space = _merge(branch, skip)
                continue
            name = type(layer).__name__
            if name in ("Dense", "Conv2D"):
                space = self._producer(name, space)
            elif name == "BatchNorm2D":
                space.own += [Slice(self.param, "gamma", 0), Slice(self.param, "beta", 0)]
                space.steps.append(("batchnorm", self.param))
                self.param += 1
            elif name in ("ReLU", "Sigmoid", "Tanh"):
                space.steps.append(("activation", self.leaf))
            elif name in _PASS_THROUGH:
                space.steps.append(("pool", self.leaf))
            else:
                raise TypeError(f"layer_groups does not know how units pass through {name}; known: Dense, Conv2D, "
                                f"BatchNorm2D, ReLU/Sigmoid/Tanh, {', '.join(_PASS_THROUGH)}, Residual")
            self.leaf += 1
        return space

    def _producer(self, name: str, space: _Space) -> _Space:
        index, W = self.param, self.params[self.param]["W"]
        n_in = W.shape[0] if name == "Dense" else W.shape[2]
        if n_in % space.size:
            raise ValueError(f"{name} params[{index}] reads {n_in} inputs, not a multiple of the {space.size} "
                             f"units before it ({space.name})")
        space.reads.append(Slice(index, "W", 0 if name == "Dense" else 2, n_in // space.size))
        out_axis = 1 if name == "Dense" else 3
        new = _Space(W.shape[out_axis], "neuron" if name == "Dense" else "channel", f"{name} params[{index}]",
                     order=len(self.spaces), own=[Slice(index, "W", out_axis), Slice(index, "b", 0)], producers=[index])
        self.spaces.append(new)
        self.param += 1
        return new


def _layers(model) -> list:
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list):
        raise TypeError(f"model must be an adaprune_edu.nn network (MLP or Sequential), got {type(model).__name__}")
    return layers


def layer_groups(model) -> list:
    """The prunable layers of units of ``model``, in forward order, derived from its layers.

    A layer of units is prunable unless it is the network's input (features or image channels)
    or its output (logits), or is tied to one of them by a residual add.

    Parameters
    ----------
    model : MLP or Sequential

    Returns
    -------
    list of LayerGroups; for an MLP, entry ``l`` is hidden layer ``l`` (neurons).
    """
    layers = _layers(model)
    first = model.params[0]["W"]
    walk = _Walk(model)
    start = _Space(first.shape[-2], "input", "input", prunable=False)
    end = walk.run(layers, start).root()
    end.prunable = False
    found = []
    for space in walk.spaces:
        if space.alias is None and space.prunable:
            found.append(LayerGroups(space.name, space.size, space.kind, tuple(space.own), tuple(space.reads),
                                     tuple(sorted(space.producers)), tuple(space.steps)))
    return found


# ---------------------------------------------------------------------- reading and writing groups
def unit_view(array: np.ndarray, piece: Slice, size: int) -> np.ndarray:
    """The entries of ``array`` that belong to each unit, one row per unit.

    Parameters
    ----------
    array : ndarray shaped like ``model.params[piece.param][piece.key]``
    piece : Slice
    size : int, the number of units

    Returns
    -------
    ndarray of shape (size, entries_per_unit)
    """
    moved = np.moveaxis(np.asarray(array), piece.axis, 0)
    by_unit = moved.reshape(piece.repeat, size, -1)  # axis index r * size + u
    return by_unit.transpose(1, 0, 2).reshape(size, -1)


def _unit_factor(keep: np.ndarray, piece: Slice, ndim: int) -> np.ndarray:
    """``keep`` (size,) expanded to multiply a parameter of ``ndim`` dimensions along ``piece.axis``."""
    shape = [1] * ndim
    shape[piece.axis] = keep.size * piece.repeat
    return np.tile(keep, piece.repeat).reshape(shape)


def _mask(model, piece: Slice) -> np.ndarray:
    mask = model.masks[piece.param][piece.key]
    return np.ones_like(model.params[piece.param][piece.key]) if mask is None else mask


def alive_units(model, groups: LayerGroups) -> np.ndarray:
    """Which units of ``groups`` are alive: bool array of shape (size,).

    A unit counts as removed (False) when every entry of its group is masked -- what
    :func:`remove_units` does. Unstructured pruning that happens to empty a filter does not
    count here (:func:`.surgery.removable_neurons` finds those).
    """
    alive = np.zeros(groups.size, dtype=bool)
    for piece in groups.slices:
        if model.masks[piece.param][piece.key] is None:
            return np.ones(groups.size, dtype=bool)
        alive |= unit_view(model.masks[piece.param][piece.key] != 0, piece, groups.size).any(axis=1)
    return alive


def remove_units(model, groups: LayerGroups, alive) -> None:
    """Mask the whole group of every unit of ``groups`` where ``alive`` is False.

    On top of the masks already there (unstructured masks inside surviving units are kept).

    Parameters
    ----------
    model : MLP or Sequential, modified in place
    groups : LayerGroups, from :func:`layer_groups` of this model
    alive : bool array of shape (groups.size,)

    Raises
    ------
    ValueError
        Wrong shape, or ``alive`` is True for a unit already removed: its weights are zero and
        cannot come back (restore a snapshot with ``model.set_state`` instead).
    """
    alive = np.asarray(alive)
    if alive.shape != (groups.size,):
        raise ValueError(f"alive has shape {alive.shape}; {groups.name} has {groups.size} units, "
                         f"so it must have shape ({groups.size},)")
    if not (alive.dtype == bool or np.all((alive == 0) | (alive == 1))):
        raise ValueError("alive must hold booleans (True = keep the unit)")
    alive = alive.astype(bool)
    revived = np.flatnonzero(alive & ~alive_units(model, groups))
    if revived.size:
        raise ValueError(f"alive is True for units {revived.tolist()} of {groups.name}, which are already removed; "
                         "pruning never un-prunes (restore a snapshot with model.set_state)")
    for piece in groups.slices:
        mask = _mask(model, piece)
        model.set_mask(piece.param, mask * _unit_factor(alive, piece, mask.ndim).astype(mask.dtype), key=piece.key)


# ---------------------------------------------------------------------- costs
def count_macs(model, X) -> int:
    """Multiply-accumulates per sample of every Dense and Conv2D layer, at the model's current shape.

    The same number as :func:`adaprune_edu.costs.macs_per_sample` (``model, X=X``), which counts it;
    kept under this name for the notebooks. Structured pruning only pays off after surgery, so count
    the shrunk model: ``count_macs(shrink(model), X)``. Masks are ignored (a dense product multiplies
    zeros too).

    Parameters
    ----------
    model : MLP or Sequential
    X : ndarray of shape (n_samples, ...), one or more samples (only the shapes matter)

    Returns
    -------
    int: ``n_in * n_out`` per Dense; ``H_out * W_out * k * k * C_in * C_out`` per Conv2D.
    """
    from ..costs import macs_per_sample

    return macs_per_sample(model, X=X)
