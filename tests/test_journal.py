"""core/_journal.py: the intent journal of a version (the kill-at-any-call sweep is in test_faults.py)."""

import os
import shutil

from opencrate_nb.core import _journal, _savelock, record

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
