"""Embedded datasets with seeded train/validation/test splits.

Everything comes with scikit-learn (bundled files or generators): nothing is downloaded.

>>> data = load_dataset("digits", seed=0)
>>> data.X_train.shape, data.n_classes
((1078, 64), 10)

Features are standardised with the mean and standard deviation of the *training* split
only, so no information from validation or test data leaks into training.

``load_dataset("digits", images=True)`` gives the same samples and splits as images for a
convolutional network, channels-last (NHWC): ``X_*`` of shape (n_samples, 8, 8, 1), pixel
``(row, column)`` of the 8x8 image at ``X[n, row, column, 0]``. Images are standardised with
one mean and one standard deviation over all training pixels (not per pixel: a convolution
applies the same filter at every position, so every position should be on the same scale).

>>> load_dataset("digits", images=True).X_train.shape
(1078, 8, 8, 1)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, make_classification, make_moons
from sklearn.model_selection import train_test_split

from ._checks import check_choice, check_float, check_int

#: ``make_classification`` presets of graded difficulty; the same network and pruning
#: settings end at different sparsities on them (the task decides what it can lose).
PRESETS = {
    "easy": dict(n_samples=3000, n_features=32, n_informative=4, n_redundant=2, n_classes=4,
                 n_clusters_per_class=1, class_sep=2.0, flip_y=0.0),
    "medium": dict(n_samples=3000, n_features=32, n_informative=12, n_redundant=4, n_classes=4,
                   n_clusters_per_class=2, class_sep=1.0, flip_y=0.01),
    "hard": dict(n_samples=3000, n_features=32, n_informative=24, n_redundant=4, n_classes=4,
                 n_clusters_per_class=3, class_sep=0.7, flip_y=0.02),
}

DATASETS = ("digits", "breast_cancer", "moons", "easy", "medium", "hard")


@dataclass
class Dataset:
    """A classification dataset split three ways.

    ``X_*`` have shape (n_split_samples, n_features), or (n_split_samples, height, width,
    channels) for images; ``y_*`` hold int labels in [0, n_classes). ``mean`` and ``scale`` are
    the training-split statistics used to standardise all three splits (per feature, or one
    value each for images).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray = field(repr=False)
    scale: np.ndarray = field(repr=False)

    @property
    def n_features(self) -> int:
        """Values per sample (height * width * channels for images)."""
        return int(np.prod(self.X_train.shape[1:]))

    @property
    def sample_shape(self) -> tuple:
        """Shape of one sample: ``(n_features,)``, or ``(height, width, channels)`` for images."""
        return self.X_train.shape[1:]

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max()) + 1)

    def default_layer_sizes(self, hidden=(256, 128)) -> list:
        """``[n_features, *hidden, n_classes]``, the course's default network for this data."""
        return [self.n_features, *hidden, self.n_classes]

    def __repr__(self):
        return (f"Dataset({self.name!r}: train {self.X_train.shape}, val {self.X_val.shape}, "
                f"test {self.X_test.shape}, {self.n_classes} classes)")


def _raw(name: str, seed: int):
    """The full (X, y) of a named dataset; generators are seeded by ``seed``."""
    if name == "digits":
        return load_digits(return_X_y=True)
    if name == "breast_cancer":
        return load_breast_cancer(return_X_y=True)
    if name == "moons":
        return make_moons(n_samples=2000, noise=0.25, random_state=seed)
    return make_classification(random_state=seed, **PRESETS[name])


def load_dataset(name: str = "digits", seed: int = 0, val_size: float = 0.2,
                 test_size: float = 0.2, standardize: bool = True, dtype="float32",
                 images: bool = False) -> Dataset:
    """Load an embedded dataset and split it into train / validation / test.

    Parameters
    ----------
    name : one of ``DATASETS``: "digits" (8x8 images, 10 classes, 1797 samples),
        "breast_cancer" (30 features, 2 classes), "moons" (2-D, 2 classes), or the
        ``make_classification`` presets "easy", "medium", "hard" (32 features, 4 classes).
    seed : int; seeds the generators and the stratified splits.
    val_size, test_size : fractions of the whole dataset, each in (0, 0.5].
    standardize : bool; zero mean, unit variance using training statistics.
    dtype : dtype of the ``X`` arrays.
    images : bool; for "digits" only: ``X_*`` of shape (n_samples, 8, 8, 1), channels-last,
        standardised with one mean and standard deviation over all training pixels.
    """
    check_choice("name", name, DATASETS)
    seed = check_int("seed", seed, minimum=0)
    val_size = check_float("val_size", val_size, minimum=0.0, maximum=0.5, strict_min=True)
    test_size = check_float("test_size", test_size, minimum=0.0, maximum=0.5, strict_min=True)
    if not isinstance(images, bool):
        raise TypeError(f"images={images!r} must be True or False")
    if images and name != "digits":
        raise ValueError(f"images=True needs name='digits' (the only image dataset), got name={name!r}")
    X, y = _raw(name, seed)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_size / (1 - test_size), random_state=seed, stratify=y_rest)
    if standardize and images:
        mean, scale = np.array([X_train.mean()]), np.array([X_train.std()])
    elif standardize:
        mean = X_train.mean(axis=0)
        scale = X_train.std(axis=0)
        scale[scale == 0] = 1.0  # constant features (digits' blank corner pixels)
    else:
        mean, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
    def prepare(A):
        A = ((A - mean) / scale).astype(dtype)
        return A.reshape(-1, 8, 8, 1) if images else A

    return Dataset(name, prepare(X_train), y_train, prepare(X_val), y_val, prepare(X_test), y_test,
                   mean=mean, scale=scale)
