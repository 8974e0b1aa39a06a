"""Fault injection: every change of a version survives a SIGKILL after any of its file-system calls.

Each operation runs in a real child process (``python -c``) that wraps the file-system calls
of ``os`` and ``shutil`` (and the renameat2 and linkat calls of core/_atomic.py) and kills itself with
SIGKILL right after its N-th call. A first run without a kill counts the calls; then N is
sampled over all of them, first and last always. After each kill this process checks,
through the public API only, what the write protocol promises (docs/architecture.md):

- ``verify`` before anything else is clean or names only the interrupted operation;
- the next use (setup) finishes or undoes it: the artifact loads the old or the new content;
- ``history()`` lists every content that was ever current, each loadable, matching its hash;
- verify is clean; gc (min_age=0) removes every leftover; a later operation works.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from _notebook_fixtures import REPO

import opencrate as oc
from opencrate_nb.core import environment
from opencrate_nb.core import verify as verify_module

SAMPLES = 6  # kill points per operation, spread over all its calls (first and last included)
NAME = "f"

WRAPPER = r"""
import os, shutil, signal, sys, threading
N = int(sys.argv[1])
os.chdir(sys.argv[2])
import opencrate as oc
from opencrate_nb.core import _atomic, environment, gc, handlers, log, verify  # imported once, before any fork
from loguru import logger
handlers.get_handler("json"); handlers.get_handler("text")

