"""adaprune-edu: learn neural-network pruning, and adaptive pruning, from scratch in NumPy.

The package reads bottom-up:

- :mod:`adaprune_edu.nn` -- layers, losses, optimizers, the :class:`MLP`, the training loop;
- :mod:`adaprune_edu.data` -- embedded datasets and seeded splits;
- :mod:`adaprune_edu.metrics` -- parameters, non-zeros, FLOPs, bytes, latency;
- :mod:`adaprune_edu.pruning` -- masks, criteria, schedules, surgery, the adaptive controller.
"""
from .data import DATASETS, Dataset, load_dataset
from .nn import MLP

__version__ = "0.1.0"
__all__ = ["MLP", "load_dataset", "Dataset", "DATASETS", "__version__"]
