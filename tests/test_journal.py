"""core/_journal.py: the intent journal of a version (the kill-at-any-call sweep is in test_faults.py)."""

import hashlib
import json
import os
import shutil
import time

import pytest

from opencrate_nb.cli import main
from opencrate_nb.core import _journal, _savelock, environment, gc, record

ENTRY_LINE = b'{"op":"save","name":"m.json","kind":"json","path":"jsons/m.json","size":2,"sha256":null}\n'


def test_an_intent_is_one_slot_holding_the_record_line_and_is_marked_done(version_folder):
    folder = version_folder
    journal = _journal.journal_for(folder)
    with journal.lock:
        journal.begin({"op": "save", "old": None, "tmp": "jsons/.m.json.0000abcd.tmp.json"}, ENTRY_LINE)
        with open(_journal.journal_path(folder), "rb") as f:
            slot = f.read()
        assert slot.startswith(b'{"entry":{"op":"save"') and slot.endswith(b"}\n")  # the line alone
        assert [intent["tmp"] for intent in journal.read()] == ["jsons/.m.json.0000abcd.tmp.json"]
        journal.end()
    assert journal.read() == [] and not journal.orphaned()


def test_after_the_record_folder_is_made_again_intents_go_to_the_new_journal(version_folder):
    folder = version_folder
    journal = _journal.journal_for(folder)
    with journal.lock:
        journal.begin({"op": "save"}, ENTRY_LINE)
        journal.end()
    record.close_all()  # what reset does first (it lets this process's leased lock go)
    shutil.rmtree(os.path.join(folder, ".crate"))  # a reset, then a new setup of the same version
    os.makedirs(os.path.join(folder, ".crate"))
    with journal.lock:  # the lock finds its file gone and opens the new one: the journal follows it
        journal.begin({"op": "save"}, ENTRY_LINE)
        assert os.path.getsize(_journal.journal_path(folder)) > 0
        assert journal.read() != []
        journal.end()


def test_a_short_intent_over_a_longer_one_leaves_nothing_that_reads_as_an_intent(version_folder):
    folder = version_folder
    journal = _journal.journal_for(folder)
    long_tmp = "jsons/" + "x" * 1500 + '{"entry":{"path":"ghost"}}'  # what is left after a short line
    with journal.lock:
        journal.begin({"op": "save", "tmp": long_tmp}, ENTRY_LINE)
        journal.end()
        journal.begin({"op": "save", "tmp": "t"}, ENTRY_LINE)
        journal.begin({"op": "delete", "tmp": "u"}, ENTRY_LINE)  # nested: the next slot
        assert [intent["tmp"] for intent in journal.read()] == ["t", "u"]
        journal.end()
        assert [intent["tmp"] for intent in journal.read()] == ["t"]
        journal.end()
    assert journal.read() == []


def test_an_intent_longer_than_a_slot_takes_the_slots_it_needs(version_folder):
    folder = version_folder
    journal = _journal.journal_for(folder)
    with journal.lock:
        journal.begin({"op": "save", "tmp": "y" * (_journal.SLOT + 10)}, ENTRY_LINE)
        journal.begin({"op": "delete", "tmp": "after"}, ENTRY_LINE)
        assert [len(intent["tmp"]) for intent in journal.read()] == [_journal.SLOT + 10, 5]
        journal.end()
        journal.end()
    assert os.path.getsize(_journal.journal_path(folder)) == 0  # emptied once an oversized one is done


def test_a_completed_save_is_marked_done_when_the_lease_ends(version_folder):
    """While the lock is leased the done mark waits; letting the lease go writes it."""
    journal = _journal.journal_for(version_folder)
    with journal.lock:
        journal.begin({"op": "save", "tmp": None}, ENTRY_LINE)
        journal.complete()
        assert not journal.orphaned()  # this process's own completed intent
    _savelock.let_go_leases()
    with open(_journal.journal_path(version_folder), "rb") as f:
        assert f.read(1) == _journal.DONE


