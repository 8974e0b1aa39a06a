"""core/record.py: the append-only per-version record (``.crate/record.jsonl``)."""

import hashlib
import json
import os
import re
import subprocess
import sys

import pytest

from opencrate_nb.core import _savelock, _timelines, lineage, record
from opencrate_nb.core.record import RecordWarning

ISO_MICROSECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}:\d{2}$")


def record_path(snap):
    return os.path.join(snap.dir_path, ".crate", "record.jsonl")


def test_every_save_backup_and_delete_is_recorded(snap):
    artifact = snap.json("metrics.json")
    artifact.save({"loss": 0.5})
    backup_name = artifact.backup(tag="first")
    artifact.delete(confirm=True)
    entries = record.read_record(snap.dir_path)
    assert [e["op"] for e in entries] == ["save", "backup", "delete"]
    save, backup, delete = entries
    data = json.dumps({"loss": 0.5}, indent=4).encode()
    assert save["name"] == "metrics.json" and save["kind"] == "json" and save["path"] == "jsons/metrics.json"
    assert save["size"] == len(data) and save["sha256"] == hashlib.sha256(data).hexdigest()
    assert ISO_MICROSECONDS.match(save["time"])
    assert save["cell"] is None
    assert backup["name"] == backup_name and backup["of"] == "metrics.json"
    assert backup["path"] == f"jsons/{backup_name}" and backup["sha256"] == save["sha256"]
    assert delete["sha256"] is None and delete["path"] == "jsons/metrics.json"


def test_record_is_one_json_object_per_line(snap):
    for i in range(3):
        snap.text(f"n{i}.txt").save(str(i))
    with open(record_path(snap), encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert len(lines) == 3
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_the_running_notebook_cell_is_recorded(snap):
    lineage.set_current_cell({"execution_count": 7, "cell_id": "abc"})
    snap.text("a.txt").save("x")
    lineage.set_current_cell(None)
    assert record.read_record(snap.dir_path)[-1]["cell"] == {"execution_count": 7, "cell_id": "abc"}


def test_current_artifacts_applies_deletes(snap):
    snap.text("a.txt").save("1")
    snap.text("b.txt").save("2")
    snap.text("a.txt").save("3")
    snap.text("b.txt").delete(confirm=True)
    current = record.current_artifacts(snap.dir_path)
    assert list(current) == ["texts/a.txt"]
    assert current["texts/a.txt"]["sha256"] == hashlib.sha256(b"3").hexdigest()


def test_a_torn_last_line_is_skipped_with_a_warning_and_later_lines_survive(snap):
    snap.text("a.txt").save("1")
    with open(record_path(snap), "ab") as f:
        f.write(b'{"op":"save","name":"torn')  # a crash in the middle of a line
    record.close_all()  # a new process (or a new version session) opens the record again
    snap.text("b.txt").save("2")
    with pytest.warns(RecordWarning, match="line 2"):
        entries = record.read_record(snap.dir_path)
    assert [e["name"] for e in entries] == ["a.txt", "b.txt"]


def test_corrupt_and_non_object_lines_are_skipped(snap):
    snap.text("a.txt").save("1")
    with open(record_path(snap), "ab") as f:
        f.write(b"\xff\xfe not json\n[1, 2]\n\n")
    snap.text("b.txt").save("2")
    with pytest.warns(RecordWarning) as caught:
        entries = record.read_record(snap.dir_path)
    assert [e["name"] for e in entries] == ["a.txt", "b.txt"]
    messages = [str(w.message) for w in caught]
    assert messages[0].startswith("Skipped line 2 of ") and messages[0].endswith(": not UTF-8.")
    assert messages[1].startswith("Skipped line 3 of ") and messages[1].endswith(": a JSON list, not an object.")
    assert len(messages) == 2


def test_a_missing_record_is_rebuilt_from_the_files(snap):
    snap.text("a.txt").save("hello")
    snap.json("m.json").save({"x": 1})
    record.close_all()
    os.remove(record_path(snap))
    current = record.current_artifacts(snap.dir_path)
    assert sorted(current) == ["jsons/m.json", "texts/a.txt"]
    assert current["texts/a.txt"]["kind"] == "text" and current["texts/a.txt"]["rebuilt"] is True
    assert current["texts/a.txt"]["size"] == 5


def test_rebuild_record_hashes_files_and_keeps_the_old_record(snap):
    snap.text("a.txt").save("hello")
    os.makedirs(os.path.join(snap.dir_path, "labels", "boxes"))
    with open(os.path.join(snap.dir_path, "labels", "boxes", "b_0.txt"), "w") as f:
        f.write("1 2 3 4")
    entries = record.rebuild_record(snap.dir_path)
    by_path = {e["path"]: e for e in entries}
    assert by_path["texts/a.txt"]["sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert by_path["labels/boxes"]["kind"] == "labels" and by_path["labels/boxes"]["size"] == 7
    assert os.path.exists(record_path(snap) + ".bak")
    assert record.read_record(snap.dir_path) == entries
    snap.text("c.txt").save("after the rebuild")  # the record keeps growing from the rebuilt one
    assert record.read_record(snap.dir_path)[-1]["name"] == "c.txt"


def test_record_removed_behind_our_back_is_started_again_at_the_next_taking_of_the_lock(snap):
    snap.text("a.txt").save("1")
    assert record.read_lines(snap.dir_path)  # the index is read: the next line goes where it ended
    snap.text("a.txt").save("2")
    os.remove(record_path(snap))  # the cached descriptor now points at a deleted file
    _savelock.let_go_leases()  # the lease ends (LEASE_MAX after it was taken, at the latest)
    snap.text("b.txt").save("2")
    assert [e["name"] for e in record.read_lines(snap.dir_path)] == ["b.txt"]


def test_reading_a_version_without_a_record_or_files(tmp_path):
    assert record.read_lines(str(tmp_path)) == []
    assert record.read_record(str(tmp_path / "missing")) == []
    assert record.current_artifacts(str(tmp_path)) == {}


def test_cells_file_is_a_separate_record(snap):
    record.append_line(snap.dir_path, {"execution_count": 1, "source": "print(1)"}, file=record.CELLS_FILE)
    assert record.read_lines(snap.dir_path, file=record.CELLS_FILE) == [{"execution_count": 1, "source": "print(1)"}]
    assert record.read_lines(snap.dir_path) == []


APPENDER = """
import sys
from opencrate_nb.core import record
for i in range(300):
    record.append_line(sys.argv[1], {"op": "note", "i": i, "pad": "x" * 500})
"""


def test_lines_from_several_processes_never_interleave(snap):
    from _notebook_fixtures import REPO

    env = dict(os.environ, PYTHONPATH=REPO)
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, os.path.abspath(snap.dir_path)], env=env) for _ in range(3)
    ]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    entries = record.read_lines(snap.dir_path)
    assert sorted(e["i"] for e in entries) == sorted(list(range(300)) * 3)


