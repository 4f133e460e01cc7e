"""Layers as forward/backward pairs: dense, convolution, batch norm, pooling, reshape, residual.

Each module holds one layer (see :mod:`.base` for what every layer object has in common):

- :mod:`.dense`: ``Dense(n_in, n_out)`` and the functions ``dense_forward``/``dense_backward``;
- :mod:`.conv`: ``Conv2D(in_channels, out_channels, kernel_size, stride=1, padding=0)``;
- :mod:`.batchnorm`: ``BatchNorm2D(channels)``;
- :mod:`.pooling`: ``MaxPool2D(size)``, ``AvgPool2D(size)``, ``GlobalAvgPool2D()``;
- :mod:`.reshape`: ``Flatten()``;
- :mod:`.activation`: ``ReLU()``, ``Sigmoid()``, ``Tanh()``;
- :mod:`.residual`: ``Residual(layers, projection=None)``;
- transformer pieces: :mod:`.embedding` (``TokenEmbedding``, ``PositionEmbedding``), :mod:`.layernorm`
  (``LayerNorm``), :mod:`.attention` (``CausalSelfAttention``), :mod:`.feedforward` (``FeedForward``),
  :mod:`.linear` (``Linear``, no bias), :mod:`.transformer_block` (``TransformerBlock``, pre-LN).

Images are channels-last: ``(n_samples, height, width, channels)``.
"""
from .activation import ACTIVATION_LAYERS, Activation, ReLU, Sigmoid, Tanh
from .attention import CausalSelfAttention
from .base import Layer
from .batchnorm import BatchNorm2D
from .conv import Conv2D, col2im, im2col
from .dense import INITIALIZERS, Dense, dense_backward, dense_forward, glorot_uniform, he_normal
from .embedding import PositionEmbedding, TokenEmbedding
from .feedforward import FeedForward
from .layernorm import LayerNorm
from .linear import Linear
from .pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from .reshape import Flatten
from .residual import Residual
from .transformer_block import TransformerBlock

LAYER_TYPES = {cls.__name__: cls for cls in (Dense, Conv2D, BatchNorm2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D,
                                             Flatten, ReLU, Sigmoid, Tanh, Residual)}
"""Layer classes by name, for loading a saved network."""

__all__ = [
    "Layer", "Dense", "Conv2D", "BatchNorm2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "Flatten",
    "Activation", "ReLU", "Sigmoid", "Tanh", "Residual", "ACTIVATION_LAYERS", "LAYER_TYPES",
    "dense_forward", "dense_backward", "glorot_uniform", "he_normal", "INITIALIZERS", "im2col", "col2im",
    "TokenEmbedding", "PositionEmbedding", "LayerNorm", "CausalSelfAttention", "FeedForward", "Linear",
    "TransformerBlock",
]
