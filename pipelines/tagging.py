"""Tag every step of sequences and compare with a CRF and a most-frequent-tag baseline.

The data: a bundled set with its fixed split (``--dataset``), or your files
(``--data``, ``--test-data``): CoNLL-style column files (a token and its tag
per line, blank lines between sentences; IOB1, IOB2 or IOBES tags, read as
IOB2), or a long table (CSV or Parquet) of numeric steps with a sequence id,
an optional time column and a label per step. Without ``--test-data``, a
random 20% of the sequences is the test split. Scores are entity-level F1
(seqeval, CoNLL rules) and token accuracy. For plain labels (activities),
each run of one label counts as an entity. The main job's target on the
Japanese NER corpus: an entity F1 at least the CRF's.

Run ``python -m pipelines.tagging --help`` for the options.
"""

import pandas as pd
from seqeval.metrics import classification_report
from sklearn.pipeline import make_pipeline

from pipelines import _plots
from pipelines._args import add_column_options, base_parser, data_name, estimator_params
from pipelines._data import (
    Data,
    bundled_info,
    bundled_sequences,
    matched_channels,
    named_sequences,
    random_split,
    user_parts,
)
from pipelines._job import entry_points
from pipelines._report import Report
from seqkit import datasets, io
from seqkit.baselines import CRFTagger, MostFrequentTagTagger
from seqkit.crf import is_iob2_tag
from seqkit.estimators import SequenceTagger
from seqkit.exceptions import InvalidParameterError
from seqkit.metrics import entity_f1, token_accuracy
from seqkit.preprocessing import SequenceScaler

# Estimator settings per data set (the command-line options override them).
SETTINGS = {
    # The estimator's defaults: a CRF (the labels are IOB2), sub-word features, both
    # directions, an "auto" budget with early stopping on 45 held-out sentences. Test
    # entity F1 0.612 / 0.656 for seeds 0 / 1 (CRF baseline 0.587); the hand-picked
    # settings these replaced gave 0.667 / 0.670 / 0.659 for seeds 0 / 1 / 2.
    "japanese_ner": {},
    # 10 training sequences: none to spare for early stopping.
    "basic_motions_segmentation": {"units": 32, "bidirectional": True, "epochs": 60,
                                   "batch_size": 2, "learning_rate": 3e-3,
                                   "early_stopping": False, "validation_fraction": 0.0},
}


_TABLES = (".csv", ".csv.gz", ".parquet", ".pq")


def build_parser():
    """The command-line options of the tagging pipeline."""
    parser = base_parser("tagging", __doc__.splitlines()[0], default_dataset="japanese_ner")
    columns = add_column_options(parser, label_column=True,
                                 id_help="sequence id of each row (default: %(default)s)")
    columns.add_argument("--scheme", choices=("auto", "iob1", "iob2", "iobes"), default="auto",
                         help="tag scheme of a CoNLL file, converted to IOB2 (default: detected)")
    return parser


def _is_table(source):
    return source.lower().split("?", 1)[0].endswith(_TABLES)


def _check_scheme(args):
    """``--scheme`` converts a CoNLL file's tags: refuse it where no CoNLL file is read."""
    if args.scheme == "auto":
        return
    tables = [source for source in (args.data, args.test_data)
              if source is not None and _is_table(source)]
    if args.data is None or tables:
        read = f"the table {tables[0]}" if tables else f"the bundled set {args.dataset}"
        raise InvalidParameterError(
            f"--scheme gives the tag scheme of a CoNLL file, whose tags are converted to IOB2; "
            f"{read} is not one, and its labels are taken as they are. Got --scheme "
            f"{args.scheme}: leave it out."
        )


def _read(args, source):
    if _is_table(source):
        return io.read_sequences(source, id_column=args.id_column, time_column=args.time_column,
                                 label_column=args.label_column, labels="step")
    return io.read_conll(source, scheme=args.scheme)


def _bundled(name):
    X_train, y_train, X_test, y_test = datasets.load_tagging(name)
    if isinstance(X_train[0], list):
        def part(tokens, tags):
            info = bundled_info(name, fmt="conll", n_rows=sum(map(len, tokens)),
                                n_items=len(tokens), schema={"columns": 2})
            return io.TokenData(tokens=tokens, tags=tags, scheme="iob2", info=info)
    else:
        def part(X, y):
            return bundled_sequences(name, X, y)
    return part(X_train, y_train), part(X_test, y_test)


