"""``seqkit predict``: real files of each kind scored as the estimator predicts them, from an
export folder or an MLflow model URI, in chunks or not; bad input writes nothing."""

import io
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest

from seqkit import export, predicting
from seqkit.cli import main
from tests.estimators.data import monthly_series
from tests.helpers.exports import FEATURES, fitted, requests


def _predict(capsys, *argv):
    """``(exit status, stdout, stderr)`` of ``seqkit predict argv`` run in this process."""
    status = main(["predict", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def _read(path):
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def _assert_same_csv(got, want, what):
    """Two CSV texts hold the same table (numbers to 1e-6: TensorFlow's sums may differ in
    their last bits between batchings and loads)."""
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(got)), pd.read_csv(io.StringIO(want)),
                                  rtol=1e-6, obj=what)


# ----------------------------------------------------------------------- files


def _histories(integer_time):
    """Three series of different lengths, as the estimator takes them (pandas, with their
    time index) and as a long table."""
    values = monthly_series(n=50, seed=3).to_numpy().astype(np.float32).astype(float)
    series = []
    for name, (start, stop), first in zip("abc", [(0, 40), (9, 30), (20, 50)],
                                          ["2001-01-01", "2003-06-01", "1999-12-01"]):
        steps = stop - start
        index = (pd.RangeIndex(7, 7 + 2 * steps, 2) if integer_time
                 else pd.date_range(first, periods=steps, freq="MS"))
        series.append(pd.Series(values[start:stop], index=index, name=name))
    table = pd.concat([pd.DataFrame({"unique_id": s.name, "ds": s.index, "y": s.to_numpy()})
                       for s in series], ignore_index=True)
    return series, table


def _expected_forecasts(name, series):
    model = fitted(name)
    frames = [pd.DataFrame({"unique_id": s.name, "ds": f.index, "y_pred": f.to_numpy()})
              for s, f in zip(series, model.predict(y=series))]
    if name == "quantile_forecaster":
        for frame, quantiles in zip(frames, model.predict_quantiles(y=series)):
            for level in quantiles.columns:
                frame[f"y_pred_q{level:g}"] = quantiles[level].to_numpy()
    return pd.concat(frames, ignore_index=True)


def _sequence_table(sequences, labels=None, time=True):
    """A long table of numeric sequences: unique_id, [ds,] f0, f1[, label]."""
    frames = []
    for i, x in enumerate(sequences):
        frame = pd.DataFrame(x, columns=FEATURES)
        frame.insert(0, "unique_id", f"s{i}")
        if time:
            frame.insert(1, "ds", np.arange(len(x)) * 10)
        if labels is not None:
            frame["label"] = labels[i]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _write_ts(path, sequences, labels):
    lines = ["@problemName tiny", "@timeStamps false", "@missing false", "@univariate false",
             "@dimensions 2", "@equalLength false", "@classLabel true down up", "@data"]
    for x, label in zip(sequences, labels):
        dims = [",".join(repr(float(v)) for v in x[:, d]) for d in range(x.shape[1])]
        lines.append(":".join([*dims, label]))
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_conll(path, sentences):
    """Tokens with a (made-up) tag column, which prediction ignores."""
    path.write_text("".join("".join(f"{t} O\n" for t in s) + "\n" for s in sentences))
    return path


def _read_conll(text):
    sentences = [block.splitlines() for block in text.strip("\n").split("\n\n")]
    return [[line.split()[0] for line in s] for s in sentences], \
        [[line.split()[-1] for line in s] for s in sentences]


# ----------------------------------------------------------------------- each kind


@pytest.mark.slow  # loads a SavedModel
@pytest.mark.parametrize("name,suffix,integer_time", [
    ("streaming_forecaster", ".csv", False), ("streaming_forecaster", ".parquet", True),
    ("quantile_forecaster", ".csv", False)])