def test_a_complete_intent_left_by_a_killed_process_is_dropped_without_a_word(version_folder, recwarn):
    """Killed while its lease held: the save was recorded, only not marked done."""
    entry = {"op": "save", "name": "m.json", "kind": "json", "path": "jsons/m.json", "size": 2, "sha256": "a" * 64}
    os.makedirs(os.path.join(version_folder, "jsons"))
    with open(os.path.join(version_folder, "jsons", "m.json"), "w") as f:
        f.write("{}")
    record.append_line(version_folder, entry)
    _savelock.let_go_leases()
    with open(_journal.journal_path(version_folder), "wb") as f:
        f.write(b'{"entry":' + record.encode_line(entry).rstrip(b"\n") + b',"op":"save","tmp":null}\n')
    assert _journal.pending(version_folder) == []  # verify does not call it interrupted
    assert _journal.recover_if_pending(version_folder) == []
    assert not [w for w in recwarn if issubclass(w.category, _journal.RecoveryWarning)]
    assert len(record.read_lines(version_folder)) == 1  # nothing appended again


# -- intents recovery must not act on (written by hand or by a hostile program) --------------------
# Each test writes crafted lines into a real version's journal, as a killed writer leaves its intent,
# then uses the version through the public API: nothing outside the version (nor the record, nor
# another artifact) may change, the version keeps working, and verify names the intent once.

SHA = "a" * 64
TIME = "2026-12-02T05:43:38.136899+00:00"


def _settle(folder):
    """Let this process's threads be done with the version: the run environment's writer (it takes the
    save lock) and the lease, whose end marks this process's last save done in the journal. Then the
    journal holds only what a dead process would have left."""
    environment.wait()
    lock = _savelock.version_lock(folder)
    deadline = time.monotonic() + 10
    while lock._held_by is not None and time.monotonic() < deadline:
        _savelock.let_go_leases()  # skips a lock another thread holds at that moment (the lease keeper)
        time.sleep(0.001)
    with lock:  # waits for a letting go under way in another thread to have marked the save done
        pass
    _savelock.let_go_leases()


def _save_entry(path="jsons/m.json", op="save", **changes):
    name = path.rpartition("/")[2] if isinstance(path, str) else "m.json"
    entry = {"op": op, "name": name, "kind": "json", "path": path, "size": 8, "sha256": SHA}
    entry.update({"time": TIME, "cell": None}, **changes)
    return entry


def _intent(op="save", entry=None, **fields):
    if op == "save":
        base = {"op": "save", "entry": entry or _save_entry(), "old": None, "ino": None, "tmp": None}
    elif op == "backup":
        backup = _save_entry("jsons/m.backup_t.json", op="backup", of="m.json")
        base = {
            "op": "backup",
            "entry": entry or backup,
            "ino": None,
            "tmp": "jsons/.m.backup_t.json.0000abcd.tmp.json",
        }
    elif op == "delete":
        gone = _save_entry("jsons/other.json", op="delete", size=None, sha256=None)
        base = {"op": "delete", "entry": entry or gone, "old": None, "doomed": "jsons/.other.json.0000abcd.deleting"}
    else:
        base = {"op": op, "entry": entry or {"op": "save", "name": "m.json", "kind": "json", "path": "jsons/m.json"}}
        base["old"] = None
    base.update(fields)
    return base


