"""A tiny decoder-only character transformer (GPT-style, pre-LN), from scratch in NumPy.

>>> from adaprune_edu.nn.transformer import TinyTransformer
>>> model = TinyTransformer(vocab=96, d_model=32, n_layers=2, n_heads=4, context=16, seed=0)
>>> tokens = np.random.default_rng(0).integers(0, 96, size=(3, 17))   # (batch, time + 1)
>>> loss, grads = model.loss(tokens)        # predict tokens[:, 1:] from tokens[:, :-1]
>>> model.logits(tokens[:, :-1]).shape      # (batch, time, vocab)
(3, 16, 96)
>>> bool(abs(loss - np.log(96)) < 0.5)      # an untrained model is close to uniform
True
>>> model.params[model.index("blocks.0.attention")]["head_gate"]
array([1., 1., 1., 1.], dtype=float32)

The layers, in order (``model.layers``): ``TokenEmbedding``, ``PositionEmbedding``, ``n_layers``
``TransformerBlock`` (each ``[ln1, attention, ln2, mlp]``), a final ``LayerNorm`` and the output head
``Linear(d_model, vocab)`` (not tied to the embedding). ``model.params`` is the flat list of their
parameter dicts, named by :attr:`TinyTransformer.param_names` (``"token_embedding"``,
``"position_embedding"``, ``"blocks.0.ln1"``, ``"blocks.0.attention"``, ``"blocks.0.ln2"``,
``"blocks.0.mlp"``, ..., ``"ln_f"``, ``"head"``); :meth:`TinyTransformer.index` turns a name into a
position in that list. ``model.masks`` mirrors ``params``: ``None`` (dense) or a 0/1 array per entry.
Masks are applied where weights change (:meth:`~TinyTransformer.set_mask`, :meth:`~TinyTransformer.apply_masks`
after each optimizer step) and to the gradients :meth:`~TinyTransformer.loss` returns; the forward pass
never writes the parameters.

The linear weights a pruning method works on, all (n_in, n_out): ``Wq``, ``Wk``, ``Wv``, ``Wo`` of each
``blocks.i.attention``, ``W1``, ``W2`` of each ``blocks.i.mlp`` (see :meth:`~TinyTransformer.linear_weights`;
:meth:`~TinyTransformer.linear_inputs` returns what each of them multiplies, for calibration).
Each attention layer has a ``head_gate`` of shape (n_heads,), ones, multiplying each head's output
before ``Wo``: ``grads[model.index("blocks.0.attention")]["head_gate"]`` is d loss / d gate. Removing
heads physically (smaller Wq/Wk/Wv columns, Wo rows and gate) needs no change to the layers, and
:meth:`~TinyTransformer.save` keeps the smaller shapes.

Token ids come from :mod:`adaprune_edu.corpus` (96 symbols: newline and printable ASCII).

The package ships a trained model (d_model 64, 2 blocks, 4 heads, context 128) made by
``scripts/train_transformer.py``: :func:`load_pretrained` loads it, :func:`pretrained_record` returns
its record (training settings, time, validation perplexity)::

    model = load_pretrained()
    corpus = load_text_corpus(train=False)           # from adaprune_edu.corpus
    model.perplexity(corpus.validation_sequences())  # == pretrained_record()["validation_perplexity"]
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from .._checks import check_dtype, check_int
from .._files import atomic_write_bytes
from .layers.chain import backward_chain, forward_chain
from .layers.embedding import PositionEmbedding, TokenEmbedding, check_tokens
from .layers.layernorm import LayerNorm
from .layers.linear import Linear
from .layers.transformer_block import TransformerBlock

FORMAT = "adaprune_edu.TinyTransformer/1"
PRETRAINED_PATH = Path(__file__).resolve().parent.parent / "data_files" / "tiny_transformer.npz"


def cross_entropy(logits: np.ndarray, targets: np.ndarray):
    """Mean next-token cross-entropy and its gradient.

    Parameters
    ----------
    logits : ndarray of shape (batch, time, vocab)
    targets : ndarray of shape (batch, time), int token ids

    Returns
    -------
    loss : float, ``mean(-log softmax(logits)[..., target])`` in nats
    dlogits : ndarray of shape (batch, time, vocab), ``(softmax - onehot) / (batch * time)``
    """
    vocab = logits.shape[-1]
    Z = logits.reshape(-1, vocab)
    y = targets.reshape(-1)
    rows = np.arange(y.shape[0])
    shifted = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(shifted)
    total = E.sum(axis=1)
    loss = float(np.mean(np.log(total) - shifted[rows, y]))
    E /= total[:, None]
    E[rows, y] -= 1
    E /= y.shape[0]
    return loss, E.reshape(logits.shape)


class TinyTransformer:
    """``TinyTransformer(vocab, d_model, n_layers, n_heads, context, seed=0, dtype="float32")``.

    Parameters
    ----------
    vocab : int >= 2, the number of token ids
    d_model : int >= 1, divisible by ``n_heads``
    n_layers : int >= 1, transformer blocks
    n_heads : int >= 1, attention heads per block
    context : int >= 1, the longest input sequence
    seed : int, every random initial weight comes from ``np.random.default_rng(seed)``
    dtype : "float32" or "float64"
    d_hidden : int or None, the MLP's inner width (4 * d_model by default)
    activation : {"gelu", "relu"}, the MLP's activation

    Attributes
    ----------
    layers : list of layer objects; params, masks : lists of dicts (see the module docstring).
    """

    def __init__(self, vocab: int, d_model: int, n_layers: int, n_heads: int, context: int, seed: int = 0,
                 dtype="float32", d_hidden: int | None = None, activation: str = "gelu"):
        self.vocab = check_int("vocab", vocab, minimum=2)
        self.d_model = check_int("d_model", d_model, minimum=1)
        self.n_layers = check_int("n_layers", n_layers, minimum=1)
        self.n_heads = check_int("n_heads", n_heads, minimum=1)
        self.context = check_int("context", context, minimum=1)
        self.seed = check_int("seed", seed)
        self.dtype = check_dtype("dtype", dtype)
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.blocks = [TransformerBlock(d_model, n_heads, d_hidden, activation) for _ in range(n_layers)]
        self.d_hidden = self.blocks[0].mlp.d_hidden
        self.activation = activation
        self.layers = [TokenEmbedding(vocab, d_model), PositionEmbedding(context, d_model), *self.blocks,
                       LayerNorm(d_model), Linear(d_model, vocab)]
        self.param_names = ["token_embedding", "position_embedding"]
        for i in range(n_layers):
            self.param_names += [f"blocks.{i}.{part}" for part in ("ln1", "attention", "ln2", "mlp")]
        self.param_names += ["ln_f", "head"]
        rng = np.random.default_rng(self.seed)
        self.params = []
        for layer in self.layers:
            share = layer.init_params(rng, self.dtype)
            self.params.extend(share if isinstance(share, list) else [share])
        self.masks = [{key: None for key in p} for p in self.params]

    # ------------------------------------------------------------------ structure
    def config(self) -> dict:
        """The constructor arguments: ``TinyTransformer(**model.config())`` rebuilds the architecture."""
        return {"vocab": self.vocab, "d_model": self.d_model, "n_layers": self.n_layers, "n_heads": self.n_heads,
                "context": self.context, "seed": self.seed, "dtype": self.dtype.name, "d_hidden": self.d_hidden,
                "activation": self.activation}

    def index(self, name: str) -> int:
        """Position of the parameter dict called ``name`` (e.g. ``"blocks.0.attention"``) in ``params``."""
        if name not in self.param_names:
            raise ValueError(f"name={name!r} is not a parameter group; choose one of {self.param_names}")
        return self.param_names.index(name)

    def linear_weights(self) -> list:
        """``[(index, key), ...]`` of every (n_in, n_out) weight inside the blocks, in forward order:
        ``Wq, Wk, Wv, Wo`` of each attention layer and ``W1, W2`` of each MLP."""
        found = []
        for i in range(self.n_layers):
            found += [(self.index(f"blocks.{i}.attention"), key) for key in ("Wq", "Wk", "Wv", "Wo")]
            found += [(self.index(f"blocks.{i}.mlp"), key) for key in ("W1", "W2")]
        return found

    @property
    def n_params(self) -> int:
        """Number of trainable parameters (the head gates, which are not trained, excluded)."""
        return sum(v.size for p in self.params for key, v in p.items() if key != "head_gate")

    # ------------------------------------------------------------------ masks
    def set_mask(self, index: int, key: str, mask) -> None:
        """Attach a 0/1 mask to ``params[index][key]`` and zero what it prunes (``None`` removes it)."""
        index = check_int("index", index, minimum=0, maximum=len(self.params) - 1)
        if key not in self.params[index]:
            raise ValueError(f"key={key!r} is not in params[{index}]; choose one of {sorted(self.params[index])}")
        if mask is None:
            self.masks[index][key] = None
            return
        target = self.params[index][key]
        mask = np.asarray(mask)
        if mask.shape != target.shape:
            raise ValueError(f"mask for params[{index}][{key!r}] has shape {mask.shape}; expected {target.shape}")
        if not np.all((mask == 0) | (mask == 1)):
            raise ValueError(f"mask for params[{index}][{key!r}] must hold only 0 and 1 (or booleans)")
        self.masks[index][key] = mask.astype(self.dtype)
        target *= self.masks[index][key]

    def apply_masks(self) -> None:
        """Multiply every mask into its parameter (keeps ``W == W * mask`` after an update)."""
        for p, m in zip(self.params, self.masks):
            for key, mask in m.items():
                if mask is not None:
                    p[key] *= mask

    # ------------------------------------------------------------------ maths
    def _check(self, tokens, name="tokens", extra=0) -> np.ndarray:
        tokens = check_tokens(name, tokens, self.vocab)
        if tokens.shape[1] - extra < 1 or tokens.shape[1] - extra > self.context:
            raise ValueError(f"{name} has {tokens.shape[1]} positions; this model needs between {1 + extra} and "
                             f"{self.context + extra} (context={self.context}{' plus the last target' * extra})")
        return tokens

    def forward(self, tokens: np.ndarray):
        """Logits and the caches backward needs. ``tokens`` (batch, time) -> (batch, time, vocab)."""
        return forward_chain(self.layers, self.params, self._check(tokens))

    def logits(self, tokens) -> np.ndarray:
        """Next-token logits: ``logits[n, t]`` scores the token after ``tokens[n, :t + 1]``.

        tokens : array of ints of shape (batch, time), ``time <= context``; returns (batch, time, vocab).
        """
        return self.forward(tokens)[0]

    def loss(self, tokens):
        """Mean cross-entropy of predicting ``tokens[:, 1:]`` from ``tokens[:, :-1]``, and its gradients.

        tokens : array of ints of shape (batch, time + 1), ``time <= context``.
        Returns ``(loss, grads)``: ``loss`` a float in nats, ``grads`` shaped like ``params`` (masked
        entries zero; ``head_gate`` entries hold d loss / d gate).
        """
        tokens = self._check(tokens, extra=1)
        logits, caches = forward_chain(self.layers, self.params, tokens[:, :-1])
        loss, dlogits = cross_entropy(logits, tokens[:, 1:])
        _, grads = backward_chain(self.layers, self.params, dlogits, caches, need_dX=False)
        for g, m in zip(grads, self.masks):
            for key, mask in m.items():
                if mask is not None:
                    g[key] = g[key] * mask
        return loss, grads

    def mean_loss(self, tokens, batch_size: int = 64) -> float:
        """Mean next-token cross-entropy (nats) over sequences ``tokens`` (n, time + 1), in batches."""
        tokens = self._check(tokens, extra=1)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        total = 0.0
        for start in range(0, tokens.shape[0], batch_size):
            part = tokens[start:start + batch_size]
            logits = self.logits(part[:, :-1])
            total += cross_entropy(logits, part[:, 1:])[0] * part.shape[0]
        return total / tokens.shape[0]

    def perplexity(self, tokens, batch_size: int = 64) -> float:
        """``exp(mean cross-entropy)`` over sequences ``tokens`` of shape (n, time + 1)."""
        return float(np.exp(self.mean_loss(tokens, batch_size)))

    def linear_inputs(self, tokens) -> dict:
        """What every block's linear weight multiplies, for calibration (Wanda's norms, SparseGPT's ``X^T X``).

        tokens : array of ints of shape (batch, time). Returns ``{(index, key): X}`` for every entry of
        :meth:`linear_weights`, ``X`` of shape (batch * time, n_in): ``params[index][key]`` maps ``X`` to
        that layer's output (``Wq``, ``Wk``, ``Wv`` share the LayerNorm output; ``Wo`` reads the gated heads).
        """
        _, caches = self.forward(tokens)
        found = {}
        for i in range(self.n_layers):
            _, c_attention, _, c_mlp = caches[2 + i]
            k_attention, k_mlp = self.index(f"blocks.{i}.attention"), self.index(f"blocks.{i}.mlp")
            X, Ycat = c_attention[0], c_attention[7]
            for key in ("Wq", "Wk", "Wv"):
                found[(k_attention, key)] = X.reshape(-1, X.shape[-1])
            found[(k_attention, "Wo")] = Ycat.reshape(-1, Ycat.shape[-1])
            found[(k_mlp, "W1")] = c_mlp[0].reshape(-1, c_mlp[0].shape[-1])
            found[(k_mlp, "W2")] = c_mlp[2].reshape(-1, c_mlp[2].shape[-1])
        return found

    # ------------------------------------------------------------------ files
    def save(self, path, dtype=None) -> Path:
        """Write config, parameters and masks to one ``.npz`` (``dtype="float16"`` halves the file)."""
        arrays = {"config": np.array(json.dumps({"format": FORMAT, **self.config()}))}
        for k, (p, m) in enumerate(zip(self.params, self.masks)):
            for key, value in p.items():
                arrays[f"param{k}_{key}"] = value if dtype is None else value.astype(dtype)
                if m[key] is not None:
                    arrays[f"mask{k}_{key}"] = m[key].astype(np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path, dtype=None) -> TinyTransformer:
        """A model from :meth:`save`'s file; parameters in ``dtype`` (the saved config's by default).

        The arrays keep their saved shapes, so a model whose heads were removed loads as it was saved.
        """
        with np.load(path, allow_pickle=False) as data:
            config = json.loads(str(data["config"]))
            if config.pop("format", None) != FORMAT:
                raise ValueError(f"path={str(path)!r} is not a file written by TinyTransformer.save")
            if dtype is not None:
                config["dtype"] = dtype
            model = cls(**config)
            for k, p in enumerate(model.params):
                for key in p:
                    p[key] = np.array(data[f"param{k}_{key}"], dtype=model.dtype)
                    name = f"mask{k}_{key}"
                    model.masks[k][key] = np.array(data[name], dtype=model.dtype) if name in data.files else None
        return model


def load_pretrained(dtype="float32") -> TinyTransformer:
    """The shipped trained model (float16 weights on disk, ``dtype`` in memory)."""
    return TinyTransformer.load(PRETRAINED_PATH, dtype=dtype)


def pretrained_record() -> dict:
    """The record ``scripts/train_transformer.py`` wrote with the shipped weights (``tiny_transformer.json``)."""
    return json.loads(PRETRAINED_PATH.with_suffix(".json").read_text())
