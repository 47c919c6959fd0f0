"""File-locked resume of a killed or interrupted pipeline run (:class:`FitCheckpoints`).

The fit checkpoints every epoch into ``OUTPUT_DIR/<task>/<dataset>.checkpoints/``,
and the same command started again takes the fit up from its last completed
epoch and continues the same MLflow run, or links a new one to it.
"""

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

from seqkit import training
from seqkit._files import remove_staging_leftovers, staged_file
from seqkit.exceptions import InvalidParameterError

try:
    import fcntl
except ImportError:  # Windows: no lock; do not start the same pipeline twice at once there
    fcntl = None

RESUMED_TAG = "seqkit.resumed_from_epoch"
"""Tag of a run that resumed an interrupted fit: the epochs that fit had completed."""

# Options that do not change what a run computes: a run resumed with others is the same run.
_NOT_COMPARED = ("output_dir", "tracking_uri", "experiment", "verbose")


class FitCheckpoints:
    """The checkpoints of a pipeline's fit and the MLflow run they belong to.

    They live in ``OUTPUT_DIR/<task>/<dataset>.checkpoints/``, beside the
    output folder (which is replaced as a whole at the end of a run):
    ``fit/``, the estimator's ``checkpoint_dir``, and ``run.json``, the
    run's id, store and options. While a run is under way it holds a lock on
    the folder, so a second run of the same pipeline into the same folder is
    refused instead of mixing the two.

    Use :meth:`opened`, which yields one and, when the block ends, deletes the
    folder after success and after a failure with nothing to resume, and
    keeps it otherwise (the next run resumes it); a killed process keeps it.

    Attributes
    ----------
    folder : pathlib.Path
    fit_dir : pathlib.Path
        The estimator's ``checkpoint_dir``.
    resumes : str or None
        The id of the run of the interrupted job, if there is one to resume.
    resumed_from_epoch : int or None
        The epochs its fit had completed (0 if it was killed before its first).
    """

    def __init__(self, final, options, data=None):
        final = Path(final)
        self.folder = final.with_name(f"{final.name}.checkpoints")
        self.fit_dir = self.folder / "fit"
        self.options = json.loads(json.dumps(
            {k: v for k, v in options.items() if k not in _NOT_COMPARED}, default=str))
        self.data = dict(data or {})
        self.resumes = self.resumed_from_epoch = None
        self._record = self.folder / "run.json"
        self._lock = None

    @classmethod
    @contextlib.contextmanager
    def opened(cls, final, options, data=None):
        """Lock and read the checkpoints of the output folder ``final``; tidy up at the end.

        Parameters
        ----------
        final : path-like
            ``OUTPUT_DIR/<task>/<dataset>``.
        options : dict
            The run's options (``vars(args)``); those that change what the run
            computes must equal the interrupted run's for it to be resumed.
        data : dict of str to (str, str), optional
            The data files the run reads, as ``{option: (uri, sha256)}``: a file
            whose SHA-256 differs from the interrupted run's refuses the resume.

        Yields
        ------
        FitCheckpoints

        Raises
        ------
        InvalidParameterError
            If another run holds the folder, or an unfinished fit there was
            started with other options or other data (the folder is left as it is).
        """
        checkpoints = cls(final, options, data)
        created = [folder for folder in checkpoints.folder.parents if not folder.exists()]
        checkpoints.folder.mkdir(parents=True, exist_ok=True)
        try:
            checkpoints._acquire()
            remove_staging_leftovers(final)  # of killed runs: none can be under way now
            checkpoints._read()
            succeeded = False
            try:
                yield checkpoints
                succeeded = True
            finally:
                checkpoints._tidy(succeeded, created)
        finally:
            if checkpoints._lock is not None:
                os.close(checkpoints._lock)

    def _acquire(self):
        if fcntl is None:
            return
        self._lock = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InvalidParameterError(
                f"Another run of this pipeline is writing to {self.folder.parent} (it holds "
                f"{self.folder}). Wait for it to end, or give another --output-dir."
            ) from None

    def _read(self):
        if not self._record.is_file():  # a fresh start, or killed before recording its run
            shutil.rmtree(self.fit_dir, ignore_errors=True)
            return
        record = json.loads(self._record.read_text())
        changed = [
            f"--{name.replace('_', '-')} {record['options'].get(name)} then, "
            f"{self.options.get(name)} now"
            for name in sorted(set(record["options"]) | set(self.options))
            if record["options"].get(name) != self.options.get(name)
        ]
        if changed:
            raise InvalidParameterError(
                f"{self.folder} holds the unfinished fit of a run with other options "
                f"({'; '.join(changed)}), and a run resumes only its own. Run the command with "
                "the same options to resume it, or delete that folder to start afresh."
            )
        self._check_data(record.get("data", {}))
        state = training.checkpoint_state(self.fit_dir)
        self.resumes = record["run_id"]
        self.resumed_from_epoch = 0 if state is None else state["epochs"]

    def _check_data(self, recorded):
        for option, (uri, sha256) in self.data.items():
            then = recorded.get(option, [uri, sha256])[1]
            if sha256 and then and then != sha256:
                raise InvalidParameterError(
                    f"{self.folder} holds the unfinished fit of a run on other data: "
                    f"--{option.replace('_', '-')} {uri} has changed since (SHA-256 "
                    f"{then[:12]}... then, {sha256[:12]}... now), and a run resumes only its "
                    "own. Restore that file to resume, or delete that folder to start afresh."
                )

    def tags(self):
        """The MLflow tags of the run: :data:`RESUMED_TAG` if it resumes one, else none."""
        return {RESUMED_TAG: self.resumed_from_epoch} if self.resumes else {}

    def resuming(self, run):
        """A line on what ``run`` resumes, or ``None`` if it resumes nothing."""
        if not self.resumes:
            return None
        where = (f"continuing MLflow run {run.run_id}" if run.run_id == self.resumes else
                 f"in a new MLflow run linked to run {self.resumes}")
        return f"resuming an interrupted run after epoch {self.resumed_from_epoch}, {where}"

    def record(self, run):
        """Write down ``run`` (a :class:`seqkit.tracking.TrackedRun`) as the run to resume."""
        record = {"run_id": run.run_id, "experiment_id": run.experiment_id,
                  "tracking_uri": run.tracking_uri, "options": self.options,
                  "data": self.data}
        with staged_file(self._record) as partial:
            partial.write_text(json.dumps(record, indent=2) + "\n")

    def _tidy(self, succeeded, created):
        if not succeeded and training.checkpoint_state(self.fit_dir) is not None:
            print(f"The fit's checkpoints stay in {self.folder}: the same command resumes it.",
                  file=sys.stderr)
            return
        shutil.rmtree(self.folder, ignore_errors=True)
        for folder in created:  # deepest first; only those left empty
            with contextlib.suppress(OSError):
                folder.rmdir()