def test_forecasts_are_the_estimators_after_each_series(exports, tmp_path, capsys, name, suffix,
                                                        integer_time):
    series, table = _histories(integer_time)
    source = tmp_path / f"sales{suffix}"
    table.to_csv(source, index=False) if suffix == ".csv" else table.to_parquet(source)
    out = tmp_path / f"forecasts{suffix}"
    status, stdout, err = _predict(capsys, exports(name), source, "--output", out)
    assert (status, err) == (0, ""), err
    assert f"for 3 series to {out}" in stdout
    got, want = _read(out), _expected_forecasts(name, series)
    assert list(got.columns) == list(want.columns)
    assert got["unique_id"].astype(str).tolist() == want["unique_id"].tolist()
    if integer_time:
        assert got["ds"].tolist() == want["ds"].tolist()
    else:
        assert (pd.to_datetime(got["ds"]) == want["ds"]).all()
    np.testing.assert_allclose(got.iloc[:, 2:], want.iloc[:, 2:], rtol=1e-5, atol=1e-5)


@pytest.mark.slow  # loads a SavedModel
def test_integer_ids_of_a_parquet_file_come_out_as_integers(exports, tmp_path, capsys):
    series, table = _histories(False)
    table["unique_id"] = table["unique_id"].map({"a": 17, "b": 3, "c": 250}).astype("int64")
    source, out = tmp_path / "sales.parquet", tmp_path / "forecasts.parquet"
    table.to_parquet(source)
    status, _, err = _predict(capsys, exports("streaming_forecaster"), source, "-o", out)
    assert (status, err) == (0, ""), err
    got, want = pd.read_parquet(out), _expected_forecasts("streaming_forecaster", series)
    assert got["unique_id"].dtype == np.int64
    assert got["unique_id"].tolist() == [17] * 3 + [3] * 3 + [250] * 3
    np.testing.assert_allclose(got.iloc[:, 2:], want.iloc[:, 2:], rtol=1e-5, atol=1e-5)


@pytest.mark.slow  # loads a SavedModel
@pytest.mark.parametrize("name", ["streaming_forecaster", "quantile_forecaster"])
def test_series_shorter_than_the_lookback_are_forecast_as_the_estimator_forecasts_them(
        exports, tmp_path, capsys, name):
    series, table = _histories(False)
    short = series[1].iloc[:2].rename("d")  # 2 steps; the lookback is 6
    series.append(short)
    table = pd.concat([table, pd.DataFrame({"unique_id": "d", "ds": short.index,
                                            "y": short.to_numpy()})], ignore_index=True)
    source, out = tmp_path / "sales.csv", tmp_path / "forecasts.csv"
    table.to_csv(source, index=False)
    status, stdout, err = _predict(capsys, exports(name), source, "--output", out)
    assert (status, err) == (0, ""), err
    assert f"for 4 series to {out}" in stdout
    got, want = _read(out), _expected_forecasts(name, series)
    assert got["unique_id"].astype(str).tolist() == want["unique_id"].tolist()
    np.testing.assert_allclose(got.iloc[:, 2:], want.iloc[:, 2:], rtol=1e-5, atol=1e-5)


def test_fill_takes_every_way_the_readers_fill():
    from seqkit.cli import build_parser
    from seqkit.io.series import FILLS

    for fill in FILLS[1:]:
        assert build_parser().parse_args(["predict", "m", "i", "--fill", fill]).fill == fill


@pytest.mark.slow  # loads a SavedModel
def test_gaps_are_filled_with_fill_as_the_pipelines_fill_them(exports, tmp_path, capsys):
    series, table = _histories(False)
    rows = table.index[table["unique_id"] == "a"]  # 40 months; the lookback reads 6
    gappy = table.drop(index=rows[36])  # a missing month
    gappy.loc[rows[38], "y"] = np.nan  # a missing value
    source, out = tmp_path / "gappy.csv", tmp_path / "forecasts.csv"
    gappy.to_csv(source, index=False)
    _assert_refused(capsys, tmp_path, [exports("streaming_forecaster"), source],
                    "series 'a'", "pass fill= (--fill on the command line)")
    status, stdout, err = _predict(capsys, exports("streaming_forecaster"), source,
                                   "--fill", "ffill", "--output", out)
    assert (status, err) == (0, ""), err
    filled = series[0].copy()
    filled.iloc[36], filled.iloc[38] = filled.iloc[35], filled.iloc[37]
    want = _expected_forecasts("streaming_forecaster", [filled, *series[1:]])
    np.testing.assert_allclose(_read(out).iloc[:, 2:], want.iloc[:, 2:], rtol=1e-5, atol=1e-5)
    unfilled = _expected_forecasts("streaming_forecaster", series)
    assert np.abs(want["y_pred"] - unfilled["y_pred"]).max() > 1e-3  # the fill mattered


