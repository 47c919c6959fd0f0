"""Staged files and folders: never half-written, previous version kept on failure."""

import pytest

from seqkit._files import staged_directory, staged_file


def test_staged_directory_replaces_the_target_only_on_success(tmp_path):
    final = tmp_path / "out" / "task" / "data"
    with staged_directory(final) as stage:
        (stage / "model").write_text("first")
    assert (final / "model").read_text() == "first"

    with pytest.raises(RuntimeError):
        with staged_directory(final) as stage:
            (stage / "model").write_text("half")
            raise RuntimeError("boom")
    assert (final / "model").read_text() == "first"
    assert sorted(p.name for p in final.parent.iterdir()) == ["data"]

    with staged_directory(final) as stage:
        (stage / "model").write_text("second")
    assert (final / "model").read_text() == "second"
    assert sorted(p.name for p in final.parent.iterdir()) == ["data"]


def test_staged_directory_removes_the_folders_it_created_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with staged_directory(tmp_path / "outputs" / "task" / "data"):
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_staged_file_replaces_the_target_only_on_success(tmp_path):
    final = tmp_path / "state.json"
    with staged_file(final) as partial:
        assert partial.parent == tmp_path and partial != final
        partial.write_text("first")
    assert final.read_text() == "first"

    with pytest.raises(RuntimeError):
        with staged_file(final) as partial:
            partial.write_text("half")
            raise RuntimeError("boom")
    assert final.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
