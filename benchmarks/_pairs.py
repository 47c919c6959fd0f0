"""What the mixed-shape benchmarks share: the seqkit cell paired with each Keras built-in,
an estimator built on a built-in the estimators do not name, peak memory, percentiles.

Imported by ``benchmarks/serving.py`` and ``benchmarks/cells.py`` (run as scripts,
so this folder is on ``sys.path``).
"""

import contextlib

import numpy as np

PAIRS = [("peephole_lstm", "lstm"), ("elman", "simple_rnn")]
"""``(seqkit cell, Keras built-in)``: each seqkit row is timed beside the built-in's."""


@contextlib.contextmanager
def estimator_cell(name):
    """Within the block, an estimator given ``cell=estimator_name(name)`` builds ``name``.

    The estimators name ``"lstm"`` (Keras' LSTM) but not ``keras.layers.SimpleRNN``;
    for ``"simple_rnn"`` the ``"elman"`` entry of the network builders' tables is
    pointed at the built-in for the block (a benchmark-only substitution: the
    network, its export and its predict are otherwise built as for any cell).
    """
    if name != "simple_rnn":
        yield
        return
    import keras

    from seqkit.networks import recurrent

    saved = recurrent._LAYERS["elman"], recurrent._CELLS["elman"]
    recurrent._LAYERS["elman"] = keras.layers.SimpleRNN
    recurrent._CELLS["elman"] = keras.layers.SimpleRNNCell
    try:
        yield
    finally:
        recurrent._LAYERS["elman"], recurrent._CELLS["elman"] = saved


def estimator_name(name):
    """The ``cell`` parameter that builds ``name`` inside :func:`estimator_cell`."""
    return "elman" if name == "simple_rnn" else name


def peak_rss_mb(pid="self"):
    """Peak resident memory in MiB (``VmHWM``) of process ``pid``, this one by default.

    Not ``getrusage``: Linux carries ``ru_maxrss`` across ``exec``, so a child
    started from a large parent would report the parent's peak.
    """
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def p50_p99(seconds):
    """``(p50, p99)`` in milliseconds."""
    return 1000 * float(np.median(seconds)), 1000 * float(np.percentile(seconds, 99))


def mixed_stream(seed, features, requests=60, batches=(1, 8), lengths=(5, 300)):
    """``requests`` float32 arrays of random batch and length (both inclusive ranges), seeded."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(int(rng.integers(batches[0], batches[1] + 1)),
                             int(rng.integers(lengths[0], lengths[1] + 1)), features))
            .astype(np.float32) for _ in range(requests)]
