"""Speed of ElmanRNN and PeepholeLSTM against the Keras built-ins, in one process, interleaved.

Many-to-one regression (recurrent layer -> Dense(1)), Adam, batch 64, 32
features. For each setting, every round times a few training steps
(forward + backward + Adam) and a few inference calls of each layer in turn;
the ratio of a round is built-in time / seqkit time (above 1: seqkit is
faster). The table reports the median time per step and the median of the
per-round ratios. PyTorch ``nn.LSTM`` is added when torch is installed.

Run: ``python benchmarks/cells.py`` (about 10 minutes on 2 cores), or
``--quick`` for a smoke run.

``--ragged-fit`` times instead what a user meets first: a ``SequenceClassifier``
(64 units, 10 epochs, no early stopping, seed 0) fit on JapaneseVowels (270
sequences of 7-29 steps, 12 channels) in a fresh process, every compile on
first contact included; each seqkit cell beside its Keras built-in, the
processes run in turn, ``--rounds`` of each; medians of the fit's seconds and
of each process's peak resident memory.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from seqkit.cells import ElmanRNN, PeepholeLSTM  # noqa: E402

BATCH, FEATURES = 64, 32
PAIRS = [(ElmanRNN, keras.layers.SimpleRNN), (PeepholeLSTM, keras.layers.LSTM)]


def keras_runner(layer_class, steps, units, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((steps, FEATURES), batch_size=BATCH)
    model = keras.Model(inputs, keras.layers.Dense(1)(layer_class(units)(inputs)))
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, steps, FEATURES)).astype("float32")
    y = rng.normal(size=(BATCH, 1)).astype("float32")
    return (lambda: model.train_on_batch(x, y)), (lambda: model.predict_on_batch(x))


def torch_runner(steps, units, seed=0):
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(os.cpu_count())
    lstm, head = torch.nn.LSTM(FEATURES, units, batch_first=True), torch.nn.Linear(units, 1)
    params = [*lstm.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params)
    x, y = torch.randn(BATCH, steps, FEATURES), torch.randn(BATCH, 1)

    def train():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(head(lstm(x)[0][:, -1]), y)
        loss.backward()
        optimizer.step()

    def infer():
        with torch.no_grad():
            head(lstm(x)[0][:, -1])

    return train, infer


def timed(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def compare(runners, rounds, calls):
    """Interleave the runners; return median seconds per call and median ratios to the first."""
    for train, infer in runners.values():
        for _ in range(3):
            train()
            infer()
    times = {name: {"train": [], "infer": []} for name in runners}
    for _ in range(rounds):
        for name, (train, infer) in runners.items():
            times[name]["train"].append(timed(train, calls))
            times[name]["infer"].append(timed(infer, calls))
    base = next(iter(runners))
    rows = {}
    for name, t in times.items():
        rows[name] = {
            mode: (
                statistics.median(t[mode]),
                statistics.median(b / o for b, o in zip(times[base][mode], t[mode])),
            )
            for mode in ("train", "infer")
        }
    return rows


FIT_SCRIPT = """
import sys, time
sys.path.insert(0, {bench!r})
from _pairs import estimator_cell, estimator_name, peak_rss_mb
from seqkit.datasets import load_classification
from seqkit.estimators import SequenceClassifier
X, y, _, _ = load_classification("japanese_vowels")
with estimator_cell({cell!r}):
    model = SequenceClassifier(cell=estimator_name({cell!r}), units=64, epochs=10,
                               early_stopping=False, random_state=0)
    start = time.perf_counter()
    model.fit(X, y)
print(time.perf_counter() - start, peak_rss_mb())
"""


def ragged_fits(rounds):
    """``{cell: (median fit seconds, median peak RSS MiB)}`` of fresh-process fits."""
    from _pairs import PAIRS

    cells = [cell for pair in PAIRS for cell in pair]
    found = {cell: [] for cell in cells}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for _ in range(rounds):
        for cell in cells:
            script = FIT_SCRIPT.format(bench=str(Path(__file__).parent), cell=cell)
            result = subprocess.run([sys.executable, "-c", script], capture_output=True,
                                    text=True, check=True, env=env)
            found[cell].append([float(v) for v in result.stdout.split()[-2:]])
    print("| fresh-process fit, JapaneseVowels, 10 epochs | seconds | peak RSS MiB | "
          "load average |")
    print("|---|---:|---:|---|")
    for cell, runs in found.items():
        seconds, rss = (statistics.median(r[i] for r in runs) for i in (0, 1))
        load = "/".join(f"{v:.2f}" for v in os.getloadavg())
        print(f"| {cell} | {seconds:.1f} | {rss:.0f} | {load} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 calls, short sequences")
    parser.add_argument("--ragged-fit", action="store_true",
                        help="fresh-process fits on JapaneseVowels (--rounds of each; try 3)")
    args = parser.parse_args(argv)
    if args.ragged_fit:
        ragged_fits(args.rounds)
        return
    settings = [(100, 128), (500, 64)]
    if args.quick:
        args.rounds, args.calls, settings = 2, 2, [(20, 16)]
    try:
        import torch  # noqa: F401

        has_torch = True
    except ImportError:
        has_torch = False

    print("| setting | layer | train ms/step | train ratio | infer ms/call | infer ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for steps, units in settings:
        for ours, builtin in PAIRS:
            runners = {
                builtin.__name__: keras_runner(builtin, steps, units),
                ours.__name__: keras_runner(ours, steps, units),
            }
            if has_torch and builtin is keras.layers.LSTM:
                runners["torch nn.LSTM"] = torch_runner(steps, units)
            rows = compare(runners, args.rounds, args.calls)
            for name, row in rows.items():
                (train_s, train_r), (infer_s, infer_r) = row["train"], row["infer"]
                print(
                    f"| T={steps}, {units} units | {name} | {train_s * 1e3:.1f} | {train_r:.2f} "
                    f"| {infer_s * 1e3:.1f} | {infer_r:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
