"""core/versions.py: version folders on disk, and claiming a new one across processes."""

import errno
import os
import subprocess
import sys
import time

import pytest

from opencrate_nb.core import versions


def test_folder_names_parse_both_ways():
    assert versions.parse_folder("v3") == (3, None)
    assert versions.parse_folder("v12:baseline") == (12, "baseline")
    assert versions.folder_name(3) == "v3"
    assert versions.folder_name(0, "initial-run") == "v0:initial-run"
    for junk in ("v", "3", "va", "v-1", "version3", ".v3", "v3x"):
        assert versions.parse_folder(junk) is None, junk


def test_list_folders_reads_only_version_folders_sorted_by_number(tmp_path):
    for name in ("v10", "v2:b", "v2", "v2:a", "notes", "v3.txt"):
        (tmp_path / name).mkdir()
    (tmp_path / "v7").write_text("a file, not a version")
    assert versions.list_folders(str(tmp_path)) == [
        (2, None, "v2"),
        (2, "a", "v2:a"),
        (2, "b", "v2:b"),
        (10, None, "v10"),
    ]
    assert versions.list_folders(str(tmp_path / "missing")) == []


def test_a_version_name_that_leads_to_no_folder_is_no_version_and_says_why(tmp_path):
    (tmp_path / "v0").mkdir()
    os.symlink("v1", tmp_path / "v1")  # a loop of links: asking whether it is a folder raises ELOOP
    os.symlink("nowhere", tmp_path / "v2:gone")
    os.symlink("v0", tmp_path / "v3")  # a link to a version folder is one
    assert versions.list_folders(str(tmp_path)) == [(0, None, "v0"), (3, None, "v3")]
    broken = []
    versions.list_folders(str(tmp_path), broken)
    assert [(number, tag, folder, error.errno) for number, tag, folder, error in sorted(broken)] == [
        (1, None, "v1", errno.ELOOP),
        (2, "gone", "v2:gone", errno.ENOENT),
    ]


def test_resolve_new_last_and_number(tmp_path):
    root = str(tmp_path / "demo")
    assert versions.resolve(root, "new", None) == (0, "v0", True, None)
    assert versions.resolve(root, "new", "t") == (1, "v1:t", True, None)
    assert versions.resolve(root, "last", "t") == (1, "v1:t", False, None)
    assert versions.resolve(root, 5, None) == (5, "v5", True, None)
    assert versions.resolve(root, 0, None) == (0, "v0", False, None)
    assert versions.resolve(root, "new", None)[:2] == (6, "v6")
    assert sorted(os.listdir(root)) == [".crate.lock", "v0", "v1:t", "v5", "v6"]


def test_resolve_warns_when_creating_an_untagged_sibling_of_a_tagged_version(tmp_path):
    root = str(tmp_path / "demo")
    versions.resolve(root, "new", "initial-run")
    number, folder, created, notice = versions.resolve(root, "last", None)
    assert (number, folder, created) == (0, "v0", True)
    assert "tag='initial-run'" in notice and "resume" in notice


def test_versions_come_from_the_folders_alone(tmp_path):
    root = tmp_path / "demo"
    (root / "v41:imported").mkdir(parents=True)
    assert versions.resolve(str(root), "new", None)[:2] == (42, "v42")


CLAIM = """
import os, sys, time
import opencrate as oc
oc.snapshot  # import the core before waiting
go, ready = sys.argv[1:]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
oc.snapshot.setup(name="race", start="new")
print(oc.snapshot.version_name)
"""


def test_processes_starting_at_the_same_moment_get_distinct_versions(tmp_path):
    """Six real interpreters wait on one file, then all call setup(start="new") at once."""
    from _notebook_fixtures import REPO

    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIM, str(go), str(tmp_path / f"ready{i}")],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready*"))) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)  # every interpreter is up and waiting
    go.write_text("")
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    claimed = sorted(out.strip().splitlines()[-1] for out, _ in outputs)
    assert claimed == sorted(f"v{n}" for n in range(6))
    assert sorted(os.listdir(tmp_path / "snapshots" / "race")) == sorted([".crate.lock", *claimed])


HOLD = """
import os, sys, time
from opencrate_nb.core import versions
folder, release, released = sys.argv[1:]
with versions.name_lock(folder):
    print("locked", flush=True)
    while not os.path.exists(release):
        time.sleep(0.01)
    open(released, "w").close()
"""


def test_name_lock_is_exclusive_across_processes(tmp_path):
    """While another process holds the lock, this one gets it only after that process let go."""
    import threading

    from _notebook_fixtures import REPO

    release, released = tmp_path / "release", tmp_path / "released"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "demo"), str(release), str(released)],
        env=dict(os.environ, PYTHONPATH=REPO),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    seen = []

    def take():
        with versions.name_lock(str(tmp_path / "demo")):
            seen.append(released.exists())

    waiter = threading.Thread(target=take)
    waiter.start()
    time.sleep(0.5)  # give the waiter every chance to (wrongly) get the lock first
    release.write_text("")
    waiter.join(timeout=30)
    holder.wait(timeout=30)
    assert seen == [True]


@pytest.mark.parametrize("start", ["new", "last", 0])
def test_resolve_creates_the_snapshot_folder_when_missing(tmp_path, start):
    root = tmp_path / "deep" / "er" / "demo"
    number, folder, created, _ = versions.resolve(str(root), start, None)
    assert (number, folder, created) == (0, "v0", True)
    assert (root / "v0").is_dir()