@pytest.fixture
def crafted(oc, tmp_path):
    """A version with jsons/m.json saved twice and jsons/other.json, and victims outside it.

    Returns a function that writes lines (intents, or bytes as they are) into the journal's slots
    and gives back the version folder."""
    oc.snapshot.setup(name="j", start="new")
    oc.snapshot.json("m.json").save({"a": 1})
    oc.snapshot.json("m.json").save({"a": 2})
    oc.snapshot.json("other.json").save({"other": True})
    folder = oc.snapshot.dir_path
    (tmp_path / "victim.txt").write_text("precious")
    (tmp_path / "victim_dir").mkdir()
    (tmp_path / "victim_dir" / "f").write_text("precious")

    def write(*lines):
        _settle(folder)
        data = b""
        for line in lines:
            line = line if isinstance(line, bytes) else json.dumps(line).encode()
            data += line + b"\n"
            data += b"\0" * (-len(data) % _journal.SLOT)  # the next intent starts the next slot
        with open(_journal.journal_path(folder), "wb") as f:
            f.write(data)
        return folder

    return write


def _outside(tmp_path):
    return {"victim.txt": "precious", os.path.join("victim_dir", "f"): "precious"}


def _assert_untouched(oc, tmp_path, folder):
    for rel, text in _outside(tmp_path).items():
        assert (tmp_path / rel).read_text() == text, f"{rel} outside the version was changed"
    assert os.path.isfile(os.path.join(folder, ".crate", "record.jsonl"))
    assert oc.snapshot.json("m.json").load() == {"a": 2}
    assert len(oc.snapshot.json("m.json").history()) == 2
    assert oc.snapshot.json("other.json").load() == {"other": True}


def _set_aside_warnings(recwarn):
    return [
        str(w.message)
        for w in recwarn
        if issubclass(w.category, _journal.RecoveryWarning) and "Set aside" in str(w.message)
    ]


def _assert_keeps_working(oc, folder, set_aside=1):
    """A later save works, verify names only the set-aside intents, and once their file is removed, nothing."""
    oc.snapshot.json("later.json").save({"later": True})
    report = oc.snapshot.verify()
    assert [p.kind for p in report.problems] == ["journal"] * set_aside, str(report)
    assert report.problems[0].where == "j/v0/.crate/journal.jsonl"
    os.remove(_journal.rejected_path(folder))
    assert oc.snapshot.verify().ok


def _path_cases(outside):
    """(name, intent): each would have recovery touch a path it must not."""
    custom = {"op": "save", "name": "victim.txt", "kind": "text"}
    return {
        "custom entry.path ..": _intent("custom", dict(custom, path="../../../victim.txt")),
        "custom entry.path absolute": _intent("custom", dict(custom, path=os.path.join(outside, "victim.txt"))),
        "custom entry.path into .crate": _intent(
            "custom", dict(custom, name="record.jsonl", path=".crate/record.jsonl")
        ),
        "custom entry.path deeper": _intent("custom", dict(custom, name="f", path="jsons/../../../../victim_dir/f")),
        "custom entry.path with NUL": _intent("custom", dict(custom, name="m.json\0", path="jsons/m.json\0")),
        "custom old not a hash": _intent("custom", old="../../../../../victim.txt"),
        "save tmp ..": _intent(tmp="../../../victim.txt"),
        "save tmp absolute": _intent(tmp=os.path.join(outside, "victim.txt")),
        "save tmp another artifact": _intent(tmp="jsons/other.json"),
        "save tmp into .crate": _intent(tmp=".crate/record.jsonl"),
        "save tmp the record folder": _intent(tmp=".crate"),
        "save tmp with NUL": _intent(tmp="jsons/.m.json.0000abcd.tmp.json\0"),
        "save entry.path ..": _intent(entry=_save_entry("../../../victim.txt")),
        "backup tmp ..": _intent("backup", tmp="../../../victim.txt"),
        "delete doomed ..": _intent("delete", doomed="../../../victim_dir"),
        "delete doomed absolute": _intent("delete", doomed=os.path.join(outside, "victim_dir")),
        "delete doomed another artifact": _intent("delete", doomed="jsons/m.json"),
        "delete doomed .crate": _intent("delete", doomed=".crate"),
        "delete entry.path ..": _intent(
            "delete", _save_entry("../../../victim_dir", op="delete", size=None, sha256=None)
        ),
    }


