"""read_conll, iter_conll and write_conll: tag schemes, rules, chunks, round trip."""

import io

import pytest

from seqkit.exceptions import InvalidInputError, InvalidParameterError
from seqkit.io import TokenData, iter_conll, read_conll, write_conll

IOB2 = ["B-ORG", "O", "B-MISC", "I-MISC", "O", "B-PER", "B-PER"]
TOKENS = ["EU", "rejects", "German", "lamb", ".", "Peter", "Paul"]


def conll(tags, tokens=TOKENS, docstart=True):
    lines = ["-DOCSTART- -X- O", ""] if docstart else []
    lines += [f"{token} NNP\t{tag}" for token, tag in zip(tokens[:5], tags[:5], strict=True)]
    lines += [""] + [f"{token}  {tag}" for token, tag in zip(tokens[5:], tags[5:], strict=True)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("scheme", "tags"),
    [
        ("iob2", IOB2),
        ("iob1", ["I-ORG", "O", "I-MISC", "I-MISC", "O", "I-PER", "B-PER"]),
        ("iobes", ["S-ORG", "O", "B-MISC", "E-MISC", "O", "S-PER", "S-PER"]),
    ],
)
def test_schemes_are_detected_and_converted_to_iob2(write, scheme, tags):
    data = read_conll(write("n.conll", conll(tags)))
    assert isinstance(data, TokenData) and data.scheme == scheme
    assert data.tokens == [TOKENS[:5], TOKENS[5:]]
    assert data.tags == [IOB2[:5], IOB2[5:]]
    assert (data.info.n_rows, data.info.n_items) == (7, 2)
    assert data.info.schema == {"columns": 3, "entity_types": ["MISC", "ORG", "PER"]}
    assert read_conll("n.conll", scheme=scheme).tags == data.tags


def test_prediction_input_without_tags(write):
    data = read_conll(write("p.txt", "EU\nrejects O\n\nPeter\n"), labels=False)
    assert data.tokens == [["EU", "rejects"], ["Peter"]] and data.tags is None
    assert data.scheme is None


def test_a_full_width_space_is_a_token(write):
    data = read_conll(write("j.iob", "東京\tB-LOC\n\u3000\tO\n"))
    assert data.tokens == [["東京", "\u3000"]]


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        ("EU B-ORG\nrejects\n", {},
         "n.conll, line 2: expected a token and a tag separated by tabs or spaces; got 'rejects'."),
        ("EU NNP X-ORG\n", {},
         "n.conll, line 1, column 3: tag 'X-ORG' fits no tag scheme (O, or B-, I-, E- or S- then "
         "an entity type)."),
        ("EU B-\n", {},
         "n.conll, line 1, column 2: tag 'B-' fits no tag scheme (O, or B-, I-, E- or S- then an "
         "entity type)."),
        ("EU O\nrejects I-MISC\n", {"scheme": "iob2"},
         "n.conll, line 2, column 2: tag 'I-MISC' starts an entity after 'O', which IOB2 writes "
         "as B-; pass scheme='iob1' or 'auto' to convert IOB1."),
        ("EU S-ORG\n", {"scheme": "iob1"},
         "n.conll, line 1, column 2: tag 'S-ORG' is IOBES, not IOB1; pass scheme='iobes' or "
         "'auto'."),
        ("EU B-ORG\nrejects O\n", {"scheme": "iobes"},
         "n.conll, line 2, column 2: tag 'O' after 'B-ORG' breaks IOBES; IOBES writes an entity "
         "as S-X alone or as B-X, I-X..., E-X."),
        ("EU B-ORG\nUnion E-ORG\nx S-PER\ny I-PER\n", {},
         "n.conll, line 4, column 2: tag 'I-PER' after 'S-PER' breaks IOBES; IOBES writes an "
         "entity as S-X alone or as B-X, I-X..., E-X."),
        ("EU S-ORG\nUnion B-ORG\n", {},
         "n.conll, line 2, column 2: the sentence ends inside an entity ('B-ORG'); IOBES writes "
         "an entity as S-X alone or as B-X, I-X..., E-X."),
    ],
)
def test_rules(write, refused, content, options, message):
    name = write("n.conll", content)
    refused(lambda: read_conll(name, **options), message)


def test_parameters_are_checked(write):
    with pytest.raises(InvalidParameterError, match="'scheme' parameter of read_conll"):
        read_conll(write("n.conll", conll(IOB2)), scheme="bilou")


def test_chunks_of_sentences_equal_a_whole_read(write):
    sentences = "".join(f"w{i} B-X\nv{i} I-X\n\n" for i in range(5))
    name = write("n.conll", sentences)
    whole = read_conll(name)
    parts = list(iter_conll(name, labels=True, chunk_sentences=2))
    assert [len(part.tokens) for part in parts] == [2, 2, 1]
    assert [s for part in parts for s in part.tokens] == whole.tokens
    assert [s for part in parts for s in part.tags] == whole.tags
    assert all(part.info.sha256 == "" for part in parts) and whole.info.sha256
    assert [s for p in iter_conll(name) for s in p.tokens] == whole.tokens  # labels=False


def test_write_conll_round_trip(write, tmp_path):
    predicted = [["B-ORG", "O"], ["O"]]
    write_conll(tmp_path / "out.conll", [["EU", "rejects"], ["Peter"]], [["B-ORG", "O"],
                                                                         ["B-PER"]], predicted)
    text = (tmp_path / "out.conll").read_text(encoding="utf-8")
    assert text == "EU\tB-ORG\tB-ORG\nrejects\tO\tO\n\nPeter\tB-PER\tO\n\n"
    assert read_conll("out.conll").tags == predicted
    handle = io.StringIO()
    write_conll(handle, [["a"]])
    assert handle.getvalue() == "a\n\n"


@pytest.mark.parametrize(
    ("tokens", "tags", "message"),
    [
        ([["a", "b"]], [["O"]], "write_conll needs a tag per token: sentence 0 has 2 tokens and 1 "
                                "tags in tag column 1."),
        ([["a"]], [["O"], ["O"]], "write_conll needs a tag per token: tag column 1 has 2 "
                                  "sentences, the tokens 1."),
        ([["a b"]], [["O"]], "write_conll cannot write 'a b' (sentence 0): tokens and tags must "
                             "be non-empty with no tab, space or line break."),
    ],
)
def test_write_conll_refuses_what_it_cannot_write(tmp_path, tokens, tags, message):
    with pytest.raises(InvalidInputError) as caught:
        write_conll(tmp_path / "out.conll", tokens, tags)
    assert str(caught.value) == message
    assert not (tmp_path / "out.conll").exists()
