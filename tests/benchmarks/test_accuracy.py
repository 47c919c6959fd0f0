"""The accuracy suite's runner: its metrics as sums over test items (so that the bootstrap
recomputes the real metric), its margins, and one small run end to end on real data."""

import accuracy
import numpy as np
import pytest
from accuracy import _items, _ratio, bootstrap_margin, main
from accuracy_data import load_japanese_ner, load_pos

from seqkit.baselines import MostFrequentTagTagger
from seqkit.metrics import entity_f1, token_accuracy


@pytest.fixture(scope="module")
def ner_guesses():
    X_train, y_train, X_test, y_test = load_japanese_ner()
    return y_test, MostFrequentTagTagger().fit(X_train, y_train).predict(X_test)


def test_the_ner_items_sum_to_seqevals_entity_f1(ner_guesses):
    y_test, predicted = ner_guesses
    assert _ratio(_items("japanese_ner", y_test, predicted)) == pytest.approx(
        entity_f1(y_test, predicted), abs=1e-12)


def test_the_step_items_sum_to_token_accuracy():
    X_train, y_train, X_test, y_test = load_pos(limit=300)
    predicted = MostFrequentTagTagger().fit(X_train, y_train).predict(X_test)
    assert _ratio(_items("part_of_speech", y_test, predicted)) == pytest.approx(
        token_accuracy(y_test, predicted), abs=1e-12)


def test_a_margin_is_paired_and_holds_zero_only_for_noise(ner_guesses):
    y_test, predicted = ner_guesses
    items = _items("japanese_ner", y_test, predicted)
    low, high = bootstrap_margin(items, items)
    assert low == high == 0.0  # paired: the same predictions never differ
    perfect = _items("japanese_ner", y_test, y_test)
    low, high = bootstrap_margin(perfect, items)
    assert 0 < low < _ratio(perfect) - _ratio(items) < high
    one_off = np.column_stack([np.r_[np.zeros(1), np.ones(99)], np.ones(100)])
    low, high = bootstrap_margin(one_off, np.ones((100, 2)))
    assert low <= 0 <= high  # one item of 100: inside the noise


def test_each_fit_reaches_the_row_of_its_set_in_table_order(monkeypatch):
    """The runner's bookkeeping, with every fit replaced by a marker of what it was asked."""
    handed_out = []

    def fit(task, name, what, seed, quick, one_thread):
        handed_out.append(task)
        return task, name, what, seed, one_thread

    def row_of(task):
        def row(name, seeds, predictions, quick):
            assert seeds == [1, 0]
            assert all(marker == (task, name, what, seed, False)
                       for (what, seed), marker in predictions.items())
            return {"data": name, "fits": sorted(predictions, key=str)}
        return row

    monkeypatch.setattr(accuracy, "run", fit)
    monkeypatch.setattr(accuracy, "ROWS", {task: row_of(task) for task in accuracy.ROWS})
    tables = accuracy.run_suite(["forecasting", "classification"], [1, 0], quick=False,
                                only=("us_employment_short", "visnights", "CBF", "Coffee"))
    assert list(tables) == ["forecasting", "classification"]
    assert list(tables["forecasting"]["data"]) == ["visnights", "us_employment_short"]
    assert list(tables["classification"]["data"]) == ["Coffee", "CBF"]
    assert tables["classification"]["fits"][0] == [
        ("1-NN DTW", None), ("1-NN Euclidean", None), ("seqkit", 0), ("seqkit", 1)]
    assert tables["forecasting"]["fits"][1] == [
        ("ETS", None), ("Theta", None), ("seasonal naive", None), ("seqkit", 0), ("seqkit", 1)]
    assert handed_out == ["classification"] * 8 + ["forecasting"] * 10  # the longer task first


@pytest.mark.slow
def test_one_set_end_to_end_prints_seqkit_beside_its_baselines(tmp_path, capfd, fresh_workers):
    """Chinatown: 20 raw-valued training series of 24 points, 343 to test; two seeds and two
    baselines shared by two worker processes."""
    output = tmp_path / "accuracy.md"
    assert main(["--tasks", "classification", "--sets", "Chinatown", "--seeds", "0", "1",
                 "--jobs", "2", "--output", str(output)]) == 0
    printed = capfd.readouterr()
    text = output.read_text()
    assert text in printed.out
    assert text.startswith("Seeds 0, 1; 2 fit(s) at a time;")
    for fit in ("seqkit seed 0", "seqkit seed 1", "1-NN Euclidean", "1-NN DTW"):
        assert f"[classification] Chinatown {fit}: " in printed.err
    (row,) = [line for line in text.splitlines() if line.startswith("| Chinatown")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1:4] == ["20", "343", "24"]
    mean, spread = map(float, cells[4].split(" ± "))
    euclidean, dtw = (float(cell.split(" (")[0]) for cell in cells[5:7])
    assert euclidean == pytest.approx(0.945, abs=0.001)  # the archive's 1-NN figures
    assert dtw == pytest.approx(0.974, abs=0.001)
    assert mean > 0.9  # the default classifier learns raw counts (chance is about 0.5)
    assert spread < 0.05


def test_jobs_must_be_at_least_one(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--jobs", "0"])
    assert stopped.value.code == 2
    assert "argument --jobs: must be at least 1; got 0" in capsys.readouterr().err
