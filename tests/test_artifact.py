"""core/artifact.py: one artifact - save, load, backups, delete, describe."""

import os
import re

import pytest

from opencrate_nb.core import record
from opencrate_nb.core.errors import ConfirmationRequired

STAMP = r"\d{2}:\d{2}:\d{2}_\d{2}-[A-Z][a-z]{2}-\d{4}"


def test_guide_properties(snap):
    artifact = snap.checkpoint("custom_model_checkpoint.pth")
    assert artifact.name == "custom_model_checkpoint.pth"
    assert artifact.snapshot_type == "checkpoint"
    assert artifact.path == os.path.join(snap.dir_path, "checkpoints", "custom_model_checkpoint.pth")
    assert artifact.exists is False
    assert artifact.relative_path == "checkpoints/custom_model_checkpoint.pth"
    assert os.fspath(artifact) == artifact.path
    assert "custom_model_checkpoint.pth" in repr(artifact)


def test_save_then_load(snap):
    artifact = snap.json("data.json")
    artifact.save({"array": [10, 20, 30], "message": "Sample JSON data"})
    assert artifact.exists
    assert artifact.load() == {"array": [10, 20, 30], "message": "Sample JSON data"}
    assert snap.json("data.json").load()["array"] == [10, 20, 30]  # a new handle reads the same file


def test_loading_a_missing_artifact_names_it_and_lists_what_exists(snap):
    snap.json("metrics.json").save({"a": 1})
    snap.json("config.json").save({"b": 2})
    with pytest.raises(FileNotFoundError) as info:
        snap.json("metric.json").load()
    message = str(info.value)
    assert "'metric.json'" in message and "jsons/ holds: config.json, metrics.json" in message
    assert "Did you mean 'metrics.json'?" in message
    with pytest.raises(FileNotFoundError, match="Nothing has been saved in texts/ yet"):
        snap.text("notes.txt").load()


def test_a_failed_save_keeps_the_previous_content(snap):
    artifact = snap.json("state.json")
    artifact.save({"good": True})
    with pytest.raises(TypeError, match="not JSON serializable"):
        artifact.save({"bad": object()})
    assert artifact.load() == {"good": True}
    assert sorted(os.listdir(os.path.dirname(artifact.path))) == ["state.json"]
    assert [e["op"] for e in record.read_lines(snap.dir_path)] == ["save"]


def test_save_recreates_a_folder_removed_behind_our_back(snap):
    import shutil

    snap.text("a.txt").save("1")
    shutil.rmtree(os.path.join(snap.dir_path, "texts"))
    snap.text("a.txt").save("2")
    assert snap.text("a.txt").load() == "2"


def test_verbose_artifacts_say_what_they_did(oc, capsys):
    oc.snapshot.setup(name="loud", start="new")
    artifact = oc.snapshot.text("greeting.txt", verbose=True)
    capsys.readouterr()
    artifact.save("hello")
    artifact.load()
    name = artifact.backup(tag="b")
    artifact.delete(confirm=True)
    out = capsys.readouterr().out
    assert f"INFO      ✓ 'greeting.txt' of 'text' saved successfully at '{artifact.path}'." in out
    assert f"✓ 'greeting.txt' of 'text' loaded successfully from '{artifact.path}'." in out
    assert f"backed up as '{name}'" in out and "deleted from" in out


def test_quiet_artifacts_print_nothing(snap, capsys):
    capsys.readouterr()
    snap.text("a.txt").save("x")
    snap.text("a.txt").load()
    assert capsys.readouterr().out == ""


def test_backups_follow_the_guide_names_and_order(snap):
    artifact = snap.checkpoint("model.npz")
    artifact.save({"w": [1.0, 2.0]})
    assert artifact.backup(tag="initial-version") == "model.backup_initial-version.npz"
    artifact.save({"w": [3.0]})
    assert artifact.backup(tag="improved-loss") == "model.backup_improved-loss.npz"
    stamped = artifact.backup()
    assert re.fullmatch(rf"model\.backup_{STAMP}\.npz", stamped)
    assert artifact.list_backups() == ["model.backup_initial-version.npz", "model.backup_improved-loss.npz", stamped]
    initial = snap.checkpoint("model.backup_initial-version.npz")  # a backup loads by naming it
    assert initial.exists and list(initial.load()["w"]) == [1.0, 2.0]


