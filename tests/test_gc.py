"""Cleaning up and statistics (opencrate_nb/core/gc.py), including a gc killed half-way."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from _notebook_fixtures import REPO

import opencrate as oc
from opencrate_nb.core import _objects, _retention, _savelock, gc, history, record


def _stored(version_dir):
    found = []
    for folder, _, files in os.walk(_objects.objects_dir(version_dir)):
        found += [os.path.join(folder, f) for f in files]
    return sorted(found)


@pytest.fixture
def snap(workdir, monkeypatch):
    monkeypatch.setattr(history, "KEEP", 5)
    oc.snapshot.setup(name="gc")
    return oc.snapshot


def test_contents_beyond_retention_go_only_when_asked(snap):
    log = oc.snapshot.text("log.txt")
    for n in range(5):
        log.save(f"line {n}")
    assert len(_stored(snap.dir_path)) == 4
    dry = gc.collect(keep=1)
    assert dry.dry_run and len(dry.items) == 3 and {i.reason for i in dry.items} == {"beyond retention"}
    assert len(_stored(snap.dir_path)) == 4 and "dry run: nothing was removed" in str(dry)
    done = gc.collect(keep=1, dry_run=False)
    assert done.bytes == sum(len(f"line {n}") for n in range(3))
    assert [item["available"] for item in log.history()] == [False, False, False, True, True]
    assert log.load(version=3) == "line 3"
    assert snap.verify().ok


def test_leftovers_of_interrupted_work(snap):
    oc.snapshot.json("m.json").save({"a": 1})
    jsons = os.path.join(snap.dir_path, "jsons")
    temp = os.path.join(jsons, ".m.json.0123abcd.tmp.json")
    deleting = os.path.join(jsons, ".old.json.deleting")
    load_dir = os.path.join(snap.dir_path, ".crate", "tmp", "load-0123456789ab")
    reset = os.path.join("snapshots", ".gc.deleting")
    for path in (temp, deleting):
        with open(path, "w") as f:
            f.write("partial")
    os.makedirs(load_dir)
    os.makedirs(os.path.join(reset, "v0"))
    pruned = os.path.join(snap.dir_path, ".crate", "tmp", _retention.PRUNED_PREFIX + "0123456789ab")
    with open(pruned, "w") as f:
        f.write("a content retention dropped, left by a process killed before freeing it")
    young = gc.collect(dry_run=False)  # a save may still be writing the temporary file: keep it
    assert sorted(i.reason for i in young.items) == ["interrupted delete", "interrupted reset", "pruned content"]
    assert os.path.exists(temp) and os.path.exists(load_dir)
    assert not any(os.path.exists(p) for p in (deleting, reset, pruned))
    old = gc.collect(dry_run=False, min_age=0)
    assert sorted(i.reason for i in old.items) == ["interrupted save", "leftover of a load"]
    assert not os.path.exists(temp) and not os.path.exists(load_dir)
    assert oc.snapshot.json("m.json").load() == {"a": 1}


def test_unreferenced_contents_wait_for_min_age(snap):
    oc.snapshot.text("a.txt").save("a")
    data = b"never recorded"
    sha = hashlib.sha256(data).hexdigest()
    path = _objects.object_path(snap.dir_path, sha)
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(data)
    assert gc.collect(dry_run=False).items == []
    assert [i.reason for i in gc.collect(dry_run=False, min_age=0).items] == ["unreferenced content"]
    assert not os.path.exists(path)


def test_a_damaged_record_leaves_history_alone(snap):
    notes = oc.snapshot.text("notes.txt")
    for n in range(4):
        notes.save(str(n))
    with open(os.path.join(record.record_dir(snap.dir_path), record.RECORD_FILE), "ab") as f:
        f.write(b"not json\n")
    report = gc.collect(dry_run=False, keep=0, min_age=0)
    assert report.items == [] and "record damaged" in report.notes[0]
    assert len(_stored(snap.dir_path)) == 3


def test_folder_contents(snap):
    class Folder:
        def save(self, text):
            os.makedirs(self.path, exist_ok=True)
            with open(os.path.join(self.path, "part.txt"), "w") as f:
                f.write(text)
            with open(os.path.join(self.path, "fixed.txt"), "w") as f:
                f.write("same in every content")

        def load(self):
            with open(os.path.join(self.path, "part.txt")) as f:
                return f.read()

    parts = oc.snapshot.labels("parts", handler=Folder)
    for n in range(3):
        parts.save(f"v{n}")
    gc.collect(dry_run=False, keep=1)
    assert parts.load(version=1) == "v1" and parts.load() == "v2"
    assert [item["available"] for item in parts.history()] == [False, True, True]
    assert snap.verify().ok


def test_gc_waits_for_a_save_in_progress(snap):
    notes = oc.snapshot.text("notes.txt")
    for n in range(3):
        notes.save(str(n))
    lock = _savelock.version_lock(snap.dir_path)
    lock.acquire()  # what a save holds from keeping the old content to writing its record line
    worker = threading.Thread(target=gc.collect, kwargs={"dry_run": False, "keep": 1})
    worker.start()
    worker.join(0.3)
    blocked = worker.is_alive()
    objects_meanwhile = len(_stored(snap.dir_path))
    lock.release()
    worker.join(30)
    assert blocked and objects_meanwhile == 2
    assert [item["available"] for item in notes.history()] == [False, True, True]


def test_gc_while_another_process_saves(workdir):
    """gc running over and over next to a process that saves (repeating contents, so deduplication
    kicks in) never removes a content that retention keeps."""
    script = textwrap.dedent("""
        import opencrate as oc
        oc.snapshot.setup(name="busy", start=0)
        for n in range(300):
            oc.snapshot.text("cycle.txt").save(str(n % 7))
    """)
    os.makedirs(os.path.join("snapshots", "busy", "v0"))
    env = dict(os.environ, PYTHONPATH=REPO, OPENCRATE_HISTORY_KEEP="3")
    writer = subprocess.Popen([sys.executable, "-c", script], env=env)
    rounds = 0
    while writer.poll() is None:
        gc.collect(dry_run=False, keep=3)
        rounds += 1
    assert writer.wait() == 0 and rounds >= 1
    oc.snapshot.setup(name="busy", start=0)
    cycle = oc.snapshot.text("cycle.txt")
    items = cycle.history()
    assert len(items) == 300 and all(item["available"] for item in items[-4:])
    assert [cycle.load(version=k) for k in range(-4, 0)] == [str(n % 7) for n in range(296, 300)]
    assert oc.snapshot.verify().ok


def _many_contents(version_dir, count):
    """Record ``count`` saves of one artifact (with their history objects) quickly, as saves would."""
    os.makedirs(os.path.join(version_dir, "jsons"), exist_ok=True)
    lines = []
    for n in range(count):
        data = json.dumps({"n": n}).encode()
        sha = hashlib.sha256(data).hexdigest()
        last = n == count - 1
        target = os.path.join(version_dir, "jsons", "m.json") if last else _objects.object_path(version_dir, sha)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)
        stamp = f"2026-01-01T00:{n // 6000 % 60:02d}:{n // 100 % 60:02d}.{n % 100:06d}+00:00"
        lines.append(
            json.dumps(
                {
                    "op": "save",
                    "name": "m.json",
                    "kind": "json",
                    "path": "jsons/m.json",
                    "size": len(data),
                    "sha256": sha,
                    "time": stamp,
                    "cell": None,
                }
            )
        )
    os.makedirs(record.record_dir(version_dir), exist_ok=True)
    with open(os.path.join(record.record_dir(version_dir), record.RECORD_FILE), "w") as f:
        f.write("\n".join(lines) + "\n")


# `crate gc` in a child process that stops after its PAUSE_AFTER-th removal of a history object,
# says so on the pipe READY_FD and waits there (on its stdin) for the kill that the test sends
_GC_THAT_PAUSES = """
import os, sys
from opencrate_nb.cli import main