@pytest.mark.parametrize("case", list(_path_cases("/x")))
def test_an_intent_naming_a_path_it_must_not_touch_is_set_aside(case, crafted, oc, tmp_path, recwarn):
    """Recovery never removes, replaces or reads anything outside the version, in .crate, or another artifact."""
    folder = crafted(_path_cases(str(tmp_path))[case])
    oc.snapshot.setup(name="j", start=0)  # the next use of the version: recovery
    _assert_untouched(oc, tmp_path, folder)
    warned = _set_aside_warnings(recwarn)
    assert len(warned) == 1 and "Nothing was changed for it" in warned[0], warned
    assert not _journal.pending(folder) and not os.path.getsize(_journal.journal_path(folder))
    _assert_keeps_working(oc, folder)


WRONG_TYPES = {
    "path int": (_intent(entry=_save_entry(path=5)), '"entry.path" is 5, not a path'),
    "path list": (_intent(entry=_save_entry(path=["jsons", "m.json"])), '"entry.path" is'),
    "path missing": (_intent(entry={"op": "save", "name": "m.json"}), '"entry.path" is None'),
    "path one part": (_intent(entry=_save_entry(path="m.json")), "<kind folder>/<name>"),
    "path hidden": (_intent(entry=_save_entry(path="jsons/.m.json")), "<kind folder>/<name>"),
    "path of lone surrogate": (_intent(entry=_save_entry(path="jsons/\ud800.json")), "not valid Unicode"),
    "path part too long": (_intent(entry=_save_entry(path="jsons/" + "x" * 300)), "longer than 255 bytes"),
    "tmp list": (_intent(tmp=["x"]), "\"tmp\" is ['x'], not a path"),
    "tmp int": (_intent(tmp=7), '"tmp" is 7'),
    "tmp not a temporary name": (_intent(tmp="jsons/.m.json.deleting"), "not a temporary file next to"),
    "tmp of another artifact": (_intent(tmp="jsons/.other.json.0000abcd.tmp.json"), "not a temporary file next to"),
    "doomed dict": (_intent("delete", doomed={"a": 1}), '"doomed" is'),
    "doomed not a .deleting name": (_intent("delete", doomed="jsons/.other.json.0000abcd.tmp.json"), ".deleting"),
    "old int": (_intent("custom", old=3), '"old" is 3, not a sha256'),
    "old not hex": (_intent(old="A" * 64), '"old" is'),
    "ino text": (_intent(ino="12"), '"ino" is'),
    "ino negative": (_intent(ino=-1), '"ino" is -1'),
    "ino true": (_intent(ino=True), '"ino" is True'),
    "entry a list": (_intent(entry=[1]), '"entry" is [1], not an object'),
    "entry missing": ({"op": "save", "tmp": None}, '"entry" is None'),
    "entry.size list": (_intent(entry=_save_entry(size=[1])), '"size" is [1]'),
    "entry.size negative": (_intent(entry=_save_entry(size=-1)), '"size" is -1'),
    "entry.sha256 int": (_intent(entry=_save_entry(sha256=5)), "sha256"),
    "entry.sha256 missing for a save": (_intent(entry=_save_entry(sha256=None)), "no size and sha256"),
    "entry.size for a delete": (_intent("delete", _save_entry("jsons/other.json", op="delete")), "size or sha256"),
    "entry.name list": (_intent(entry=_save_entry(name=["m.json"])), '"name" is list'),
    "entry.name not its path's": (_intent(entry=_save_entry(name="other.json")), "is not the name in"),
    "entry.cell nested": (_intent(entry=_save_entry(cell={"execution_count": 1, "x": {"y": [1]}})), "entry.cell"),
    "entry.op not the intent's": (_intent(entry=_save_entry(op="delete")), "\"entry.op\" is 'delete'"),
    "entry with a field the writer never writes": (_intent(entry=_save_entry(recovered=True)), "no field 'recovered'"),
    "op list": (_intent(op=["save"]), "\"op\" is ['save']"),
    "op unknown": (_intent(op="rename"), "\"op\" is 'rename', not one of backup, custom, delete, save"),
    "op missing": ({"entry": _save_entry(), "tmp": None}, '"op" is None'),
    "a field the writer never writes": (_intent(doomed="jsons/.m.json.0000abcd.deleting"), "no field 'doomed'"),
}


