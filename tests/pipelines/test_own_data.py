"""The pipelines on a user's files: CSV, Parquet, ``.ts`` and CoNLL, local and over HTTP.

The files hold real data: the bundled sets as ``python -m pipelines.examples``
writes them, in the formats users bring. The runs use tiny settings (1 epoch,
4 units).
"""

import hashlib
import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from pipelines import classification, forecasting, tagging
from pipelines.examples import write_examples
from seqkit.cli import main
from seqkit.export import read_manifest
from tests.helpers.pipelines import TINY
from tests.helpers.servers import serving_folder

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _inputs(run):
    """``{context: (dataset, tags)}`` of a run's dataset inputs."""
    found = {}
    for item in run.inputs.dataset_inputs:
        tags = {tag.key: tag.value for tag in item.tags}
        found[tags["mlflow.data.context"]] = (item.dataset, tags)
    return found


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    return write_examples(tmp_path_factory.mktemp("examples"))


@pytest.fixture
def files(examples, workdir):
    """``files(*names)`` copies example files into the working directory."""
    def copy(*names):
        for name in names:
            shutil.copy(next(path for path in examples if path.name == name), workdir / name)
    return copy


def test_forecasting_reads_a_panel_over_http_records_its_lineage_and_backtests(
        workdir, files, recorded_runs):
    from mlflow.tracking import MlflowClient

    files("co2_panel.csv")
    with serving_folder(workdir) as url:
        report = forecasting.run(["--data", f"{url}/co2_panel.csv", "--horizon", "8",
                                  "--backtest-windows", "2", *TINY])

    (run,) = recorded_runs()
    assert run.info.status == "FINISHED" and run.info.run_name == "co2_panel-peephole_lstm"
    params = run.data.params
    assert params["data"] == f"{url}/co2_panel.csv"
    assert params["split"] == "the last 8 steps of each series"
    assert params["n_series"] == "3" and params["freq"] == "W-SAT"
    assert params["season_length"] == "52" and params["horizon"] == "8"
    inputs = _inputs(run)
    training, tags = inputs["training"]
    assert tags["sha256"] == _sha256(workdir / "co2_panel.csv")
    assert tags["rows"] == str(360 - 3 * 8) and tags["items"] == "3"
    assert training.source_type == "http" and training.digest
    assert "evaluation" in inputs
    assert set(report.metrics) == {"seqkit", "seasonal_naive", "ets"}
    assert np.isfinite(report.metrics["seqkit"]["mase"])
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    windows = client.get_metric_history(run.info.run_id, "backtest_mase")
    assert sorted(metric.step for metric in windows) == [0, 0, 1]  # windows 0, 1; overall
    backtest = pd.read_csv(workdir / "outputs" / "forecasting" / "co2_panel" / "tables" /
                           "backtest.csv")
    assert (backtest.groupby("unique_id")["cutoff"].nunique() == 2).all()
    assert len(backtest) == 3 * 2 * 8
    table = pd.read_csv(workdir / "outputs" / "forecasting" / "co2_panel" / "tables" /
                        "forecasts.csv")
    assert list(table.columns[:4]) == ["unique_id", "ds", "actual", "seqkit"]  # no row numbers
    assert list(table["unique_id"].unique()) == ["co2-0", "co2-1", "co2-2"]
    assert len(table) == 24 and table["seqkit"].notna().all()


def test_forecasting_takes_a_parquet_test_file_and_registers_the_model(workdir, files,
                                                                       recorded_runs):
    from mlflow.tracking import MlflowClient

    files("airline.parquet", "airline_future.parquet")  # no id column

    report = forecasting.run([
        "--data", "airline.parquet", "--test-data", "airline_future.parquet",
        "--time-column", "month", "--target", "passengers", "--register-model", "airline",
        *TINY,
    ])

    (run,) = recorded_runs()
    assert run.data.params["horizon"] == "12" and run.data.params["season_length"] == "12"
    assert run.data.params["split"] == "--test-data airline_future.parquet"
    evaluation, tags = _inputs(run)["evaluation"]
    assert tags["sha256"] == _sha256(workdir / "airline_future.parquet")
    # The relative paths typed are recorded absolute; the parameters keep them as typed.
    assert run.data.params["data"] == "airline.parquet"
    assert evaluation.source_type == "local"
    assert json.loads(evaluation.source)["uri"] == str(workdir / "airline_future.parquet")
    assert json.loads(_inputs(run)["training"][0].source)["uri"] == str(workdir /
                                                                      "airline.parquet")
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    (version,) = client.search_model_versions("name='airline'")
    assert version.run_id == run.info.run_id and str(version.version) == "1"
    assert np.isfinite(report.metrics["seqkit"]["mase"])