def test_untagged_backups_in_the_same_second_all_survive(snap):
    artifact = snap.text("log.txt")
    names = []
    for i in range(4):
        artifact.save(f"content {i}")
        names.append(artifact.backup())
    assert len(set(names)) == 4
    assert artifact.list_backups() == names
    assert [snap.text(n).load() for n in names] == [f"content {i}" for i in range(4)]
    assert all(re.fullmatch(rf"log\.backup_{STAMP}(_\d+)?\.txt", n) for n in names)


def test_list_backups_keeps_the_order_made_not_the_name_order(snap):
    artifact = snap.text("a.txt")
    artifact.save("x")
    made = [artifact.backup(tag=t) for t in ("zeta", "alpha", "mid")]
    assert artifact.list_backups() == made


def test_a_tag_is_never_overwritten_with_other_content(snap):
    artifact = snap.text("a.txt")
    artifact.save("one")
    first = artifact.backup(tag="best")
    assert artifact.backup(tag="best") == first  # same content: nothing to do
    artifact.save("two")
    with pytest.raises(FileExistsError, match="already exists with other content"):
        artifact.backup(tag="best")
    assert snap.text(first).load() == "one"


def test_backup_of_an_unsaved_artifact_is_an_error(snap):
    with pytest.raises(FileNotFoundError, match="has not been saved yet"):
        snap.text("never.txt").backup()


def test_backups_of_other_artifacts_are_not_listed(snap):
    snap.text("a.txt").save("a")
    snap.text("ab.txt").save("ab")
    snap.text("ab.txt").backup(tag="t")
    assert snap.text("a.txt").list_backups() == []
    assert snap.text("ab.txt").list_backups() == ["ab.backup_t.txt"]
    assert snap.text("nothing.txt").list_backups() == []


def test_delete_needs_confirmation(snap):
    artifact = snap.text("a.txt")
    artifact.save("keep")
    for confirm in (False, "yes", 1):
        with pytest.raises(ConfirmationRequired, match=r"delete\(confirm=True\)"):
            artifact.delete(confirm=confirm)
    assert artifact.load() == "keep"
    artifact.delete(confirm=True)
    assert not artifact.exists
    assert sorted(os.listdir(os.path.dirname(artifact.path))) == []
    with pytest.raises(FileNotFoundError):
        artifact.delete(confirm=True)


def test_deleting_a_backup_as_in_the_guide(snap):
    artifact = snap.text("a.txt")
    artifact.save("x")
    artifact.backup(tag="initial-version")
    artifact.backup(tag="improved-loss")
    first = artifact.list_backups()[0]
    snap.text(first).delete(confirm=True)
    assert artifact.list_backups() == ["a.backup_improved-loss.txt"]


def test_describe_is_a_cheap_summary(snap):
    artifact = snap.json("m.json")
    artifact.save({"loss": 1, "acc": 2})
    info = artifact.describe()
    assert info["keys"] == ["loss", "acc"] and info["size"] == os.path.getsize(artifact.path)
    with pytest.raises(FileNotFoundError):
        snap.json("missing.json").describe()


def test_last_record_is_the_newest_entry(snap):
    artifact = snap.text("a.txt")
    assert artifact.last_record() is None
    artifact.save("x")
    assert artifact.last_record()["op"] == "save" and artifact.last_record()["size"] == 1


def test_unknown_attribute_of_a_builtin_artifact(snap):
    with pytest.raises(AttributeError, match="kind 'text' has no attribute 'reset'"):
        snap.text("a.txt").reset()


def test_saving_after_reset_and_setup_of_the_same_version(oc):
    class Folder:
        def save(self, text):
            with open(os.path.join(self.path), "w") as f:
                f.write(text)

        def load(self):
            with open(self.path) as f:
                return f.read()

    for _ in range(2):  # the second round finds none of the folders the first one made
        oc.snapshot.setup(name="again", start="new")
        oc.snapshot.text("a.txt").save("x")
        oc.snapshot.notes("n.txt", handler=Folder).save("y")
        assert oc.snapshot.notes("n.txt").load() == "y" and oc.snapshot.text("a.txt").load() == "x"
        oc.snapshot.reset(confirm=True)
