"""A full disk (blocks or inodes) at any point of a save: a clear error, and nothing changed.

Each test mounts a small tmpfs of its own (``mount -t tmpfs -o size=...,nr_inodes=...``),
which needs root: CI runs as root; elsewhere the tests skip and say why (with CI=true
they fail instead). The store is filled to within a few pages or inodes of full, at
many record lengths, so that the failure lands on each step of a save in turn: the
temporary file, keeping the old content, the intent, and the record line itself.
"""

import errno
import json
import os
import shutil
import subprocess
import traceback

import pytest
from _notebook_fixtures import IN_CI, require

import opencrate as oc
from opencrate_nb.core import environment
from opencrate_nb.core.errors import DiskFullError

PAGE = 4096


@pytest.fixture
def small_disk(tmp_path):
    """``mount(size, inodes)`` -> a folder on a fresh tmpfs; unmounted after the test."""
    mounted = []
    if os.geteuid() != 0 or shutil.which("mount") is None:
        reason = "mounting a small tmpfs needs root and mount(8); CI runs these tests as root"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)

    def mount(size="512k", inodes=4096):
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        options = f"size={size},nr_inodes={inodes}"
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
        if result.returncode != 0:
            reason = f"could not mount a tmpfs here: {result.stderr.decode().strip()}"
            if IN_CI:
                pytest.fail(reason)
            pytest.skip(reason)
        mounted.append(folder)
        return folder

    yield mount
    from _notebook_fixtures import forget_snapshot

    forget_snapshot()
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder, leave_pages=0):
    """Take every free block of ``folder``'s file system but ``leave_pages``."""
    environment.wait()  # the run-environment writer must not race for the last pages
    path = os.path.join(folder, f"filler{len(os.listdir(folder))}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    chunk = b"\0" * (64 * PAGE)
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        while True:
            try:
                os.write(fd, b"\0" * PAGE)
            except OSError:
                break
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(size - leave_pages * PAGE, 0))
    finally:
        os.close(fd)
    return path


def _fill_inodes(folder, leave=0):
    environment.wait()
    made = []
    while True:
        path = os.path.join(folder, f"i{len(made)}")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
            break
        made.append(path)
    for path in made[len(made) - leave :] if leave else []:
        os.unlink(path)
    return made


def _record_lines(version_dir):
    with open(os.path.join(version_dir, ".crate", "record.jsonl"), "rb") as f:
        data = f.read()
    assert data.endswith(b"\n") or not data, "a torn record line was left"
    return [json.loads(line) for line in data.splitlines()]


def _assert_intact(metrics, previous, lines_before):
    """The previous content, its history and the record are as before the failed save."""
    assert metrics.load() == previous[-1]
    items = metrics.history()
    assert [metrics.load(version=i) for i in range(len(items))] == previous
    assert _record_lines(oc.snapshot.dir_path) == lines_before
    report = oc.snapshot.verify()
    assert report.ok, str(report)


def _failing_step(error):
    """The function of ours in which the disk filled up (to know every step was reached)."""
    frames = traceback.extract_tb(error.__cause__.__traceback__) if error.__cause__ is not None else []
    names = [frame.name for frame in frames]
    for step in ("_append_whole", "begin", "store_file", "stage_bytes", "create_temp"):
        if step in names:
            return step
    return names[-1] if names else "?"


def _record_size():
    return os.path.getsize(os.path.join(oc.snapshot.dir_path, ".crate", "record.jsonl"))


