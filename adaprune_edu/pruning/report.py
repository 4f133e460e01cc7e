"""The compression report: what pruning bought, in parameters, FLOPs, bytes and milliseconds.

"Why is my pruned model neither smaller nor faster?" is the question users of every pruning
library ask. The answer is in three columns of this report:

- **dense**: the masked model as it is stored and run. Zeros are still numbers: the arrays
  hold every parameter, and a dense matrix product multiplies the zeros like any other value.
  Same bytes, same FLOPs, same latency.
- **CSR**: only the non-zeros, each with its column index (see :mod:`.sparse`). Smaller past
  ~50% sparsity; faster only at very high sparsity and large batches.
- **shrunk**: the physically smaller dense network after structured surgery (see
  :mod:`.surgery`). Only whole removed neurons show up here; fewer FLOPs, and a speed-up
  close to the FLOP reduction for large batches.

A CNN (a :class:`~adaprune_edu.nn.sequential.Sequential` with convolutions) gets the same report:
its "neurons" are the convolutions' channels (the units of :func:`.groups.layer_groups`), its
``layer_sizes`` are ``[input channels, channels of each convolution..., outputs]``, CSR bytes count
each filter bank as its ``(k*k*C_in, C_out)`` matrix, and latency is measured for "dense" and
"shrunk" only (there is no CSR convolution kernel here), with BatchNorm folded into the
convolutions as for deployment (:func:`inference_function`).

>>> report = compression_report(model, X_val, repeats=5)   # doctest: +SKIP
>>> print(report.to_text())                                # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .._checks import check_choice, check_features, check_int
from ..costs import (
    bytes_bitmask,
    bytes_csr,
    bytes_dense,
    count_nonzeros,
    count_params,
    flops_per_sample,
    macs_per_sample,
    measure_latency,
)
from ..nn import MLP, Sequential
from ..nn.fold import fold_batchnorm
from ..nn.training import one_blas_thread
from .groups import layer_groups
from .sparse import SparseMLP
from .surgery import shrink

#: The two batch sizes of the report: one request at a time (real-time) and throughput.
BATCH_SIZES = (1, 1024)


@dataclass
class CompressionReport:
    """Numbers describing one (pruned) model; every field is a plain int, float, list or dict.

    ``latency_ms`` maps a variant ("dense", "csr", "shrunk", "shrunk_csr") to ``{batch_size: milliseconds}``
    (``None`` when no data was given; "csr" only for an MLP; "shrunk" only when surgery removed neurons;
    "shrunk_csr", the smaller network in CSR, only for an MLP whose smaller network still has pruned weights).
    ``macs_*`` are per sample; ``flops_* = 2 * macs_*``.
    """

    layer_sizes: list
    shrunk_layer_sizes: list
    params: int
    nonzeros: int
    sparsity: float
    layer_sparsity: list
    neurons_alive: list
    neurons_total: list
    macs_dense: int
    macs_effective: int
    flops_dense: int
    flops_effective: int
    flops_shrunk: int
    macs_shrunk: int
    params_shrunk: int
    bytes_dense: int
    bytes_csr: int
    bytes_bitmask: int
    bytes_shrunk: int
    latency_ms: dict | None = field(default=None)

    @property
    def neurons_removed_fraction(self) -> float:
        """Fraction of hidden neurons that surgery removes (0 when there are no hidden layers)."""
        total = sum(self.neurons_total)
        return 0.0 if total == 0 else 1.0 - sum(self.neurons_alive) / total

    @property
    def flop_reduction(self) -> float:
        """Dense FLOPs of the original shape over dense FLOPs of the shrunken network."""
        return self.flops_dense / self.flops_shrunk

    @property
    def mac_reduction(self) -> float:
        """Dense MACs of the original shape over MACs of the shrunken network (equal to ``flop_reduction``)."""
        return self.macs_dense / self.macs_shrunk

    def speedup(self, variant: str, batch_size: int) -> float | None:
        """Measured dense latency over ``variant``'s latency at ``batch_size`` (None if not measured)."""
        if not self.latency_ms or variant not in self.latency_ms:
            return None
        return self.latency_ms["dense"][batch_size] / self.latency_ms[variant][batch_size]

    def to_dict(self) -> dict:
        """All fields plus the derived ratios, JSON-serialisable (batch sizes become strings)."""
        out = asdict(self)
        if self.latency_ms is not None:
            out["latency_ms"] = {v: {str(b): t for b, t in d.items()} for v, d in self.latency_ms.items()}
        out["neurons_removed_fraction"] = self.neurons_removed_fraction
        out["flop_reduction"] = self.flop_reduction
        out["mac_reduction"] = self.mac_reduction
        return out

    def to_text(self) -> str:
        """A table and the plain-language answer to "why is it (not) smaller and faster"."""
        lines = [
            f"architecture          {self.layer_sizes} -> after surgery {self.shrunk_layer_sizes}",
            f"parameters            {self.params:,} stored, {self.nonzeros:,} non-zero "
            f"(weight sparsity {self.sparsity:.1%}; per layer "
            + ", ".join(f"{s:.0%}" for s in self.layer_sparsity) + ")",
            f"hidden neurons alive  {self.neurons_alive} of {self.neurons_total} "
            f"({self.neurons_removed_fraction:.1%} removable)",
            f"FLOPs per sample      dense {self.flops_dense:,} | non-zero only {self.flops_effective:,} | "
            f"after surgery {self.flops_shrunk:,} ({self.flop_reduction:.2f}x fewer)",
            f"bytes                 dense {self.bytes_dense:,} | CSR {self.bytes_csr:,} | "
            f"bitmask {self.bytes_bitmask:,} | after surgery {self.bytes_shrunk:,}",
        ]
        if self.latency_ms is not None:
            for variant, times in self.latency_ms.items():
                cells = [f"batch {b}: {t:.3f} ms" for b, t in times.items()]
                if variant != "dense":
                    cells = [c + f" ({self.speedup(variant, b):.2f}x)" for c, b in zip(cells, times)]
                lines.append(f"latency {variant:<14}" + " | ".join(cells))
        lines.append("")
        lines.append("Why (not) smaller and faster:")
        lines.append(f"- Masked weights are zeros inside dense arrays: still {self.params:,} parameters, "
                     f"{self.bytes_dense:,} bytes and {self.flops_dense:,} FLOPs; a dense matrix product "
                     "multiplies zeros like any other number.")
        ratio = self.bytes_csr / self.bytes_dense
        lines.append(f"- CSR keeps {self.nonzeros:,} non-zeros at value + index each: {self.bytes_csr:,} bytes, "
                     f"{ratio:.2f}x the dense size ({'smaller' if ratio < 1 else 'LARGER'}; the break-even "
                     "is about 50% sparsity with float32 values and int32 indices).")
        if self.latency_ms is not None and "csr" in self.latency_ms:
            for b in self.latency_ms["csr"]:
                s = self.speedup("csr", b)
                why = "enough zeros skipped to pay for it" if s > 1 else "too few zeros skipped to pay for it"
                lines.append(f"- CSR inference at batch {b}: {s:.2f}x the dense speed (a sparse kernel pays for "
                             f"index look-ups and irregular memory access; {why}).")
        if self.shrunk_layer_sizes != self.layer_sizes:
            lines.append(f"- Surgery removed {self.neurons_removed_fraction:.0%} of hidden neurons: a smaller dense "
                         f"network with {self.flop_reduction:.2f}x fewer FLOPs and {self.bytes_shrunk:,} bytes.")
            if self.latency_ms is not None and "shrunk" in self.latency_ms:
                for b in self.latency_ms["shrunk"]:
                    note = "; at small batches per-call overhead dominates" if b < 64 else ""
                    lines.append(f"- Smaller network at batch {b}: {self.speedup('shrunk', b):.2f}x the dense speed "
                                 f"for {self.flop_reduction:.2f}x fewer FLOPs{note}.")
        else:
            lines.append("- No whole neuron is removable, so surgery cannot make the dense network smaller: "
                         "unstructured sparsity needs a sparse format (and a high sparsity) to pay off.")
        return "\n".join(lines)


