"""A from-scratch NumPy neural network: layers, activations, losses, optimizers, training.

Nothing here knows about pruning except that a parameter may carry a 0/1 mask.
"""
from .gradcheck import check_model_gradients, numerical_gradient, relative_error
from .io import load_model, save_model
from .layers import (
                     AvgPool2D,
                     BatchNorm2D,
                     Conv2D,
                     Dense,
                     Flatten,
                     GlobalAvgPool2D,
                     MaxPool2D,
                     ReLU,
                     Residual,
                     Sigmoid,
                     Tanh,
)
from .lm_training import train_language_model
from .network import MLP
from .optim import SGD, Adam, Momentum, Optimizer, make_optimizer
from .presets import cnn
from .sequential import Sequential
from .training import train
from .transformer import TinyTransformer

__all__ = [
    "MLP", "train", "Optimizer", "SGD", "Momentum", "Adam", "make_optimizer",
    "numerical_gradient", "relative_error", "check_model_gradients", "save_model", "load_model",
    "Sequential", "Dense", "Conv2D", "BatchNorm2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "Flatten",
    "ReLU", "Sigmoid", "Tanh", "Residual", "cnn",
    "TinyTransformer", "train_language_model",
]
