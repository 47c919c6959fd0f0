"""Batch prediction on a user's data file with an export: what ``seqkit predict`` runs.

:func:`predict_file` reads the file in chunks with :mod:`seqkit.io` (whole
series, sequences or sentences in each), scores each chunk with the export's
signatures in padded batches of at most :data:`BATCH_SEQUENCES` sequences
and :data:`BATCH_VALUES` values, and appends its predictions to the output:
a file larger than memory is scored with the memory of one chunk.

What comes out, by the kind in the export's manifest:

forecaster
    A long table ``unique_id, ds, y_pred``: ``horizon`` rows per series,
    dated after its last step on its frequency. A quantile forecaster's
    export (with ``predict_quantiles``) adds a column ``y_pred_q<level>`` per
    quantile level, e.g. ``y_pred_q0.1``; its ``y_pred`` is the median.
classifier
    ``id, label`` and a column ``proba_<class>`` per class, in the order of
    the model's classes.
tagger on tokens
    CoNLL: each token and its predicted tag on a line, sentences separated by
    a blank line.
tagger on numeric sequences
    A long table ``id, step, label``, a row per step (``step`` counts from 0
    in time order).

A classifier's or numeric tagger's export made from a model fit on named
columns (DataFrames, or a pipeline's data file) lists them in its manifest's
``feature_names``: a table's columns are then read by those names, in any
order, and a missing or unknown one is refused. Otherwise, and always for
``.ts`` dimensions, the feature columns are read by position.

Tables are written as CSV or Parquet, chosen by the output's extension; with
no output file, to stdout as CSV (CoNLL for a token tagger). An output file
is written beside its final place and renamed there once everything is
scored (:func:`seqkit._files.staged_file`), so a failure leaves none; stdout
gets the predictions once everything is scored too (held in a temporary
file meanwhile), so a failure prints none.
"""

import contextlib
import dataclasses
import itertools
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from seqkit._feature_names import differences, in_order
from seqkit._files import staged_file
from seqkit._validation import check_sequences
from seqkit.exceptions import CommandError, DataFileError
from seqkit.export.manifest import read_manifest

TABLE_SUFFIXES = (".csv", ".parquet")
"""Extensions of the output files that tables are written to."""

CONLL_SUFFIXES = (".conll", ".iob", ".bio", ".txt")
"""Extensions of the output files that a token tagger's CoNLL is written to."""

BATCH_SEQUENCES = 256
"""Most sequences one call of a signature takes."""

SPOOL_BYTES = 1 << 26
"""Predictions for stdout held in memory before the rest goes to a temporary file, until
everything is scored."""

BATCH_VALUES = 1 << 22
"""Most values (sequences x padded steps x features) one call takes, unless one sequence
holds more on its own."""


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """How the input file is read (the options of the :mod:`seqkit.io` readers).

    Attributes
    ----------
    id_column : str
        The series or sequence id column of a long table.
    time_column : str
        Its time column.
    target : str
        The values of a forecast series.
    label_column : str
        A label column, ignored if present.
    freq : str or None
        A pandas offset alias that a forecast series' dates must follow
        (``None``: inferred from them).
    fill : {None, "interpolate", "ffill", "zero"}
        How a forecast series' missing values and steps are filled (see
        :func:`seqkit.io.read_series`); ``None``: refused, naming the first.
    chunk_rows : int
        Table rows (``.ts`` cases, CoNLL sentences) read at a time.
    """

    id_column: str = "unique_id"
    time_column: str = "ds"
    target: str = "y"
    label_column: str = "label"
    freq: str | None = None
    fill: str | None = None
    chunk_rows: int = 100_000


# ----------------------------------------------------------------------- batches


