"""Peak memory of ``seqkit predict`` on a forecasting file larger than memory should matter.

Fits a small forecaster on a daily series and exports it, writes a long-table
CSV (``unique_id, ds, y``: many daily series of ``--steps`` steps each) of at
least ``--gb`` GB and one a tenth of its size, then scores each with
``seqkit predict EXPORT FILE --output forecasts.parquet`` in a fresh process.
That process runs under a small wrapper process that reports the peak
resident memory of its children (``resource.getrusage(RUSAGE_CHILDREN)
.ru_maxrss``): the ``seqkit`` process alone. Reading in chunks of
``--chunk-rows`` rows bounds the memory, so both peaks should be about the
same, whatever the file's size.

Run: ``python benchmarks/predict_memory.py`` (about 10 minutes on 2 cores;
it needs twice ``--gb`` of free space in the temporary folder).
"""

import argparse
import os
import resource
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
ROW_BYTES = len("s0000000,2020-01-01,10.1234\n")


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


def write_series(path, n_series, steps):
    """A long-table CSV of ``n_series`` daily series of ``steps`` steps; returns its size."""
    import numpy as np
    import pandas as pd

    dates = pd.date_range("2020-01-01", periods=steps, freq="D").strftime("%Y-%m-%d")
    rng = np.random.default_rng(0)
    wave = 10 + np.sin(np.arange(steps) * 2 * np.pi / 7)
    with open(path, "w", encoding="ascii") as file:
        file.write("unique_id,ds,y\n")
        for i in range(n_series):
            values = wave * rng.uniform(0.5, 2) + rng.normal(0, 0.1, steps)
            file.write("".join(f"s{i:07d},{d},{v:.4f}\n" for d, v in zip(dates, values)))
    return path.stat().st_size


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=1.0, help="size of the large file (GB)")
    parser.add_argument("--steps", type=int, default=730, help="steps per series")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--folder", help="where the files go (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.folder, prefix="predict-memory-") as folder:
        folder = Path(folder)
        model = export_forecaster(folder, args.steps)
        big = max(10, round(args.gb * 1e9 / (ROW_BYTES * args.steps)))
        print(f"seqkit predict, chunks of {args.chunk_rows} rows, daily series of "
              f"{args.steps} steps, lookback 28, horizon 7; peak RSS of the seqkit process")
        print(f"{'series':>9} {'file (MB)':>10} {'write (s)':>10} {'wall (s)':>9} "
              f"{'MB/s':>6} {'peak RSS (MiB)':>15}", flush=True)
        for n_series in (big // 10, big):
            source = folder / f"series-{n_series}.csv"
            start = time.perf_counter()
            size = write_series(source, n_series, args.steps)
            written = time.perf_counter() - start
            wall, peak = score(model, source, args.chunk_rows)
            print(f"{n_series:>9} {size / 1e6:>10.0f} {written:>10.0f} {wall:>9.0f} "
                  f"{size / 1e6 / wall:>6.1f} {peak:>15.0f}", flush=True)
            source.unlink()
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