class Labels:
    '''A custom folder artifact whose handler writes in place, as the guide's handlers do.'''
    def save(self, items):
        os.makedirs(self.path, exist_ok=True)
        for number, item in enumerate(items):
            fd = os.open(os.path.join(self.path, f"{number}.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.write(fd, item.encode())
            os.close(fd)
    def load(self):
        names = sorted(os.listdir(self.path), key=lambda n: int(n.split(".")[0]))
        return [open(os.path.join(self.path, n)).read() for n in names]

MAIN = threading.get_ident()
calls = [0]
def wrap(module, name):
    real = getattr(module, name)
    def counted(*args, **kwargs):
        result = real(*args, **kwargs)
        if threading.get_ident() == MAIN:
            calls[0] += 1
            if calls[0] == N:
                os.kill(os.getpid(), signal.SIGKILL)
        return result
    setattr(module, name, counted)

def start_counting():
    for name in ("open", "write", "close", "replace", "rename", "link", "unlink", "mkdir", "rmdir",
                 "fsync", "ftruncate"):
        wrap(os, name)
    for name in ("copyfile", "copytree", "rmtree"):
        wrap(shutil, name)
    wrap(_atomic, "exchange")
    wrap(_atomic, "rename_new")
    wrap(_atomic, "link_unnamed")
"""


class Labels:
    """The same custom handler as in the child (a folder of files rewritten in place)."""

    def save(self, items):
        os.makedirs(self.path, exist_ok=True)
        for number, item in enumerate(items):
            with open(os.path.join(self.path, f"{number}.txt"), "w") as f:
                f.write(item)

    def load(self):
        names = sorted(os.listdir(self.path), key=lambda n: int(n.split(".")[0]))
        return [open(os.path.join(self.path, n)).read() for n in names]


def _json(value):
    return {"kind": "json", "name": "m.json", "value": value}


class Op:
    """One operation: how to prepare the store, the child's code, and what may be seen afterwards."""

    def __init__(self, name, prepare, code, artifact, before, after, env=None, later=None, setup=True):
        self.name, self.prepare, self.code = name, prepare, code
        self.artifact = artifact  # (kind, name, handler) of the artifact to check, or None
        self.before, self.after = before, after  # contents that were current before, the new one (None: gone)
        self.env = env or {}
        self.later = later
        self.setup = setup  # the child sets up v0 before counting


def _artifact(spec):
    kind, name, handler = spec
    return getattr(oc.snapshot, kind)(name, handler=handler) if handler else getattr(oc.snapshot, kind)(name)


def _prepare_saves(spec, values):
    def prepare():
        oc.snapshot.setup(name=NAME, start="new")
        for value in values:
            _artifact(spec).save(value)

    return prepare


JSON = ("json", "m.json", None)
BIG = ("text", "big.txt", None)
LABELS = ("labels", "set1", Labels)
BIG_OLD, BIG_NEW = "a" * (3 << 19), "b" * (3 << 19)  # 1.5 MB: the flushed path of large files

OPS = [
    Op("first save", _prepare_saves(JSON, []), 'oc.snapshot.json("m.json").save({"v": 1})', JSON, [], {"v": 1}),
    Op(
        "overwrite",
        _prepare_saves(JSON, [{"v": 0}, {"v": 1}]),
        'oc.snapshot.json("m.json").save({"v": 2})',
        JSON,
        [{"v": 0}, {"v": 1}],
        {"v": 2},
    ),
    Op(
        "overwrite, history off",
        _prepare_saves(JSON, [{"v": 0}]),
        'oc.snapshot.json("m.json").save({"v": 2})',
        JSON,
        [{"v": 0}],
        {"v": 2},
        env={"OPENCRATE_HISTORY_KEEP": "0"},
    ),
    Op(
        "overwrite of a large file",
        _prepare_saves(BIG, [BIG_OLD]),
        f'oc.snapshot.text("big.txt").save("b" * {len(BIG_NEW)})',
        BIG,
        [BIG_OLD],
        BIG_NEW,
    ),
    Op(
        "backup",
        _prepare_saves(JSON, [{"v": 0}]),
        'oc.snapshot.json("m.json").backup("t")',
        ("json", "m.backup_t.json", None),
        [],
        {"v": 0},
        later=lambda art: _artifact(JSON).backup("t"),
    ),
    Op(
        "delete",
        _prepare_saves(JSON, [{"v": 0}, {"v": 1}]),
        'oc.snapshot.json("m.json").delete(confirm=True)',
        JSON,
        [{"v": 0}, {"v": 1}],
        None,
    ),
    Op(
        "custom in-place save of a folder",
        _prepare_saves(LABELS, [["a"]]),
        'oc.snapshot.labels("set1", handler=Labels).save(["A", "b"])',
        LABELS,
        [["a"]],
        ["A", "b"],
    ),
    Op(
        "delete of a folder artifact",
        _prepare_saves(LABELS, [["a"], ["a", "b"]]),
        'oc.snapshot.labels("set1", handler=Labels).delete(confirm=True)',
        LABELS,
        [["a"], ["a", "b"]],
        None,
    ),
    Op(
        "reset",
        _prepare_saves(JSON, [{"v": 0}]),
        "oc.snapshot.reset(confirm=True)",
        JSON,
        [{"v": 0}],
        None,
    ),
    Op(
        "setup: version claim",
        _prepare_saves(JSON, [{"v": 0}]),
        'oc.snapshot.setup(name="f", start="new")',
        None,
        [],
        None,
        setup=False,
    ),
    Op(
        "setup: history-log copy",
        _prepare_saves(JSON, [{"v": 0}]),
        'oc.snapshot.setup(name="f", start=0); oc.info("second run")',
        None,
        [],
        None,
        setup=False,
    ),
    Op(
        "gc",
        _prepare_saves(JSON, [{"v": 0}, {"v": 1}, {"v": 2}, {"v": 3}]),
        "oc.snapshot.gc(dry_run=False, keep=1, min_age=0)",
        JSON,
        [{"v": 0}, {"v": 1}, {"v": 2}, {"v": 3}],
        {"v": 3},
    ),
]


SERVER = r"""
import json
for line in sys.stdin:
    kill_at, folder = line.split(" ", 1)
    pid = os.fork()
    if pid == 0:
        N = int(kill_at)
        os.chdir(folder.strip())
        try:
            SETUP
            start_counting()
            OPERATION
        except BaseException as exc:
            print("ERROR", repr(exc), flush=True)
            os._exit(3)
        print("CALLS", calls[0], flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("DONE", os.waitstatus_to_exitcode(status), flush=True)
"""


class Server:
    """One ``python -c`` child per operation; it forks a fresh process for each kill point."""

    def __init__(self, op):
        setup = 'oc.snapshot.setup(name="f", start=0)' if op.setup else "pass"
        code = WRAPPER + SERVER.replace("SETUP", setup).replace("OPERATION", op.code)
        env = dict(os.environ, PYTHONPATH=REPO, **op.env)
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, "0", "."], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, kill_at, folder):
        """(exit code, calls counted or None, error) of the operation killed after call ``kill_at`` (0: never)."""
        self.process.stdin.write(f"{kill_at} {folder}\n")
        self.process.stdin.flush()
        calls = error = None
        while True:
            line = self.process.stdout.readline()
            assert line, "the fault-injection child died"
            if line.startswith("CALLS"):
                calls = int(line.split()[1])
            elif line.startswith("ERROR"):
                error = line
            elif line.startswith("DONE"):
                return int(line.split()[1]), calls, error

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _sample(total):
    if total <= SAMPLES:
        return list(range(1, total + 1))
    step = (total - 1) / (SAMPLES - 1)
    return sorted({1 + round(i * step) for i in range(SAMPLES)})