def batches(lengths, width=1):
    """Slices of consecutive sequences to score in one call of a signature.

    Parameters
    ----------
    lengths : sequence of int
        Steps of each sequence.
    width : int, default 1
        Values per step.

    Returns
    -------
    list of slice
        Each holds at most :data:`BATCH_SEQUENCES` sequences and, padded to
        its longest, at most :data:`BATCH_VALUES` values (or one sequence).
    """
    slices, start, longest = [], 0, 0
    for i, length in enumerate(lengths):
        longer = max(longest, length)
        if i > start and (i - start == BATCH_SEQUENCES
                          or (i - start + 1) * longer * width > BATCH_VALUES):
            slices.append(slice(start, i))
            start, longer = i, length
        longest = longer
    slices.append(slice(start, len(lengths)))
    return slices


def _call(signature, inputs, lengths, width=1):
    """Call ``signature`` on each batch of ``inputs(slice)``; its outputs, concatenated by name
    (those with a time axis padded to the longest batch)."""
    outputs = [signature(**inputs(part)) for part in batches(lengths, width)]
    joined = {}
    for name in outputs[0]:
        parts = [out[name] for out in outputs]
        steps = {part.shape[1] for part in parts if part.ndim > 1}
        if len(steps) > 1:  # a time axis, padded to each batch's longest
            parts = [_pad_steps(part, max(steps)) for part in parts]
        joined[name] = np.concatenate(parts)
    return joined


def _pad_steps(values, steps):
    """``values`` ``(batch, time, ...)`` padded with zeros or ``""`` to ``steps`` steps."""
    padded = np.zeros((len(values), steps, *values.shape[2:]), dtype=values.dtype)
    padded[:, : values.shape[1]] = values
    return padded


_FEATURE_COLUMNS = ("Columns other than the id, time and label columns are features: name "
                    "those with --id-column, --time-column and --label-column.")


def _features(data, manifest, source):
    """Each sequence's values in the model's feature order: a table's columns are taken by
    the names the model was fit on, where the manifest holds them (``feature_names``), and
    otherwise, as ``.ts`` dimensions always are, by position."""
    names, n_features = manifest.get("feature_names"), manifest.get("n_features")
    if names is None or data.info.format == "ts":
        if len(data.channels) != n_features:
            raise DataFileError(
                f"{source}: the model takes {n_features} feature(s) per step; the file has "
                f"{len(data.channels)} feature column(s) {data.channels}. {_FEATURE_COLUMNS}")
        return data.X
    missing, unexpected = differences(names, data.channels)
    if missing or unexpected:
        parts = ([f"has no column(s) {missing}"] if missing else []) + (
            [f"also has {unexpected}, which the model does not take"] if unexpected else [])
        raise DataFileError(
            f"{source}: the model was fit on the feature columns {names} and reads them by "
            f"name; the file {' and '.join(parts)}. {_FEATURE_COLUMNS}")
    return in_order(data.X, data.channels, names)


# ----------------------------------------------------------------------- kinds


class _Scorer:
    """What one kind of export reads and how it turns a chunk into predictions.

    ``chunks(source, options)`` is the reader's iterator, ``load(export)``
    loads the signatures the kind calls (in :attr:`signatures` order, as
    ``functions``), ``score(chunk)`` gives a data frame (or, for CoNLL,
    ``(tokens, predicted tags)``) and ``count(chunk)`` the items it holds.
    """

    item = "sequences"  # what the progress bar counts
    conll = False  # whether the output is CoNLL rather than a table
    signatures = ("serving_default",)

    def __init__(self, manifest):
        self.manifest = manifest
        self.n_features = manifest.get("n_features")

    def chunks(self, source, options):
        from seqkit import io

        self.source, self.id_column = source, options.id_column
        return io.iter_sequences(source, id_column=options.id_column,
                                 time_column=options.time_column,
                                 label_column=options.label_column, labels="ignore",
                                 chunk_rows=options.chunk_rows)

    def load(self, export):
        from seqkit._quiet import quiet_tensorflow
        from seqkit.export.loading import load_saved_model

        quiet_tensorflow()
        self.functions = [load_saved_model(export, name) for name in self.signatures]

    @staticmethod
    def count(chunk):
        return len(chunk.ids)

    def ids(self, data):
        """The ids of ``data``'s items as the file holds them: the readers give every id as
        a str, and a Parquet id column of integers gets its integers back."""
        ids = np.asarray(data.ids, dtype=object)
        kind = data.info.schema.get(self.id_column, "") if data.info.schema else ""
        if kind.startswith("uint"):
            return ids.astype(np.uint64)
        return ids.astype(np.int64) if kind.startswith("int") else ids


