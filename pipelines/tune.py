"""Search an estimator's hyper-parameters with Optuna, the search and each trial in MLflow.

    python -m pipelines.tune TASK [the options of python -m pipelines.TASK] --trials N
        [--timeout S] [--space JSON] [--folds K]

TASK is ``forecasting``, ``classification`` or ``tagging``; the data and the
estimator's settings come from that pipeline's options (``--data`` or
``--dataset``, columns, ``--cell``, ``--units``, ``--epochs``...), read and
checked as that pipeline reads them, and only its training part is searched
on. Forecasting scores a trial by a rolling-origin backtest of the training
series (:func:`seqkit.model_selection.backtest`, ``--folds`` windows, one
fit; MASE, lower is better); classification and tagging by ``--folds``-fold
cross-validation (the estimator's score: accuracy, token accuracy; higher is
better). Trials are pruned on their validation loss (see
:mod:`pipelines._search`).

MLflow: one run per search in the experiment ``seqkit-tune`` with the
search's options, the best trial's parameters (``best.<name>``) and score,
the trials table and the best parameters' model fit on all training data
(registered with ``--register-model``); one nested run per trial. The
search's folder ``OUTPUT_DIR/tune/<task>/<data>/`` holds the Optuna study
(``optuna.db``): the same command after a kill resumes it, in the same
MLflow run, running what is left of ``--trials``.
"""

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from pipelines import _interrupts, _search, classification, forecasting, tagging
from pipelines._args import estimator_params, optional_text, parse, positive_int
from pipelines._data import log_lineage, named_sequences
from pipelines._job import Job, cli, final_estimator
from seqkit import export, io, tracking
from seqkit._files import staged_directory
from seqkit.estimators import SequenceClassifier, SequenceTagger
from seqkit.exceptions import CommandError, InvalidParameterError
from seqkit.model_selection import backtest, backtest_score
from seqkit.preprocessing import SequenceScaler

TASKS = {"forecasting": forecasting, "classification": classification, "tagging": tagging}
EXPERIMENT = "seqkit-tune"


def build_parser(task):
    """The options of a search for ``task``: that pipeline's, and the search's own."""
    parser = TASKS[task].build_parser()
    parser.prog = f"python -m pipelines.tune {task}"
    parser.description = __doc__.splitlines()[0]
    search = parser.add_argument_group("search")
    search.add_argument("--trials", type=positive_int, required=True,
                        help="trials in all (a resumed search runs those left)")
    search.add_argument("--timeout", type=positive_int, metavar="SECONDS",
                        help="stop starting trials after this many seconds (default: none)")
    search.add_argument("--space", type=optional_text, metavar="JSON",
                        help="parameters to search: a JSON object (or .json file) of name -> "
                             "[choices] or {\"low\": a, \"high\": b, \"log\": true} (default: "
                             + json.dumps(_search.DEFAULT_SPACE) + ")")
    search.add_argument("--folds", type=positive_int, default=3,
                        help="backtest windows (forecasting) or cross-validation folds "
                             "(default: %(default)s)")
    parser.set_defaults(experiment=EXPERIMENT)
    return parser


def _without_empty_options(argv):
    """``argv`` less its ``--option ""`` pairs: an MLflow Project passes every option a task
    may take, empty where not given (and options another task lacks stay empty)."""
    kept, i = [], 0
    while i < len(argv):
        if argv[i].startswith("--") and i + 1 < len(argv) and argv[i + 1] == "":
            i += 2
            continue
        kept.append(argv[i])
        i += 1
    return kept


class _Setup:
    """What a task searches: the model, the data it fits on and how a trial is scored."""

    def __init__(self, model, data, score, metric, direction):
        self.model, self.data, self.score = model, data, score
        self.metric, self.direction = metric, direction


def _forecasting(args, data):
    facts = data.params
    model = forecasting._estimator(args, facts["horizon"], facts["lookback"],
                                   facts["season_length"])
    y, X = data.train.y, data.train.X
    shortest = min(len(series) for series in y)
    room = shortest - args.folds * facts["horizon"]
    # The MASE scales by the seasonal naive error before the window: season_length + 1 steps.
    needed = max(model.min_series_length(), facts["season_length"] + 1)
    if room < needed:
        alone = shortest - facts["horizon"]  # the steps one window leaves
        limit = ("--season-length" if facts["season_length"] + 1 > model.min_series_length()
                 else "--lookback")
        remedy = ("lower it" if alone >= needed else
                  f"even --folds 1 leaves {max(alone, 0)}: give longer series, or a shorter "
                  f"--horizon or {limit}")
        raise InvalidParameterError(
            f"--folds {args.folds} backtest windows of {facts['horizon']} steps leave the "
            f"shortest training series ({shortest} steps) {max(room, 0)} steps before the "
            f"first window; the fit there needs {model.min_series_length()}, and the MASE, "
            f"with season length {facts['season_length']}, {facts['season_length'] + 1}. "
            f"Got --folds {args.folds}: {remedy}."
        )

    def score(candidate):
        result = backtest(candidate, y, X, n_windows=args.folds)
        return backtest_score(result, y, season_length=facts["season_length"]).loc[
            "overall", "mase"]

    return _Setup(model, (y,) if X is None else (y, X), score, "backtest_mase", "minimize")


def _cross_validated(model, X, y, cv):
    def score(candidate):
        return float(np.mean(cross_val_score(candidate, X, y, cv=cv, error_score="raise")))
    return score