def _pad_record_to(room):
    """Save small artifacts until the record's last page has about ``room`` bytes left."""
    probe = _record_size()
    oc.snapshot.json("p.json").save(0)
    base = _record_size() - probe - 2 * len("p.json")  # a pad's line is base + twice its name's length
    number = 0
    while True:
        left = -_record_size() % PAGE
        need = left - room
        if 0 <= need < 8:
            return
        if need < base + 2 * 12:
            need += PAGE
        stem = max(min((need - base) // 2 - len(".json"), 150), 6)
        number += 1
        oc.snapshot.json(f"{number:06d}".ljust(stem, "x") + ".json").save(0)


def test_full_blocks_at_every_step_of_an_overwrite(small_disk):
    """A full disk at the temporary file, the intent, or the record line (which must not be left torn)."""
    disk = small_disk(size="2m")
    steps = set()
    for leave in (0, 1, 2):
        for room in (None, 60):  # None: the record line fits in its page; 60: it must start a new one
            oc.snapshot.setup(name="full", start="new", root=str(disk / "snapshots"))
            metrics = oc.snapshot.json("metrics.json")
            previous = [{"loss": 1.0}, {"loss": 0.5}]
            for value in previous:
                metrics.save(value)
            if room is not None:
                _pad_record_to(room)
            lines = _record_lines(oc.snapshot.dir_path)
            filler = _fill(disk, leave_pages=leave)
            new = {"loss": 0.25, "big": "y" * (PAGE - 200)}
            try:
                metrics.save(new)
            except DiskFullError as error:
                text = str(error)
                assert "disk is full" in text and "metrics.json" in text and "Nothing was changed" in text
                assert error.errno == errno.ENOSPC
                steps.add(_failing_step(error))
                _assert_intact(metrics, previous, lines)
            else:
                _assert_intact(metrics, previous + [new], _record_lines(oc.snapshot.dir_path))
            finally:
                os.unlink(filler)
            metrics.save({"loss": 0.125})  # with room again, saving works at once
            assert metrics.load() == {"loss": 0.125} and oc.snapshot.verify().ok
            oc.snapshot.reset(confirm=True)
    assert "_append_whole" in steps, f"the record line never hit the full disk (steps hit: {steps})"
    assert steps - {"_append_whole"}, f"only the record line hit the full disk: {steps}"


def test_a_full_disk_on_the_first_save_leaves_no_artifact(small_disk):
    disk = small_disk(size="256k")
    oc.snapshot.setup(name="first", start="new", root=str(disk / "snapshots"))
    filler = _fill(disk)
    try:
        with pytest.raises(DiskFullError, match="The disk is full while saving .*notes.txt"):
            oc.snapshot.text("notes.txt").save("z" * 10 * PAGE)
    finally:
        os.unlink(filler)
    assert not oc.snapshot.text("notes.txt").exists
    assert oc.snapshot.verify().ok


def test_out_of_inodes_fails_clearly_and_keeps_the_previous_content(small_disk):
    """No inode for the temporary file, or none for the kept old content: a clear error, never a warning."""
    disk = small_disk(size="4m", inodes=400)
    for leave in (0, 1, 2, 3):
        oc.snapshot.setup(name="inodes", start="new", root=str(disk / f"run{leave}"))
        table = oc.snapshot.csv("table.csv")
        previous = [[[1, 2]], [[3, 4]]]
        for rows in previous:
            table.save(rows)
        lines = _record_lines(oc.snapshot.dir_path)
        made = _fill_inodes(disk, leave=leave)
        try:
            table.save([[5, 6]])
        except DiskFullError as error:
            assert "disk" in str(error) and "table.csv" in str(error)
            assert table.load(header=None).values.tolist() == [[3, 4]]
            assert _record_lines(oc.snapshot.dir_path) == lines
        else:
            assert table.load(header=None).values.tolist() == [[5, 6]]
            assert len(table.history()) == 3 and all(item["available"] for item in table.history())
        finally:
            for path in made:
                if os.path.exists(path):
                    os.unlink(path)
        report = oc.snapshot.verify()
        assert report.ok, str(report)
        oc.snapshot.reset(confirm=True)


def test_a_first_save_into_a_kind_folder_that_needs_the_last_inode_says_disk_full(small_disk):
    disk = small_disk(size="4m", inodes=400)
    oc.snapshot.setup(name="folder", start="new", root=str(disk / "snapshots"))
    oc.snapshot.text("notes.txt").save("here")
    made = _fill_inodes(disk)
    try:
        with pytest.raises(DiskFullError, match="while saving .*m.json"):
            oc.snapshot.json("m.json").save({"a": 1})  # jsons/ does not exist yet
    finally:
        for path in made:
            os.unlink(path)
    assert not oc.snapshot.json("m.json").exists and oc.snapshot.verify().ok
    oc.snapshot.json("m.json").save({"a": 1})
    assert oc.snapshot.json("m.json").load() == {"a": 1}


class Boxes:
    """A custom folder artifact: one json file per save in its folder."""

    def save(self, boxes):
        os.makedirs(self.path, exist_ok=True)
        with open(os.path.join(self.path, f"boxes{len(os.listdir(self.path))}.json"), "w") as f:
            f.write(str(boxes))

    def load(self):
        return sorted(os.listdir(self.path))


def test_a_backup_of_a_folder_on_a_full_disk_says_disk_full_and_leaves_nothing(small_disk):
    """shutil.copytree folds its files' errors into one shutil.Error's text: the disk-full error is
    still named as such."""
    disk = small_disk(size="4m", inodes=600)
    oc.snapshot.setup(name="folders", start="new", root=str(disk / "snapshots"))
    labels = oc.snapshot.artifact("labels", "bb", handler=Boxes)
    labels.save(["q" * 3000])
    labels.save(["r" * 3000])
    filler = _fill(disk)
    try:
        with pytest.raises(DiskFullError, match="The disk is full while backing up to .*bb.backup_t"):
            labels.backup(tag="t")
    finally:
        os.unlink(filler)
    folder = os.path.dirname(labels.path)
    assert [n for n in os.listdir(folder) if n.startswith(".")] == [] and oc.snapshot.verify().ok
    labels.backup(tag="t")
    assert oc.snapshot.verify().ok


def test_a_library_hiding_the_full_disk_still_says_disk_full(small_disk):
    """torch says "unexpected pos", libsndfile "System error": the error says the disk is full."""
    torch = require("torch", "a full disk under torch.save")
    disk = small_disk(size="1m")
    oc.snapshot.setup(name="libs", start="new", root=str(disk / "snapshots"))
    model = oc.snapshot.checkpoint("model.pt")
    model.save({"w": torch.zeros(4)})
    filler = _fill(disk, leave_pages=8)
    try:
        with pytest.raises(DiskFullError, match="disk is full .*model.pt"):
            model.save({"w": torch.zeros(1 << 18)})
        np = require("numpy", "a full disk under soundfile")
        require("soundfile", "a full disk under soundfile")
        with pytest.raises(DiskFullError, match="disk is full .*tone.wav"):
            oc.snapshot.audio("tone.wav").save(np.zeros(1 << 18, dtype="float32"), sample_rate=16000)
    finally:
        os.unlink(filler)
    assert model.load()["w"].shape == (4,)
    assert not oc.snapshot.audio("tone.wav").exists
    assert oc.snapshot.verify().ok


@pytest.mark.parametrize("failing", ["close", "record line"])
def test_a_first_save_that_cannot_finish_after_naming_its_file_takes_the_name_back(snap, monkeypatch, failing):
    """The new file has its name already when closing it (a file system may report a failed write
    only then) or writing the record line fails: the name goes again, nothing is recorded."""
    from opencrate_nb.core import _writer, record

    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if failing == "close":
        real_close = os.close
        closing = {"armed": False}
        real_link = _writer._atomic.link_unnamed

        def link_then_fail_close(fd, path):
            code = real_link(fd, path)
            closing["armed"] = code == 0
            return code

        def close(fd):
            real_close(fd)
            if closing.pop("armed", False):
                raise full

        monkeypatch.setattr(_writer._atomic, "link_unnamed", link_then_fail_close)
        monkeypatch.setattr(os, "close", close)
    else:

        def append_locked(*args, **kwargs):
            raise full

        monkeypatch.setattr(record, "append_locked", append_locked)
    metrics = oc.snapshot.json("metrics.json")
    with pytest.raises(DiskFullError, match="The disk is full while saving .*metrics.json"):
        metrics.save({"loss": 0.5})
    monkeypatch.undo()
    assert not metrics.exists and metrics.history() == []
    assert oc.snapshot.verify().ok
    metrics.save({"loss": 0.25})  # nothing left in the way
    assert metrics.load() == {"loss": 0.25} and oc.snapshot.verify().ok


def test_log_messages_on_a_full_disk_give_one_notice_not_a_traceback_each(small_disk, capfd):
    disk = small_disk(size="512k")
    oc.snapshot.setup(name="logs", start="new", root=str(disk / "snapshots"))
    filler = _fill(disk)
    try:
        for _ in range(50):
            oc.info("x" * 300)
    finally:
        os.unlink(filler)
    err = capfd.readouterr().err
    assert "Logging error" not in err and err.count("is full; log messages are not written") == 1
    oc.info("room again")
    with open(oc.snapshot.log_path, "rb") as f:
        data = f.read()
    assert data.endswith(b"\n") and b"room again" in data


@pytest.mark.parametrize("content", ["arrays", "keras model"])
def test_an_h5_save_on_a_full_disk_says_disk_full_instead_of_crashing(small_disk, run_python, content):
    """HDF5 closing a file it could not finish writing crashes the process (a segfault, with h5py 3.x); an
    .h5 is built in memory, so the full disk meets our own write: DiskFullError, the old content kept.
    The saves run in a subprocess, so that a crash fails this test instead of ending the test run."""
    import importlib.util

    from _notebook_fixtures import skip_or_fail

    require("h5py", ".h5 checkpoints")
    if content == "keras model" and importlib.util.find_spec("keras") is None:  # imported in the subprocess
        skip_or_fail("keras is not installed, so Keras .h5 checkpoints cannot be tested here")
    disk = small_disk(size="4m", inodes=500)
    code = f"""
        import os
        os.environ["KERAS_BACKEND"] = "torch"
        import numpy as np
        import opencrate as oc
        from opencrate_nb.core import environment
        from opencrate_nb.core.errors import DiskFullError

        def fill(leave_pages):
            environment.wait()
            path = os.path.join({str(disk)!r}, "filler")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT)
            try:
                for size in ({64 * PAGE}, {PAGE}):
                    while True:
                        try:
                            os.write(fd, b"\\0" * size)
                        except OSError:
                            break
                os.ftruncate(fd, max(os.fstat(fd).st_size - leave_pages * {PAGE}, 0))
            finally:
                os.close(fd)
            return path

        def value(size):
            if {content!r} == "arrays":
                return {{"x": np.full(size, 1.0, dtype="float32"), "block": {{"b": np.zeros(3)}}}}
            import keras
            return keras.Sequential([keras.Input((size // 100,)), keras.layers.Dense(100, name="dense")])

        def check(loaded, size):
            if {content!r} == "arrays":
                return loaded["x"].shape == (size,)
            return loaded.layers[0].kernel.shape == (size // 100, 100)

        oc.snapshot.setup(name="h5", start="new", root={str(disk / "snapshots")!r})
        weights = oc.snapshot.checkpoint("weights.h5")
        weights.save(value(100))
        outcomes = []
        for leave in range(6):
            filler = fill(leave)
            try:
                weights.save(value(3000))  # 12 kB: HDF5 meets the full disk at any step
                outcomes.append("saved")
            except DiskFullError as error:
                assert "disk is full" in str(error) and "weights.h5" in str(error), str(error)
                outcomes.append("full")
            finally:
                os.unlink(filler)
            expected = 3000 if outcomes[-1] == "saved" else 100
            assert check(weights.load(), expected), (leave, outcomes)
            assert oc.snapshot.verify().ok
            weights.save(value(100))
        print(outcomes)
    """
    result = run_python(code, check=False, timeout=300)
    assert result.returncode == 0, f"the saves ended with status {result.returncode}:\n{result.stderr[-3000:]}"
    outcomes = result.stdout.strip().splitlines()[-1]
    assert "'full'" in outcomes, outcomes
