"""The docstring corpus: vocabulary, collection with ast, splits, and the shipped tokens."""
import platform

import numpy as np
import pytest

from adaprune_edu import corpus
from adaprune_edu.corpus import (
    VOCAB,
    calibration_sequences,
    collect_docstrings,
    decode,
    encode,
    load_text_corpus,
    sequences,
    split_chunks,
)


def test_vocabulary_is_newline_and_printable_ascii():
    assert len(VOCAB) == 96 and VOCAB[0] == "\n" and VOCAB[1] == " " and VOCAB[-1] == "~"
    text = "Return x.\n\tNo é here: ~"
    ids = encode(text)
    assert ids.dtype == np.uint8 and ids.max() < 96
    assert decode(ids) == "Return x.\n    No  here: ~"
    with pytest.raises(TypeError, match="text"):
        encode(b"bytes")
    with pytest.raises(ValueError, match="tokens"):
        decode([96])


def test_collect_reads_docstrings_without_importing(tmp_path):
    (tmp_path / "a.py").write_text('"""Module a."""\nraise SystemExit("imported!")\n'
                                   'class C:\n    """Class C."""\n    def f(self):\n        """Method f."""\n')
    (tmp_path / "b.py").write_text("def g(:\n")  # does not parse: skipped
    (tmp_path / "c.py").write_text('async def h():\n    """Coroutine h."""\n')
    assert collect_docstrings(tmp_path) == "Module a.\n\nClass C.\n\nMethod f.\n\nCoroutine h."
    with pytest.raises(ValueError, match="lib_dir"):
        collect_docstrings(tmp_path / "missing")


def test_every_tenth_chunk_goes_to_validation():
    tokens = np.repeat(np.arange(23, dtype=np.uint8), 4)  # 23 chunks of 4, the last 3 tokens of nothing dropped
    train, validation = split_chunks(tokens, chunk=4, every=10)
    np.testing.assert_array_equal(validation, np.repeat([9, 19], 4))
    assert len(train) == 21 * 4 and not set(train) & {9, 19}
    assert sequences(np.arange(10), 3).tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    with pytest.raises(ValueError, match="length"):
        sequences(np.arange(3), 5)


def test_calibration_windows_are_seeded():
    train = np.arange(1000) % 96
    a, b = calibration_sequences(train, n=4, length=9, seed=3), calibration_sequences(train, n=4, length=9, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 9) and np.all(np.diff(a, axis=1) % 96 == 1)  # consecutive tokens
    assert not np.array_equal(a, calibration_sequences(train, n=4, length=9, seed=4))


def test_shipped_tokens():
    data = load_text_corpus(train=False)
    assert data.validation.dtype == np.uint8 and data.validation.max() < 96
    assert len(data.validation) % corpus.CHUNK == 0 and len(data.validation) >= 40 * corpus.CHUNK
    assert data.calibration.shape == (128, 129) and data.calibration.dtype == np.uint8
    assert data.validation_sequences().shape == (len(data.validation) // 129, 129)
    assert data.validation.nbytes + data.calibration.nbytes < 120_000
    assert len(data.train) == 0


@pytest.mark.slow
@pytest.mark.skipif(platform.python_version() != str(np.load(corpus.TOKENS_PATH)["python"]),
                    reason="the shipped tokens were collected under another Python version")
def test_shipped_tokens_are_what_this_python_collects():
    """Under the Python that made them, the shipped tokens are rebuilt exactly (one collection, ~3 s)."""
    train, validation = split_chunks(encode(collect_docstrings()))
    shipped = load_text_corpus(train=False)
    np.testing.assert_array_equal(validation, shipped.validation)
    np.testing.assert_array_equal(calibration_sequences(train, seed=0), shipped.calibration)
