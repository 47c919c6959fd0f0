"""The seed-ensemble benchmark: how members' probabilities combine, and one run on real data."""

import numpy as np
import pytest
from seed_ensembles import ensemble_labels, main, task_of


def _member(probabilities, classes=("a", "b")):
    return {"classes": np.array(classes), "probabilities": probabilities}


def test_an_ensemble_takes_the_class_of_the_highest_mean_probability_per_sequence():
    confident = _member(np.array([[0.9, 0.1], [0.4, 0.6]]))
    unsure = _member(np.array([[0.3, 0.7], [0.45, 0.55]]))
    # sequence 0: one member's "b" (0.7) loses to the mean's "a" (0.6 against 0.4)
    assert ensemble_labels([confident, unsure]).tolist() == ["a", "b"]
    assert ensemble_labels([unsure]).tolist() == ["b", "b"]


def test_an_ensemble_of_taggers_averages_each_step_of_each_sequence():
    first = _member([np.array([[0.8, 0.2], [0.2, 0.8]]), np.array([[0.6, 0.4]])])
    second = _member([np.array([[0.1, 0.9], [0.4, 0.6]]), np.array([[0.7, 0.3]])])
    tags = ensemble_labels([first, second])
    assert [t.tolist() for t in tags] == [["b", "b"], ["a"]]


def test_members_of_different_classes_are_refused():
    with pytest.raises(ValueError, match="different classes"):
        ensemble_labels([_member(np.ones((1, 2))), _member(np.ones((1, 2)), ("a", "c"))])


def test_only_classification_and_tagging_sets_are_taken():
    assert task_of("ECG200") == "classification"
    assert task_of("watch_segmentation") == "tagging"
    with pytest.raises(ValueError, match="'visnights' is not a classification or tagging"):
        task_of("visnights")


@pytest.mark.parametrize("members", ["3", "0"])
def test_members_must_divide_the_seeds(members, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--seeds", "0", "1", "2", "3", "--members", members])
    assert stopped.value.code == 2
    assert (f"argument --members: must divide the number of seeds (4), each ensemble taking "
            f"that many consecutive seeds; got {members}" in capsys.readouterr().err)


@pytest.mark.slow
def test_two_chinatown_networks_and_their_ensemble(capfd, fresh_workers):
    """Chinatown (20 training series, 343 to test), two seeds in two workers and their
    ensemble."""
    assert main(["--sets", "Chinatown", "--seeds", "0", "1", "--members", "2",
                 "--jobs", "2"]) == 0
    printed = capfd.readouterr()
    assert "[classification] Chinatown seed 0: " in printed.err
    assert "[classification] Chinatown seed 1: " in printed.err
    (line,) = [line for line in printed.out.splitlines() if line.startswith("| Chinatown")]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[1] == "2"
    single = float(cells[2].split(" ± ")[0])
    assert single > 0.9  # the suite's figure is 0.981 (chance is about 0.5)
    assert cells[4] == f"{float(cells[3]):.3f} ± 0.000"  # one ensemble
    assert abs(float(cells[3]) - single) < 0.03 and float(cells[6]) > 0
