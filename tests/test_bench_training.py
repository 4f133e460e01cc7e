"""The training benchmark runs and compares like with like (no timing is asserted)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_training.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_training", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_workloads_have_the_promised_shapes(bench):
    X, y, sizes = bench.load_workload("large")
    assert X.shape == (20000, 100) and X.dtype == np.float32 and sizes == [100, 512, 256, 5]
    assert set(np.unique(y)) == set(range(5))
    X, y, sizes = bench.load_workload("digits")
    assert X.shape[1] == 64 and sizes == [64, 256, 128, 10]
    with pytest.raises(ValueError, match="workload='mnist'"):
        bench.load_workload("mnist")


def test_ours_and_scikit_learn_train_the_same_problem_to_similar_losses(bench):
    X, y, sizes = bench.load_workload("digits")
    ours, theirs = bench.Ours(X, y, sizes, seed=0), bench.Sklearn(X, y, sizes, seed=0)
    losses = [(ours.epoch(), theirs.epoch()) for _ in range(3)]
    assert losses[-1][0] < losses[0][0] and losses[-1][1] < losses[0][1]  # both learn
    assert abs(losses[-1][0] - losses[-1][1]) < 0.5 * losses[-1][1]  # same optimizer, same scale of loss


def test_gemm_floor_runs_the_products_of_one_epoch(bench):
    X, y, sizes = bench.load_workload("digits")
    floor = bench.GemmFloor(X, y, sizes, seed=0)
    assert sum(floor.sizes) == X.shape[0] and max(floor.sizes) == bench.BATCH_SIZE
    assert np.isnan(floor.epoch())


def test_main_prints_a_table_with_ratios(bench, capsys):
    assert bench.main(["--workloads", "digits", "--rounds", "1", "--no-torch"]) == 0
    out = capsys.readouterr().out
    assert "numpy (ours)" in out and "scikit-learn" in out and "GEMM share" in out
