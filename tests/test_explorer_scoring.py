"""The explorer scores data-driven criteria exactly as the library does by default (as notebooks 03 and 06 do)."""
import numpy as np

from adaprune_edu import MLP, load_dataset
from adaprune_edu.pruning import neuron_scores, prune_to_sparsity, weight_scores
from adaprune_edu.widgets.explorer_logic import Settings, dense_scores


def test_explorer_scores_are_the_library_defaults():
    data = load_dataset("moons", seed=0)
    model = MLP([2, 16, 8, 2], seed=0).fit(data.X_train, data.y_train, epochs=3, progress=False)
    for criterion in ("gradient", "taylor"):
        ours = dense_scores(model, Settings(criterion, "unstructured"), data.X_train, data.y_train)
        library = weight_scores(model, criterion, X=data.X_train, y=data.y_train)
        assert all(np.array_equal(a, b) for a, b in zip(ours, library))
        one_batch = weight_scores(model, criterion, X=data.X_train, y=data.y_train,
                                  batch_size=len(data.X_train), n_batches=1)
        assert not all(np.array_equal(a, b) for a, b in zip(ours, one_batch))
    ours = dense_scores(model, Settings("activation", "structured"), data.X_train, data.y_train)
    library = neuron_scores(model, "activation", X=data.X_train, y=data.y_train)
    assert all(np.array_equal(a, b) for a, b in zip(ours, library))


def test_explorer_accuracy_matches_a_default_library_call():
    from adaprune_edu.widgets import PruningExplorer

    data = load_dataset("moons", seed=0)
    model = MLP([2, 16, 8, 2], seed=0).fit(data.X_train, data.y_train, epochs=3, progress=False)
    explorer = PruningExplorer(model, data, criterion="taylor", target=0.6, latency_repeats=1)
    expected = prune_to_sparsity(model.copy(), 0.6, criterion="taylor", X=data.X_train, y=data.y_train)
    assert explorer.numbers["accuracy"] == expected.score(data.X_val, data.y_val)