objects = os.path.abspath(sys.argv[1])
ready, pause_after = int(os.environ["READY_FD"]), int(os.environ["PAUSE_AFTER"])
removed = 0


def removing_then_pausing(remove):
    def wrapper(path, *args, **kwargs):
        global removed
        remove(path, *args, **kwargs)
        if os.path.abspath(path).startswith(objects + os.sep):
            removed += 1
            if removed == pause_after:
                os.write(ready, b"paused")
                os.read(0, 1)  # the test kills this process here
                os._exit(3)  # its stdin closed instead: the test is gone
    return wrapper


os.unlink, os.remove = removing_then_pausing(os.unlink), removing_then_pausing(os.remove)
sys.exit(main(["gc", "--yes", "--keep", "2"]))
"""


def test_a_gc_killed_half_way_loses_nothing_it_should_keep(workdir):
    version_dir = os.path.join("snapshots", "big", "v0")
    total, pause_after = 100, 40
    _many_contents(version_dir, total)
    assert len(_stored(version_dir)) == total - 1
    ready, ready_for_child = os.pipe()
    env = dict(os.environ, PYTHONPATH=REPO, READY_FD=str(ready_for_child), PAUSE_AFTER=str(pause_after))
    proc = subprocess.Popen(
        [sys.executable, "-c", _GC_THAT_PAUSES, _objects.objects_dir(version_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=(ready_for_child,),
        env=env,
    )
    os.close(ready_for_child)
    try:
        said = os.read(ready, 16)  # empty if the child ended without pausing
        assert said == b"paused", proc.communicate(timeout=30)[1].decode()
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        os.close(ready)
        proc.kill()
        proc.communicate(timeout=30)
    left = len(_stored(version_dir))
    assert left == total - 1 - pause_after  # killed mid-removal, exactly where it paused
    oc.snapshot.setup(name="big", start=0)
    artifact = oc.snapshot.json("m.json")
    assert artifact.load() == {"n": total - 1}
    assert artifact.load(version=-2) == {"n": total - 2} and artifact.load(version=-3) == {"n": total - 3}
    assert oc.snapshot.verify().ok
    rest = gc.collect(dry_run=False, keep=2)  # a second run finishes the work
    assert len(rest.items) == left - 2
    artifact.save({"n": "after the kill"})  # and the killed process's lock is gone
    assert artifact.load(version=-2) == {"n": total - 1} and artifact.load(version=-3) == {"n": total - 2}
    assert gc.collect(dry_run=False, keep=2).bytes == len(json.dumps({"n": total - 3}))
    assert len(_stored(version_dir)) == 2 and oc.snapshot.verify().ok


def test_stats_count_files_history_and_dedup(snap):
    table = oc.snapshot.csv("t.csv")
    for rows in ([[1]], [[2]], [[1]], [[2]], [[1]]):
        table.save(rows)
    oc.snapshot.text("a.txt").save("abc")
    result = snap.stats()
    ((ref, row),) = result.rows
    size = os.path.getsize(table.path)
    assert ref.label == "gc/v0"
    assert row["files"] == 2 and row["bytes"] == size + 3
    assert row["history_contents"] == 2 and row["history_bytes"] == 2 * size
    assert row["logical_bytes"] == 5 * size + 3
    assert row["stored_bytes"] == 3 * size + 3 and row["saved_bytes"] == 2 * size
    assert result.totals("gc") == result.totals()
    assert "gc/v0" in str(result) and json.loads(json.dumps(result.to_dict()))["total"]["files"] == 2


def test_leftovers_of_an_interrupted_reset_and_history_log_copy(snap):
    """A reset killed half-way leaves ``.<name>.<token>.deleting``; a killed log copy a temporary file."""
    doomed = os.path.join("snapshots", ".gc.0123abcd.deleting")
    other = os.path.join("snapshots", ".other.0123abcd.deleting")
    os.makedirs(os.path.join(doomed, "v0"))
    os.makedirs(os.path.join(other, "v0"))
    copy = os.path.join(snap.dir_path, ".gc.history.log.0123abcd.tmp.log")
    with open(copy, "w") as f:
        f.write("half a copy")
    report = gc.collect(name="gc", dry_run=False, min_age=0)
    assert {i.reason for i in report.items} >= {"interrupted reset", "interrupted save"}
    assert not os.path.exists(doomed) and not os.path.exists(copy)
    assert os.path.exists(other)  # another name's leftover is that name's business
    snap.reset(confirm=True)
    gc.collect(name="other", dry_run=False, min_age=0)  # nothing but the leftover is left of that name
    assert not os.path.exists(other)
