"""Verifying versions against their record (opencrate_nb/core/verify.py)."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from _notebook_fixtures import REPO

import opencrate as oc
from opencrate_nb.core import _objects, record, verify


@pytest.fixture
def snap(workdir):
    oc.snapshot.setup(name="ver")
    oc.snapshot.json("metrics.json").save({"loss": 0.5})
    oc.snapshot.text("notes.txt").save("hello")
    oc.snapshot.csv("table.csv").save([[1, 2], [3, 4]])
    return oc.snapshot


def test_a_fresh_version_is_ok(snap):
    report = snap.verify()
    assert report.ok and bool(report) and report.problems == []
    assert report.checked == 3
    assert str(report) == "verify ver/v0: 3 files checked, ok"


def test_corruption_of_the_same_size_is_found(snap):
    path = os.path.join(snap.dir_path, "texts", "notes.txt")
    with open(path, "r+b") as f:
        f.write(b"J")  # "hello" -> "Jello": same size, other content
    report = snap.verify()
    assert not report.ok
    assert report.corrupted == ["ver/v0/texts/notes.txt"]
    assert "sha256" in report.problems[0].message and "restore it" in report.problems[0].message


def test_missing_and_untracked_files(snap):
    os.remove(os.path.join(snap.dir_path, "jsons", "metrics.json"))
    with open(os.path.join(snap.dir_path, "jsons", "dropped-in.json"), "w") as f:
        f.write("{}")
    with open(os.path.join(snap.dir_path, "stray.txt"), "w") as f:
        f.write("?")
    report = snap.verify()
    assert report.missing == ["ver/v0/jsons/metrics.json"]
    assert sorted(report.untracked) == ["ver/v0/jsons/dropped-in.json", "ver/v0/stray.txt"]
    assert report.corrupted == []
    text = str(report)
    assert "3 problems" in text and "missing   ver/v0/jsons/metrics.json" in text
    assert "ver/v0/stray.txt" in report._repr_html_()


def test_hidden_bookkeeping_and_logs_are_not_untracked(snap):
    oc.info("a line for the run log")
    with open(os.path.join(snap.dir_path, "texts", ".notes.txt.0123abcd.tmp.txt"), "w") as f:
        f.write("half")
    assert snap.verify().ok


def test_corrupted_history_content(snap):
    notes = oc.snapshot.text("notes.txt")
    notes.save("second")
    sha = notes.history()[0]["sha256"]
    with open(_objects.object_path(snap.dir_path, sha), "ab") as f:
        f.write(b"!")
    report = snap.verify()
    assert report.corrupted == [f"ver/v0/.crate/objects/{sha[:2]}/{sha}"]
    assert snap.verify(history_contents=False).ok


def test_damaged_and_missing_record(snap):
    with open(os.path.join(record.record_dir(snap.dir_path), record.RECORD_FILE), "ab") as f:
        f.write(b"\x00garbage\n")
    report = snap.verify()
    assert [p.kind for p in report.problems] == ["record"]
    assert "unreadable" in report.problems[0].message
    record.close_all()
    os.remove(os.path.join(record.record_dir(snap.dir_path), record.RECORD_FILE))
    report = snap.verify()
    assert not report.ok and "rebuild_record" in report.problems[0].message
    record.rebuild_record(snap.dir_path)
    assert snap.verify().ok


def test_folder_artifacts(snap):
    class Folder:
        def save(self, files):
            os.makedirs(self.path, exist_ok=True)
            for name, text in files.items():
                with open(os.path.join(self.path, name), "w") as f:
                    f.write(text)

        def load(self):
            return sorted(os.listdir(self.path))

    oc.snapshot.labels("set", handler=Folder).save({"a.txt": "1", "b.txt": "2"})
    assert snap.verify().ok
    with open(os.path.join(snap.dir_path, "labels", "set", "b.txt"), "w") as f:
        f.write("3")
    assert snap.verify().corrupted == ["ver/v0/labels/set"]


def test_every_version_of_every_name(snap):
    oc.snapshot.setup(name="ver", start="new")
    oc.snapshot.text("x.txt").save("x")
    oc.snapshot.setup(name="other")
    report = verify.verify_all("snapshots")
    assert [v.label for v in report.versions] == ["other/v0", "ver/v0", "ver/v1"]
    assert report.ok and report.checked == 4
    assert verify.verify("ver/v1").checked == 1
    seen = []
    verify.verify_all("snapshots", name="ver", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_saves_in_another_process_are_not_reported(snap):
    """A file replaced (or added) after verify read the record is looked at again under the save lock."""
    script = textwrap.dedent("""
        import opencrate as oc
        oc.snapshot.setup(name="ver", start=0)
        for n in range(300):
            oc.snapshot.json("metrics.json").save({"step": n})
            oc.snapshot.text(f"new_{n % 40}.txt").save(str(n))
    """)
    writer = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=REPO))
    reports = []
    while writer.poll() is None:
        reports.append(verify.verify("ver/v0"))
    assert writer.wait() == 0
    reports.append(verify.verify("ver/v0"))
    assert len(reports) >= 2
    assert [str(r) for r in reports if not r.ok] == []


KILLED_BEFORE_THE_RECORD_LINE = """
import os, signal
import opencrate as oc
from opencrate_nb.core import record
oc.snapshot.setup(name="ver", start=0)
record.append_locked = lambda *_, **__: os.kill(os.getpid(), signal.SIGKILL)  # dies right after the swap
oc.snapshot.json("metrics.json").save({"loss": 0.25})
"""


def test_an_interrupted_save_is_named_and_repaired(snap):
    """Killed between moving the new file in and writing its record line: named, then rolled forward."""
    result = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_THE_RECORD_LINE], env=dict(os.environ, PYTHONPATH=REPO), timeout=120
    )
    assert result.returncode == -signal.SIGKILL
    report = verify.verify("v0", name="ver", root="snapshots")
    assert [p.kind for p in report.problems] == ["interrupted"]
    assert "crate verify --repair" in report.problems[0].message
    assert "ver/v0/jsons/metrics.json" in report.problems[0].where
    with pytest.warns(UserWarning, match="finished the save of 'jsons/metrics.json'"):
        repaired = verify.verify("v0", name="ver", root="snapshots", repair=True)
    assert repaired.ok, str(repaired)
    items = oc.snapshot.json("metrics.json").history()
    assert [oc.snapshot.json("metrics.json").load(version=i) for i in range(len(items))] == [
        {"loss": 0.5},
        {"loss": 0.25},
    ]


def _write_journal(version_dir, *lines):
    """Intents as a writer leaves them in its journal's slots (one 4 KB slot each)."""
    import time

    from opencrate_nb.core import _journal, _savelock, environment

    environment.wait()  # this process's threads are done with the version (as in test_journal._settle)
    lock = _savelock.version_lock(version_dir)
    deadline = time.monotonic() + 10
    while lock._held_by is not None and time.monotonic() < deadline:
        _savelock.let_go_leases()
        time.sleep(0.001)
    with lock:
        pass
    _savelock.let_go_leases()
    data = b""
    for line in lines:
        data += line + b"\n" + b"\0" * (-(len(line) + 1) % _journal.SLOT)
    with open(_journal.journal_path(version_dir), "wb") as f:
        f.write(data)


