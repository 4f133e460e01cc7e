"""``adaprune-edu demo`` on a fast configuration: the JSON it writes, the figure, bad options."""
import json

import pytest

from adaprune_edu.demo import main

FAST = ["--epochs", "6", "--max-epochs", "8", "--hidden", "24,12", "--repeats", "1", "--no-progress"]
KEYS = {"test_accuracy", "val_accuracy", "params", "nonzeros", "sparsity", "flops", "bytes_dense", "bytes_csr",
        "latency_ms_batch1", "latency_ms_batch1024"}


def run_demo(tmp_path, *extra):
    out, result = tmp_path / "figs", tmp_path / "results.json"
    assert main([*FAST, "--out", str(out), "--json", str(result), *extra]) == 0
    return json.loads(result.read_text()), out


def test_structured_json_has_every_key_and_consistent_numbers(tmp_path, capsys):
    results, out = run_demo(tmp_path, "--granularity", "structured", "--tolerance", "0.03", "--no-task-comparison",
                            "--se-margin", "0.5")
    dense, pruned = results["dense"], results["pruned"]
    assert KEYS <= set(dense) and KEYS <= set(pruned)
    assert {"neurons_removed_fraction", "flop_reduction", "speedup_batch1024"} <= set(pruned)
    assert dense["params"] == pruned["params"] == 64 * 24 + 24 + 24 * 12 + 12 + 12 * 10 + 10
    assert pruned["nonzeros"] < dense["nonzeros"] and 0 < pruned["sparsity"] < 1 and dense["sparsity"] == 0
    hidden = pruned["layer_sizes"][1:-1]
    assert pruned["layer_sizes"][0] == 64 and pruned["layer_sizes"][-1] == 10
    assert pruned["neurons_removed_fraction"] == pytest.approx(1 - sum(hidden) / 36)
    assert pruned["flop_reduction"] == pytest.approx(dense["flops_dense"] / pruned["flops_shrunk"])
    assert pruned["speedup_batch1024"] == pytest.approx(dense["latency_ms_batch1024"] / pruned["latency_ms_batch1024"])
    assert results["controller"]["history"][-1]["action"] == "stop"
    assert results["controller"]["finetune_epochs"] <= 8
    assert (out / "adaptive_pruning.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "Why (not) smaller and faster" in printed and "architecture" in printed
    assert f"{pruned['test_accuracy']:.2%}" in printed
    # The validation drop the controller decided on, next to the test drop it never saw.
    assert pruned["test_drop"] == pytest.approx(dense["test_accuracy"] - pruned["test_accuracy"])
    assert pruned["val_drop"] + 0.5 * pruned["val_drop_se"] <= 0.03 + 1e-12
    assert results["controller"]["se_margin"] == 0.5
    assert f"test {100 * pruned['test_drop']:+.2f} | val {100 * pruned['val_drop']:+.2f}" in printed


def test_unstructured_run_with_task_comparison_and_budget(tmp_path):
    results, _ = run_demo(tmp_path, "--budget", "bytes_csr=20%", "--seed", "1")
    pruned = results["pruned"]
    assert "neurons_removed_fraction" not in pruned and pruned["deployed_as"] == "csr"
    assert results["settings"]["budget"][0] == "bytes_csr"
    assert results["controller"]["budget_met"] is True
    assert pruned["bytes_csr"] <= results["settings"]["budget"][1]
    tasks = results["task_adaptivity"]
    assert set(tasks) == {"easy", "hard"}
    for row in tasks.values():
        assert 0 <= row["sparsity"] <= 1
    # Same settings, different tasks: the easy task ends sparser (here 87.5% vs 50.0%).
    assert tasks["easy"]["sparsity"] > tasks["hard"]["sparsity"] + 0.15


def test_same_seed_same_results(tmp_path):
    first, _ = run_demo(tmp_path / "a", "--no-task-comparison", "--dataset", "moons")
    second, _ = run_demo(tmp_path / "b", "--no-task-comparison", "--dataset", "moons")
    for key in ("test_accuracy", "val_accuracy", "nonzeros", "sparsity"):
        assert first["pruned"][key] == second["pruned"][key]


@pytest.mark.parametrize("argv", [
    ["--tolerance", "2"], ["--tolerance", "abc"], ["--budget", "watts=3"], ["--budget", "bytes_csr=-1"],
    ["--granularity", "channels"], ["--dataset", "mnist"], ["--hidden", "0"], ["--seed", "-1"],
    ["--repeats", "0"], ["--criterion", "apoz"], ["--se-margin", "-1"], ["--se-margin", "wide"],
    ["--confirm-fraction", "0.7"], ["--neuron-multiple", "0"],
])
def test_bad_options_exit_with_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_json_path_that_is_a_directory_is_refused(tmp_path, capsys):
    assert main([*FAST, "--json", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_controller_gets_training_and_validation_splits_only(tmp_path, monkeypatch):
    """The demo hands the controller train and validation data; the test split is only read afterwards."""
    import numpy as np

    import adaprune_edu.demo as demo

    loaded, calls = [], []
    original_load, original_fit = demo.load_dataset, demo.AdaptivePruner.fit

    def load_spy(*args, **kwargs):
        loaded.append(original_load(*args, **kwargs))
        return loaded[-1]

    def fit_spy(self, model, X_train, y_train, X_val, y_val):
        calls.append((X_train, X_val))
        return original_fit(self, model, X_train, y_train, X_val, y_val)

    monkeypatch.setattr(demo, "load_dataset", load_spy)
    monkeypatch.setattr(demo.AdaptivePruner, "fit", fit_spy)
    run_demo(tmp_path, "--dataset", "moons")
    assert len(calls) == len(loaded) == 3  # moons, then the easy and hard presets
    for data, (X_train, X_val) in zip(loaded, calls):
        assert X_train is data.X_train and X_val is data.X_val
        test_rows = {row.tobytes() for row in data.X_test}
        assert not test_rows & {row.tobytes() for row in np.vstack([X_train, X_val])}


def test_chunked_forward_gives_the_same_logits():
    import numpy as np

    from adaprune_edu.demo import chunked
    from adaprune_edu.nn import MLP
    from adaprune_edu.pruning.report import inference_function

    model = MLP([8, 6, 3], seed=0)
    X = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    forward = inference_function(model)
    calls = []

    def counted(A):
        calls.append(A.shape[0])
        return forward(A)

    np.testing.assert_allclose(chunked(counted, 128)(X), forward(X), rtol=1e-6, atol=1e-6)
    assert calls == [128, 128, 44]
    np.testing.assert_array_equal(chunked(forward, 128)(X[:5]), forward(X[:5]))
    with pytest.raises(ValueError, match="size"):
        chunked(forward, 0)
