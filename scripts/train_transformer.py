"""Train the tiny character transformer from scratch and write the weights the package ships.

Usage::

    .venv/bin/python scripts/train_transformer.py --seed 0 --out adaprune_edu/data_files/tiny_transformer.npz

reproduces ``adaprune_edu/data_files/tiny_transformer.npz`` (float16 weights) and the record next to
it, ``tiny_transformer.json`` (settings, training time, loss curve, validation perplexity of the
written file). Same seed, same machine, same NumPy/BLAS: the same numbers (the model's weights and
the batch offsets both come from ``--seed``; float32 sums may round differently on another BLAS kernel).

Model (the defaults): d_model 64, 2 blocks, 4 heads, context 128, GELU MLP of width 256, 119,424
parameters. Training: AdamW (peak learning rate 3e-3, betas 0.9/0.95, weight decay 0.1 on matrices),
100 warm-up steps then cosine to a tenth, batches of 32 windows of 129 tokens from the docstrings of
this Python's standard library (:func:`adaprune_edu.corpus.load_text_corpus`). One BLAS thread.

Run time: the shipped file took 1,692 s (28 minutes) for 1,500 steps, 1.1 s per step on average, on
the shared 2-core machine it was made on (1 BLAS thread, ``nice -n 10``, load average 10-20; the exact
figure is ``seconds`` in ``tiny_transformer.json``); a quiet core takes less. ``--checkpoint-every N``
writes the weights (and the record) every N steps, so a stopped run still leaves a usable file. The
per-step benchmark against PyTorch is ``benchmarks/bench_transformer.py``.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adaprune_edu.corpus import load_text_corpus  # noqa: E402
from adaprune_edu.nn.lm_training import train_language_model  # noqa: E402
from adaprune_edu.nn.transformer import TinyTransformer  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="the .npz to write (a .json record goes next to it)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--checkpoint-every", type=int, default=0, help="also write the files every N steps")
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--lib-dir", type=Path, default=None,
                        help="where the training docstrings come from (this Python's Lib by default)")
    return parser.parse_args(argv)


#: a quick check reads the perplexity of the first this many validation sequences
QUICK_SEQUENCES = 64


def evaluate(path: Path, corpus) -> dict:
    """Validation perplexity of the weights in ``path`` (as loaded, float32): all sequences and the first 64."""
    model = TinyTransformer.load(path, dtype="float32")
    validation = corpus.validation_sequences(model.context + 1)
    return {"validation_sequences": int(validation.shape[0]),
            "validation_perplexity": model.perplexity(validation),
            f"validation_perplexity_first_{QUICK_SEQUENCES}": model.perplexity(validation[:QUICK_SEQUENCES])}


def write(model, args, corpus, history, steps_done, out: Path) -> dict:
    """Write the float16 weights and the record; return the record."""
    model.save(out, dtype="float16")
    record = {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"},
        "config": model.config(),
        "n_params": model.n_params,
        "steps_done": steps_done,
        "seconds": round(history["seconds"], 1),
        "train_loss_last_50": float(np.mean(history["loss"][-50:])),
        "train_loss_curve": [float(np.mean(history["loss"][i:i + 50])) for i in range(0, len(history["loss"]), 50)],
        **evaluate(out, corpus),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def main(argv=None) -> dict:
    args = parse_args(argv)
    with threadpool_limits(1):
        corpus = load_text_corpus(args.lib_dir)
        model = TinyTransformer(vocab=96, d_model=args.d_model, n_layers=args.layers, n_heads=args.heads,
                                context=args.context, seed=args.seed, dtype="float32")
        print(f"{model.n_params} parameters, {len(corpus.train)} training tokens, "
              f"{len(corpus.validation)} validation tokens", flush=True)

        def checkpoint(steps_done, history):
            if args.checkpoint_every and steps_done % args.checkpoint_every == 0 and steps_done < args.steps:
                record = write(model, args, corpus, history, steps_done, args.out)
                print(f"checkpoint at step {steps_done}: validation perplexity "
                      f"{record['validation_perplexity']:.3f}", flush=True)

        history = train_language_model(model, corpus.train, steps=args.steps, batch_size=args.batch_size,
                                       learning_rate=args.learning_rate, weight_decay=args.weight_decay,
                                       warmup=args.warmup, seed=args.seed, log_every=args.log_every,
                                       log=lambda line: print(line, flush=True), callback=checkpoint)
        record = write(model, args, corpus, history, args.steps, args.out)
    print(f"done: {args.steps} steps in {record['seconds']:.0f} s, validation perplexity "
          f"{record['validation_perplexity']:.3f}", flush=True)
    return record


if __name__ == "__main__":
    main()