@pytest.mark.parametrize(
    "name, kind, path, cell",
    [
        ("m.json", "json", "jsons/m.json", None),
        ('odd "name"\\é.txt', "text", 'texts/odd "name"\\é.txt', {"execution_count": 3, "cell_id": 'a"b'}),
        ("ü/中文.csv", None, "csvs/ü/中文.csv", {"execution_count": None, "cell_id": None}),
    ],
)
def test_a_save_line_is_the_encoding_of_its_entry(name, kind, path, cell):
    """record.save_entry builds the line in one f-string: it must be what encode_line writes."""
    lineage.set_current_cell(cell)
    try:
        for size, sha in ((0, "0" * 64), (123456, "ab" * 32)):
            entry, line, plain = record.save_entry(name, kind, path, size, sha)
            assert line == record.encode_line(entry)
            assert json.loads(line) == entry
            assert plain  # what JSON gives back is the entry itself: the index takes it unchecked
    finally:
        lineage.set_current_cell(None)


def test_a_save_line_of_a_cell_json_would_change_is_checked_by_the_index(snap):
    """A cell that JSON does not give back as it is (a tuple, a float) makes the entry not plain: the
    record index then holds what the line says, as a reader of the file does."""
    lineage.set_current_cell({"execution_count": 3, "cell_id": ("a", "b")})
    try:
        entry, line, plain = record.save_entry("a.txt", "text", "texts/a.txt", 1, "0" * 64)
        assert not plain
        assert json.loads(line)["cell"] == {"execution_count": 3, "cell_id": ["a", "b"]}
        with pytest.warns(RecordWarning, match="cell_id"):
            snap.json("m.json").save({"loss": 1})
            held = _timelines.index_for(snap.dir_path).current_entry("jsons/m.json")
            read = _timelines.index_for(snap.dir_path, fresh=True).current_entry("jsons/m.json")
        assert held == read  # the index took what the line says, as a reader of the file does
        assert held is None  # (the line's list is no cell id: readers skip the line)
    finally:
        lineage.set_current_cell(None)