@pytest.mark.parametrize("case", list(WRONG_TYPES))
def test_an_intent_of_the_wrong_shape_is_set_aside_and_blocks_nothing(case, crafted, oc, tmp_path, recwarn, capsys):
    intent, problem = WRONG_TYPES[case]
    folder = crafted(intent)
    assert main(["verify", "j"]) == 1  # before any recovery: named, nothing raised
    assert "journal" in capsys.readouterr().out
    oc.snapshot.setup(name="j", start=0)
    warned = _set_aside_warnings(recwarn)
    assert len(warned) == 1 and problem in warned[0], warned
    _assert_untouched(oc, tmp_path, folder)
    assert main(["verify", "j", "--repair"]) == 1  # still named (set aside), and nothing raised
    out = capsys.readouterr().out
    assert "journal" in out and problem.split("'")[0] in out
    _assert_keeps_working(oc, folder)


def test_crate_verify_repair_sets_a_wrong_intent_aside_without_setup(crafted, oc, tmp_path, recwarn, capsys):
    folder = crafted(_intent(entry=_save_entry(path=5)), _intent(tmp=["x"]))
    oc.snapshot.setup(name="other", start="new")  # nothing of version j is used in this process
    assert main(["verify", "j", "--repair"]) == 1
    assert capsys.readouterr().out.count("  journal ") == 2
    assert len(_set_aside_warnings(recwarn)) == 2
    assert os.path.getsize(_journal.journal_path(folder)) == 0
    assert main(["verify", "j"]) == 1  # reported until the set-aside file is removed
    os.remove(_journal.rejected_path(folder))
    assert main(["verify", "j"]) == 0


def test_gc_sets_a_wrong_intent_aside_and_removes_nothing_it_names(crafted, oc, tmp_path, recwarn):
    folder = crafted(_intent("delete", doomed="../../../victim_dir"), _intent(tmp="jsons/other.json"))
    oc.snapshot.setup(name="other", start="new")
    gc.collect("snapshots", name="j", dry_run=True, min_age=0)
    assert os.path.getsize(_journal.journal_path(folder)) > 0  # a dry run acts on nothing
    gc.collect("snapshots", name="j", dry_run=False, min_age=0)
    assert len(_set_aside_warnings(recwarn)) == 2
    oc.snapshot.setup(name="j", start=0)
    _assert_untouched(oc, tmp_path, folder)


def _deep(depth=100_000):
    return b"[" * depth + b"]" * depth


def test_an_intent_nested_too_deeply_is_set_aside(crafted, oc, tmp_path, recwarn, capsys):
    entry = json.dumps(_save_entry()).encode()
    folder = crafted(
        b'{"entry":' + entry + b',"op":"save","tmp":null,"x":' + _deep() + b"}",
        b'{"entry":{"op":"save","path":"jsons/m.json","cell":' + _deep() + b'},"op":"save"}',
    )
    assert main(["verify", "j"]) == 1
    assert capsys.readouterr().out.count("nested too deeply") == 2
    oc.snapshot.setup(name="j", start=0)
    warned = _set_aside_warnings(recwarn)
    assert len(warned) == 2 and all("nested too deeply" in text for text in warned)
    _assert_untouched(oc, tmp_path, folder)
    assert os.path.getsize(_journal.rejected_path(folder)) < 10_000  # the start of each line, not all of it
    _assert_keeps_working(oc, folder, set_aside=2)


