"""The main job: every pipeline on the bundled data with its default settings.

Runs forecasting (sunspots, co2), classification (japanese_vowels,
basic_motions) and tagging (japanese_ner) one after the other, records each in
MLflow, and ends with a table of the results against the project's targets,
where the models were exported and how to open the MLflow UI.

Run ``python -m pipelines --help`` for the options.
"""

import argparse
import sys
import time
import traceback

from pipelines import _interrupts, classification, forecasting, tagging
from pipelines._args import add_run_options, positive_int
from pipelines._report import format_table
from seqkit import tracking
from seqkit.exceptions import SeqkitError

PIPELINES = {"forecasting": forecasting, "classification": classification, "tagging": tagging}


def _beats_baselines(report, *, strict):
    value = report.metrics[report.model][report.primary]
    _, best = report.best_baseline()
    if not report.higher_is_better:
        value, best = -value, -best
    return value > best if strict else value >= best


def _at_least(threshold):
    return lambda report: report.metrics[report.model][report.primary] >= threshold


# (task, data set, the target in words, whether a report reaches it)
JOBS = (
    ("forecasting", "sunspots", "below every baseline",
     lambda report: _beats_baselines(report, strict=True)),
    ("forecasting", "co2", "below every baseline",
     lambda report: _beats_baselines(report, strict=True)),
    ("classification", "japanese_vowels", ">= 0.98", _at_least(0.98)),
    ("classification", "basic_motions", "= 1.0", _at_least(1.0)),
    ("tagging", "japanese_ner", ">= the CRF",
     lambda report: report.metrics["seqkit"]["entity_f1"] >= report.metrics["crf"]["entity_f1"]),
)


def build_parser():
    """The options of the main job."""
    parser = argparse.ArgumentParser(prog="python -m pipelines",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="TASK/DATASET",
                        choices=[f"{task}/{dataset}" for task, dataset, _, _ in JOBS],
                        help="run only these pipelines (default: all)")
    parser.add_argument("--epochs", type=positive_int,
                        help="override every pipeline's number of epochs (e.g. 1 to smoke-test)")
    add_run_options(parser)
    return parser


def _pipeline_argv(args, dataset):
    argv = ["--dataset", dataset, "--seed", str(args.seed), "--output-dir", args.output_dir]
    if args.epochs:
        argv += ["--epochs", str(args.epochs)]
    if args.tracking_uri:
        argv += ["--tracking-uri", args.tracking_uri]
    return argv


def _summary(results):
    rows, exports = [], []
    for (task, dataset, target, reached), report in results:
        if report is None:
            rows.append([task, dataset, "-", "failed", "-", target, "no"])
            continue
        name, best = report.best_baseline()
        value = report.metrics[report.model][report.primary]
        rows.append([task, dataset, report.primary, f"{value:.4f}", f"{best:.4f} ({name})",
                     target, "yes" if reached(report) else "no"])
        exports.append(f"  {task}/{dataset}: {report.export_dir}")
    header = ["task", "dataset", "metric", "seqkit", "best baseline", "target", "reached"]
    return format_table(header, rows), exports


def main(argv=None):
    """Run the pipelines; return 0 if all ran (whatever their scores), else 1 (130 after
    Ctrl-C, 143 after SIGTERM)."""
    args = build_parser().parse_args(argv)
    try:
        uri = tracking.check_tracking_store(args.tracking_uri)
    except SeqkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    jobs = [job for job in JOBS if not args.only or f"{job[0]}/{job[1]}" in args.only]
    start, results = time.perf_counter(), []
    # Ctrl-C and SIGTERM stop the job, even where Python swallowed them; the run they reach fails.
    try:
        with _interrupts.kept():
            for number, job in enumerate(jobs, 1):
                task, dataset = job[:2]
                print(f"\n=== [{number}/{len(jobs)}] {task} on {dataset}", flush=True)
                try:
                    report = PIPELINES[task].run(_pipeline_argv(args, dataset))
                except SeqkitError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    report = None
                except Exception:  # one broken pipeline should not hide the others' results
                    traceback.print_exc()
                    report = None
                results.append((job, report))
                _interrupts.check()
    except KeyboardInterrupt as interrupt:
        return _interrupts.report(interrupt)
    table, exports = _summary(results)
    print(f"\n=== Results on the test splits ({time.perf_counter() - start:.0f}s in all)")
    print(table)
    print("\nExported models (TensorFlow SavedModel):")
    print("\n".join(exports) or "  none")
    print(f"\nBrowse every run: {tracking.ui_command(uri)}")
    return 0 if all(report is not None for _, report in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
