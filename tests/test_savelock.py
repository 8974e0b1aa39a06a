"""The version's save lock: exclusive across threads and processes, re-entrant in a thread."""

import os
import subprocess
import sys
import threading
import time

import pytest

from opencrate_nb.core import _savelock

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HOLDER = """
import sys, time
sys.path.insert(0, {repo!r})
from opencrate_nb.core import _savelock
with _savelock.version_lock({folder!r}):
    print("held", flush=True)
    time.sleep({seconds})
print("released", flush=True)
"""


def test_one_lock_object_per_folder(version_folder):
    folder = version_folder
    assert _savelock.version_lock(folder) is _savelock.version_lock(os.path.join(folder, "."))
    with _savelock.version_lock(folder):
        assert os.path.exists(os.path.join(folder, ".crate", _savelock.LOCK_FILE))


def test_reentrant_within_a_thread(version_folder):
    lock = _savelock.version_lock(version_folder)
    with lock, lock:  # a save inside gc's decision, say: must not deadlock
        pass
    assert lock.depth == 0


def test_exclusive_across_threads(version_folder):
    lock = _savelock.version_lock(version_folder)
    order = []
    lock.acquire()
    worker = threading.Thread(target=lambda: (lock.acquire(), order.append("worker"), lock.release()))
    worker.start()
    time.sleep(0.2)
    order.append("main")  # the worker is still waiting
    lock.release()
    worker.join(10)
    assert order == ["main", "worker"]


def test_exclusive_across_processes(version_folder):
    folder = version_folder
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(repo=REPO, folder=folder, seconds=1.0)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with _savelock.version_lock(folder):
            waited = time.monotonic() - started
            assert holder.poll() is not None or holder.stdout.readline().strip() == "released"
        assert waited > 0.3  # it had to wait for the other process to let go
    finally:
        holder.wait(30)


def test_a_removed_version_is_not_made_again(version_folder):
    folder = version_folder
    os.rmdir(folder)
    lock = _savelock.VersionLock(folder)
    with pytest.raises(FileNotFoundError):
        lock.acquire()
    assert not os.path.exists(folder)
    os.makedirs(folder)  # set up again: the failed acquire left nothing held
    done = []
    worker = threading.Thread(target=lambda: (lock.acquire(), done.append(True), lock.release()))
    worker.start()
    worker.join(10)
    assert done == [True]


RACE = """
import sys
sys.path.insert(0, {repo!r})
import opencrate as oc
oc.snapshot.setup(name="race", start=0, root={root!r})
artifact = oc.snapshot.json("shared.json")
for n in range(40):
    artifact.save({{"writer": sys.argv[1], "n": n, "pad": "x" * (n * 7 % 50)}})
"""


def _record_agrees_with_disk(root):
    import opencrate as oc

    oc.snapshot.setup(name="race", start=0, root=root)
    artifact = oc.snapshot.json("shared.json")
    report = oc.snapshot.verify()
    assert report.ok, str(report)  # the record's current entry is what is on disk
    return artifact.load()


@pytest.mark.parametrize("keep", ["0", "5"], ids=["history off", "history on"])
def test_saves_of_processes_keep_record_and_disk_in_agreement(tmp_path, keep):
    """Saves take the lock with history on or off: the record's last save is the file on disk."""
    root = str(tmp_path / "snapshots")
    os.makedirs(os.path.join(root, "race", "v0"))
    env = dict(os.environ, OPENCRATE_HISTORY_KEEP=keep, PYTHONPATH=REPO)
    code = RACE.format(repo=REPO, root=root)
    workers = [subprocess.Popen([sys.executable, "-c", code, who], env=env) for who in "abc"]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
    assert _record_agrees_with_disk(root)["n"] == 39


@pytest.mark.parametrize("keep", [0, 5], ids=["history off", "history on"])
def test_saves_of_threads_keep_record_and_disk_in_agreement(tmp_path, keep, monkeypatch):
    import opencrate as oc
    from opencrate_nb.core import history

    monkeypatch.setattr(history, "KEEP", keep)
    root = str(tmp_path / "snapshots")
    oc.snapshot.setup(name="race", start="new", root=root)
    artifact = oc.snapshot.json("shared.json")

    def writer(who):
        for n in range(40):
            artifact.save({"writer": who, "n": n})

    threads = [threading.Thread(target=writer, args=(who,)) for who in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _record_agrees_with_disk(root)["n"] == 39


TAKER = """
import sys, time
sys.path.insert(0, {repo!r})
from opencrate_nb.core import _savelock
started = time.monotonic()
with _savelock.version_lock({folder!r}):
    print(time.monotonic() - started, flush=True)
"""


def test_a_leased_lock_is_let_go_soon_after_its_last_use(version_folder):
    """The file lock stays taken for this process a moment after a save (saves in a loop take it once),
    and another process gets it within about LEASE_IDLE of the last use."""
    lock = _savelock.version_lock(version_folder)
    with lock:
        assert lock.fresh
    with lock:
        assert not lock.fresh  # still leased: nothing to look at again
    taker = subprocess.run(
        [sys.executable, "-c", TAKER.format(repo=REPO, folder=version_folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert taker.returncode == 0, taker.stderr
    with lock:
        assert lock.fresh  # the other process held it in between


def test_a_lease_ends_after_lease_max_of_use(version_folder, monkeypatch):
    monkeypatch.setattr(_savelock, "LEASE_MAX", 0.0)
    lock = _savelock.version_lock(version_folder)
    taken = lock.taken
    for _ in range(3):
        with lock:
            pass
    assert lock.taken == taken + 3  # each hold took the file lock anew


def test_a_forked_child_does_not_inherit_a_leased_lock(version_folder):
    lock = _savelock.version_lock(version_folder)
    with lock:
        pass
    pid = os.fork()
    if pid == 0:  # the child: its own take of the file lock, never the parent's lease
        code = 1
        try:
            with lock:
                code = 0 if lock.fresh else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


FORKS_WORKERS_THEN_DIES = """
import os, signal, sys, threading, time
sys.path.insert(0, {repo!r})
import opencrate as oc
oc.snapshot.setup(name="w", start="new", root={root!r})
oc.snapshot.json("m.json").save(0)
worker = os.fork()
if worker == 0:  # a DataLoader worker: lives on, never touches opencrate
    os.close(1)
    os.close(2)
    time.sleep(60)
    os._exit(0)
print(worker, flush=True)
threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
n = 0
while True:  # killed while it holds (or leases) the save lock
    oc.snapshot.json("m.json").save(n)
    n += 1
"""

SAVES_ONCE = """
import sys
sys.path.insert(0, {repo!r})
import opencrate as oc
oc.snapshot.setup(name="w", start=0, root={root!r})
oc.snapshot.json("m.json").save("other")
print("saved", flush=True)
"""


def test_a_dead_process_s_lock_is_free_although_its_forked_workers_live_on(tmp_path):
    """A flock belongs to the open file, which a forked child shares: the parent opens its lock file
    anew after a fork, so its workers never keep a lock of a process that died."""
    root = str(tmp_path / "snapshots")
    dying = subprocess.run(
        [sys.executable, "-c", FORKS_WORKERS_THEN_DIES.format(repo=REPO, root=root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    worker = int(dying.stdout.split()[0])
    try:
        other = subprocess.run(
            [sys.executable, "-c", SAVES_ONCE.format(repo=REPO, root=root)], capture_output=True, text=True, timeout=20
        )
        assert other.stdout.strip() == "saved", other.stderr[-2000:]
    finally:
        os.kill(worker, 9)