@pytest.mark.slow  # loads a SavedModel
@pytest.mark.parametrize("form", ["ts", "table"])
def test_classes_and_probabilities_are_the_estimators(exports, tmp_path, capsys, form):
    sequences = requests("classifier")[0]
    model = fitted("classifier")
    labels = model.predict(sequences).astype(str)
    if form == "ts":  # the true labels' column is there, and ignored
        source = _write_ts(tmp_path / "cases.ts", sequences, labels[::-1])
    else:
        source = tmp_path / "cases.csv"
        _sequence_table(sequences, labels[::-1]).to_csv(source, index=False)
    out = tmp_path / "classes.csv"
    status, _, err = _predict(capsys, exports("classifier"), source, "-o", out)
    assert (status, err) == (0, ""), err
    got = pd.read_csv(out)
    classes = [str(c) for c in model.classes_]
    assert list(got.columns) == ["id", "label", *(f"proba_{c}" for c in classes)]
    assert len(got) == len(sequences)
    if form == "table":
        assert got["id"].tolist() == [f"s{i}" for i in range(len(sequences))]
    assert got["label"].tolist() == labels.tolist()
    np.testing.assert_allclose(got.iloc[:, 2:], model.predict_proba(sequences), atol=1e-5)


@pytest.mark.slow  # loads a SavedModel
def test_a_tables_feature_columns_are_read_by_the_names_the_model_was_fit_on(
        exports, tmp_path, capsys):
    sequences = requests("classifier")[0]
    assert fitted("classifier").feature_names_in_.tolist() == FEATURES
    assert export.read_manifest(exports("classifier"))["feature_names"] == FEATURES
    table = _sequence_table(sequences)
    outputs = []
    for name, columns in [("as_fit", ["unique_id", "ds", *FEATURES]),
                          ("reordered", ["ds", FEATURES[1], "unique_id", FEATURES[0]])]:
        table[columns].to_csv(tmp_path / f"{name}.csv", index=False)
        status, out, err = _predict(capsys, exports("classifier"), tmp_path / f"{name}.csv")
        assert (status, err) == (0, ""), err
        outputs.append(out)
    _assert_same_csv(outputs[1], outputs[0], "reordered columns")
    got = pd.read_csv(io.StringIO(outputs[1]))
    np.testing.assert_allclose(got.iloc[:, 2:], fitted("classifier").predict_proba(sequences),
                               atol=1e-5)
    renamed = table.rename(columns={FEATURES[0]: "g0"})
    renamed.to_csv(tmp_path / "renamed.csv", index=False)
    _assert_refused(capsys, tmp_path, [exports("classifier"), tmp_path / "renamed.csv"],
                    "renamed.csv", "no column(s) ['f0']", "also has ['g0']", "--id-column")
    table.assign(extra=1.0).to_csv(tmp_path / "extra.csv", index=False)
    _assert_refused(capsys, tmp_path, [exports("classifier"), tmp_path / "extra.csv"],
                    "extra.csv", "['extra'], which the model does not take")


@pytest.mark.slow  # loads a SavedModel
def test_token_tags_come_out_as_conll(exports, tmp_path, capsys):
    sentences = requests("tagger")[0]
    source = _write_conll(tmp_path / "text.conll", sentences)
    status, out, err = _predict(capsys, exports("tagger"), source)  # to stdout
    assert (status, err) == (0, ""), err
    tokens, tags = _read_conll(out)
    assert tokens == sentences
    assert tags == [list(map(str, row)) for row in fitted("tagger").predict(sentences)]


@pytest.mark.slow  # loads a SavedModel
def test_numeric_tags_come_out_a_row_per_step(exports, tmp_path, capsys):
    sequences = requests("bidirectional_tagger")[0]
    steps = [np.zeros(len(x), dtype=int) for x in sequences]
    source = tmp_path / "steps.parquet"
    _sequence_table(sequences, steps, time=False).to_parquet(source)
    out = tmp_path / "tags.parquet"
    status, _, err = _predict(capsys, exports("bidirectional_tagger"), source, "-o", out)
    assert (status, err) == (0, ""), err
    got = pd.read_parquet(out)
    want = fitted("bidirectional_tagger").predict(sequences)
    assert list(got.columns) == ["id", "step", "label"]
    assert got["id"].tolist() == [f"s{i}" for i, x in enumerate(sequences) for _ in x]
    assert got["step"].tolist() == [j for x in sequences for j in range(len(x))]
    assert got["label"].tolist() == [str(v) for row in want for v in row]