def _leftovers(root):
    """Hidden temporary or half-deleted entries anywhere under ``root``."""
    environment.wait()  # this process's own run-environment writer may be writing env.json right now
    found = []
    for folder, dirs, files in os.walk(root):
        for entry in dirs + files:
            if ".tmp" in entry or entry.endswith(".deleting") or entry.startswith(("load-", "pruned-")):
                found.append(os.path.join(folder, entry))
    return found


def _hash(path):
    if os.path.isdir(path):
        h = hashlib.sha256()
        for rel in sorted(
            os.path.relpath(os.path.join(d, f), path).replace(os.sep, "/")
            for d, _, fs in os.walk(path)
            for f in fs
            if not f.startswith(".")
        ):
            with open(os.path.join(path, rel), "rb") as f:
                h.update(rel.encode() + b"\0" + hashlib.sha256(f.read()).hexdigest().encode() + b"\n")
        return h.hexdigest()
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _load(art):
    return art.load() if art.exists else None


def _check_history(op, art, history_on):
    items = art.history()
    loaded = []
    for item in items:
        if not item["available"]:
            continue
        value = art.load(version=item["index"])
        loaded.append(value)
        if not item["current"] and os.path.isfile(item["path"]):
            assert _hash(item["path"]) == item["sha256"], f"{op.name}: kept content {item['index']} changed"
    if op.name == "gc":  # gc with keep=1 may prune all but the last earlier content: still listed
        assert len(items) >= len(op.before) and op.before[-2] in loaded
    elif history_on:
        for value in op.before:  # every content that was ever current is still there
            assert value in loaded, f"{op.name}: {value!r} missing from history {items}"
    current = _load(art)
    if current is not None:
        assert items[-1]["current"] and loaded[-1] == current
        assert items[-1]["sha256"] == _hash(art.path)
    return items


def _verify_before_recovery(op, root):
    for version in sorted(os.listdir(os.path.join(root, NAME))) if os.path.isdir(os.path.join(root, NAME)) else []:
        if version.startswith("v"):
            report = verify_module.verify(version, name=NAME, root=root)
            kinds = {p.kind for p in report.problems}
            assert kinds <= {"interrupted"}, f"{op.name}: {report}"


