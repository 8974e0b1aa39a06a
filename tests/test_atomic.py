"""core/_atomic.py: atomic writes, temporary names and content hashes."""

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest
from _notebook_fixtures import skip_or_fail

from opencrate_nb.core import _atomic, _writer, handlers


def test_write_bytes_replaces_whole_and_returns_hash_and_size(tmp_path):
    target = tmp_path / "a.json"
    target.write_bytes(b"old")
    sha, size = _atomic.write_bytes(str(target), b"new content")
    assert target.read_bytes() == b"new content"
    assert (sha, size) == (hashlib.sha256(b"new content").hexdigest(), 11)
    assert os.listdir(tmp_path) == ["a.json"]  # no temporary file left


def test_large_writes_are_hashed_correctly(tmp_path):
    data = os.urandom(3 << 20)  # above FSYNC_MIN_BYTES: flushed to disk
    sha, size = _atomic.write_bytes(str(tmp_path / "big.bin"), data)
    assert sha == hashlib.sha256(data).hexdigest() and size == len(data)
    assert _atomic.hash_file(str(tmp_path / "big.bin")) == sha


def test_a_failure_before_the_move_keeps_the_old_content_and_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def refuse(sha, size):
        raise RuntimeError("stop before the move")

    with pytest.raises(RuntimeError):
        _atomic.write_bytes(str(target), b"new", before_replace=refuse)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_before_replace_sees_the_new_hash_while_the_old_file_is_still_there(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    seen = []
    _atomic.write_bytes(
        str(target), b"new", before_replace=lambda sha, size: seen.append((sha, size, target.read_text()))
    )
    assert seen == [(hashlib.sha256(b"new").hexdigest(), 3, "old")]


def test_temporary_names_are_hidden_keep_the_suffix_and_are_recognised(tmp_path):
    path = str(tmp_path / "model.pt")
    names = {os.path.basename(_atomic.temp_path_for(path)) for _ in range(100)}
    assert len(names) == 100
    for name in names:
        assert name.startswith(".model.pt.") and name.endswith(".tmp.pt")
        assert _atomic.is_temp_name(name)
    assert not _atomic.is_temp_name("model.pt") and not _atomic.is_temp_name(".crate")


@pytest.mark.parametrize(
    "path", ["/a/b/m.json", "/m.json", "m.json", "a/.hidden", "a/..json", "a/x.tar.gz", "a/b/noext", "/a/.b.c"]
)
def test_temporary_names_sit_next_to_the_file_with_its_suffix(path):
    folder, base = os.path.split(path)
    temporary = _atomic.temp_path_for(path)
    assert os.path.dirname(temporary) == folder and os.path.basename(temporary).startswith(f".{base}.")
    assert temporary.endswith(_atomic.TEMP_MARK + os.path.splitext(base)[1])


def test_create_temp_never_shares_a_name(tmp_path):
    path = str(tmp_path / "a.txt")
    first, fd = _atomic.create_temp(path)
    os.close(fd)
    _atomic._tokens = iter([int(first.split(".")[-3], 16), 12345])  # force a clash with the first name
    try:
        second, fd = _atomic.create_temp(path)
        os.close(fd)
    finally:
        _atomic._reseed_tokens()
    assert second != first and os.path.basename(second) == ".a.txt.00003039.tmp.txt"


def test_file_writer_writes_every_byte_in_order_and_hashes_behind(tmp_path):
    chunks = [os.urandom(n) for n in (10, 2 << 20, 7, 1 << 20)]
    path = str(tmp_path / "out.bin")
    with _atomic.FileWriter(path) as writer:
        for chunk in chunks:
            assert writer.write(chunk) == len(chunk)
    data = b"".join(chunks)
    assert writer.size == len(data) and open(path, "rb").read() == data
    assert writer.hexdigest() == hashlib.sha256(data).hexdigest()  # hashed behind the writes
    assert _atomic.stage_file(path, writer).sha == hashlib.sha256(data).hexdigest()


def test_a_large_staged_file_is_hashed_while_it_is_flushed(tmp_path):
    data = os.urandom(3 << 20)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    staged = _atomic.stage_file(str(path))
    assert staged.sha == hashlib.sha256(data).hexdigest() and staged.size == len(data)


def test_hash_tree_covers_names_and_contents(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_text("a")
    (tmp_path / "d" / "sub" / "b.txt").write_text("bb")
    (tmp_path / "d" / ".hidden").write_text("ignored")
    sha, size = _atomic.hash_tree(str(tmp_path / "d"))
    assert size == 3
    (tmp_path / "d" / "sub" / "b.txt").rename(tmp_path / "d" / "sub" / "c.txt")
    assert _atomic.hash_tree(str(tmp_path / "d"))[0] != sha


def test_copy_file_is_whole(tmp_path):
    (tmp_path / "src").write_bytes(b"x" * 1000)
    sha, size = _atomic.copy_file(str(tmp_path / "src"), str(tmp_path / "dst"))
    assert (tmp_path / "dst").read_bytes() == b"x" * 1000 and size == 1000
    assert sorted(os.listdir(tmp_path)) == ["dst", "src"]


def test_writer_removes_the_temporary_when_the_handler_fails(tmp_path):
    image = handlers.get_handler("image")
    with pytest.raises(ValueError, match="shape"):
        _writer.write(image, [[[1, 2]]], str(tmp_path / "x.png"))
    assert os.listdir(tmp_path) == []


class _ClaimsAHash:
    """A handler that writes its file itself and returns what it says is the sha256 of it."""

    to_bytes = None

    def __init__(self, claim):
        self.claim = claim

    def writes_bytes(self):
        return False

    def save(self, obj, path):
        with open(path, "w") as f:
            f.write(obj)
        return self.claim


@pytest.mark.parametrize(
    "claim", ['"' * 64, "\\" * 64, "é" * 64, "0" * 63], ids=["quotes", "backslashes", "not-ascii", "short"]
)
def test_a_hash_a_handler_returns_is_taken_only_when_it_looks_like_one(tmp_path, claim):
    """Record lines embed the hash as it is: anything but 64 letters and digits is not taken (the file is hashed)."""
    sha, size = _writer.write(_ClaimsAHash(claim), "content", str(tmp_path / "a.txt"))
    assert sha == hashlib.sha256(b"content").hexdigest() and size == 7


KILLED_SAVER = """
import sys
import opencrate as oc

kind = sys.argv[1]
oc.snapshot.setup(name="crash", start="last")
if kind == "text":
    artifact = oc.snapshot.text("big.txt")
    contents = ["A" * (24 << 20), "B" * (24 << 20)]
else:
    import numpy as np
    artifact = oc.snapshot.checkpoint("weights.npy")
    contents = [np.full(3 << 20, 1.0), np.full(3 << 20, 2.0)]
artifact.save(contents[0])
print("ready", flush=True)
i = 1
while True:
    artifact.save(contents[i % 2])
    i += 1
"""


@pytest.mark.parametrize("kind", ["text", "npy"])
def test_a_process_killed_mid_save_leaves_old_or_new_never_torn(tmp_path, kind):
    """A real interpreter saves two large contents in turn and is killed with SIGKILL at several moments."""
    import numpy as np
    from _notebook_fixtures import REPO

    if kind == "npy":
        expected = [np.full(3 << 20, 1.0), np.full(3 << 20, 2.0)]
    else:
        expected = ["A" * (24 << 20), "B" * (24 << 20)]
    env = dict(os.environ, PYTHONPATH=REPO)
    for delay in (0.0, 0.05, 0.13, 0.29):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_SAVER, kind], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        folder = tmp_path / "snapshots" / "crash" / "v0"
        if kind == "text":
            content = (folder / "texts" / "big.txt").read_text()
            assert content in expected
        else:
            loaded = np.load(folder / "checkpoints" / "weights.npy")
            assert any(loaded.shape == e.shape and (loaded == e).all() for e in expected)


def test_file_writer_reports_a_failed_write_and_remembers_a_full_disk(tmp_path):
    writer = _atomic.FileWriter(str(tmp_path / "x.bin"))
    os.close(writer._fd)
    writer._fd = os.open(str(tmp_path / "x.bin"), os.O_RDONLY)  # writing to it fails
    with pytest.raises(OSError):
        writer.write(b"x" * (2 << 20))
    writer.close()
    if os.path.exists("/dev/full"):
        _atomic.forget_failures()
        writer = _atomic.FileWriter("/dev/full")
        with pytest.raises(OSError):
            writer.write(b"x" * 100)
        writer.close()
        assert _atomic.disk_full_cause(RuntimeError("unexpected pos 704 vs 598")).errno == errno.ENOSPC


def test_swap_in_keeps_the_old_file_to_put_back(tmp_path):
    path, tmp = str(tmp_path / "a.json"), str(tmp_path / ".a.json.0123abcd.tmp.json")
    with open(path, "w") as f:
        f.write("old")
    with open(tmp, "w") as f:
        f.write("new")
    how = _atomic.swap_in(tmp, path)
    assert open(path).read() == "new"
    if how == _atomic.EXCHANGED:  # Linux: the old file is under the temporary name, ready to go back
        assert open(tmp).read() == "old"
        _atomic.swap_back(tmp, path, how)
        assert open(path).read() == "old" and not os.path.exists(tmp)
    first = str(tmp_path / "b.json")
    with open(tmp, "w") as f:
        f.write("first")
    assert _atomic.swap_in(tmp, first) == _atomic.CREATED
    _atomic.swap_back(tmp, first, _atomic.CREATED)
    assert not os.path.exists(first) and not os.path.exists(tmp)


@pytest.mark.parametrize("one_call", [True, False], ids=["renameat2", "look-then-rename"])
def test_rename_new_moves_only_onto_nothing(tmp_path, monkeypatch, one_call):
    if not one_call:
        monkeypatch.setattr(_atomic, "_NOREPLACE", [None])  # a platform without renameat2
    tmp, path = str(tmp_path / ".a.json.0123abcd.tmp.json"), str(tmp_path / "a.json")
    (tmp_path / ".a.json.0123abcd.tmp.json").write_text("new")
    assert _atomic.rename_new(tmp, path) is True
    assert open(path).read() == "new" and not os.path.exists(tmp)
    for taken in ("a.json", "folder"):
        (tmp_path / ".a.json.0123abcd.tmp.json").write_text("newer")
        (tmp_path / "folder").mkdir(exist_ok=True)
        assert _atomic.rename_new(tmp, str(tmp_path / taken)) is False  # nothing moved, nothing replaced
        assert open(tmp).read() == "newer" and open(path).read() == "new"
    with pytest.raises(FileNotFoundError):
        _atomic.rename_new(str(tmp_path / "gone"), str(tmp_path / "b.json"))


def _unnamed(folder, data=b"new"):
    fd = _atomic.stage_unnamed(str(folder), data)
    if fd is None:
        skip_or_fail("this file system has no unnamed files (O_TMPFILE); tmpfs and ext4 have them")
    return fd


@pytest.mark.parametrize("how", ["fd", "proc"], ids=["by-descriptor", "through-proc"])
def test_an_unnamed_first_save_is_named_only_onto_nothing(tmp_path, monkeypatch, how):
    """O_TMPFILE staging: linkat never replaces, by descriptor or (older kernels) through /proc."""
    fd = _unnamed(tmp_path)
    monkeypatch.setattr(_atomic, "_LINKAT", [_atomic._linkat()[0], how])
    assert os.listdir(tmp_path) == []  # nothing under any name yet
    (tmp_path / "taken.json").write_text("old")
    assert _atomic.link_unnamed(fd, str(tmp_path / "taken.json")) == errno.EEXIST
    assert (tmp_path / "taken.json").read_text() == "old"
    assert _atomic.link_unnamed(fd, str(tmp_path / "a.json")) == 0
    os.close(fd)
    assert (tmp_path / "a.json").read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["a.json", "taken.json"]  # no temporary left


def test_where_descriptors_cannot_be_linked_an_unnamed_content_is_written_under_a_temporary_name(tmp_path, monkeypatch):
    fd = _unnamed(tmp_path)
    monkeypatch.setattr(_atomic, "_LINKAT", [None, None])
    assert _atomic.link_unnamed(fd, str(tmp_path / "a.json")) is None
    staged = _atomic.Staged(None, hashlib.sha256(b"new").hexdigest(), 3, None, fd, b"new")
    _atomic.name_staged(staged, str(tmp_path / "a.json"))
    assert staged.fd is None and open(staged.tmp, "rb").read() == b"new"
    staged.discard()
    assert os.listdir(tmp_path) == []


def test_an_unnamed_staged_content_can_be_given_a_temporary_name(tmp_path):
    """Something was under the name after all: the save goes the usual way, from a named sibling."""
    staged = _atomic.Staged(None, hashlib.sha256(b"new").hexdigest(), 3, None, _unnamed(tmp_path), b"new")
    _atomic.name_staged(staged, str(tmp_path / "a.json"))
    assert staged.fd is None and _atomic.is_temp_name(os.path.basename(staged.tmp))
    assert open(staged.tmp, "rb").read() == b"new"
    staged.discard()
    assert os.listdir(tmp_path) == []


def test_a_discarded_unnamed_content_leaves_nothing(tmp_path):
    staged = _atomic.Staged(None, "", 3, None, _unnamed(tmp_path), b"new")
    staged.discard()
    assert os.listdir(tmp_path) == [] and staged.fd is None


def test_disk_full_is_found_behind_a_library_error():
    try:
        try:
            raise OSError(28, "No space left on device")
        except OSError as inner:
            raise RuntimeError("unexpected pos 704 vs 598") from inner
    except RuntimeError as outer:
        assert _atomic.disk_full_cause(outer).errno == 28
    _atomic.forget_failures()
    assert _atomic.disk_full_cause(ValueError("bad input")) is None