def test_an_intent_recovery_does_not_act_on_is_a_journal_problem_until_its_file_is_removed(snap, recwarn):
    """Named once each, before recovery sets it aside and after, as a problem of its own kind."""
    from opencrate_nb.core import _journal

    folder = snap.dir_path
    entry = b'{"op":"save","name":"metrics.json","kind":"json","path":"jsons/metrics.json","size":1,"sha256":null}'
    _write_journal(
        folder,
        b'{"op":"custom","entry":{"op":"save","name":"x","kind":"k","path":"../../../x"},"old":null}',
        b'{"op":"save","entry":' + entry + b',"tmp":["x"]}',
    )
    report = snap.verify()
    assert [p.kind for p in report.problems] == ["journal", "journal"], str(report)
    assert {p.where for p in report.problems} == {"ver/v0/.crate/journal.jsonl"}
    assert "at byte 0 " in report.problems[0].message and "'../../../x'" in report.problems[0].message
    assert "at byte 4,096 " in report.problems[1].message and "remove that file" in report.problems[1].message
    assert "  journal   ver/v0/.crate/journal.jsonl: an intent at byte 0" in str(report)
    repaired = snap.verify(repair=True)  # sets both aside: still named, once each
    assert [p.kind for p in repaired.problems] == ["journal", "journal"], str(repaired)
    assert repaired.to_dict()["problems"][0]["kind"] == "journal"
    assert os.path.getsize(_journal.journal_path(folder)) == 0
    assert repaired.checked == 3  # the artifacts are checked as ever
    os.remove(_journal.rejected_path(folder))
    assert snap.verify().ok