def _check(op, root, kill_at):
    where = f"{op.name}, killed after call {kill_at}"
    _verify_before_recovery(op, root)
    history_on = op.env.get("OPENCRATE_HISTORY_KEEP") != "0"
    if op.name.startswith("setup"):
        versions = sorted(os.listdir(os.path.join(root, NAME)))
        oc.snapshot.setup(name=NAME, start="new", root=root)  # a later claim works
        oc.snapshot.json("m.json").save({"later": True})
        for version in versions + [oc.snapshot.version_name]:
            if version.startswith("v"):
                assert verify_module.verify(version, name=NAME, root=root).ok, where
        oc.snapshot.setup(name=NAME, start=0, root=root)
        assert oc.snapshot.json("m.json").load() == {"v": 0}, where
        oc.info("third run")
        oc.snapshot.gc(dry_run=False, min_age=0)
        assert not _leftovers(root), f"{where}: {_leftovers(root)}"
        return
    if op.name == "reset":
        gone = not os.path.isdir(os.path.join(root, NAME))
        if not gone:
            oc.snapshot.setup(name=NAME, start=0, root=root)
            assert _artifact(JSON).load() == {"v": 0}, where
            assert oc.snapshot.verify().ok, where
            oc.snapshot.gc(dry_run=False, min_age=0)
            oc.snapshot.reset(confirm=True)
        oc.snapshot.setup(name=NAME, start="new", root=root)
        oc.snapshot.gc(dry_run=False, min_age=0)
        assert not _leftovers(root), f"{where}: {_leftovers(root)}"
        oc.snapshot.reset(confirm=True)  # a later reset is not blocked
        return
    oc.snapshot.setup(name=NAME, start=0, root=root)  # the next use: recovery
    art = _artifact(op.artifact)
    value = _load(art)
    allowed = [op.before[-1] if op.before else None, op.after]
    if op.name == "backup":
        allowed = [None, op.after]
    assert value in allowed, f"{where}: loads {value!r}, expected one of {allowed!r}"
    _check_history(op, art, history_on)
    report = oc.snapshot.verify()
    assert report.ok, f"{where}: {report}"
    oc.snapshot.gc(dry_run=False, min_age=0)
    assert not _leftovers(root), f"{where}: {_leftovers(root)}"
    _check_history(op, art, history_on)
    # a later operation is not blocked by anything the kill left
    if op.later is not None:
        op.later(art)
    elif op.artifact == LABELS:
        art.save(["x", "y", "z"])  # rewrites in place: no kept content may change with it
        _check_history(op, art, history_on)
        art.delete(confirm=True)
    else:
        art.save({"later": True} if op.artifact == JSON else "later")
        art.delete(confirm=True)
    _check_history(op, art, history_on)
    assert oc.snapshot.verify().ok, where


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_a_kill_at_any_call_leaves_a_consistent_store(op, tmp_path, monkeypatch):
    for key, value in op.env.items():
        monkeypatch.setenv(key, value)
    if "OPENCRATE_HISTORY_KEEP" in op.env:
        from opencrate_nb.core import history

        monkeypatch.setattr(history, "KEEP", int(op.env["OPENCRATE_HISTORY_KEEP"]))
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    monkeypatch.chdir(prepared)
    op.prepare()
    oc.snapshot.setup(name="other", start="new")  # let go of the prepared version's run log
    environment.wait()
    oc.snapshot.reset(confirm=True)

    server = Server(op)
    try:
        counting = tmp_path / "count"
        shutil.copytree(prepared, counting, symlinks=True)
        code, total, error = server.run(0, counting)
        assert code == 0 and total, f"{op.name}: {error}"
        for kill_at in _sample(total):
            folder = tmp_path / f"kill{kill_at}"
            shutil.copytree(prepared, folder, symlinks=True)
            code, _, error = server.run(kill_at, folder)
            # -9: killed after that call; 0: the operation made fewer calls this time (background threads)
            assert code in (-9, 0), f"{op.name}, kill at {kill_at}: {error}"
            _check(op, str(folder / "snapshots"), kill_at)
    finally:
        server.close()


def test_the_harness_counts_every_kind_of_call(tmp_path):
    """The wrapper sees the calls a save makes (a harness that counts nothing would test nothing)."""
    code = WRAPPER + textwrap.dedent(
        """
        seen = []
        real_replace = os.replace
        oc.snapshot.setup(name="f", start="new")
        start_counting()
        oc.snapshot.json("m.json").save({"v": 1})
        oc.snapshot.json("m.json").save({"v": 2})
        print("CALLS", calls[0])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "0", str(tmp_path)],
        env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split("CALLS")[-1]) >= 8
    record = os.path.join(tmp_path, "snapshots", "f", "v0", ".crate", "record.jsonl")
    with open(record) as f:
        assert [json.loads(line)["op"] for line in f] == ["save", "save"]
