"""A character-level text corpus with no download: the docstrings of Python's own standard library.

:func:`collect_docstrings` reads every ``Lib/*.py`` file of the running Python with :mod:`ast` (it
parses the source, it imports nothing, so no module's code runs) and joins the module, class and
function docstrings in file order: about 770K characters of mostly English technical prose.
:func:`encode` keeps 96 symbols, newline and the 95 printable ASCII characters (a tab becomes four
spaces, anything else is dropped), as token ids 0..95.

The text changes between Python minor versions, so the numbers every learner compares are computed
on tokens shipped with the package: the validation split (every 10th chunk of 2048 characters) and
128 calibration sequences drawn from the training split, collected once under Python 3.11
(``adaprune_edu/data_files/docstring_tokens.npz``). Training uses the text collected on the
machine itself, minus the chunks of the shipped validation split, whatever the Python version.

>>> corpus = load_text_corpus()
>>> corpus.validation.dtype, corpus.calibration.shape
(dtype('uint8'), (128, 129))
>>> decode(encode("def f():\\n\\treturn 1"))
'def f():\\n    return 1'
"""
from __future__ import annotations

import ast
import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._checks import check_int

#: the 96 symbols, token id = position: newline, then printable ASCII from space (32) to "~" (126)
VOCAB = "\n" + "".join(chr(code) for code in range(32, 127))
_ID = {symbol: i for i, symbol in enumerate(VOCAB)}
CHUNK = 2048
VALIDATION_EVERY = 10
CALIBRATION_SEQUENCES = 128
CALIBRATION_LENGTH = 129  # context 128 plus the last target
TOKENS_PATH = Path(__file__).resolve().parent / "data_files" / "docstring_tokens.npz"


def encode(text: str) -> np.ndarray:
    """Token ids (uint8, shape (n_characters,)) of ``text``; tabs become 4 spaces, other symbols are dropped."""
    if not isinstance(text, str):
        raise TypeError(f"text={text!r:.60} must be a str")
    ids = [_ID[c] for c in text.replace("\t", "    ") if c in _ID]
    return np.array(ids, dtype=np.uint8)


def decode(tokens) -> str:
    """The text of token ids (any shape is flattened)."""
    tokens = np.asarray(tokens).ravel()
    if tokens.size and (tokens.min() < 0 or tokens.max() >= len(VOCAB)):
        raise ValueError(f"tokens hold ids outside [0, {len(VOCAB) - 1}]")
    return "".join(VOCAB[int(t)] for t in tokens)


def standard_library_dir() -> Path:
    """The running Python's ``Lib`` folder (where ``os.py`` lives)."""
    return Path(os.__file__).resolve().parent


def collect_docstrings(lib_dir=None) -> str:
    """Every module, class and function docstring of ``lib_dir/*.py`` (sorted by file name), joined by blank lines.

    ``lib_dir`` is the running Python's standard library by default. Files that do not parse are skipped.
    """
    lib_dir = standard_library_dir() if lib_dir is None else Path(lib_dir)
    if not lib_dir.is_dir():
        raise ValueError(f"lib_dir={str(lib_dir)!r} is not a folder")
    docstrings = []
    for path in sorted(lib_dir.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=True)
                if doc:
                    docstrings.append(doc)
    return "\n\n".join(docstrings)


def split_chunks(tokens: np.ndarray, chunk: int = CHUNK, every: int = VALIDATION_EVERY):
    """``(train, validation)``: ``tokens`` cut into chunks of ``chunk``; chunk ``i`` goes to validation
    when ``i % every == every - 1``. Both are 1-D (the chunks concatenated); a short last chunk is dropped."""
    chunk = check_int("chunk", chunk, minimum=1)
    every = check_int("every", every, minimum=2)
    n = len(tokens) // chunk
    chunks = np.asarray(tokens[:n * chunk]).reshape(n, chunk)
    is_validation = np.arange(n) % every == every - 1
    return chunks[~is_validation].ravel(), chunks[is_validation].ravel()