# ----------------------------------------------------------------------- models, chunks


@pytest.mark.slow  # loads a SavedModel
def test_models_from_mlflow_runs_and_the_registry(exports, tracking, tmp_path, capsys,
                                                  monkeypatch):
    # Unset here and after the test: seqkit predict turns MLflow's progress bars off where
    # stderr is no terminal, unless told otherwise.
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "true")
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    _, table = _histories(False)
    source = tmp_path / "sales.csv"
    table.to_csv(source, index=False)
    folder = exports("streaming_forecaster")
    with mlflow.start_run() as run:
        info = export.log_model(folder)
    version = mlflow.register_model(info.model_uri, "sales")
    mlflow.MlflowClient().set_registered_model_alias("sales", "champion", version.version)
    mlflow_folder = export.save_mlflow_model(folder, tmp_path / "mlflow-model")
    capsys.readouterr()  # MLflow's logging so far
    status, want, err = _predict(capsys, folder, source)
    assert (status, err) == (0, ""), err
    for model in (mlflow_folder, f"runs:/{run.info.run_id}/model", "models:/sales/1",
                  "models:/sales@champion"):
        status, got, err = _predict(capsys, model, source, "--tracking-uri", tracking)
        assert (status, err) == (0, ""), (model, err)
        _assert_same_csv(got, want, model)


@pytest.mark.slow  # loads a SavedModel
@pytest.mark.parametrize("name", ["streaming_forecaster", "classifier", "bidirectional_tagger",
                                  "tagger"])
def test_chunks_and_batches_smaller_than_the_file_give_the_same_output(exports, tmp_path, capsys,
                                                                       monkeypatch, name):
    if name == "streaming_forecaster":
        source = tmp_path / "sales.csv"
        _histories(False)[1].to_csv(source, index=False)
    elif name == "tagger":
        source = _write_conll(tmp_path / "text.iob", requests(name)[0])
    else:
        source = tmp_path / "cases.csv"
        _sequence_table(requests(name)[0]).to_csv(source, index=False)
    status, whole, err = _predict(capsys, exports(name), source)
    assert (status, err) == (0, ""), err
    status, chunked, err = _predict(capsys, exports(name), source, "--chunk-rows", 2)
    assert (status, err) == (0, ""), err
    monkeypatch.setattr(predicting, "BATCH_SEQUENCES", 2)  # batches of different lengths
    status, batched, err = _predict(capsys, exports(name), source)
    assert (status, err) == (0, ""), err
    for got, what in [(chunked, "chunks"), (batched, "batches")]:
        if name == "tagger":
            assert got == whole, what
        else:
            _assert_same_csv(got, whole, what)


def test_batches_hold_at_most_so_many_sequences_and_values(monkeypatch):
    assert predicting.batches([3] * 600) == [slice(0, 256), slice(256, 512), slice(512, 600)]
    monkeypatch.setattr(predicting, "BATCH_VALUES", 20)
    assert predicting.batches([2, 3, 9, 30, 1, 1], width=2) == [
        slice(0, 2), slice(2, 3), slice(3, 4), slice(4, 6)]


@pytest.mark.slow  # loads a SavedModel
def test_a_progress_bar_shows_on_a_terminal_only(exports, tmp_path, capsys, monkeypatch, sales):
    status, _, err = _predict(capsys, exports("streaming_forecaster"), sales, "-o",
                              tmp_path / "o.csv")
    assert (status, err) == (0, "")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    status, _, err = _predict(capsys, exports("streaming_forecaster"), sales, "-o",
                              tmp_path / "o.csv")
    assert status == 0 and "3 series [" in err, err