class _Forecaster(_Scorer):
    item = "series"

    def __init__(self, manifest):
        super().__init__(manifest)
        self.lookback, self.horizon = manifest["lookback"], manifest["horizon"]
        self.quantiles = manifest.get("quantiles") or []
        if self.quantiles:
            self.signatures = ("serving_default", "predict_quantiles")
        if manifest.get("n_covariates"):
            raise CommandError(
                f"The model was fit with {manifest['n_covariates']} covariate(s): its forecasts "
                f"need their values over the {self.horizon} steps after each series, which an "
                "input file of history does not hold, so seqkit predict cannot forecast with it. "
                "Call the estimator's predict(y=..., X=...) or the export's serving_default with "
                "the future covariates, or export a forecaster fit without covariates."
            )
        if self.n_features != 1:
            raise CommandError(
                f"The model forecasts {self.n_features} targets per step; seqkit predict reads "
                "one target column. Call the export's serving_default instead."
            )

    def chunks(self, source, options):
        from seqkit import io

        self.id_column = options.id_column
        return io.iter_series(source, id_column=options.id_column,
                              time_column=options.time_column, target=options.target,
                              freq=options.freq, fill=options.fill,
                              chunk_rows=options.chunk_rows)

    def score(self, data):
        # The last lookback steps of each series, or all of a shorter one (every series read
        # has a step): the graph pads it at the start, as the estimator's predict does.
        histories = [s.to_numpy(np.float32)[-self.lookback:] for s in data.y]
        outputs = [_call(f, lambda part: {"history": check_sequences(
            histories[part], "history", "seqkit predict", n_features=1).values},
            [len(h) for h in histories]) for f in self.functions]
        frame = pd.DataFrame({
            "unique_id": np.repeat(self.ids(data), self.horizon),
            "ds": future_dates(data.y, self.horizon, data.freq),
            "y_pred": outputs[0]["forecasts"][:, :, 0].ravel(),
        })
        for column, level in enumerate(self.quantiles):
            frame[f"y_pred_q{level:g}"] = outputs[1]["quantiles"][:, :, 0, column].ravel()
        return frame


class _Sequences(_Scorer):
    """Numeric sequences, read by ``iter_sequences``."""

    def outputs(self, data):
        """The steps of each sequence of ``data``, and each signature's outputs for them."""
        X = _features(data, self.manifest, self.source)
        lengths = [len(x) for x in X]

        def inputs(part):
            return {"sequences": check_sequences(X[part], "sequences", "seqkit predict",
                                                 n_features=self.n_features).values}

        return lengths, [_call(f, inputs, lengths, self.n_features) for f in self.functions]


class _Classifier(_Sequences):
    signatures = ("serving_default", "predict_proba")

    def score(self, data):
        _, (labels, proba) = self.outputs(data)
        frame = pd.DataFrame({"id": self.ids(data), "label": labels["labels"]})
        for column, name in enumerate(self.manifest["classes"]):
            frame[f"proba_{name}"] = proba["probabilities"][:, column]
        return frame


class _NumericTagger(_Sequences):
    def score(self, data):
        lengths, (outputs,) = self.outputs(data)
        real = np.arange(outputs["labels"].shape[1]) < np.asarray(lengths)[:, None]
        return pd.DataFrame({
            "id": np.repeat(self.ids(data), lengths),
            "step": np.concatenate([np.arange(n) for n in lengths]),
            "label": outputs["labels"][real],
        })


