"""The search behind ``python -m pipelines.tune``: its space, its Optuna study, its trials.

The space names estimator parameters (:func:`read_space`). The study lives
in an SQLite file in the search's folder (:func:`open_study`), so a killed
search resumes from it: trials the kill cut short are marked failed
(:func:`fail_interrupted`) and the rest of ``--trials`` runs. Each trial
(:func:`run_trials`) runs in an MLflow run nested in the search's run, with
its parameters, its score and its state (``seqkit.trial_state``: COMPLETE,
PRUNED or FAIL; a pruned trial's run ends ``KILLED``, a failed one's
``FAILED``). Pruning: every epoch of a trial's fits reports its validation
loss (the training loss where a fit holds no validation data) to the
trial, and Optuna's median pruner stops a trial whose loss is worse than
the median of the earlier trials at the same epoch (once 3 trials are
complete, from the trial's 6th epoch on).
"""

import json
import numbers
from pathlib import Path

import keras
import optuna
from optuna.trial import TrialState
from sklearn.base import clone

from seqkit import tracking, training
from seqkit.exceptions import InvalidParameterError, SeqkitError

STATE_TAG = "seqkit.trial_state"
"""Tag of a trial's run: its Optuna state."""

TRIAL_TAG = "seqkit.trial"
"""Tag of a trial's run: the trial's number in the study."""

RUN_ATTR = "mlflow_run_id"
"""User attribute of a trial (and of the study: the search's run) holding its MLflow run id."""

DEFAULT_SPACE = {
    "units": {"low": 8, "high": 128, "log": True},
    "num_layers": [1, 2],
    "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
    "dropout": {"low": 0.0, "high": 0.3},
}
"""The estimators' main hyper-parameters and their ranges, searched unless ``--space`` says."""

_SPACE_RULE = ("--space must be a JSON object (or a .json file holding one) from estimator "
               "parameters to a list of choices or a range {\"low\": ..., \"high\": ..., "
               "\"log\": false}")


def read_space(text, estimator):
    """The search space of ``--space`` (JSON text, or a path ending in ``.json``).

    Parameters
    ----------
    text : str or None
        ``None``: :data:`DEFAULT_SPACE`.
    estimator : seqkit estimator
        Every name of the space must be one of its parameters.

    Returns
    -------
    dict of str to optuna.distributions.BaseDistribution

    Raises
    ------
    InvalidParameterError
        If the text is no such object, names a parameter the estimator does
        not have, or gives an empty list or a range with ``low > high``.
    """
    raw = DEFAULT_SPACE
    if text is not None:
        try:
            raw = json.loads(Path(text).read_text(encoding="utf-8")
                             if text.strip().endswith(".json") else text)
        except (OSError, ValueError) as err:
            raise InvalidParameterError(f"{_SPACE_RULE}. Got {text!r}: {err}.") from None
    if not isinstance(raw, dict) or not raw:
        raise InvalidParameterError(f"{_SPACE_RULE}. Got {text!r}.")
    names = estimator.get_params()
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise InvalidParameterError(
            f"--space names parameters that {type(estimator).__name__} does not have: "
            f"{unknown}. Got --space {text}; its parameters are {', '.join(sorted(names))}."
        )
    space = {name: _distribution(name, value) for name, value in raw.items()}
    _check_values(estimator, space, text)
    return space


def _candidates(distribution):
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return distribution.choices
    return distribution.low, distribution.high


def _refusal(estimator, params):
    """The error the estimator's parameter check raises with ``params``, or None."""
    try:
        clone(estimator).set_params(**params)._check_params()
    except SeqkitError as err:
        return err
    return None


def _check_values(estimator, space, text):
    """Refuse a choice, or an end of a range, that the estimator refuses whatever one other
    searched parameter is (``early_stopping`` needs ``validation_fraction > 0``): every
    trial drawing it would train and then fail."""
    for name, distribution in space.items():
        for value in _candidates(distribution):
            error = _refusal(estimator, {name: value})
            if error is not None and all(
                _refusal(estimator, {name: value, other: choice})
                for other in space if other != name for choice in _candidates(space[other])
            ):
                raise InvalidParameterError(
                    f"--space gives {name!r} a value {type(estimator).__name__} refuses: "
                    f"{error} Got --space {text}."
                )


def _distribution(name, value):
    if isinstance(value, list) and value:
        return optuna.distributions.CategoricalDistribution(value)
    if isinstance(value, dict) and {"low", "high"} <= set(value) <= {"low", "high", "log"}:
        low, high, log = value["low"], value["high"], value.get("log", False)
        numbers_ = [v for v in (low, high) if isinstance(v, numbers.Real)
                    and not isinstance(v, bool)]
        if (len(numbers_) == 2 and low <= high and isinstance(log, bool)
                and (low > 0 or not log)):
            if all(isinstance(v, int) for v in (low, high)):
                return optuna.distributions.IntDistribution(low, high, log=log)
            return optuna.distributions.FloatDistribution(float(low), float(high), log=log)
    raise InvalidParameterError(
        f"{_SPACE_RULE}, low <= high (and low > 0 for log). Got {value!r} for {name!r}."
    )