def _short_airline_panel(path, lengths):
    """Consecutive stretches of the bundled airline series, one short series each."""
    from seqkit import datasets

    y, start, parts = datasets.load_series("airline"), 0, []
    for i, length in enumerate(lengths):
        part = y.iloc[start:start + length]
        parts.append(pd.DataFrame({"unique_id": f"air-{i}", "ds": part.index,
                                   "y": part.to_numpy()}))
        start += length
    pd.concat(parts).to_csv(path, index=False)


def test_forecasting_runs_a_file_of_short_series_with_the_estimators_lookback(workdir,
                                                                             recorded_runs):
    import pickle

    # 6 to 14 training steps before a horizon of 6: mostly shorter than the default lookback
    # and horizon (4 + 6), one no longer than the horizon, one keeping no training window.
    lengths = (12, 13, 14, 15, 16, 17, 18, 19, 20)  # the 144 months
    _short_airline_panel(workdir / "short.csv", lengths)

    report = forecasting.run(["--data", "short.csv", "--horizon", "6", "--season-length", "1",
                              *TINY])

    (run,) = recorded_runs()
    assert run.info.status == "FINISHED"
    assert run.data.params["lookback"] == "4"  # lookback="auto": the season length, at least 4
    folder = workdir / "outputs" / "forecasting" / "short"
    model = pickle.loads((folder / "estimator.pkl").read_bytes())
    assert model.lookback_ == 4
    # Series 0 is no longer than the horizon: its windows miss targets (the fit masks them),
    # and the gradient norms are still plotted.
    assert np.isnan(model.training_windows(0)[1]).any()
    assert (folder / "plots" / "gradient_norms.png").exists()
    assert all(np.isfinite(row["mase"]) for row in report.metrics.values())
    table = pd.read_csv(folder / "tables" / "forecasts.csv")
    assert len(table) == 6 * len(lengths) and table["seqkit"].notna().all()


def test_forecasting_with_a_known_covariate_column(workdir, recorded_runs):
    import pickle

    from seqkit import datasets

    y = datasets.load_series("airline")
    pd.DataFrame({"ds": y.index, "y": y.to_numpy(), "month_of_year": y.index.month}).to_csv(
        workdir / "airline_calendar.csv", index=False)

    report = forecasting.run(["--data", "airline_calendar.csv", "--covariates", "month_of_year",
                              "--horizon", "12", *TINY])

    (run,) = recorded_runs()
    assert run.info.status == "FINISHED"
    folder = workdir / "outputs" / "forecasting" / "airline_calendar"
    model = pickle.loads((folder / "estimator.pkl").read_bytes())
    x, _ = model.training_windows()
    # The covariate reaches the network: beside y in the history, and its 12 future values.
    assert isinstance(x, list) and x[0].shape[-1] == 2 and x[1].shape[1:] == (12,)
    assert (folder / "plots" / "gradient_norms.png").exists()
    assert np.isfinite(report.metrics["seqkit"]["mase"])


@pytest.mark.parametrize("lengths, argv, message", [
    # Every series' windows go to validation, calibration and the gaps before them.
    ((20,), ["--horizon", "6"], r"no series keeps a training window once the windows held "
                                r"out .* \(lookback 4, horizon 6\).* the longest, 'air-0', has "
                                r"14 steps, and every series from 16 steps on keeps one"),
    ((12, 5), ["--horizon", "2"], r"series 'air-1' has 3 steps; the ETS baseline needs at "
                                  r"least 4"),
    ((30,), ["--horizon", "6", "--backtest-windows", "2"],
     r"series 'air-0' has 24 steps; a fit and its MASE \(16 steps\) before --backtest-windows "
     r"2 windows of 6 steps needs at least 28"),
])
def test_forecasting_refuses_series_too_short_for_the_run(lengths, argv, message, workdir,
                                                          recorded_runs, capsys):
    import re

    _short_airline_panel(workdir / "short.csv", lengths)

    assert forecasting.main(["--data", "short.csv", "--season-length", "1", *argv, *TINY]) == 1

    assert re.search(message, capsys.readouterr().err, re.DOTALL)
    assert recorded_runs() == [] and not (workdir / "outputs").exists()


def test_classification_on_a_long_table_makes_a_stratified_split(workdir, files,
                                                                   recorded_runs, capsys):
    files("vowels.csv")

    report = classification.run(["--data", "vowels.csv", "--label-column", "speaker", *TINY])

    (run,) = recorded_runs()
    params = run.data.params
    assert params["split"] == "a stratified 25% of the sequences (seed 0)"
    assert params["n_train_sequences"] == "202" and params["n_test_sequences"] == "68"
    assert params["n_channels"] == "12"
    # The export reads a file's channels by the names it was fit on, in any order.
    channels = [f"c{j}" for j in range(12)]
    assert read_manifest(report.export_dir)["feature_names"] == channels
    table = pd.read_csv(workdir / "vowels.csv")
    table[["unique_id", *channels[::-1]]].to_csv(workdir / "reversed.csv", index=False)
    outputs, _ = [], capsys.readouterr()
    for source in ("vowels.csv", "reversed.csv"):
        assert main(["predict", str(report.export_dir), source, "--label-column", "speaker"]) == 0
        outputs.append(pd.read_csv(io.StringIO(capsys.readouterr().out)))
    pd.testing.assert_frame_equal(outputs[1], outputs[0], rtol=1e-6)


