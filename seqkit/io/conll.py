"""Token files in the CoNLL-2003 column format, their tags converted to IOB2.

One token a line, the token in the first column and its tag in the last,
columns separated by tabs or spaces; a blank line ends a sentence;
``-DOCSTART-`` lines are skipped (Tjong Kim Sang and De Meulder, CoNLL-2003).
Tags follow one of the chunk tag schemes of Ramshaw and Marcus (1995), IOB1
or IOB2, or IOBES; they are returned in IOB2, what seqkit's metrics and CRF use.
"""

import dataclasses
import re

from seqkit._files import staged_file
from seqkit._validation import check_bool, check_choice, check_int
from seqkit.exceptions import InvalidInputError
from seqkit.io.sources import SourceInfo, open_source

__all__ = ["TokenData", "iter_conll", "read_conll", "write_conll"]

SCHEMES = ("auto", "iob1", "iob2", "iobes")
_TAG = re.compile(r"O|([BIES])-(\S+)")
_SEPARATORS = re.compile(r"[ \t]+")  # not str.split(): a token may be a full-width space
_IOBES_RULE = "IOBES writes an entity as S-X alone or as B-X, I-X..., E-X"


@dataclasses.dataclass
class TokenData:
    """Sentences of tokens with their IOB2 tags.

    Attributes
    ----------
    tokens : list of list of str
    tags : list of list of str or None
        IOB2 tags, one per token; ``None`` when read with ``labels=False``.
    scheme : {"iob1", "iob2", "iobes"} or None
        The scheme the file's tags were in (given or detected); ``None``
        without labels.
    info : SourceInfo
        ``schema`` holds ``"columns"`` (the most columns of a line) and, with
        labels, ``"entity_types"``.
    """

    tokens: list
    tags: list
    scheme: str
    info: SourceInfo


def read_conll(source, *, scheme="auto", labels=True):
    """Read a CoNLL column file of tokens and tags.

    Parameters
    ----------
    source : str or path-like
        Local path, ``file://`` URI or fsspec URI of a ``.conll``, ``.iob``,
        ``.bio`` or ``.txt`` file.
    scheme : {"auto", "iob1", "iob2", "iobes"}, default="auto"
        The tag scheme of the file. ``"auto"`` detects it: any ``E-`` or
        ``S-`` tag means IOBES; else an ``I-`` tag that starts an entity
        (after ``O`` or another type) means IOB1; else IOB2. Tags are
        converted to IOB2: IOB1's entity-starting ``I-X`` becomes ``B-X``,
        IOBES's ``S-X`` becomes ``B-X`` and ``E-X`` becomes ``I-X``.
    labels : bool, default=True
        ``False`` reads prediction input: a line may hold the token alone,
        and a last column, if present, is ignored.

    Returns
    -------
    TokenData

    Raises
    ------
    DataFileError
        Naming the file, line and column, for: a wrong extension or content,
        a missing file, a line without a tag, a tag that fits no scheme
        (``"X-PER"``, ``"B-"``), an entity-starting ``I-`` with
        ``scheme="iob2"``, ``E-``/``S-`` tags with ``scheme`` IOB1 or IOB2,
        broken IOBES entities, a file with no sentences.
    InvalidParameterError
        For a ``scheme`` outside the choices.
    """
    check_choice(scheme, "scheme", "read_conll", SCHEMES)
    check_bool(labels, "labels", "read_conll")
    with open_source(source, ("conll",), "tagged sentences") as opened:
        (data,) = _parts(opened, scheme, labels, None)
        return dataclasses.replace(data, info=dataclasses.replace(data.info,
                                                                  sha256=opened.sha256))


def iter_conll(source, *, labels=False, chunk_sentences=10_000, scheme="auto"):
    """Read a CoNLL column file in chunks of sentences.

    Parameters
    ----------
    source, labels, scheme
        As for :func:`read_conll` (``labels`` defaults to ``False`` here:
        prediction input). With ``scheme="auto"`` each chunk's scheme is
        detected from that chunk's tags.
    chunk_sentences : int, default=10_000
        Sentences per chunk.

    Yields
    ------
    TokenData
        ``info.sha256`` is ``""``; ``info.n_rows`` and ``info.n_items`` count
        that chunk's token lines and sentences.
    """
    check_choice(scheme, "scheme", "iter_conll", SCHEMES)
    check_bool(labels, "labels", "iter_conll")
    chunk_sentences = check_int(chunk_sentences, "chunk_sentences", "iter_conll", minimum=1)
    with open_source(source, ("conll",), "tagged sentences") as opened:
        yield from _parts(opened, scheme, labels, chunk_sentences)


def _parts(opened, scheme, labels, chunk_sentences):
    sentences, columns, done = [], 0, False
    for sentence, width in _sentences(opened, labels):
        sentences.append(sentence)
        columns = max(columns, width)
        if len(sentences) == chunk_sentences:
            yield _token_data(opened, sentences, columns, scheme, labels)
            sentences, columns, done = [], 0, True
    if sentences:
        yield _token_data(opened, sentences, columns, scheme, labels)
    elif not done:
        raise opened.error(None, "no sentences (only blank or -DOCSTART- lines)")


