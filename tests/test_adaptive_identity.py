"""The controller learned CNNs without changing a single MLP decision.

``_adaptive_reference.py`` is the controller as it was before (MLP only, its cost formulas frozen in);
both run here on the same trained MLPs, and every history record, attribute and weight must be equal
-- not close: the same floats. Both run on this machine's BLAS, so the check holds on any kernel.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

from adaprune_edu.data import load_dataset
from adaprune_edu.nn import MLP
from adaprune_edu.pruning.adaptive import AdaptivePruner

sys.path.insert(0, str(Path(__file__).parent))
from _adaptive_reference import AdaptivePruner as ReferencePruner  # noqa: E402

CONFIGS = [
    dict(budget=("bytes_csr", 3_200), tolerance=0.03, seed=0),  # unstructured, global
    dict(granularity="structured", budget=("flops_shrunk", 1_500), tolerance=0.03, seed=1),
    dict(granularity="hybrid", criterion="activation", allocation="global", tolerance=0.05, seed=2),
]
ATTRIBUTES = ("sparsity_", "neuron_sparsity_", "val_accuracy_", "dense_val_accuracy_", "val_drop_", "val_drop_se_",
              "cost_", "budget_met_", "stop_reason_", "kept_step_", "epochs_used_", "n_steps_", "allowances_")


@pytest.fixture(scope="module")
def trained():
    data = load_dataset("digits", seed=0)
    models = [MLP([64, 24, 12, 10], seed=seed).fit(data.X_train, data.y_train, epochs=8, progress=False)
              for seed in range(3)]
    return data, models


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_mlp_runs_are_bit_identical_to_the_reference(trained, config):
    data, models = trained
    model = models[config["seed"]]
    runs = [cls(max_epochs=8, final_epochs=2, **config).fit(model, data.X_train, data.y_train, data.X_val, data.y_val)
            for cls in (ReferencePruner, AdaptivePruner)]
    old, new = runs
    actions = {h["action"] for h in old.history_}
    assert "accept" in actions and actions & {"rollback", "force"}  # a run with decisions both ways
    assert new.history_ == old.history_  # every step: amount, sparsities, accuracies, drops, actions, costs
    for name in ATTRIBUTES:
        assert getattr(new, name) == getattr(old, name), name
    for p_old, p_new in zip(old.model_.params, new.model_.params):
        assert all(np.array_equal(p_old[key], p_new[key]) for key in p_old)
    assert new.model_.score(data.X_test, data.y_test) == old.model_.score(data.X_test, data.y_test)
