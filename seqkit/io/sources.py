"""Opening users' data files: local paths, ``file://`` and fsspec URIs.

Every reader of :mod:`seqkit.io` opens its file here, so that the rules every
format shares live in one place: the format comes from the extension, the
content must match it, a missing file or protocol package is a
:class:`~seqkit.exceptions.DataFileError`, and the bytes read pass through a
sha256 (of the file as stored, before any gzip decompression).
"""

import contextlib
import dataclasses
import gzip
import hashlib
import io
import os
import urllib.parse
import zlib

import fsspec
from fsspec.registry import known_implementations

from seqkit.exceptions import DataFileError

__all__ = ["SourceInfo", "file_error", "open_source"]

EXTENSIONS = {
    "csv": (".csv", ".csv.gz"),
    "parquet": (".parquet", ".pq"),
    "ts": (".ts",),
    "conll": (".conll", ".iob", ".bio", ".txt"),
}
"""File name endings of each format."""

_KIND = {"csv": "CSV", "parquet": "Parquet", "ts": ".ts", "conll": "CoNLL"}
_BLOCK = 1 << 20


@dataclasses.dataclass(frozen=True)
class SourceInfo:
    """Where data came from and what it held.

    Attributes
    ----------
    uri : str
        The source as given (path or URI).
    format : {"csv", "parquet", "ts", "conll"}
        The format, from the file's extension.
    sha256 : str
        Hex digest of the whole file as stored (compressed bytes for
        ``.csv.gz``); ``""`` for the chunks of an iterated read.
    n_rows : int
        Table rows (CSV, Parquet), cases (``.ts``) or token lines (CoNLL).
    n_items : int
        Series, sequences or sentences.
    schema : dict
        For tables, column name -> dtype string of the column as read
        (``"str"`` for CSV text, the Arrow type for Parquet); for ``.ts`` and
        CoNLL a small dict describing the file.
    """

    uri: str
    format: str
    sha256: str
    n_rows: int
    n_items: int
    schema: dict


def file_error(uri, where, problem):
    """A :class:`DataFileError` reading ``"<uri>, <where>: <problem>."``.

    Parameters
    ----------
    uri : str
        The source as given.
    where : str or None
        The place, e.g. ``"line 14, column 'y'"``; ``None`` for the file as a whole.
    problem : str
        The rule and what was found, without a final full stop.
    """
    place = f"{uri}, {where}" if where else uri
    return DataFileError(f"{place}: {problem}.")


def quoted(values, most=5):
    """``'a', 'b', 'c'`` for the first ``most`` values, then ``(and N more)``."""
    values = list(values)
    text = ", ".join(repr(v) for v in values[:most])
    return text + (f" (and {len(values) - most} more)" if len(values) > most else "")


def _source_uri(source):
    """The source as a string: a path-like as its file system path, a string as given."""
    return os.fspath(source) if isinstance(source, os.PathLike) else str(source)