class _TokenTagger(_Scorer):
    item = "sentences"
    conll = True

    def chunks(self, source, options):
        from seqkit import io

        return io.iter_conll(source, labels=False, chunk_sentences=options.chunk_rows)

    def score(self, data):
        from seqkit.preprocessing import pad_tokens

        lengths = [len(s) for s in data.tokens]
        outputs = _call(self.functions[0],
                        lambda part: {"tokens": pad_tokens(data.tokens[part]).astype(str)},
                        lengths)
        return data.tokens, [list(row[:n]) for row, n in zip(outputs["labels"], lengths)]

    @staticmethod
    def count(chunk):
        return len(chunk.tokens)


def _scorer(manifest, export):
    kind = manifest.get("kind")
    if kind == "forecaster":
        return _Forecaster(manifest)
    if kind == "classifier":
        return _Classifier(manifest)
    if kind == "tagger":
        return (_TokenTagger if manifest.get("input") == "tokens" else _NumericTagger)(manifest)
    raise CommandError(f"The export at {export} is of kind {kind!r}, which seqkit predict does "
                       "not score (it scores forecasters, classifiers and taggers).")


def future_dates(series, horizon, freq=None):
    """The ``horizon`` time labels after the last of each series, series after series.

    Parameters
    ----------
    series : list of pandas.Series
        Indexed by a ``DatetimeIndex`` on a regular frequency (``index.freq``,
        else ``freq``) or by integers with a constant step.
    horizon : int
    freq : str or None
        The frequency of datetime indexes whose ``freq`` is not set.

    Returns
    -------
    pandas.Index, shape (len(series) * horizon,)
    """
    index = series[0].index
    last = index[:0].append([s.index[-1:] for s in series])
    if isinstance(index, pd.DatetimeIndex):
        offset = index.freq or (freq and pd.tseries.frequencies.to_offset(freq))
        if offset is None:
            raise CommandError(f"The dates of series {series[0].name!r} have no frequency to "
                               "continue into the future. Give one with --freq.")
        ahead = [last + offset * k for k in range(1, horizon + 1)]
    else:
        step = np.array([s.index[-1] - s.index[-2] if len(s) > 1 else 1 for s in series])
        ahead = [pd.Index(last.to_numpy() + step * k) for k in range(1, horizon + 1)]
    order = np.arange(len(series) * horizon).reshape(horizon, len(series)).T.ravel()
    return ahead[0].append(ahead[1:]).take(order)


# ----------------------------------------------------------------------- writers


def check_output(output, conll, source=None):
    """Refuse an output file that predictions cannot be written to.

    Parameters
    ----------
    output : path-like or None
        ``None`` writes to stdout.
    conll : bool
        Whether the predictions are CoNLL (a token tagger's) rather than a table.
    source : str or None
        The input, which the output must not replace.

    Raises
    ------
    CommandError
        For an extension other than :data:`TABLE_SUFFIXES` (or
        :data:`CONLL_SUFFIXES`), a folder that does not exist, a folder
        named as the file, or the input file itself.
    """
    if output is None:
        return
    path = Path(output)
    suffixes = CONLL_SUFFIXES if conll else TABLE_SUFFIXES
    what = "a token tagger's CoNLL" if conll else "a table"
    if path.suffix.lower() not in suffixes:
        raise CommandError(f"--output must end in {' or '.join(suffixes)} for {what}. "
                           f"Got {str(output)!r}.")
    if not path.parent.is_dir():
        raise CommandError(f"--output must be in a folder that exists. Got {str(output)!r}, "
                           f"and {str(path.parent)!r} is no folder.")
    if path.is_dir():
        raise CommandError(f"--output must name a file. Got the folder {str(output)!r}.")
    if source is not None and path.exists() and path.resolve() == Path(source).resolve():
        raise CommandError(f"--output must not be the input file. Got {str(output)!r}.")