_ALLOCATOR_SETTLED = []


def settle_allocator() -> None:
    """Free one 16 MB array once per process, so that later timings see a steady allocator.

    glibc's ``malloc`` serves blocks above 128 KB with freshly mapped pages, and the first
    write to each page costs a page fault, until a large block has been freed once; from then
    on such blocks come from the heap (the freed block must be below glibc's 32 MB cap for
    this to happen). A (1024, 256) float32 activation is 1 MB: the digits network's forward
    pass at batch 1024 took about twice as long before as after (``benchmarks/bench_sparse.py
    --no-settle-allocator``). Timings taken without this step depend on what the process
    happened to allocate before. Harmless elsewhere.
    """
    if not _ALLOCATOR_SETTLED:
        block = np.ones(4 * 1024 * 1024, dtype=np.float32)
        del block
        _ALLOCATOR_SETTLED.append(True)


def inference_function(model):
    """The bare forward pass of ``model`` as a function ``X -> logits``: what a deployment runs.

    Only the matrix products, bias additions and activations; no input validation and no
    mask multiplication (pruned weights are already zero). ``MLP.predict`` spends a fixed
    time per call on checks and masks; that cost is the same for a big and a small network
    and would hide the gain of a 10x smaller one, so latencies are timed on this function
    for every variant alike.

    A CNN (any other Sequential) is run as it is deployed: BatchNorm folded into the convolution
    before it (:func:`~adaprune_edu.nn.fold.fold_batchnorm`), evaluation mode, in chunks of
    ``INFERENCE_CHUNK`` (128) images whose im2col columns stay in cache.

    Parameters
    ----------
    model : MLP (dense arrays), SparseMLP (CSR, computed transposed as in :mod:`.sparse`) or Sequential

    Returns
    -------
    callable taking ``X`` of shape (n_samples, n_features) -- (n_samples, H, W, C) for a CNN -- in the
    model's dtype and returning logits of shape (n_samples, n_outputs)
    """
    from ..nn.activations import ACTIVATIONS

    if not isinstance(model, (Sequential, SparseMLP)):
        raise TypeError(f"model must be an MLP or a SparseMLP (or a Sequential: a CNN), got {type(model).__name__}")
    if not isinstance(model, (MLP, SparseMLP)):
        return _sequential_inference(model)
    act = ACTIVATIONS[model.activation][0]
    if isinstance(model, SparseMLP):
        layers = [(layer["W_T"], layer["b"][:, None]) for layer in model.layers]

        def sparse_forward(X):
            A_T = np.ascontiguousarray(X.T)  # SciPy's CSR @ dense walks rows of a C-ordered operand
            for W_T, b in layers[:-1]:
                A_T = act(np.asarray(W_T @ A_T) + b, inplace=True)[0]
            return (np.asarray(layers[-1][0] @ A_T) + layers[-1][1]).T

        return sparse_forward
    model.apply_masks()
    layers = [(p["W"], p["b"]) for p in model.params]

    def dense_forward(X):
        A = X
        for W, b in layers[:-1]:
            A = act(A @ W + b, inplace=True)[0]
        return A @ layers[-1][0] + layers[-1][1]

    return dense_forward