def _labels(part):
    """The label sequences of a part: tags of tokens, or labels of numeric steps."""
    return part.tags if isinstance(part, io.TokenData) else part.y


def _arrays(part):
    """``(X, y)`` of a part: tokens and tags, or numeric sequences (DataFrames named by
    channel) and their labels."""
    if isinstance(part, io.TokenData):
        return part.tokens, part.tags
    return named_sequences(part), part.y


def load(args):
    """Read and check the sequences; split off the test sequences."""
    _check_scheme(args)
    if args.data is None:
        train, test = _bundled(args.dataset)
        split = "the data set's fixed test split"
    else:
        train, test, split = user_parts(args, _read, random_split,
                                        f"a random 20% of the sequences (seed {args.seed})")
        if isinstance(train, io.SequenceData) and isinstance(test, io.SequenceData):
            test = matched_channels(train, test)
    io.check_several_labels(_labels(train), train_uri=train.info.uri)
    io.check_labels_seen(_labels(train), _labels(test), train_uri=train.info.uri,
                         test_uri=test.info.uri)
    return Data(data_name(args), train, test, split, {
        "n_train_sequences": len(_labels(train)), "n_test_sequences": len(_labels(test)),
    })


def plain_labels(labels):
    """Whether label sequences hold plain labels (activities), not only IOB2 tags."""
    return not all(is_iob2_tag(str(label)) for sequence in labels for label in sequence)


def as_entities(labels, plain):
    """IOB2 tags of label sequences: IOB2 tags as they are, or (``plain``) each run of one
    label as an entity.

    ``["Walking", "Walking", "Running"]`` -> ``["B-Walking", "I-Walking", "B-Running"]``.
    Decided once for the data (:func:`plain_labels` of the training labels), so a model
    that predicts only labels that look like tags (``"O"``) is read as the test labels are.
    """
    labels = [[str(label) for label in sequence] for sequence in labels]
    if not plain:
        return labels
    return [
        [("I-" if t and label == sequence[t - 1] else "B-") + label
         for t, label in enumerate(sequence)]
        for sequence in labels
    ]


def _per_entity(actual, predicted):
    report = classification_report(actual, predicted, output_dict=True, zero_division=0)
    return pd.DataFrame(report).T[["precision", "recall", "f1-score", "support"]]


def body(args, job, data):
    """Fit, tag the test split, compare with the baselines, tabulate; return the report."""
    (X_train, y_train), (X_test, y_test) = _arrays(data.train), _arrays(data.test)
    tokens = isinstance(data.train, io.TokenData)
    settings = SETTINGS[args.dataset] if args.data is None else {}
    estimator = SequenceTagger(**estimator_params(args, settings))
    # Numeric channels are standardised with the training data's statistics.
    model = estimator if tokens else make_pipeline(SequenceScaler(), estimator)
    job.fit(model, X_train, y_train)
    predictions = {"seqkit": model.predict(X_test)}
    baselines = {"crf": ("linear-chain CRF", CRFTagger())}
    if tokens:
        baselines["most_frequent_tag"] = ("most frequent tag per token", MostFrequentTagTagger())
    for name, (description, baseline) in baselines.items():
        fitted = job.baseline(description, baseline.fit, X_train, y_train)
        predictions[name] = fitted.predict(X_test)
    plain = plain_labels(y_train)
    actual = as_entities(y_test, plain)
    metrics = {
        name: {"entity_f1": entity_f1(actual, as_entities(predicted, plain)),
               "token_accuracy": token_accuracy(y_test, predicted)}
        for name, predicted in predictions.items()
    }
    per_entity = pd.concat({name: _per_entity(actual, as_entities(predicted, plain))
                            for name, predicted in predictions.items()}, axis=1)
    job.table(per_entity, "per_entity_f1")
    job.figure(_plots.per_entity_f1(per_entity, title=data.name), "per_entity_f1")
    sample = X_train[:64] if tokens else model[0].transform(X_train[:64])
    job.gradient_norms(estimator, *estimator.network_batch(sample, y_train[:64]))
    return job.finish(model, Report("tagging", data.name, metrics, "entity_f1", True))


run, main = entry_points("tagging", build_parser, load, body, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
