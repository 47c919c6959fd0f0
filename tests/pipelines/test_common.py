"""Fast tests of the pipelines' shared parts and of bad input (nothing trains here)."""

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import __main__ as main_job
from pipelines import _common, classification, forecasting, tagging
from pipelines.tagging import as_entities

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]


def test_format_table_aligns_columns():
    table = _common.format_table(["model", "mase"], [["seqkit", 0.5], ["seasonal_naive", 1.25]])
    assert table.splitlines() == [
        "model             mase",
        "--------------  ------",
        "seqkit          0.5000",
        "seasonal_naive  1.2500",
    ]


def test_report_best_baseline_follows_the_metric_direction():
    metrics = {"seqkit": {"mase": 0.7}, "naive": {"mase": 0.9}, "ets": {"mase": 1.2}}
    assert _common.Report("forecasting", "x", metrics, "mase", False).best_baseline() == (
        "naive", 0.9)
    metrics = {"seqkit": {"f1": 0.5}, "crf": {"f1": 0.6}, "mft": {"f1": 0.4}}
    assert _common.Report("tagging", "x", metrics, "f1", True).best_baseline() == ("crf", 0.6)


def test_as_entities_keeps_iob2_and_turns_runs_into_entities():
    assert as_entities([["B-PSN", "I-PSN", "O"]]) == [["B-PSN", "I-PSN", "O"]]
    assert as_entities([["Walking", "Walking", "Running"]]) == [
        ["B-Walking", "I-Walking", "B-Running"]
    ]


@pytest.mark.parametrize(
    ("module", "argv", "message"),
    [
        (forecasting, ["--dataset", "sunspotz"], "argument --dataset: invalid choice: 'sunspotz'"),
        (classification, ["--cell", "transformer"], "argument --cell: invalid choice"),
        (tagging, ["--dataset", "sunspots"], "argument --dataset: invalid choice: 'sunspots'"),
        (forecasting, ["--epochs", "three"], "argument --epochs: must be an int >= 1"),
        (classification, ["--units", "0"], "argument --units: must be an int >= 1, got 0"),
        (forecasting, ["--coverage", "1.5"], "argument --coverage: must be a float in (0, 1)"),
    ],
)
def test_bad_options_exit_2_with_a_message_and_leave_nothing(
    module, argv, message, workdir, recorded_runs, capsys
):
    with pytest.raises(SystemExit) as exit_info:
        module.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (workdir / "outputs").exists()
    assert recorded_runs() == []


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_tracking_server_exits_1_before_any_work(workdir, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{_free_port()}")
    assert forecasting.main(["--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "error: Cannot reach the MLflow tracking store 'http://127.0.0.1:" in err
    assert "MLFLOW_TRACKING_URI environment variable" in err
    assert not (workdir / "outputs").exists()


def test_main_job_stops_before_any_pipeline_when_the_store_is_unreachable(workdir, capsys):
    uri = f"http://127.0.0.1:{_free_port()}"
    assert main_job.main(["--tracking-uri", uri]) == 1
    captured = capsys.readouterr()
    assert f"error: Cannot reach the MLflow tracking store '{uri}'" in captured.err
    assert "===" not in captured.out
    assert not (workdir / "outputs").exists()


def test_a_malformed_data_file_fails_the_run_and_exports_nothing(
    workdir, recorded_runs, monkeypatch, capsys
):
    data = workdir / "data"
    data.mkdir()
    shutil.copy(ROOT / "data" / "sunspots.csv", data / "sunspots.csv")
    with (data / "sunspots.csv").open("a") as handle:
        handle.write("2009,not a number\n")
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(data))

    assert forecasting.main(["--epochs", "1"]) == 1
    assert "error: Data file" in capsys.readouterr().err
    assert "fails its checksum" in recorded_runs()[0].data.tags["error"]
    assert [run.info.status for run in recorded_runs()] == ["FAILED"]
    assert not (workdir / "outputs").exists()


def test_the_command_line_reports_bad_input_and_exits_non_zero(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.classification", "--dataset", "no_such_data"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2
    assert "invalid choice: 'no_such_data'" in result.stderr
    assert "japanese_vowels" in result.stderr
    assert list(tmp_path.iterdir()) == []
