"""The UEA/UCR ``.ts`` time series classification format.

As documented by sktime and aeon (``load_from_tsfile``): ``@`` header lines
(``@problemName``, ``@timeStamps``, ``@missing``, ``@univariate``,
``@dimensions``, ``@equalLength``, ``@seriesLength``, ``@classLabel``), then
``@data`` and one case a line: the dimensions separated by ``:``, the values
of a dimension by ``,``, the class label last. Lines starting with ``#`` are
comments. Timestamped files and missing values are refused.
"""

import dataclasses

import numpy as np

from seqkit.io.sources import quoted

__all__ = ["TsHeader", "ts_cases", "ts_header"]

_MISSING = frozenset({"?", "nan"})


@dataclasses.dataclass
class TsHeader:
    """What a ``.ts`` header says.

    Attributes
    ----------
    problem_name : str or None
    dimensions : int or None
        ``None`` when neither ``@dimensions`` nor ``@univariate true`` says
        (then the first case sets it).
    equal_length : bool
    series_length : int or None
    class_labels : list of str or None
        ``None`` for ``@classLabel false``.
    """

    problem_name: str = None
    dimensions: int = None
    equal_length: bool = False
    series_length: int = None
    class_labels: list = None

    def schema(self):
        """The header as :attr:`SourceInfo.schema`."""
        return dataclasses.asdict(self)


def _bool(opened, line_no, key, value):
    if value.lower() not in ("true", "false"):
        raise opened.error(f"line {line_no}", f"@{key} must be true or false; got {value!r}")
    return value.lower() == "true"


def _count(opened, line_no, key, value):
    if not value.isdigit() or int(value) < 1:
        raise opened.error(f"line {line_no}", f"@{key} must be a whole number >= 1; got {value!r}")
    return int(value)


def ts_header(opened, lines):
    """Read the header from ``lines`` (an iterator of ``(line number, text)``) up to ``@data``.

    Raises
    ------
    DataFileError
        For a line other than a comment or ``@`` line before ``@data`` (not a
        ``.ts`` file), no ``@data``, ``@timeStamps true``, ``@targetLabel``
        (regression), a missing ``@classLabel`` or a malformed value.
    """
    header, found = TsHeader(), set()
    univariate = False
    for line_no, text in lines:
        line = text.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("@"):
            raise opened.not_this_format(
                f"line {line_no}: expected @ header lines before @data; got {line[:40]!r}"
            )
        key, *rest = line[1:].split(None, 1)
        key, value = key.lower(), rest[0].strip() if rest else ""
        found.add(key)
        if key == "data":
            break
        if key == "timestamps" and _bool(opened, line_no, "timeStamps", value):
            raise opened.error(f"line {line_no}", "timestamped .ts files (@timeStamps true) are "
                                                  "not supported; write the values alone")
        if key == "targetlabel":
            raise opened.error(f"line {line_no}", "regression .ts files (@targetLabel) are not "
                                                  "supported; seqkit reads class labels")
        if key == "problemname":
            header.problem_name = value
        elif key == "univariate":
            univariate = _bool(opened, line_no, "univariate", value)
        elif key == "dimensions":
            header.dimensions = _count(opened, line_no, "dimensions", value)
        elif key == "equallength":
            header.equal_length = _bool(opened, line_no, "equalLength", value)
        elif key == "serieslength":
            header.series_length = _count(opened, line_no, "seriesLength", value)
        elif key == "classlabel":
            flag, *names = value.split()
            if _bool(opened, line_no, "classLabel", flag or "''"):
                if not names:
                    raise opened.error(f"line {line_no}", "@classLabel true must list the labels")
                header.class_labels = names
    if "data" not in found:
        raise opened.not_this_format("no @data line after the header")
    if "classlabel" not in found:
        raise opened.error(f"line {line_no}",
                           "expected @classLabel true <labels> or @classLabel false before @data")
    if univariate:
        if header.dimensions not in (None, 1):
            raise opened.error(f"line {line_no}", f"@univariate true but @dimensions "
                                                  f"{header.dimensions}")
        header.dimensions = 1
    return header


def ts_cases(opened, lines, header):
    """Yield ``(line number, values, label)`` for each case after ``@data``.

    ``values`` is a float32 array of shape ``(steps, dimensions)``; ``label``
    is ``None`` when the file has no class labels.

    Raises
    ------
    DataFileError
        Naming the line (and dimension, counted from 0) of a case with another
        number of dimensions, dimensions of differing lengths, a length other
        than ``@seriesLength`` (or the first case's, for ``@equalLength true``),
        a missing value (``?`` or ``NaN``), a value that is not a finite
        number, or a label not in ``@classLabel``.
    """
    for line_no, text in lines:
        line = text.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        label = fields.pop().strip() if header.class_labels is not None else None
        if header.dimensions is None:
            header.dimensions = len(fields)
        if len(fields) != header.dimensions:
            with_label = " and a class label" if label is not None else ""
            raise opened.error(
                f"line {line_no}",
                f"expected {header.dimensions} dimensions{with_label} separated by ':'; got "
                f"{len(fields) + (label is not None)} fields",
            )
        if label is not None and label not in header.class_labels:
            raise opened.error(f"line {line_no}", f"class label {label!r} is not one of the "
                               f"@classLabel labels ({quoted(header.class_labels, most=20)})")
        yield line_no, _values(opened, line_no, header, fields), label


def _values(opened, line_no, header, fields):
    values = [field.split(",") for field in fields]
    lengths = sorted({len(v) for v in values})
    if len(lengths) > 1:
        raise opened.error(f"line {line_no}", "the dimensions of a case must have the same "
                                              f"length; got lengths {lengths}")
    expected = header.series_length
    if header.equal_length and expected is None:
        header.series_length = expected = lengths[0]
    if expected is not None and lengths[0] != expected:
        raise opened.error(f"line {line_no}", f"expected {expected} values per dimension "
                                              f"(equal length); got {lengths[0]}")
    try:
        array = np.array(values, dtype=np.float32)
    except ValueError:
        array = None
    if array is not None and np.isfinite(array).all():
        return np.ascontiguousarray(array.T)
    for dim, dim_values in enumerate(values):
        where = f"line {line_no}, dimension {dim}"
        for value in dim_values:
            if value.strip().lower() in _MISSING:
                raise opened.error(where, f"missing values ('?') are not supported; got {value!r}")
            try:
                number = np.float32(value)
            except ValueError:
                raise opened.error(where, f"values must be numbers; got {value!r}") from None
            if not np.isfinite(number):
                raise opened.error(where, f"values must be finite numbers; got {value!r}")
    raise AssertionError("a value that numpy could not read was not found")  # pragma: no cover