def suggest(trial, space):
    """The trial's parameters, one suggestion per entry of ``space``."""
    params = {}
    for name, dist in space.items():
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            params[name] = trial.suggest_categorical(name, dist.choices)
        elif isinstance(dist, optuna.distributions.IntDistribution):
            params[name] = trial.suggest_int(name, dist.low, dist.high, log=dist.log)
        else:
            params[name] = trial.suggest_float(name, dist.low, dist.high, log=dist.log)
    return params


def open_study(folder, direction, seed, options, pruner=None):
    """Create, or load, the study stored in ``folder/optuna.db``.

    Parameters
    ----------
    folder : pathlib.Path
        Created if missing.
    direction : {"minimize", "maximize"}
    seed : int
        Seeds the TPE sampler (offset by the trials already run, so that a
        resumed search does not draw its first trials again).
    options : dict
        What the search was started with (JSON-able); a stored study made
        with other options is refused.
    pruner : optuna.pruners.BasePruner or None
        Default: a median pruner that waits for 3 complete trials, and for 5
        epochs in each trial (early epochs tell the learning rate more than
        the model).

    Raises
    ------
    InvalidParameterError
        If the folder holds a search made with other options.
    """
    folder.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=f"sqlite:///{folder / 'optuna.db'}", study_name="search", direction=direction,
        pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=5),
        load_if_exists=True,
    )
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    options = json.loads(json.dumps(options, default=str))  # as stored: lists, strings
    stored = study.user_attrs.get("options")
    if stored is None:
        study.set_user_attr("options", options)
    elif stored != options:
        changed = sorted(key for key in set(stored) | set(options)
                         if stored.get(key) != options.get(key))
        raise InvalidParameterError(
            f"{folder} holds a search started with other options ({', '.join(changed)} "
            "differ): resume it with the options it was started with, or give another "
            "--output-dir (or delete that folder) to start afresh."
        )
    return study


def fail_interrupted(study, *parent_run_ids):
    """Mark the trials a killed search left running as failed, their runs ``KILLED``.

    A trial's runs are found by its number among the runs nested in
    ``parent_run_ids`` (the search's run, and the killed search's where it
    started a new one; None is skipped): a kill can land after a trial's run started and
    before the trial stored its id, or after the run ended and before the
    trial stored its score. A trial killed before its run started has none.
    """
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(trial.number, state=TrialState.FAIL)
        for run_id in (run_id for parent in dict.fromkeys(filter(None, parent_run_ids))
                       for run_id in tracking.nested_runs(parent, TRIAL_TAG, trial.number)):
            tracking.mark_run(run_id, "KILLED",
                              {STATE_TAG: "FAIL", "error": "the search was killed"})


def finished(study):
    """The trials that count towards ``--trials``: complete or pruned."""
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


class ReportEpochs(keras.callbacks.Callback):
    """Report each epoch's validation loss to a trial; stop the trial when it is pruned.

    The loss goes as is to a study that minimises, negated to one that
    maximises (so that a worse loss is a worse value either way); the steps
    count epochs over all the trial's fits (folds, refits).
    """

    def __init__(self, trial, sign):
        super().__init__()
        self.trial, self.sign, self.step = trial, sign, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss = logs.get("val_loss", logs.get("loss"))
        if loss is None:
            return
        self.trial.report(self.sign * float(loss), self.step)
        self.step += 1
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch + 1} (loss {loss:.4g})")


def run_trials(study, space, evaluate, *, metric, trials, timeout=None, progress=print):
    """Run ``trials`` trials (or fewer when ``timeout`` seconds pass), each in a nested run.

    Parameters
    ----------
    study : optuna.Study
    space : dict
        From :func:`read_space`.
    evaluate : callable
        ``evaluate(params) -> float``: fits and scores the estimator with
        ``params``; its fits report their epochs to the trial.
    metric : str
        The score's name in MLflow.
    trials : int
    timeout : float or None
    progress : callable
        Takes a line per trial.

    Notes
    -----
    A trial whose fit diverges or that the data refuses (a seqkit error)
    fails and the search goes on; any other error ends it.
    """
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE

    def objective(trial):
        params = suggest(trial, space)
        described = ", ".join(f"{name}={value:.3g}" if isinstance(value, float)
                              else f"{name}={value}" for name, value in params.items())
        with tracking.nested_run(f"trial-{trial.number}", tags={TRIAL_TAG: trial.number},
                                 stopped=(optuna.TrialPruned,)) as run:
            trial.set_user_attr(RUN_ATTR, run.run_id)
            tracking.log_params(params)
            try:
                with training.watching(ReportEpochs(trial, -1 if maximize else 1)):
                    score = float(evaluate(params))
            except optuna.TrialPruned as pruned:
                tracking.set_tags({STATE_TAG: "PRUNED"})
                progress(f"trial {trial.number} ({described}): {pruned}")
                raise
            except BaseException as error:
                tracking.set_tags({STATE_TAG: "FAIL"})
                progress(f"trial {trial.number} ({described}) failed: {error}")
                raise
            tracking.log_metrics({metric: score})
            tracking.set_tags({STATE_TAG: "COMPLETE"})
        progress(f"trial {trial.number} ({described}): {metric} {score:.4f}")
        return score

    study.optimize(objective, n_trials=trials, timeout=timeout, catch=(SeqkitError,))