def _interrupted_first_save(folder, name, text):
    """What a writer killed between moving a new file in and writing its record line leaves: the file,
    and its intent (as core/_writer.py writes it)."""
    path = os.path.join(folder, "texts", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    sha = hashlib.sha256(text.encode()).hexdigest()
    _, line, _ = record.save_entry(name, "text", f"texts/{name}", len(text), sha)
    return b'{"entry":' + line.rstrip(b"\n") + b',"op":"save","old":null,"ino":null,"tmp":null}'


def test_a_60_mb_intent_is_set_aside_unread_and_the_intent_after_it_is_finished(crafted, oc, tmp_path, recwarn):
    huge = b'{"entry":' + json.dumps(_save_entry()).encode() + b',"op":"save","tmp":"' + b"x" * (60 << 20) + b'"}'
    folder = crafted(b"")  # the version first: the interrupted save goes into it
    folder = crafted(huge, _interrupted_first_save(folder, "after.txt", "finished"))
    oc.snapshot.setup(name="j", start=0)
    warned = _set_aside_warnings(recwarn)
    assert len(warned) == 1 and "bytes long, more than an intent can be" in warned[0]
    assert oc.snapshot.text("after.txt").load() == "finished"  # rolled forward: its record line written
    assert oc.snapshot.text("after.txt").last_record()["recovered"] is True
    _assert_untouched(oc, tmp_path, folder)
    assert os.path.getsize(_journal.rejected_path(folder)) < 10_000
    _assert_keeps_working(oc, folder)


def test_a_torn_intent_is_dropped_without_a_word(crafted, oc, tmp_path, recwarn):
    """A process killed while writing its intent had touched nothing: no warning, nothing to report."""
    folder = crafted(b'{"entry":{"op":"save","path":"../../../victim.txt"},"op":"cus')
    assert oc.snapshot.verify().ok
    oc.snapshot.setup(name="j", start=0)
    assert not [w for w in recwarn if issubclass(w.category, _journal.RecoveryWarning)]
    _assert_untouched(oc, tmp_path, folder)
    assert not os.path.exists(_journal.rejected_path(folder)) and oc.snapshot.verify().ok


def test_an_unexpected_error_while_recovering_one_intent_sets_it_aside_and_recovery_goes_on(crafted, oc, recwarn):
    """A kept folder content whose manifest is damaged (not UTF-8) cannot be restored: a ValueError, not
    an I/O error. That intent is set aside; the next one is still finished and the version works."""
    folder = crafted(b"")
    os.makedirs(os.path.join(folder, "labels"))
    trees = os.path.join(folder, ".crate", "trees")
    os.makedirs(trees, exist_ok=True)
    damaged = "b" * 64
    with open(os.path.join(trees, damaged), "wb") as f:
        f.write(b"\xff\xfe\0" + b"c" * 64 + b"\n")
    custom = _intent("custom", {"op": "save", "name": "set", "kind": "labels", "path": "labels/set"}, old=damaged)
    folder = crafted(json.dumps(custom).encode(), _interrupted_first_save(folder, "after.txt", "finished"))
    oc.snapshot.setup(name="j", start=0)
    warned = _set_aside_warnings(recwarn)
    assert len(warned) == 1 and "recovering the custom of 'labels/set' failed: UnicodeDecodeError" in warned[0], warned
    assert oc.snapshot.text("after.txt").load() == "finished"
    assert os.path.getsize(_journal.journal_path(folder)) == 0
    _assert_keeps_working(oc, folder)


class Note:
    """A custom handler that writes its file in place."""

    def save(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def load(self):
        with open(self.path) as f:
            return f.read()


def test_an_io_error_of_a_valid_intent_is_not_swallowed_and_blocks_nothing(crafted, oc, recwarn):
    """A custom save died after writing in place, and its kind folder is gone since: putting the kept
    old content back fails (an I/O error). The intent stays in the journal with a warning, verify names
    it as interrupted, saves go on, and once the cause is fixed `crate verify --repair` finishes it.
    A wrong intent beside it is set aside once, however often recovery runs."""
    folder = crafted(b"")
    oc.snapshot.notes("n.txt", handler=Note).save("old")
    old = hashlib.sha256(b"old").hexdigest()
    os.makedirs(os.path.join(folder, ".crate", "objects", old[:2]), exist_ok=True)
    with open(os.path.join(folder, ".crate", "objects", old[:2], old), "w") as f:
        f.write("old")  # what the custom save kept before its handler ran
    shutil.rmtree(os.path.join(folder, "notes"))
    custom = _intent("custom", {"op": "save", "name": "n.txt", "kind": "notes", "path": "notes/n.txt"}, old=old)
    folder = crafted(_intent(tmp=["x"]), custom)
    oc.snapshot.setup(name="j", start=0)
    could_not = [str(w.message) for w in recwarn if "Could not finish the interrupted custom" in str(w.message)]
    assert len(could_not) == 1 and "It stays in the journal" in could_not[0]
    oc.snapshot.json("later.json").save({"later": True})  # not blocked
    report = oc.snapshot.verify()
    assert sorted(p.kind for p in report.problems) == ["interrupted", "journal"], str(report)  # the wrong one once
    os.mkdir(os.path.join(folder, "notes"))  # the cause fixed
    assert main(["verify", "j", "--repair"]) == 1  # the custom save is undone; the set-aside intent still named
    assert oc.snapshot.notes("n.txt", handler=Note).load() == "old"
    assert os.path.getsize(_journal.journal_path(folder)) == 0
    assert len(_set_aside_warnings(recwarn)) == 1
    os.remove(_journal.rejected_path(folder))
    assert oc.snapshot.verify().ok


def _written_intent(folder):
    """The intent the writer wrote last into the journal's first slot (marked done: its first byte is '#')."""
    _settle(folder)
    with open(_journal.journal_path(folder), "rb") as f:
        data = f.read()
    assert data[:1] == _journal.DONE
    return json.loads(b"{" + data[1 : data.index(b"\n")])


def test_every_intent_the_writer_writes_is_one_recovery_acts_on(oc, monkeypatch):
    """The check of intents follows the writer: each kind of change, small and large, file and folder."""

    class Folder:
        def save(self, files):
            os.makedirs(self.path, exist_ok=True)
            for name, text in files.items():
                with open(os.path.join(self.path, name), "w") as f:
                    f.write(text)

        def load(self):
            return sorted(os.listdir(self.path))

    oc.snapshot.setup(name="w", start="new")
    folder = oc.snapshot.dir_path
    metrics, big = oc.snapshot.json("metrics.json"), oc.snapshot.text("big.txt")
    changes = [
        lambda: metrics.save({"v": 1}),  # a first small save (unnamed, where the platform has it)
        lambda: metrics.save({"v": 2}),  # an overwrite
        lambda: big.save("x" * (2 << 20)),  # a large first save
        lambda: big.save("y" * (2 << 20)),  # a large overwrite
        lambda: metrics.backup("tag"),
        lambda: metrics.backup(),
        lambda: oc.snapshot.notes("n.txt", handler=Note).save("first"),
        lambda: oc.snapshot.notes("n.txt", handler=Note).save("in place"),
        lambda: oc.snapshot.labels("set", handler=Folder).save({"a.txt": "1"}),
        lambda: oc.snapshot.labels("set", handler=Folder).save({"a.txt": "2", "b.txt": "3"}),
        lambda: oc.snapshot.labels("set", handler=Folder).delete(confirm=True),
        lambda: metrics.delete(confirm=True),
    ]
    for change in changes:
        change()
        intent = _written_intent(folder)
        assert _journal.intent_problem(intent) is None, intent
    from opencrate_nb.core import history

    monkeypatch.setattr(history, "KEEP", 0)  # history off: no old content kept
    big.save("z" * 10)
    assert _journal.intent_problem(_written_intent(folder)) is None
