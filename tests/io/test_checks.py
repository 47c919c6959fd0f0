"""check_labels_seen."""

import numpy as np

from seqkit.io import check_labels_seen


def test_labels_seen_in_training_pass():
    check_labels_seen(np.array(["a", "b"]), np.array(["b"]), train_uri="tr.csv",
                      test_uri="te.csv")


def test_unseen_sequence_labels_are_named(refused):
    refused(lambda: check_labels_seen(np.array(["a"]), np.array(["a", "c", "b"]),
                                      train_uri="tr.csv", test_uri="te.csv"),
            "te.csv: labels 'b', 'c' never appear in the training data (tr.csv); a model cannot "
            "predict labels it was not trained on.")


def test_unseen_step_labels_are_named(refused):
    train = [np.array(["O", "B-PER"]), ["O"]]
    test = [np.array(["O", "B-LOC"]), ["I-PER", "O"]] + [[f"B-T{i}"] for i in range(5)]
    refused(lambda: check_labels_seen(train, test, train_uri="tr.conll", test_uri="te.conll"),
            "te.conll: labels 'B-LOC', 'B-T0', 'B-T1', 'B-T2', 'B-T3' (and 2 more) never appear "
            "in the training data (tr.conll); a model cannot predict labels it was not trained "
            "on.")