def _classification(args, data):
    settings = classification.SETTINGS[args.dataset] if args.data is None else {}
    model = make_pipeline(SequenceScaler(), SequenceClassifier(**estimator_params(args,
                                                                                settings)))
    X, y = named_sequences(data.train), data.train.y
    cv = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
    return _Setup(model, (X, y), _cross_validated(model, X, y, cv), "cv_accuracy", "maximize")


def _tagging(args, data):
    settings = tagging.SETTINGS[args.dataset] if args.data is None else {}
    estimator = SequenceTagger(**estimator_params(args, settings))
    tokens = isinstance(data.train, io.TokenData)
    model = estimator if tokens else make_pipeline(SequenceScaler(), estimator)
    X, y = tagging._arrays(data.train)
    cv = KFold(args.folds, shuffle=True, random_state=args.seed)
    return _Setup(model, (X, y), _cross_validated(model, X, y, cv), "cv_token_accuracy",
                  "maximize")


SETUPS = {"forecasting": _forecasting, "classification": _classification, "tagging": _tagging}


def _with(model, params):
    """A clone of ``model`` whose estimator has ``params``."""
    candidate = clone(model)
    final_estimator(candidate).set_params(**params)
    return candidate


def _options(task, args):
    """What a stored search must have been started with to be resumed."""
    return {"task": task, **{key: value for key, value in vars(args).items()
                             if key not in ("trials", "timeout", "verbose", "tracking_uri",
                                            "register_model", "output_dir")}}


def run(argv=None):
    """Run a search with the options ``argv`` (``TASK`` first); return the Optuna study."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in TASKS:
        parser = argparse.ArgumentParser(prog="python -m pipelines.tune",
                                         description=__doc__.splitlines()[0])
        parser.add_argument("task", choices=sorted(TASKS))
        parser.parse_args(argv[:1])  # exits with the usage
    task = argv[0]
    parser = build_parser(task)
    args = parse(parser, _without_empty_options(argv[1:]))
    data = TASKS[task].load(args)
    setup = SETUPS[task](args, data)
    space = _search.read_space(args.space, final_estimator(setup.model))
    folder = Path(args.output_dir).resolve() / "tune" / task / data.name
    study = _search.open_study(folder, setup.direction, args.seed, _options(task, args))
    job = Job("tune", f"{task}/{data.name}", folder, register_model=args.register_model)
    start = time.perf_counter()
    options = {"search.trials": args.trials, "search.folds": args.folds,
               "search.metric": setup.metric, "search.direction": setup.direction,
               "search.space": args.space or json.dumps(_search.DEFAULT_SPACE)}
    previous = study.user_attrs.get(_search.RUN_ATTR)
    # A search continued with another --trials gets a new run, linked to the killed one.
    with tracking.tracked_run(
        args.experiment, f"tune-{task}-{data.name}",
        tags={"task": task, "dataset": data.name, "seqkit.search": "optuna"},
        params=options, tracking_uri=args.tracking_uri, resumes=previous,
    ) as parent:
        study.set_user_attr(_search.RUN_ATTR, parent.run_id)
        if args.data is None:
            tracking.log_dataset(args.dataset)
        log_lineage(data)
        _search.fail_interrupted(study, parent.run_id, previous)
        left = args.trials - len(_search.finished(study))
        if left < args.trials:
            job.progress(f"resuming the search: {args.trials - left} trials done, {left} left")
        with _interrupts.checked():
            if left > 0:
                _search.run_trials(study, space,
                                   lambda params: setup.score(_with(setup.model, params)),
                                   metric=setup.metric, trials=left, timeout=args.timeout,
                                   progress=job.progress)
            _finish(job, study, setup, folder)
    seconds = time.perf_counter() - start
    print(f"\nbest {setup.metric} {study.best_value:.4f} (trial {study.best_trial.number} of "
          f"{len(study.trials)}) with {study.best_params}, {seconds:.0f}s")
    print(f"MLflow run {parent.run_id}; browse with: {tracking.ui_command(parent.tracking_uri)}")
    return study


def _finish(job, study, setup, folder):
    """Log the best trial on the search's run; fit, export and log its model."""
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not complete:
        states = [t.state.name for t in study.trials]
        raise CommandError(f"No trial of the search completed ({', '.join(states)}); see the "
                           "trials' runs for why, and widen the space or lower the pruning.")
    best = study.best_trial
    tracking.log_params({f"best.{name}": value for name, value in best.params.items()})
    tracking.log_metrics({f"best_{setup.metric}": best.value})
    tracking.set_tags({"seqkit.best_trial": best.number})
    tracking.describe_run(f"{len(study.trials)} trials; best {setup.metric} {best.value:.4f} "
                          f"(trial {best.number}): {best.params}")
    with staged_directory(folder / "best") as stage:
        job.stage = stage
        model = job.fit(_with(setup.model, best.params), *setup.data)
        job.table(study.trials_dataframe(), "trials")
        saved_model = export.export_saved_model(model, stage / "model")
        tracking.log_artifact(saved_model)
        registry = {"registered_model_name": job.register_model} if job.register_model else {}
        info = export.log_model(saved_model, name="model", **registry)
        if registry:
            job.progress(f"registered as models:/{job.register_model}/"
                         f"{info.registered_model_version}")
        (stage / "estimator.pkl").write_bytes(pickle.dumps(model))
        tracking.log_artifact(stage / "estimator.pkl")


def main(argv=None):
    """Command-line entry point of the search; return the exit code."""
    return cli(run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