def _sentences(opened, labels):
    """Yield ``(sentence, most columns)``; a sentence is a list of (line, token, tag, column)."""
    sentence, width = [], 0
    for line_no, text in opened.lines():
        line = text.strip(" \t\r\n")
        fields = _SEPARATORS.split(line) if line else []
        if not fields or fields[0] == "-DOCSTART-":
            if sentence:
                yield sentence, width
            sentence, width = [], 0
            continue
        width = max(width, len(fields))
        if not labels:
            sentence.append((line_no, fields[0], None, None))
            continue
        if len(fields) < 2:
            raise opened.error(f"line {line_no}", "expected a token and a tag separated by tabs "
                                                  f"or spaces; got {line!r}")
        if not _TAG.fullmatch(fields[-1]):
            raise opened.error(f"line {line_no}, column {len(fields)}",
                               f"tag {fields[-1]!r} fits no tag scheme (O, or B-, I-, E- or S- "
                               "then an entity type)")
        sentence.append((line_no, fields[0], fields[-1], len(fields)))
    if sentence:
        yield sentence, width


def _token_data(opened, sentences, columns, scheme, labels):
    tokens = [[token for _, token, _, _ in sentence] for sentence in sentences]
    info = SourceInfo(opened.uri, "conll", "", sum(map(len, tokens)), len(tokens),
                      {"columns": columns})
    if not labels:
        return TokenData(tokens, None, None, info)
    found = _detected(sentences) if scheme == "auto" else scheme
    tags = [_to_iob2(opened, sentence, found) for sentence in sentences]
    info.schema["entity_types"] = sorted({tag[2:] for row in tags for tag in row if tag != "O"})
    return TokenData(tokens, tags, found, info)


def _starts_entity(previous, tag):
    """Whether an ``I-`` tag starts an entity rather than continuing ``previous``."""
    return previous == "O" or previous[2:] != tag[2:]


def _detected(sentences):
    starting_inside = False
    for sentence in sentences:
        previous = "O"
        for _, _, tag, _ in sentence:
            if tag[0] in "ES":
                return "iobes"
            starting_inside = starting_inside or (tag[0] == "I" and _starts_entity(previous, tag))
            previous = tag
    return "iob1" if starting_inside else "iob2"


def _to_iob2(opened, sentence, scheme):
    """The IOB2 tags of one sentence read in ``scheme``, or raise at the first tag breaking it."""
    result, previous = [], "O"
    for line_no, _, tag, column in sentence:
        where = f"line {line_no}, column {column}"
        if scheme != "iobes" and tag[0] in "ES":
            raise opened.error(where, f"tag {tag!r} is IOBES, not {scheme.upper()}; pass "
                                      "scheme='iobes' or 'auto'")
        if scheme == "iobes":
            _check_iobes(opened, where, previous, tag)
            converted = {"S": "B", "E": "I"}.get(tag[0], tag[0]) + tag[1:]
        elif tag[0] == "I" and _starts_entity(previous, tag):
            if scheme == "iob2":
                raise opened.error(where, f"tag {tag!r} starts an entity after {previous!r}, "
                                          "which IOB2 writes as B-; pass scheme='iob1' or 'auto' "
                                          "to convert IOB1")
            converted = "B" + tag[1:]
        else:
            converted = tag
        result.append(converted)
        previous = tag
    if scheme == "iobes" and previous[0] in "BI":
        raise opened.error(f"line {sentence[-1][0]}, column {sentence[-1][3]}",
                           f"the sentence ends inside an entity ({previous!r}); {_IOBES_RULE}")
    return result


def _check_iobes(opened, where, previous, tag):
    inside = previous[0] in "BI"
    continues = tag[0] in "IE"
    if continues != inside or (inside and previous[2:] != tag[2:]):
        raise opened.error(where, f"tag {tag!r} after {previous!r} breaks IOBES; {_IOBES_RULE}")


def write_conll(file, tokens, *tag_columns):
    """Write sentences in the CoNLL column format: token, then the tag columns, tab-separated.

    Sentences are separated by a blank line. A path is written atomically
    (the file appears whole or not at all).

    Parameters
    ----------
    file : str, path-like or text file object
    tokens : list of list of str
    *tag_columns : list of list of str
        Each with a tag per token (e.g. the given tags, then the predicted ones).

    Raises
    ------
    InvalidInputError
        If a tag column's sentences differ in number or length from the
        tokens', or a token or tag is empty or holds a tab, space or line break.
    """
    for c, column in enumerate(tag_columns, 1):
        if len(column) != len(tokens):
            raise InvalidInputError(f"write_conll needs a tag per token: tag column {c} has "
                                    f"{len(column)} sentences, the tokens {len(tokens)}.")
    lines = []
    for s, sentence in enumerate(tokens):
        rows = [sentence, *(column[s] for column in tag_columns)]
        for c, row in enumerate(rows[1:], 1):
            if len(row) != len(sentence):
                raise InvalidInputError(f"write_conll needs a tag per token: sentence {s} has "
                                        f"{len(sentence)} tokens and {len(row)} tags in tag "
                                        f"column {c}.")
        for fields in zip(*rows, strict=True):
            bad = [field for field in fields if not field or _SEPARATORS.search(field) or
                   "\n" in field or "\r" in field]
            if bad:
                raise InvalidInputError(
                    f"write_conll cannot write {bad[0]!r} (sentence {s}): tokens and tags must be "
                    "non-empty with no tab, space or line break."
                )
            lines.append("\t".join(fields) + "\n")
        lines.append("\n")
    text = "".join(lines)
    if hasattr(file, "write"):
        file.write(text)
        return
    with staged_file(file) as partial:
        partial.write_text(text, encoding="utf-8")