def _sequential_inference(model):
    """The forward pass of a Sequential with BatchNorm folded, in chunks of ``INFERENCE_CHUNK`` samples."""
    from ..nn.fold import fold_batchnorm
    from ..nn.layers.chain import forward_chain
    from ..nn.sequential import INFERENCE_CHUNK

    model.apply_masks()
    folded = fold_batchnorm(model)
    layers, params = folded.layers, folded.params

    def forward(X):
        if X.shape[0] <= INFERENCE_CHUNK:
            return forward_chain(layers, params, X, False)[0]
        return np.concatenate([forward_chain(layers, params, X[lo:lo + INFERENCE_CHUNK], False)[0]
                               for lo in range(0, X.shape[0], INFERENCE_CHUNK)])

    return forward


def unit_sizes(model) -> list:
    """``[inputs, units of each layer of groups..., outputs]``: an MLP's ``layer_sizes``, a CNN's channels.

    >>> unit_sizes(MLP([64, 32, 16, 10]))
    [64, 32, 16, 10]
    """
    return [int(model.n_features)] + [g.size for g in layer_groups(model)] + [int(model.n_outputs)]


def time_variants(functions: dict, X: np.ndarray, batch_sizes=BATCH_SIZES, repeats: int = 20, warmup: int = 2,
                  rounds: int = 5) -> dict:
    """Milliseconds per call of each function at each batch size, measured side by side.

    The functions are timed in ``min(rounds, repeats)`` interleaved rounds (``repeats`` runs in all
    per function and batch size); each gets the median of its least disturbed round: on a shared
    machine other processes only ever add time, and interleaving lets every variant meet the same load.
    One BLAS thread: SciPy's CSR product is single-threaded too, so this compares like with like.

    Parameters
    ----------
    functions : dict name -> callable ``X -> logits``
    X : ndarray of shape (n_samples, ...); rows are repeated cyclically to fill each batch

    Returns
    -------
    dict name -> {batch_size: milliseconds}
    """
    rounds = max(1, min(rounds, repeats))
    out = {name: {} for name in functions}
    settle_allocator()
    with one_blas_thread():
        for b in batch_sizes:
            Xb = _batch(X, b)
            times = {name: [] for name in functions}
            for _ in range(rounds):
                for name, function in functions.items():
                    times[name].append(measure_latency(function, Xb, repeats=max(1, repeats // rounds),
                                                       warmup=warmup))
            for name in functions:
                out[name][b] = 1000 * min(times[name])
    return out


def _batch(X: np.ndarray, size: int) -> np.ndarray:
    """``size`` rows taken cyclically from ``X`` (so a batch of 1024 exists even for small X)."""
    return np.ascontiguousarray(X[np.arange(size) % X.shape[0]])


def compression_report(model, X=None, repeats: int = 20, warmup: int = 2,
                       batch_sizes=BATCH_SIZES, timed: bool = True) -> CompressionReport:
    """Measure what a (pruned) model costs, dense, in CSR, and after structured surgery.

    Parameters
    ----------
    model : MLP or Sequential (a CNN)
        Possibly masked; not modified.
    X : ndarray of shape (n_samples, n_features) -- (n_samples, H, W, C) for a CNN --, optional
        Inputs for the latency measurements; rows are repeated cyclically to fill each batch.
        Without ``X`` no latency is measured (``latency_ms`` is None). Latency is the bare
        forward pass (:func:`inference_function`) of each variant, timed side by side in
        interleaved rounds on one BLAS thread (:func:`time_variants`): SciPy's CSR product is
        single-threaded, so this compares like with like, and on a busy machine spinning BLAS
        threads would distort the dense timings.
    repeats : int >= 1
        Timed runs per variant and batch size (in up to 5 rounds; the median of the least
        disturbed round is reported). Tests use 1-3.
    warmup : int >= 0
        Untimed runs before timing.
    batch_sizes : sequence of int >= 1, default (1, 1024)
    timed : bool, default True; False counts without timing (a CNN needs ``X`` for its MACs even then)

    Returns
    -------
    CompressionReport
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an adaprune_edu.nn.MLP or Sequential, got {type(model).__name__}")
    repeats = check_int("repeats", repeats, minimum=1)
    warmup = check_int("warmup", warmup, minimum=0)
    if isinstance(batch_sizes, (str, bytes)) or not hasattr(batch_sizes, "__iter__"):
        raise TypeError(f"batch_sizes={batch_sizes!r} must be a sequence of ints like (1, 1024)")
    batch_sizes = tuple(check_int(f"batch_sizes[{i}]", b, minimum=1) for i, b in enumerate(batch_sizes))
    if not batch_sizes:
        raise ValueError("batch_sizes is empty; give at least one batch size")
    is_mlp = isinstance(model, MLP)
    if X is not None:
        X = (check_features("X", X, model.n_features) if is_mlp else model._check_X("X", X)).astype(model.dtype,
                                                                                                   copy=False)

    model.apply_masks()
    small = shrink(model)
    sizes, small_sizes = unit_sizes(model), unit_sizes(small)
    weights = [p["W"] for p in model.params if "W" in p]
    report = CompressionReport(
        layer_sizes=sizes,
        shrunk_layer_sizes=small_sizes,
        params=count_params(model),
        nonzeros=count_nonzeros(model),
        sparsity=float(model.sparsity()),
        layer_sparsity=[float(1 - np.count_nonzero(W) / W.size) for W in weights],
        neurons_alive=small_sizes[1:-1],
        neurons_total=sizes[1:-1],
        macs_dense=macs_per_sample(model, X=X),
        macs_effective=macs_per_sample(model, sparse=True, X=X),
        flops_dense=flops_per_sample(model, X=X),
        flops_effective=flops_per_sample(model, sparse=True, X=X),
        flops_shrunk=flops_per_sample(small, X=X),
        macs_shrunk=macs_per_sample(small, X=X),
        params_shrunk=count_params(small),
        bytes_dense=bytes_dense(model),
        bytes_csr=bytes_csr(model),
        bytes_bitmask=bytes_bitmask(model),
        bytes_shrunk=bytes_dense(small),
    )
    if X is not None and timed:
        variants = {"dense": inference_function(model)}
        if is_mlp:
            variants["csr"] = inference_function(SparseMLP(model))
        if small_sizes != sizes:
            variants["shrunk"] = inference_function(small)
            if is_mlp and small.sparsity() > 0:
                variants["shrunk_csr"] = inference_function(SparseMLP(small))
        report.latency_ms = time_variants(variants, X, batch_sizes, repeats=repeats, warmup=warmup)
    return report


#: Resource metrics a budget can be set in (see :func:`resource_cost`).
COST_METRICS = ("bytes_csr", "bytes_shrunk", "flops_sparse", "flops_shrunk", "latency_ms")


def resource_cost(model, metric: str, X=None, batch_size: int = 1, repeats: int = 20) -> float:
    """One number saying what deploying ``model`` costs, for a resource budget.

    Every count comes from :mod:`adaprune_edu.costs`, for an MLP and a CNN alike.

    Parameters
    ----------
    model : MLP or Sequential (a CNN)
    metric : one of ``COST_METRICS``
        ``"bytes_csr"``: bytes with every ``W`` in CSR and the other parameters dense
        (unstructured sparsity pays off); ``"bytes_shrunk"``: dense bytes after structured surgery
        (whole neurons and channels pay off); ``"flops_sparse"``: FLOPs per sample counting non-zero
        weights only (an ideal sparse kernel); ``"flops_shrunk"``: dense FLOPs per sample after
        surgery (what a dense kernel really does); ``"latency_ms"``: measured median milliseconds at
        ``batch_size`` rows of ``X`` of the shrunken network -- for an MLP the faster of the dense
        network and its CSR export, for a CNN the dense network with BatchNorm folded.
    X : ndarray of shape (n_samples, n_features), or images (n_samples, H, W, C); needed for
        "latency_ms", and for the FLOP metrics of a network with convolutions (their MACs depend on
        the image size)
    batch_size, repeats : for "latency_ms"

    Returns
    -------
    float
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an adaprune_edu.nn network (MLP or Sequential), got {type(model).__name__}")
    check_choice("metric", metric, COST_METRICS)
    if X is not None:
        X = model._check_X("X", X)
    if metric == "bytes_csr":
        return float(bytes_csr(model))
    if metric == "flops_sparse":
        return float(flops_per_sample(model, sparse=True, X=X))
    small = shrink(model)
    if metric == "bytes_shrunk":
        return float(bytes_dense(small))
    if metric == "flops_shrunk":
        return float(flops_per_sample(small, X=X))
    if X is None:
        raise ValueError("metric='latency_ms' measures inference time: pass X (e.g. the validation inputs)")
    Xb = _batch(X, check_int("batch_size", batch_size, minimum=1))
    settle_allocator()
    with one_blas_thread():
        if not isinstance(model, MLP):
            folded = fold_batchnorm(small)
            return 1000 * measure_latency(lambda batch: folded.forward(batch, training=False), Xb, repeats=repeats,
                                          warmup=2)
        return 1000 * min(measure_latency(inference_function(small), Xb, repeats=repeats, warmup=2),
                          measure_latency(inference_function(SparseMLP(small)), Xb, repeats=repeats, warmup=2))
