"""Memory of full against truncated backpropagation through time, as sequences grow.

Each setting trains a many-to-many peephole LSTM (``--units`` units, batch
``--batch-size``, 8 features) for a few batches of sequences of ``T`` steps, in
a fresh process. The process reports its peak resident memory (``ru_maxrss``)
before training (TensorFlow loaded, model built and run once) and after. Full
BPTT keeps every step's activations for the backward pass, so its peak grows
with ``T``; truncated BPTT over chunks of ``k`` steps keeps ``k`` steps' worth,
whatever ``T`` is. The last columns count what the fast path of the layer
stores for its backward pass: 7 float32 arrays of ``(steps, batch, units)``.

Run: ``python benchmarks/tbptt_memory.py`` (about 2 minutes on 2 cores).
"""

import argparse
import json
import os
import resource
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FEATURES, STORED_ARRAYS = 8, 7


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(steps, tbptt_steps, args):
    """Train in this process; print the peak memory before and after training, as JSON."""
    import numpy as np

    from seqkit import networks, training

    rng = np.random.default_rng(0)
    n = args.batch_size * args.batches
    x = rng.normal(size=(n, steps, FEATURES)).astype("float32")
    y = rng.normal(size=(n, steps, 1)).astype("float32")
    model = networks.build_many_to_many(FEATURES, 1, units=args.units, output_activation=None)
    training.compile_model(model, loss="mse")
    model.predict(x[:2, :8], verbose=0)
    before = peak_mb()
    training.fit(model, x, y, epochs=1, batch_size=args.batch_size, tbptt_steps=tbptt_steps)
    print(json.dumps({"before": before, "after": peak_mb()}))


def measure(steps, tbptt_steps, args):
    command = [sys.executable, __file__, "--child", str(steps), str(tbptt_steps or 0),
               "--units", str(args.units), "--batch-size", str(args.batch_size),
               "--batches", str(args.batches)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def stored_mb(steps, args):
    return STORED_ARRAYS * steps * args.batch_size * args.units * 4 / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[500, 1000, 2000, 4000])
    parser.add_argument("--chunk", type=int, default=50, help="k, the truncated BPTT chunk")
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=2, help="batches trained per setting")
    parser.add_argument("--child", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1] or None, args)
        return
    k = args.chunk
    lines = [
        f"| T | full BPTT: peak MB (+ in training) | truncated, k = {k}: peak MB (+ in training) "
        "| stored for backward, full / truncated (MB) |",
        "|---:|---:|---:|---:|",
    ]
    for steps in args.lengths:
        full, truncated = measure(steps, None, args), measure(steps, k, args)
        row = [
            f"{full['after']:.0f} (+{full['after'] - full['before']:.0f})",
            f"{truncated['after']:.0f} (+{truncated['after'] - truncated['before']:.0f})",
            f"{stored_mb(steps, args):.0f} / {stored_mb(min(k, steps), args):.1f}",
        ]
        lines.append(f"| {steps} | " + " | ".join(row) + " |")
        print(lines[-1], flush=True)
    print()
    print(f"Peephole LSTM, {args.units} units, batch {args.batch_size}, {FEATURES} features, "
          f"{args.batches} batches per setting, each in a fresh process.")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
