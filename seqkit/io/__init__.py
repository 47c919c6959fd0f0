"""Readers of users' own data files, checked before any model sees them.

Forecasting series (:func:`read_series`), sequences to classify or tag
(:func:`read_sequences`) and CoNLL token files (:func:`read_conll`), from a
local path, ``file://`` URI or any fsspec URI (``https://``, ``s3://`` with
s3fs...). Every rule a file breaks is a :class:`~seqkit.exceptions.DataFileError`
naming the file, the line (CSV and text; the header is line 1) or row
(Parquet, 1-based data rows), the column, the rule and what was found.
Reading never writes anything. No TensorFlow or Keras import.
"""

from seqkit.io.checks import check_labels_seen, check_several_labels
from seqkit.io.conll import TokenData, iter_conll, read_conll, write_conll
from seqkit.io.sequences import SequenceData, iter_sequences, read_sequences
from seqkit.io.series import SeriesData, iter_series, read_series, season_length_for
from seqkit.io.sources import SourceInfo

__all__ = [
    "SequenceData",
    "SeriesData",
    "SourceInfo",
    "TokenData",
    "check_labels_seen",
    "check_several_labels",
    "iter_conll",
    "iter_sequences",
    "iter_series",
    "read_conll",
    "read_sequences",
    "read_series",
    "season_length_for",
    "write_conll",
]
