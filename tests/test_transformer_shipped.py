"""The shipped transformer weights give the validation perplexity recorded with them, and the training
script that made them lowers the loss on a short run."""
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from adaprune_edu.corpus import load_text_corpus, standard_library_dir
from adaprune_edu.nn.transformer import PRETRAINED_PATH, TinyTransformer, load_pretrained, pretrained_record

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "train_transformer.py"


def test_shipped_weights_give_the_recorded_perplexity_on_the_first_64_validation_sequences():
    record = pretrained_record()
    model = load_pretrained()
    assert model.n_params == record["n_params"] == 119_424
    validation = load_text_corpus(train=False).validation_sequences(model.context + 1)
    assert validation.shape[0] == record["validation_sequences"]
    perplexity = model.perplexity(validation[:64], batch_size=32)
    # float32 sums in another order (BLAS kernel, threads) move the 5th significant digit at most
    assert perplexity == pytest.approx(record["validation_perplexity_first_64"], rel=1e-3)
    assert PRETRAINED_PATH.stat().st_size < 400_000


@pytest.mark.slow
def test_shipped_weights_give_the_recorded_validation_perplexity():
    """All 698 validation sequences (about 4 s on a quiet machine)."""
    record = pretrained_record()
    model = load_pretrained()
    validation = load_text_corpus(train=False).validation_sequences(model.context + 1)
    perplexity = model.perplexity(validation, batch_size=32)
    assert perplexity == pytest.approx(record["validation_perplexity"], rel=1e-3)
    targets = validation[:, 1:].ravel()
    unigram = np.bincount(targets, minlength=96) / targets.size
    unigram_perplexity = float(np.exp(-np.sum(unigram[unigram > 0] * np.log(unigram[unigram > 0]))))
    assert perplexity < unigram_perplexity / 3  # the model learned far more than character frequencies


def test_a_short_run_of_the_training_script_lowers_the_loss(tmp_path):
    spec = importlib.util.spec_from_file_location("train_transformer", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(standard_library_dir() / "textwrap.py", lib)  # a small corpus: one module's docstrings
    out = tmp_path / "tiny.npz"
    args = ["--seed", "0", "--out", str(out), "--steps", "60", "--d-model", "16", "--layers", "1", "--heads", "2",
            "--context", "16", "--batch-size", "8", "--warmup", "5", "--log-every", "0", "--lib-dir", str(lib)]
    record = script.main(args)
    curve = record["train_loss_curve"]
    assert len(curve) == 2 and curve[1] < curve[0] - 0.3
    assert json.loads(out.with_suffix(".json").read_text())["validation_perplexity"] == record["validation_perplexity"]
    model = TinyTransformer.load(out)
    assert model.params[0]["W"].shape == (96, 16)
    again = script.main(args)  # same seed, same numbers
    assert again["train_loss_curve"] == curve


def test_the_shipped_files_are_package_data():
    import fnmatch

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = Path(__file__).resolve().parent.parent
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = setuptools["package-data"]["adaprune_edu"]
    package = root / "adaprune_edu"
    for path in (package / "data_files").iterdir():
        relative = str(path.relative_to(package))
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


def test_the_training_script_states_the_recorded_run_time_and_steps():
    record = pretrained_record()
    doc = SCRIPT.read_text()
    assert f"took {round(record['seconds']):,} s ({round(record['seconds'] / 60)} minutes)" in doc
    assert f"for {record['steps_done']:,} steps, {record['seconds'] / record['steps_done']:.1f} s per step" in doc


def test_the_benchmarks_readme_states_the_recorded_training_numbers():
    record = pretrained_record()
    readme = (SCRIPT.parent.parent / "benchmarks" / "README.md").read_text()
    stated = (f"{record['steps_done']:,} steps in\n{round(record['seconds']):,} s",
              f"validation perplexity {record['validation_perplexity']:.3f} on the\nshipped "
              f"{record['validation_sequences']} sequences")
    for text in stated:
        assert text in readme, text