class _TableWriter:
    """Appends data frames to a CSV text file or a Parquet file."""

    def __init__(self, target, parquet):
        self.target, self.parquet, self.writer, self.header = target, parquet, None, True

    def write(self, frame):
        if not self.parquet:
            frame.to_csv(self.target, header=self.header, index=False)
            self.header = False
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.writer is None:
            self.writer = pq.ParquetWriter(str(self.target), table.schema)
        self.writer.write_table(table.cast(self.writer.schema))

    def close(self):
        if self.writer is not None:
            self.writer.close()


class _ConllWriter:
    """Appends sentences, each token with its predicted tag, to a text file."""

    def __init__(self, target):
        self.target = target

    def write(self, predictions):
        from seqkit import io

        io.write_conll(self.target, *predictions)

    def close(self):
        pass


@contextlib.contextmanager
def _writer(output, conll):
    """Yield a writer to ``output`` (stdout for ``None``), staged until the block succeeds:
    stdout gets nothing from a file that fails in a later chunk, as a file is not written."""
    if output is None:
        with tempfile.SpooledTemporaryFile(SPOOL_BYTES, "w+", encoding="utf-8",
                                           newline="") as spool:
            yield _ConllWriter(spool) if conll else _TableWriter(spool, False)
            spool.seek(0)
            shutil.copyfileobj(spool, sys.stdout)
        sys.stdout.flush()
        return
    with staged_file(output) as partial:
        parquet = Path(output).suffix.lower() == ".parquet"
        with contextlib.ExitStack() as stack:
            target = partial if parquet else stack.enter_context(
                open(partial, "w", encoding="utf-8", newline=""))
            writer = _ConllWriter(target) if conll else _TableWriter(target, parquet)
            stack.callback(writer.close)
            yield writer


# ----------------------------------------------------------------------- predict


def predict_file(export, source, output=None, options=ReadOptions(), *, progress=False):
    """Score a data file with an export, chunk by chunk.

    Parameters
    ----------
    export : path-like
        A folder written by :func:`seqkit.export.export_saved_model`.
    source : str
        The input file or URI, in the form the export's kind reads (see
        :mod:`seqkit.io`): a long table of series for a forecaster; a long
        table or ``.ts`` file of sequences for a classifier or numeric
        tagger; CoNLL for a token tagger. A label column is ignored.
    output : path-like or None
        ``.csv`` or ``.parquet`` (``.conll``, ``.iob``, ``.bio`` or ``.txt``
        for a token tagger); ``None`` writes to stdout.
    options : ReadOptions
        Columns and reading choices.
    progress : bool, default False
        Show a progress bar on stderr.

    Returns
    -------
    count : int
        The series, sequences or sentences scored.
    item : str
        What they are (``"series"``, ``"sequences"`` or ``"sentences"``).

    Raises
    ------
    seqkit.exceptions.ExportError
        If ``export`` is no export.
    seqkit.exceptions.DataFileError
        If the file cannot be read, breaks a rule of its format, or does not
        fit the model (features).
    CommandError
        For an output that cannot be written, or a model that this cannot
        score (a forecaster with covariates or many targets).
    """
    manifest = read_manifest(export)
    scorer = _scorer(manifest, export)
    check_output(output, scorer.conll, source)
    chunks = iter(scorer.chunks(source, options))
    first = next(chunks, None)  # the file's first errors come before TensorFlow loads
    if first is None:
        raise DataFileError(f"{source} holds no data to score.")
    scorer.load(export)
    from tqdm import tqdm

    count = 0
    with _writer(output, scorer.conll) as writer, \
            tqdm(unit=f" {scorer.item}", file=sys.stderr, disable=not progress) as bar:
        for chunk in itertools.chain([first], chunks):
            writer.write(scorer.score(chunk))
            count += scorer.count(chunk)
            bar.update(scorer.count(chunk))
    return count, scorer.item
