"""Peak memory of ``seqkit predict`` on a 1 GiB forecasting file, and on one a tenth of it.

Fits a small forecaster on a daily series and exports it, writes a long-table
CSV (``unique_id, ds, y``: many daily series of ``--steps`` steps each) of at
least ``--gib`` GiB and one of a tenth of its series, then scores each with
``seqkit predict EXPORT FILE --output forecasts.parquet`` in a fresh process.
That process runs under a small wrapper process that reports the peak
resident memory of its children (``resource.getrusage(RUSAGE_CHILDREN)
.ru_maxrss``): the ``seqkit`` process alone. Reading in chunks of
``--chunk-rows`` rows bounds the memory, so both peaks should be about the
same, whatever the file's size.

Run: ``python benchmarks/predict_memory.py`` (about 8 minutes on 2 cores;
it needs ``--gib`` of free space in the temporary folder).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SEQKIT = Path(sys.executable).with_name("seqkit")  # the installed command
WRAPPER = (
    "import resource, subprocess, sys\n"
    "status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(status)\n"
)


def export_forecaster(folder, steps):
    """Fit a small daily forecaster on one series and export it to ``folder / "model"``."""
    import numpy as np
    import pandas as pd

    from seqkit.estimators import SequenceForecaster
    from seqkit.export import export_saved_model

    days = np.arange(steps)
    series = pd.Series(10 + np.sin(days * 2 * np.pi / 7), name="y",
                       index=pd.date_range("2020-01-01", periods=steps, freq="D"))
    model = SequenceForecaster(lookback=28, horizon=7, units=16, epochs=2, scaling="standard",
                               random_state=0).fit(series)
    return export_saved_model(model, folder / "model")


def write_series(path, steps, *, n_series=None, size=None):
    """A long-table CSV of daily series of ``steps`` steps: ``n_series`` of them, or as many
    as make ``size`` bytes or more. Returns the number of series and the file's size."""
    import numpy as np
    import pandas as pd

    dates = pd.date_range("2020-01-01", periods=steps, freq="D").strftime("%Y-%m-%d")
    rng = np.random.default_rng(0)
    wave = 10 + np.sin(np.arange(steps) * 2 * np.pi / 7)
    written = 0
    with open(path, "w", encoding="ascii") as file:
        written += file.write("unique_id,ds,y\n")
        i = 0
        while i < n_series if size is None else written < size:
            values = wave * rng.uniform(0.5, 2) + rng.normal(0, 0.1, steps)
            written += file.write("".join(f"s{i:07d},{d},{v:.4f}\n"
                                          for d, v in zip(dates, values)))
            i += 1
    return i, path.stat().st_size


def score(model, source, chunk_rows):
    """Wall time and the ``seqkit predict`` process's peak RSS in MiB."""
    command = [sys.executable, "-c", WRAPPER, str(SEQKIT), "predict", str(model), str(source),
               "--output", str(source.with_name("forecasts.parquet")),
               "--chunk-rows", str(chunk_rows)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"seqkit predict failed on {source}:\n{result.stderr}")
    return wall, int(result.stdout.split()[-1]) / 1024


def report(model, source, args, **what):
    """Write ``source`` (:func:`write_series` ``what``), score it, print a row; returns the
    number of series."""
    start = time.perf_counter()
    n_series, size = write_series(source, args.steps, **what)
    written = time.perf_counter() - start
    wall, peak = score(model, source, args.chunk_rows)
    source.unlink()
    print(f"{n_series:>9} {size / 1e6:>10.0f} {size / 2**30:>6.2f} {written:>10.0f} "
          f"{wall:>9.0f} {size / 1e6 / wall:>6.1f} {peak:>15.0f}", flush=True)
    return n_series


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=1.0,
                        help="least size of the large file, in GiB (default 1)")
    parser.add_argument("--steps", type=int, default=730, help="steps per series")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--folder", help="where the files go (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.folder, prefix="predict-memory-") as folder:
        folder = Path(folder)
        model = export_forecaster(folder, args.steps)
        print(f"seqkit predict, chunks of {args.chunk_rows} rows, daily series of "
              f"{args.steps} steps, lookback 28, horizon 7; peak RSS of the seqkit process")
        print(f"{'series':>9} {'file (MB)':>10} {'GiB':>6} {'write (s)':>10} {'wall (s)':>9} "
              f"{'MB/s':>6} {'peak RSS (MiB)':>15}", flush=True)
        n_series = report(model, folder / "large.csv", args, size=args.gib * 2**30)
        report(model, folder / "small.csv", args, n_series=n_series // 10)


if __name__ == "__main__":
    main()
