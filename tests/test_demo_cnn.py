"""``adaprune-edu demo --model cnn`` on a small, fast configuration: keys, types, and numbers that agree with costs."""
import json
import sys

import pytest

from adaprune_edu import costs
from adaprune_edu.demo import build_parser, format_table, main, onnxruntime_latencies, parse_args, run
from adaprune_edu.pruning import shrink
from adaprune_edu.pruning.report import unit_sizes

FAST = ["--model", "cnn", "--channels", "4,8,8", "--epochs", "2", "--max-epochs", "4", "--repeats", "1",
        "--tolerance", "0.5", "--se-margin", "0", "--no-progress"]
ROW = {"test_accuracy": float, "val_accuracy": float, "params": int, "nonzeros": int, "sparsity": float,
       "flops": int, "flops_dense": int, "bytes_dense": int, "bytes_csr": int, "latency_ms_batch1": float,
       "latency_ms_batch1024": float}
CNN_PRUNED = {"channels_removed_fraction": float, "mac_reduction": float, "macs_dense": int, "macs_shrunk": int,
              "neurons_removed_fraction": float, "flop_reduction": float, "speedup_batch1024": float,
              "layer_sizes": list, "params_shrunk": int}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One run: the DemoResult and its JSON form (what ``--json`` writes)."""
    folder = tmp_path_factory.mktemp("cnn-demo")
    args = parse_args(build_parser(), [*FAST, "--out", str(folder)])
    result = run(args)
    return result, json.loads(json.dumps(result.to_dict(), default=float)), folder


def test_json_keys_and_types(demo):
    _, results, folder = demo
    dense, pruned = results["dense"], results["pruned"]
    for row in (dense, pruned):
        for key, kind in ROW.items():
            assert isinstance(row[key], kind), (key, row[key])
    for key, kind in CNN_PRUNED.items():
        assert isinstance(pruned[key], kind), (key, pruned[key])
    assert results["settings"]["model"] == "cnn" and results["settings"]["granularity"] == "structured"
    assert results["settings"]["layer_sizes"] == [1, 4, 8, 8, 10]
    assert "task_adaptivity" not in results  # easy/hard are tabular tasks: the CNN demo does not run them
    assert (folder / "adaptive_pruning.png").stat().st_size > 1000


def test_fractions_and_reductions_agree_with_costs(demo):
    result, results, _ = demo
    dense, pruned = results["dense"], results["pruned"]
    for value in (dense["test_accuracy"], pruned["test_accuracy"], pruned["sparsity"],
                  pruned["channels_removed_fraction"]):
        assert 0.0 <= value <= 1.0
    small = shrink(result.pruned_model)
    X = result.dense_model._check_X("X", load_images().X_test[:1])
    assert pruned["macs_dense"] == costs.macs_per_sample(result.dense_model, X=X)
    assert pruned["macs_shrunk"] == costs.macs_per_sample(small, X=X)
    assert pruned["mac_reduction"] == pytest.approx(pruned["macs_dense"] / pruned["macs_shrunk"])
    assert pruned["mac_reduction"] > 1  # at a tolerance of 50 points the controller does remove channels
    assert pruned["layer_sizes"] == unit_sizes(small)
    alive, total = sum(pruned["layer_sizes"][1:-1]), sum(results["settings"]["layer_sizes"][1:-1])
    assert pruned["channels_removed_fraction"] == pytest.approx(1 - alive / total)
    assert pruned["params_shrunk"] == costs.count_params(small) < dense["params"] == pruned["params"]
    assert pruned["flops_dense"] == 2 * pruned["macs_dense"]
    assert pruned["speedup_batch1024"] == pytest.approx(dense["latency_ms_batch1024"] / pruned["latency_ms_batch1024"])
    assert results["report"]["latency_ms"]["shrunk"]["1024"] == pruned["latency_ms_batch1024"]  # timed once


def test_onnxruntime_numbers_when_installed(demo):
    pytest.importorskip("onnxruntime")
    _, results, _ = demo
    dense, pruned = results["dense"], results["pruned"]
    assert dense["latency_ms_batch1024_onnxruntime"] > 0 and pruned["latency_ms_batch1024_onnxruntime"] > 0
    assert pruned["speedup_batch1024_onnxruntime"] == pytest.approx(
        dense["latency_ms_batch1024_onnxruntime"] / pruned["latency_ms_batch1024_onnxruntime"])
    assert "onnxruntime batch 1024 (ms)" in format_table(results)


def test_without_onnxruntime_the_keys_are_null(demo, monkeypatch):
    result, results, _ = demo
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    X = load_images().X_test
    assert onnxruntime_latencies({"dense": result.pruned_model}, X, repeats=1) is None
    for row in ("dense", "pruned"):
        results[row]["latency_ms_batch1024_onnxruntime"] = None
    results["pruned"]["speedup_batch1024_onnxruntime"] = None
    assert "not installed" in format_table(results)


@pytest.mark.parametrize("argv, message", [
    (["--model", "resnet"], "invalid choice: 'resnet'"),
    (["--model", "cnn", "--dataset", "moons"], "digits images"),
    (["--model", "cnn", "--granularity", "unstructured"], "whole channels"),
    (["--criterion", "bn_scale"], "BatchNorm"),
])
def test_bad_model_options_exit_with_a_clear_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    if argv[1] == "resnet":
        assert "'mlp', 'cnn'" in err


def load_images():
    from adaprune_edu import load_dataset

    return load_dataset("digits", images=True, seed=0)


def test_readme_states_the_cnn_defaults():
    from pathlib import Path

    from adaprune_edu.demo import EPOCHS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The CNN: `adaprune-edu demo --model cnn`", 1)[1].split("\n## ", 1)[0]
    epochs, max_epochs = EPOCHS["cnn"]
    assert f"`--epochs {epochs}` by default" in section and f"`--max-epochs {max_epochs}` by default" in section
    assert build_parser().get_default("channels") == (16, 32, 64) and "`--channels 16,32,64`" in section
