"""What a pipeline run measured (:class:`Report`) and how it is printed.

:func:`format_table` also lays out the main job's table of every pipeline's
result (``python -m pipelines``).
"""

import dataclasses
from pathlib import Path

from seqkit import tracking


@dataclasses.dataclass
class Report:
    """What a pipeline run measured and where it left its results.

    Attributes
    ----------
    task, dataset : str
    metrics : dict of str to dict of str to float
        Model name -> metric name -> value; the seqkit estimator first, then
        the baselines.
    primary : str
        The metric the targets speak of.
    higher_is_better : bool
    export_dir : pathlib.Path or None
        The exported SavedModel (set once the export is in place).
    run : seqkit.tracking.TrackedRun or None
    seconds : float
    """

    task: str
    dataset: str
    metrics: dict
    primary: str
    higher_is_better: bool
    export_dir: Path = None
    run: tracking.TrackedRun = None
    seconds: float = 0.0

    @property
    def model(self):
        """The name of the seqkit estimator's row."""
        return next(iter(self.metrics))

    def summary(self):
        """One line: the estimator's primary score beside the best baseline's."""
        name, best = self.best_baseline()
        value = self.metrics[self.model][self.primary]
        return (f"{self.task} on {self.dataset}, test split: seqkit {self.primary} "
                f"{value:.4f}; best baseline {name} {best:.4f}")

    def best_baseline(self):
        """``(name, value)`` of the best baseline on the primary metric."""
        baselines = {name: row[self.primary] for name, row in self.metrics.items()
                     if name != self.model}
        pick = max if self.higher_is_better else min
        name = pick(baselines, key=baselines.get)
        return name, baselines[name]


def format_table(header, rows):
    """Rows of cells as an aligned text table (numbers right-aligned, 4 decimals)."""
    cells = [[_cell(value) for value in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(isinstance(row[i], float) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.rjust(w) if num else cell.ljust(w)
                  for cell, w, num in zip(row, widths, numeric)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value):
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def print_report(report):
    """Print a pipeline's result table, its export and how to browse the run."""
    metrics = list(next(iter(report.metrics.values())))
    rows = [[name, *(float(row[m]) for m in metrics)] for name, row in report.metrics.items()]
    print(f"\n{report.task} on {report.dataset} (test split), {report.seconds:.0f}s")
    print(format_table(["model", *metrics], rows))
    print(f"\nExported model (SavedModel): {report.export_dir}")
    browse = tracking.ui_command(report.run.tracking_uri)
    print(f"MLflow run {report.run.run_id}; browse with: {browse}")
