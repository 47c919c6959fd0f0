"""The adding problem (Hochreiter & Schmidhuber, 1997): which cell bridges long time lags?

Each sequence has two input channels: random values in [0, 1], and markers,
1 at two steps (one in each half of the sequence) and 0 elsewhere. The target
is the sum of the two marked values. Always answering 1 scores the trivial
MSE ``Var(u_1 + u_2) = 2/12 ≈ 0.167``; an MSE well below it means the network
found the marked values across up to ``T`` steps.

Every cell gets the same budget: the same network (one recurrent layer of
``--units`` units, a linear read-out), the same training set, epochs, batch
size, learning rate and gradient clipping; the test set is fresh. The table
gives the test MSE after the last epoch, next to the baseline.

Run: ``python benchmarks/adding_problem.py`` (about 10 minutes on 2 cores); it
prints a markdown table and writes ``benchmarks/RESULTS-adding.md``.
``--quick`` is a smoke run.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from seqkit import networks, training  # noqa: E402

BASELINE = 2 / 12


def adding_problem(n, steps, rng):
    """``n`` sequences of the adding problem, ``(n, steps, 2)``, and their targets ``(n, 1)``."""
    values = rng.uniform(size=(n, steps))
    markers = np.zeros((n, steps))
    half = steps // 2
    first, second = rng.integers(0, half, n), rng.integers(half, steps, n)
    rows = np.arange(n)
    markers[rows, first] = markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype("float32")
    y = (values[rows, first] + values[rows, second])[:, None].astype("float32")
    return x, y


def run(cell, steps, args):
    """Train one cell on one sequence length; return (test MSE, seconds)."""
    rng = np.random.default_rng(args.seed + steps)
    x, y = adding_problem(args.train, steps, rng)
    x_test, y_test = adding_problem(args.test, steps, rng)
    keras.utils.set_random_seed(args.seed)
    model = networks.build_many_to_one(2, 1, cell=cell, units=args.units, output_activation=None)
    training.compile_model(model, loss="mse", learning_rate=args.learning_rate)
    start = time.perf_counter()
    training.fit(model, x, y, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
    seconds = time.perf_counter() - start
    return float(model.evaluate(x_test, y_test, batch_size=512, verbose=0)), seconds


def table(results, args):
    lengths = sorted({steps for _, steps in results})
    lines = [
        "| cell | " + " | ".join(f"T = {t}" for t in lengths) + " |",
        "|---|" + "---:|" * len(lengths),
    ]
    for cell in args.cells:
        cells = []
        for steps in lengths:
            mse, _ = results[cell, steps]
            cells.append(f"**{mse:.4f}**" if mse < 0.1 * BASELINE else f"{mse:.4f}")
        lines.append(f"| {cell} | " + " | ".join(cells) + " |")
    lines.append("| always 1 (baseline) | " + " | ".join(f"{BASELINE:.4f}" for _ in lengths) + " |")
    seconds = " | ".join(
        f"{t}: " + ", ".join(f"{cell} {results[cell, t][1]:.0f}" for cell in args.cells)
        for t in lengths
    )
    return "\n".join([
        "Test MSE on the adding problem (lower is better; **bold**: below a tenth of the "
        "baseline, i.e. solved).",
        "",
        *lines,
        "",
        f"Budget per cell and length: {args.train} training sequences, {args.epochs} epochs "
        f"of batches of {args.batch_size} ({args.epochs * -(-args.train // args.batch_size)} "
        f"updates), {args.units} units, Adam at {args.learning_rate} with gradient-norm "
        f"clipping at 1; {args.test} fresh test sequences; seed {args.seed}.",
        f"Training seconds per run ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores), by length: {seconds}.",
        "",
        "Command: `" + " ".join(["python benchmarks/adding_problem.py", *sys.argv[1:]]) + "`",
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--cells", nargs="+", default=list(networks.CELL_NAMES),
                        choices=networks.CELL_NAMES)
    parser.add_argument("--train", type=int, default=4000, help="training sequences")
    parser.add_argument("--test", type=int, default=1000, help="test sequences")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).with_name("RESULTS-adding.md"))
    parser.add_argument("--quick", action="store_true", help="tiny smoke run, no file written")
    args = parser.parse_args()
    if args.quick:
        args.lengths, args.train, args.test, args.epochs = [20], 200, 100, 1
    results = {}
    for steps in args.lengths:
        for cell in args.cells:
            results[cell, steps] = run(cell, steps, args)
            mse, seconds = results[cell, steps]
            print(f"T={steps:4d} {cell:14s} test MSE {mse:.4f}  ({seconds:.0f} s)", flush=True)
    report = table(results, args)
    print(report)
    if not args.quick:
        args.output.write_text("# The adding problem\n\n" + report + "\n")


if __name__ == "__main__":
    main()
