"""Shared fixtures: small seeded data and models that keep the suite fast."""
import numpy as np
import pytest

from adaprune_edu import MLP, load_dataset


@pytest.fixture(scope="session")
def digits():
    """The digits dataset, split and standardised (seed 0)."""
    return load_dataset("digits", seed=0)


@pytest.fixture
def tiny_batch():
    """Seven samples with five features and labels in {0, 1, 2}."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 5))
    y = np.array([0, 1, 2, 0, 1, 2, 0])
    return X, y


@pytest.fixture
def small_model():
    """A float64 [5, 4, 3, 3] network for exact checks."""
    return MLP([5, 4, 3, 3], seed=1, dtype="float64")


@pytest.fixture
def one_torch_thread():
    """One intra-op torch thread for a torch cross-check: the machine is shared, and the sums are then in a fixed
    order. Torch test modules use it with ``pytest.mark.usefixtures("one_torch_thread")``."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
