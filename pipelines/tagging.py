"""Tag every step of bundled sequences and compare with a CRF and a most-frequent-tag baseline.

Fixed train/test splits. Scores are entity-level F1 (seqeval, CoNLL rules)
and token accuracy. For activity segmentation, whose labels are plain
activities, each run of one label counts as an entity.

Run ``python -m pipelines.tagging --help`` for the options.
"""

import pandas as pd
from seqeval.metrics import classification_report
from sklearn.pipeline import make_pipeline

from pipelines._args import base_parser, estimator_params
from pipelines._job import entry_points
from pipelines._report import Report
from seqkit import datasets
from seqkit.baselines import CRFTagger, MostFrequentTagTagger
from seqkit.crf import is_iob2_tag
from seqkit.estimators import SequenceTagger
from seqkit.metrics import entity_f1, token_accuracy
from seqkit.preprocessing import SequenceScaler

# Estimator settings per data set (the command-line options override them).
SETTINGS = {
    # Chosen on 50 sentences held out of the 450 training ones (seed 0, entity F1 there:
    # softmax 0.50, CRF output 0.55, CRF + sub-word features 0.69 (a build that let padding
    # through the sub-word input; not re-measured since the fix); the CRF baseline 0.73).
    # Fit on all 450, test split entity F1 0.667 / 0.670 / 0.659 for seeds 0 / 1 / 2 with the
    # CRF keeping IOB2 (0.614 / 0.582 / 0.660 before it did; CRF baseline 0.587; softmax
    # output alone 0.508); fit 70-120 s on 2 shared cores.
    "japanese_ner": {"units": 64, "bidirectional": True, "embedding_dim": 64, "epochs": 40,
                     "batch_size": 16, "learning_rate": 3e-3, "early_stopping": False,
                     "validation_fraction": 0.0, "crf": True, "subword_features": True},
    # 10 training sequences: none to spare for early stopping.
    "basic_motions_segmentation": {"units": 32, "bidirectional": True, "epochs": 60,
                                   "batch_size": 2, "learning_rate": 3e-3,
                                   "early_stopping": False, "validation_fraction": 0.0},
}


def build_parser():
    """The command-line options of the tagging pipeline."""
    return base_parser("tagging", __doc__.splitlines()[0], default_dataset="japanese_ner")


def as_entities(labels):
    """IOB2 tags of label sequences: already IOB2 tags are kept, plain labels become runs.

    ``["Walking", "Walking", "Running"]`` -> ``["B-Walking", "I-Walking", "B-Running"]``.
    """
    labels = [[str(label) for label in sequence] for sequence in labels]
    if all(is_iob2_tag(label) for sequence in labels for label in sequence):
        return labels
    return [
        [("I-" if t and label == sequence[t - 1] else "B-") + label
         for t, label in enumerate(sequence)]
        for sequence in labels
    ]


def _per_entity(actual, predicted):
    report = classification_report(actual, predicted, output_dict=True, zero_division=0)
    return pd.DataFrame(report).T[["precision", "recall", "f1-score", "support"]]


def body(args, job):
    """Load, fit, tag the test split, compare with the baselines, tabulate; return the report."""
    job.progress(f"loading {args.dataset} (fixed train/test split)")
    X_train, y_train, X_test, y_test = datasets.load_tagging(args.dataset)
    tokens = isinstance(X_train[0], list)
    estimator = SequenceTagger(**estimator_params(args, SETTINGS[args.dataset]))
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
    actual = as_entities(y_test)
    metrics = {
        name: {"entity_f1": entity_f1(actual, as_entities(predicted)),
               "token_accuracy": token_accuracy(y_test, predicted)}
        for name, predicted in predictions.items()
    }
    job.table(
        pd.concat({name: _per_entity(actual, as_entities(predicted))
                   for name, predicted in predictions.items()}, axis=1),
        "per_entity_f1",
    )
    sample = X_train[:64] if tokens else model[0].transform(X_train[:64])
    job.gradient_norms(estimator, *estimator.network_batch(sample, y_train[:64]))
    return job.finish(model, Report("tagging", args.dataset, metrics, "entity_f1", True))


run, main = entry_points("tagging", build_parser, body)

if __name__ == "__main__":
    raise SystemExit(main())
