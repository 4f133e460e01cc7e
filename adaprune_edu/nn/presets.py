"""Ready-made networks: the course's small CNN (the MLP preset is :class:`~adaprune_edu.nn.network.MLP`).

``cnn()`` is the network of issue 9's bars and of the channel-pruning notebook, for 8x8 digits::

    Conv2D(1, 16, 3, padding=1)  BatchNorm2D(16)  ReLU()      (N, 8, 8, 16)
    Conv2D(16, 32, 3, padding=1) BatchNorm2D(32)  ReLU()      (N, 8, 8, 32)
    MaxPool2D(2)                                              (N, 4, 4, 32)
    Conv2D(32, 64, 3, padding=1) BatchNorm2D(64)  ReLU()      (N, 4, 4, 64)
    GlobalAvgPool2D()                                         (N, 64)
    Dense(64, 10)                                             (N, 10)

about 0.60 million multiply-accumulates per 8x8 image.
"""
from __future__ import annotations

from .._checks import check_int
from .layers import BatchNorm2D, Conv2D, Dense, GlobalAvgPool2D, MaxPool2D, ReLU
from .sequential import Sequential


def cnn_layers(channels=(16, 32, 64), in_channels: int = 1, n_classes: int = 10, pool_after: int = 2,
               kernel_size: int = 3) -> list:
    """The layer list of :func:`cnn` (see there for the parameters)."""
    if isinstance(channels, (str, bytes)) or not hasattr(channels, "__len__") or len(channels) == 0:
        raise TypeError(f"channels={channels!r} must be a non-empty list of ints like (16, 32, 64)")
    channels = [check_int(f"channels[{i}]", c, minimum=1) for i, c in enumerate(channels)]
    in_channels = check_int("in_channels", in_channels, minimum=1)
    n_classes = check_int("n_classes", n_classes, minimum=1)
    pool_after = check_int("pool_after", pool_after, minimum=0, maximum=len(channels))
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size={kernel_size} must be odd (so 'same' padding keeps the image size)")
    layers, c_in = [], in_channels
    for i, c_out in enumerate(channels):
        if i == pool_after:
            layers.append(MaxPool2D(2))
        layers += [Conv2D(c_in, c_out, kernel_size, padding=kernel_size // 2), BatchNorm2D(c_out), ReLU()]
        c_in = c_out
    if pool_after == len(channels):
        layers.append(MaxPool2D(2))
    return layers + [GlobalAvgPool2D(), Dense(c_in, n_classes)]


def cnn(channels=(16, 32, 64), in_channels: int = 1, n_classes: int = 10, pool_after: int = 2,
        kernel_size: int = 3, seed: int = 0, dtype="float32") -> Sequential:
    """The course's CNN: 'same'-padded convolutions with BatchNorm and ReLU, one max-pool, global average pool, dense.

    Parameters
    ----------
    channels : sequence of int, output channels of each convolution
    in_channels : int, channels of the input images (1 for digits)
    n_classes : int, outputs of the final dense layer
    pool_after : int, the 2x2 max-pool comes after this many convolutions (0: first; ``len(channels)``: last)
    kernel_size : odd int, the convolutions' filter size (padding ``kernel_size // 2`` keeps H and W)
    seed, dtype : as for :class:`~adaprune_edu.nn.sequential.Sequential`

    Input: images (n_samples, H, W, in_channels), channels-last; output: logits (n_samples, n_classes).
    """
    return Sequential(cnn_layers(channels, in_channels, n_classes, pool_after, kernel_size), seed=seed, dtype=dtype)
