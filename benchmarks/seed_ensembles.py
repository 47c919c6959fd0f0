"""What averaging networks of different seeds gives the default estimators, each network at
the full training budget.

For each chosen set of the accuracy suite (classification, or tagging), ``SequenceClassifier()``
or ``SequenceTagger()`` is fit once per seed, one fit per worker process of one TensorFlow
thread, as in ``benchmarks/accuracy.py``. Each network is scored alone (its ``predict``), and
each group of ``--members`` consecutive seeds as an ensemble: the class of a sequence, or of a
step, with the highest probability averaged over the members (``predict_proba``: with the
tagger's CRF these are its marginals, so an ensemble's tags are not a Viterbi path). The
metrics are the suite's: accuracy, token accuracy, NER entity F1.

An ensemble of k networks costs k fits. The suite's tables keep one network per seed; this
script measures what the k-fold cost would buy. Run ``python benchmarks/seed_ensembles.py``
after ``make bench-data`` (default: the three sets furthest from their aims, seeds 0-8, three
members: about 27 minutes on 2 cores).
"""

import argparse
import sys
import time

import numpy as np
import pandas as pd
from accuracy import SETS, _hits, _items, _ratio
from accuracy_fits import load, one_tensorflow_thread, say
from joblib import Parallel, cpu_count, delayed

from seqkit._quiet import quiet_tensorflow

DEFAULT_SETS = ("ECG200", "BeetleFly", "watch_segmentation")


def task_of(name):
    """``"classification"`` or ``"tagging"``: the task of one of the suite's sets."""
    task = next((task for task, names in SETS.items() if name in names), None)
    if task not in ("classification", "tagging"):
        raise ValueError(f"{name!r} is not a classification or tagging set of the suite")
    return task


def fit(name, seed, one_thread):
    """Fit the default estimator of ``name``'s task with ``random_state=seed``.

    Returns
    -------
    dict
        ``classes`` (the estimator's ``classes_``), ``labels`` (its ``predict`` of the test
        sequences), ``probabilities`` (its ``predict_proba``) and ``seconds`` (fit time).
    """
    quiet_tensorflow()
    if one_thread:
        one_tensorflow_thread()
    from seqkit import SequenceClassifier, SequenceTagger

    task = task_of(name)
    X_train, y_train, X_test, _ = load(task, name, False)
    start = time.perf_counter()
    kind = SequenceClassifier if task == "classification" else SequenceTagger
    model = kind(random_state=seed).fit(X_train, y_train)
    seconds = time.perf_counter() - start
    say(task, f"{name} seed {seed}: {seconds:.0f} s")
    return {"classes": np.asarray(model.classes_), "labels": model.predict(X_test),
            "probabilities": model.predict_proba(X_test), "seconds": seconds}


def ensemble_labels(members):
    """The labels of an ensemble: per sequence (an array of ``(batch, n_classes)``
    probabilities per member) or per step (a list of ``(steps, n_classes)`` arrays per
    member), the class with the highest mean probability over the members.

    Parameters
    ----------
    members : sequence of dict
        :func:`fit`'s results, fit on the same data (so the same ``classes``).

    Returns
    -------
    ndarray of shape (batch,) or list of ndarray of shape (steps,)
    """
    classes = members[0]["classes"]
    if any(not np.array_equal(member["classes"], classes) for member in members):
        raise ValueError("the members were fit on different classes")
    if isinstance(members[0]["probabilities"], np.ndarray):
        mean = np.mean([member["probabilities"] for member in members], axis=0)
        return classes[mean.argmax(axis=-1)]
    return [classes[np.mean(steps, axis=0).argmax(axis=-1)]
            for steps in zip(*(member["probabilities"] for member in members))]


def score(name, y_test, predicted):
    """The suite's metric of ``predicted`` on set ``name``."""
    if task_of(name) == "classification":
        return _ratio(_hits(y_test, predicted))
    return _ratio(_items(name, y_test, predicted))


def row(name, results, members):
    """One table row: the single networks' mean and spread, each ensemble of ``members``
    consecutive seeds, their mean and spread, and the ensemble of every seed."""
    y_test = load(task_of(name), name, False)[3]
    single = [score(name, y_test, result["labels"]) for result in results]
    groups = [results[i:i + members] for i in range(0, len(results), members)]
    ensembles = [score(name, y_test, ensemble_labels(group)) for group in groups]
    return {"data": name, "seeds": len(results),
            "single network": f"{np.mean(single):.3f} ± {np.std(single):.3f}",
            f"ensembles of {members}": ", ".join(f"{value:.3f}" for value in ensembles),
            f"mean of {members}": f"{np.mean(ensembles):.3f} ± {np.std(ensembles):.3f}",
            f"all {len(results)}": f"{score(name, y_test, ensemble_labels(results)):.3f}",
            "fit (s)": f"{np.mean([result['seconds'] for result in results]):.0f}"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", metavar="NAME", default=list(DEFAULT_SETS),
                        choices=[*SETS["classification"], *SETS["tagging"]])
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(9)))
    parser.add_argument("--members", type=int, default=3,
                        help="networks per ensemble, taken from consecutive seeds")
    parser.add_argument("--jobs", type=int, default=cpu_count(),
                        help="fits at once, each in a worker of one TensorFlow thread")
    args = parser.parse_args(argv)
    seeds = list(dict.fromkeys(args.seeds))
    if args.members < 1 or len(seeds) % args.members:
        parser.error(f"argument --members: must divide the number of seeds ({len(seeds)}), "
                     f"each ensemble taking that many consecutive seeds; got {args.members}")
    if args.jobs < 1:
        parser.error(f"argument --jobs: must be at least 1; got {args.jobs}")
    start = time.perf_counter()
    fits = [(name, seed) for name in args.sets for seed in seeds]
    results = Parallel(n_jobs=args.jobs, backend="loky", batch_size=1)(
        delayed(fit)(name, seed, args.jobs > 1) for name, seed in fits)
    table = pd.DataFrame([row(name, results[i * len(seeds):(i + 1) * len(seeds)], args.members)
                          for i, name in enumerate(args.sets)])
    print(f"Seeds {', '.join(map(str, seeds))}; {args.jobs} fit(s) at a time; "
          f"{(time.perf_counter() - start) / 60:.1f} minutes in all.\n")
    print(table.to_markdown(index=False, disable_numparse=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