def test_tagging_on_a_conll_file(workdir, files, recorded_runs):
    files("ner.conll")

    report = tagging.run(["--data", "ner.conll", *TINY])

    (run,) = recorded_runs()
    assert run.data.params["split"] == "a random 20% of the sequences (seed 0)"
    assert run.data.params["n_test_sequences"] == "100"
    assert _inputs(run)["training"][1]["format"] == "conll"
    assert {"seqkit", "crf", "most_frequent_tag"} == set(report.metrics)


def test_a_bad_file_is_refused_before_any_run_or_folder(workdir, recorded_runs, capsys):
    lines = ["unique_id,ds,y"] + [f"a,2020-{m:02d}-01,{m}" for m in range(1, 13)]
    lines.insert(5, "a,2020-04-01,4")  # a duplicate (series, time) row
    (workdir / "sales.csv").write_text("\n".join(lines) + "\n")

    assert forecasting.main(["--data", "sales.csv", "--horizon", "2", *TINY]) == 1

    error = capsys.readouterr().err
    assert "sales.csv" in error and "line 6" in error
    assert recorded_runs() == []
    assert not (workdir / "mlflow.db").exists() and not (workdir / "outputs").exists()


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "co2", "--data", "x.csv"], "not both"),
    (["--datas", "x.csv"], "unrecognized arguments: --datas"),
    (["--test-data", "x.csv"], "--test-data needs --data"),
    (["--dataset", "sales.csv"], "your own file goes to --data"),
])
def test_data_options_are_never_confused(argv, message, workdir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        forecasting.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_forecasting_test_file_is_matched_to_the_training_series_by_id(examples, tmp_path):
    from pipelines.forecasting import _check_test
    from seqkit import io
    from seqkit.exceptions import DataFileError

    panel = pd.read_csv(next(path for path in examples if path.name == "co2_panel.csv"))
    panel["week"] = pd.to_datetime(panel["ds"]).dt.isocalendar().week.astype(float)
    panel.to_csv(tmp_path / "panel.csv", index=False)
    train, test = io.read_series(tmp_path / "panel.csv", covariates=["week"]).split(8)
    frame = pd.concat([test.frame[test.frame["unique_id"] == i] for i in test.ids[::-1]])
    frame.to_csv(tmp_path / "future.csv", index=False)
    reversed_ = io.read_series(tmp_path / "future.csv", covariates=["week"])
    assert reversed_.ids == test.ids[::-1]

    matched, horizon = _check_test(train, reversed_)
    assert horizon == 8 and matched.ids == train.ids
    for got, want in zip(matched.y, test.y, strict=True):
        pd.testing.assert_series_equal(got, want)
    for got, want in zip(matched.X, test.X, strict=True):
        pd.testing.assert_frame_equal(got, want)
    frame[frame["unique_id"] != test.ids[0]].to_csv(tmp_path / "fewer.csv", index=False)
    with pytest.raises(DataFileError, match=rf"missing \['{test.ids[0]}'\], unknown \[\]"):
        _check_test(train, io.read_series(tmp_path / "fewer.csv", covariates=["week"]))


def test_pipelines_name_the_features_of_tables_only_and_match_a_test_tables_by_name(
        examples, tmp_path):
    from pipelines._data import matched_channels, named_sequences
    from seqkit import io
    from seqkit.exceptions import DataFileError

    def example(name):
        return next(path for path in examples if path.name == name)

    ts = io.read_sequences(example("motions_TRAIN.ts"))  # dimensions without names
    assert all(isinstance(x, np.ndarray) for x in named_sequences(ts))
    segments = io.read_sequences(example("segmentation.parquet"), label_column="activity",
                                 labels="step")
    frames = named_sequences(segments)
    assert [list(frame.columns) for frame in frames[:2]] == [segments.channels] * 2

    table = pd.read_parquet(example("segmentation.parquet"))
    channels = segments.channels
    table[["unique_id", "ds", *channels[::-1], "activity"]].to_csv(tmp_path / "r.csv",
                                                                    index=False)
    reordered = io.read_sequences(tmp_path / "r.csv", label_column="activity", labels="step")
    matched = matched_channels(segments, reordered)
    assert matched.channels == channels
    for got, want in zip(matched.X, segments.X, strict=True):
        np.testing.assert_array_equal(got, want)
    table.rename(columns={channels[0]: "x"}).to_csv(tmp_path / "renamed.csv", index=False)
    with pytest.raises(DataFileError, match=rf"renamed\.csv: its channels .* must be those of "
                                            rf".*missing \['{channels[0]}'\], unexpected \['x'\]"):
        matched_channels(segments, io.read_sequences(tmp_path / "renamed.csv",
                                                     label_column="activity", labels="step"))
