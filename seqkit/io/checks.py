"""Checks across files that the pipelines share."""

import numpy as np

from seqkit.io.sources import file_error, quoted

__all__ = ["check_labels_seen", "check_several_labels"]


def _label_set(labels):
    """The distinct labels of per-sequence labels or of per-step label sequences."""
    found = set()
    for item in labels:
        if isinstance(item, (str, np.str_)):
            found.add(str(item))
        else:
            found.update(str(label) for label in item)
    return found


def check_several_labels(train_labels, *, train_uri):
    """Raise if the training data holds one label only: a model learns nothing from it.

    Checked with the files, before a run starts, as the estimators would refuse it at fit.

    Parameters
    ----------
    train_labels : array-like of str, or list of array-like of str
        A label per sequence, or a sequence of labels (tags) per sequence.
    train_uri : str
        The file they came from, for the message.

    Raises
    ------
    DataFileError
    """
    labels = _label_set(train_labels)
    if len(labels) < 2:
        raise file_error(
            train_uri, None,
            f"the training sequences hold one label only, {quoted(sorted(labels))}; a model "
            "needs at least 2 to tell apart",
        )


def check_labels_seen(train_labels, test_labels, *, train_uri, test_uri):
    """Raise if the test data holds labels the training data never has.

    Parameters
    ----------
    train_labels, test_labels : array-like of str, or list of array-like of str
        A label per sequence, or a sequence of labels (tags) per sequence.
    train_uri, test_uri : str
        The files they came from, for the message.

    Raises
    ------
    DataFileError
        Naming the unseen labels (the first five, sorted) and both files.
    """
    unseen = sorted(_label_set(test_labels) - _label_set(train_labels))
    if unseen:
        raise file_error(
            test_uri, None,
            f"{'labels' if len(unseen) > 1 else 'label'} {quoted(unseen)} "
            f"{'never appear' if len(unseen) > 1 else 'never appears'} in the "
            f"training data ({train_uri}); a model cannot predict labels it was not trained on",
        )