class Opened:
    """An open source of a known format whose bytes pass through a sha256 as they are read.

    Attributes
    ----------
    uri, format : str
        As in :class:`SourceInfo`.
    """

    def __init__(self, uri, fmt, handle, compressed):
        self.uri, self.format = uri, fmt
        self._handle, self._compressed = handle, compressed
        self._digest = hashlib.sha256()

    @property
    def sha256(self):
        """Hex digest of the bytes read so far (the whole file once it is read to the end)."""
        return self._digest.hexdigest()

    def read(self, size=-1):
        """Read bytes as stored, hashing them."""
        try:
            block = self._handle.read(size)
        except OSError as exc:
            raise file_error(self.uri, None, f"cannot be read: {exc}") from exc
        self._digest.update(block)
        return block

    def error(self, where, problem):
        """``file_error`` for this source."""
        return file_error(self.uri, where, problem)

    def not_this_format(self, why):
        """The error for content that does not match the extension."""
        return file_error(self.uri, None, f"is not a {_KIND[self.format]} file: {why}")

    def lines(self):
        """Yield ``(line number, text)`` of a text file, the line ending kept.

        Raises
        ------
        DataFileError
            If the file is empty, a line is not UTF-8 text or holds a NUL byte,
            or a ``.gz`` file is not gzip data.
        """
        stream = gzip.GzipFile(fileobj=self, mode="rb") if self._compressed else self
        pending, line_no = b"", 0
        while True:
            try:
                block = stream.read(_BLOCK)
            except (OSError, EOFError, zlib.error) as exc:
                raise self.not_this_format(f"it is not gzip-compressed data ({exc})") from exc
            if not block:
                break
            if line_no == 0 and not pending and block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]  # the UTF-8 byte order mark spreadsheets write
            *complete, pending = (pending + block).split(b"\n")
            for raw in complete:
                line_no += 1
                yield line_no, self._decoded(raw + b"\n", line_no)
        if pending:
            line_no += 1
            yield line_no, self._decoded(pending, line_no)
        if line_no == 0:
            raise self.error(None, "the file is empty (0 bytes)")

    def _decoded(self, raw, line_no):
        if b"\x00" in raw:
            column = raw.index(b"\x00") + 1
            raise self.not_this_format(f"line {line_no} holds a NUL byte (at byte {column})")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.not_this_format(
                f"line {line_no} is not UTF-8 text (byte {raw[exc.start]:#04x} at byte "
                f"{exc.start + 1})"
            ) from exc

    def parquet_file(self, whole):
        """A seekable binary file of a Parquet source, its magic bytes checked.

        With ``whole`` the file is read into memory (so that it is hashed);
        otherwise a seekable handle is used in place.
        """
        if whole or not self._handle.seekable():
            handle = io.BytesIO(self.read())
        else:
            handle = self._handle
        magic = handle.read(4)
        handle.seek(0)
        if not magic:
            raise self.error(None, "the file is empty (0 bytes)")
        if magic != b"PAR1":
            raise self.not_this_format(f"it does not start with b'PAR1'; got {magic!r}")
        return handle


def _format(uri, formats, what):
    path = urllib.parse.urlsplit(uri).path if "://" in uri else uri
    name = path.lower()
    for fmt in formats:
        if name.endswith(EXTENSIONS[fmt]):
            return fmt
    accepted = ", ".join(ext for fmt in formats for ext in EXTENSIONS[fmt])
    ext = os.path.splitext(name)[1]
    got = f"got the extension {ext!r}" if ext else "the name has no extension"
    raise file_error(uri, None, f"{what} are read from files ending in {accepted}; {got}")


def _filesystem(uri):
    protocol = uri.split("://", 1)[0] if "://" in uri else "file"
    try:
        return fsspec.core.url_to_fs(uri)
    except ImportError as exc:
        package = known_implementations.get(protocol, {}).get("class", protocol).split(".")[0]
        raise file_error(
            uri, None,
            f"reading {protocol}:// URIs needs the package {package!r} (pip install {package}); "
            f"fsspec says: {exc}",
        ) from exc
    except ValueError as exc:
        raise file_error(uri, None, f"cannot be opened: {exc}") from exc


@contextlib.contextmanager
def open_source(source, formats, what):
    """Open ``source`` for reading as one of ``formats``.

    Parameters
    ----------
    source : str or path-like
        A local path, ``file://`` URI or any fsspec URI.
    formats : tuple of str
        Formats the reader accepts (keys of :data:`EXTENSIONS`).
    what : str
        What the reader reads (``"series"``, ``"sequences"``, ``"tagged sentences"``),
        for the message that refuses another extension.

    Yields
    ------
    Opened

    Raises
    ------
    DataFileError
        If the extension is not one of the formats', the protocol's package is
        missing, or the file does not exist or cannot be opened.
    """
    uri = _source_uri(source)
    fmt = _format(uri, formats, what)
    fs, path = _filesystem(uri)
    # HTTP servers need not answer range requests: stream those files instead.
    options = {"block_size": 0} if uri.startswith(("http://", "https://")) else {}
    try:
        handle = fs.open(path, "rb", **options)
    except FileNotFoundError as exc:
        raise file_error(uri, None, "no such file") from exc
    except IsADirectoryError as exc:
        raise file_error(uri, None, "is a folder, not a file") from exc
    except OSError as exc:
        raise file_error(uri, None, f"cannot be opened: {exc}") from exc
    with handle:
        yield Opened(uri, fmt, handle, compressed=uri.lower().endswith(".gz"))