def sequences(tokens: np.ndarray, length: int) -> np.ndarray:
    """Non-overlapping windows of ``length`` tokens, shape (len(tokens) // length, length)."""
    length = check_int("length", length, minimum=2)
    n = len(tokens) // length
    if n == 0:
        raise ValueError(f"length={length} is longer than the {len(tokens)} tokens given")
    return np.asarray(tokens[:n * length]).reshape(n, length)


def calibration_sequences(train: np.ndarray, n: int = CALIBRATION_SEQUENCES, length: int = CALIBRATION_LENGTH,
                          seed: int = 0) -> np.ndarray:
    """``n`` windows of ``length`` tokens at random offsets of ``train`` (from ``seed``), shape (n, length)."""
    n = check_int("n", n, minimum=1)
    length = check_int("length", length, minimum=2)
    rng = np.random.default_rng(check_int("seed", seed))
    starts = rng.integers(0, len(train) - length + 1, size=n)
    return np.stack([train[s:s + length] for s in starts])


def build_shipped_tokens(lib_dir=None) -> dict:
    """What ``docstring_tokens.npz`` holds, computed from ``lib_dir``: ``validation`` (1-D uint8),
    ``calibration`` (128, 129) uint8 drawn from the training split with seed 0, and the Python version."""
    import platform

    train, validation = split_chunks(encode(collect_docstrings(lib_dir)))
    return {"validation": validation, "calibration": calibration_sequences(train, seed=0),
            "python": np.array(platform.python_version())}


def write_shipped_tokens(path=TOKENS_PATH, lib_dir=None) -> Path:
    """Write :func:`build_shipped_tokens` to ``path`` (how the shipped file was made)."""
    from ._files import atomic_write_bytes

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **build_shipped_tokens(lib_dir))
    return atomic_write_bytes(path, buffer.getvalue())


@dataclass
class TextCorpus:
    """Token ids (uint8) of the docstring corpus.

    ``train`` : (n_train,) collected on this machine, the shipped validation chunks removed;
    ``validation`` : (n_validation,) shipped; ``calibration`` : (128, 129) shipped;
    ``shipped_python`` : the Python version the shipped tokens were collected with.
    """

    train: np.ndarray
    validation: np.ndarray
    calibration: np.ndarray
    shipped_python: str

    def validation_sequences(self, length: int = CALIBRATION_LENGTH) -> np.ndarray:
        """The validation tokens as non-overlapping windows, shape (n, length)."""
        return sequences(self.validation, length)


@functools.lru_cache(maxsize=2)
def _shipped():
    with np.load(TOKENS_PATH, allow_pickle=False) as data:
        return data["validation"], data["calibration"], str(data["python"])


def load_text_corpus(lib_dir=None, train: bool = True) -> TextCorpus:
    """Training tokens collected from ``lib_dir`` (this Python's ``Lib`` by default) and the shipped
    validation and calibration tokens. Training chunks identical to a shipped validation chunk are
    left out, so validation stays held out even when this Python's text differs from the shipped one.

    ``train=False`` skips collecting (about 3 s) and leaves ``train`` empty: enough for evaluation.
    """
    validation, calibration, python = _shipped()
    if not train:
        return TextCorpus(train=np.zeros(0, dtype=np.uint8), validation=validation.copy(),
                          calibration=calibration.copy(), shipped_python=python)
    train, _ = split_chunks(encode(collect_docstrings(lib_dir)))
    held_out = {bytes(c) for c in validation.reshape(-1, CHUNK)}
    chunks = train.reshape(-1, CHUNK)
    keep = np.array([bytes(c) not in held_out for c in chunks], dtype=bool)
    return TextCorpus(train=chunks[keep].ravel(), validation=validation.copy(), calibration=calibration.copy(),
                      shipped_python=python)