@pytest.mark.slow  # a fresh process loads TensorFlow
def test_a_fresh_process_prints_no_tensorflow_start_up_lines_nor_a_broken_pipe(exports, tmp_path,
                                                                             sales):
    import os
    import subprocess

    env = {name: value for name, value in os.environ.items() if not name.startswith("TF_CPP")}
    result = subprocess.run(
        [sys.executable, "-m", "seqkit.cli", "predict", str(exports("streaming_forecaster")),
         str(sales), "-o", str(tmp_path / "o.csv")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == f"Wrote the predictions for 3 series to {tmp_path / 'o.csv'}\n"
    reader, writer = os.pipe()  # stdout into a pipe whose reader has gone, as `| head` leaves
    os.close(reader)
    try:
        closed = subprocess.run(
            [sys.executable, "-m", "seqkit.cli", "predict",
             str(exports("streaming_forecaster")), str(sales)],
            env=env, stdout=writer, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(writer)
    assert (closed.returncode, closed.stderr) == (1, "")


# ----------------------------------------------------------------------- bad input


def _assert_refused(capsys, tmp_path, argv, *words):
    """``seqkit predict argv`` exits 1 with a one-line error holding ``words``, prints
    nothing to stdout and writes no file."""
    before = set(tmp_path.rglob("*"))
    status, out, err = _predict(capsys, *argv)
    assert (status, out) == (1, ""), err
    assert err.startswith("seqkit predict: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)
    assert set(tmp_path.rglob("*")) == before


@pytest.fixture
def sales(tmp_path):
    source = tmp_path / "sales.csv"
    _histories(False)[1].to_csv(source, index=False)
    return source


def test_an_unknown_model_writes_nothing(tracking, tmp_path, capsys, sales):
    out = tmp_path / "o.csv"
    _assert_refused(capsys, tmp_path, [tmp_path / "nowhere", sales, "-o", out],
                    "No model at", "nowhere")
    _assert_refused(capsys, tmp_path, [tmp_path, sales, "-o", out], "neither a seqkit export")
    _assert_refused(capsys, tmp_path, ["models:/nothing/1", sales, "-o", out,
                                       "--tracking-uri", tracking],
                    "Cannot download models:/nothing/1")


@pytest.mark.slow  # loads a SavedModel
def test_a_wrong_output_extension_is_named(exports, tmp_path, capsys, sales):
    _assert_refused(capsys, tmp_path,
                    [exports("streaming_forecaster"), sales, "-o", tmp_path / "o.json"],
                    "--output must end in .csv or .parquet", "o.json")
    sentences = _write_conll(tmp_path / "text.conll", [["Ada"]])
    _assert_refused(capsys, tmp_path, [exports("tagger"), sentences, "-o", tmp_path / "o.csv"],
                    "--output must end in .conll")


@pytest.mark.slow  # loads a SavedModel
def test_an_output_the_system_refuses_is_named_in_one_line(exports, tmp_path, capsys, sales):
    # /proc takes no new files, even from root: the write fails with an OSError
    _assert_refused(capsys, tmp_path, [exports("streaming_forecaster"), sales,
                                       "-o", "/proc/forecasts.csv"],
                    "Could not score", "into /proc/forecasts.csv: [Errno")


@pytest.mark.slow  # loads a SavedModel
def test_input_for_another_kind_is_refused(exports, tmp_path, capsys, sales):
    out = tmp_path / "o.csv"
    _assert_refused(capsys, tmp_path, [exports("classifier"), sales, "-o", out],
                    "feature columns ['f0', 'f1']", "sales.csv")
    _assert_refused(capsys, tmp_path, [exports("bidirectional_tagger"), sales, "-o", out],
                    "2 feature(s)", "sales.csv")
    _assert_refused(capsys, tmp_path, [exports("tagger"), sales, "-o", tmp_path / "o.conll"],
                    "sales.csv")
    _assert_refused(capsys, tmp_path, [exports("forecaster"), sales, "-o", out],
                    "covariate", "future")


@pytest.mark.slow  # loads a SavedModel
def test_a_bad_file_writes_nothing_even_after_good_chunks(exports, tmp_path, capsys):
    _, table = _histories(False)
    table["y"] = table["y"].astype(object)
    table.loc[len(table) - 2, "y"] = "abc"  # in the last series, read in a later chunk
    source = tmp_path / "sales.csv"
    table.to_csv(source, index=False)
    for output in (["-o", tmp_path / "o.parquet"], []):  # a file, or stdout
        _assert_refused(capsys, tmp_path, [exports("streaming_forecaster"), source,
                                           *output, "--chunk-rows", 5], "sales.csv", "'abc'")
