"""core/_appender.py: whole entries appended by several processes, and nothing torn left behind."""

import errno
import os
import subprocess
import sys
import textwrap

import pytest
from _notebook_fixtures import REPO

from opencrate_nb.core._appender import Appender

WRITER = textwrap.dedent(
    """
    import sys
    from opencrate_nb.core._appender import Appender
    path, who, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    appender = Appender(path)
    body = "".join(f"{who} continued {i}\\n" for i in range(400))  # ~8 kB: more than one pipe or page
    for n in range(count):
        appender.append(f"{who} entry {n}\\n{body}".encode())
    """
)


def _entries(path):
    """{who: [entry numbers in file order]}; fails on a line that belongs to no whole entry (blank
    lines between entries are allowed: readers skip them)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[-1] == ""
    found = {}
    i = 0
    while i < len(lines) - 1:
        if lines[i] == "":
            i += 1
            continue
        who, word, n = lines[i].split(" ")
        assert word == "entry", lines[i]
        assert lines[i + 1 : i + 401] == [f"{who} continued {k}" for k in range(400)], f"entry {who} {n} torn"
        found.setdefault(who, []).append(int(n))
        i += 401
    return found


def test_entries_of_processes_writing_at_once_never_interleave(tmp_path):
    path = str(tmp_path / "run.log")
    env = dict(os.environ, PYTHONPATH=REPO)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, path, who, "300"], env=env) for who in ("a", "b", "c")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    assert _entries(path) == {who: list(range(300)) for who in ("a", "b", "c")}


def test_threads_of_one_process_append_whole_entries(tmp_path):
    import threading

    path = str(tmp_path / "cells.jsonl")
    appender = Appender(path)

    def write(who):
        for n in range(200):
            appender.append(f"{who} {n} {'x' * 5000}\n".encode())

    threads = [threading.Thread(target=write, args=(who,)) for who in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert sorted(lines) == sorted(f"{who} {n} {'x' * 5000}" for who in "abcd" for n in range(200))


FULL = textwrap.dedent(
    """
    import errno, resource, signal, sys
    from opencrate_nb.core._appender import Appender
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit write() fails (EFBIG) instead of killing us
    path = sys.argv[1]
    appender = Appender(path)
    appender.append(b"first whole entry\\n")
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, resource.RLIM_INFINITY))  # the file may not grow past 100 bytes
    try:
        appender.append(b"x" * 150 + b"\\n")  # the kernel writes 82 bytes of it, then stops
    except OSError as exc:
        assert exc.errno == errno.ENOSPC and "82 of 151" in str(exc), exc
    else:
        sys.exit("the write past the limit did not fail")
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    appender.append(b"next\\n")  # it must start on a line of its own, not after a torn entry
    """
)


def test_an_entry_the_file_system_cuts_short_leaves_only_a_blank_line(tmp_path):
    """A real short write (the process's file size limit, as a full disk does it) keeps no part of the entry."""
    path = str(tmp_path / "run.log")
    result = subprocess.run(
        [sys.executable, "-c", FULL, path], env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    with open(path, "rb") as f:
        assert f.read() == b"first whole entry\n" + b" " * 81 + b"\nnext\n"


TORN_THEN_FULL = textwrap.dedent(
    """
    import errno, resource, signal, sys
    from opencrate_nb.core._appender import Appender
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    path = sys.argv[1]
    appender = Appender(path)
    resource.setrlimit(resource.RLIMIT_FSIZE, (14, resource.RLIM_INFINITY))  # 2 bytes of room
    try:
        appender.append(b"a longer entry\\n")
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    else:
        sys.exit("the write past the limit did not fail")
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    appender.append(b"next\\n")
    """
)


def test_the_torn_line_is_still_ended_when_the_first_entry_after_it_failed(tmp_path):
    path = tmp_path / "cells.jsonl"
    path.write_bytes(b"whole\n{torn")  # 11 bytes: 3 left for the "\n" that ends it and the entry
    result = subprocess.run(
        [sys.executable, "-c", TORN_THEN_FULL, str(path)],
        env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert path.read_bytes() == b"whole\n{torn  \nnext\n"


def test_an_end_mid_line_that_another_writer_is_still_extending_is_left_alone(tmp_path, monkeypatch):
    import time
    import types

    from opencrate_nb.core import _appender

    path = tmp_path / "run.log"
    path.write_bytes(b"whole\nhalf of an ent")  # what a reader sees during another process's append

    def the_other_append_ends(seconds):
        with open(path, "ab") as f:
            f.write(b"ry\n")

    monkeypatch.setattr(_appender, "time", types.SimpleNamespace(sleep=the_other_append_ends, monotonic=time.monotonic))
    Appender(str(path)).append(b"next\n")
    assert path.read_bytes() == b"whole\nhalf of an entry\nnext\n"  # no blank line put in


def test_a_torn_last_line_left_by_a_crash_is_ended_before_the_next_entry(tmp_path):
    path = tmp_path / "cells.jsonl"
    path.write_bytes(b'{"whole": 1}\n{"torn')
    Appender(str(path)).append(b'{"next": 2}\n')
    assert path.read_bytes() == b'{"whole": 1}\n{"torn\n{"next": 2}\n'


def test_an_existing_file_is_appended_to_and_created_when_missing(tmp_path):
    path = tmp_path / "run.log"
    appender = Appender(str(path))
    appender.open()
    assert path.read_bytes() == b""
    appender.append(b"one\n")
    appender.close()
    Appender(str(path)).append(b"two\n")
    assert path.read_bytes() == b"one\ntwo\n"


def test_a_file_removed_behind_our_back_is_opened_again_when_asked(tmp_path):
    folder = tmp_path / "v0" / ".crate"
    folder.mkdir(parents=True)
    path = folder / "cells.jsonl"
    appender = Appender(str(path), reopen=True, recheck=0)
    appender.append(b"old\n")
    path.unlink()
    appender.append(b"new\n")
    assert path.read_bytes() == b"new\n"
    (tmp_path / "v0" / ".crate" / "cells.jsonl").unlink()
    os.rmdir(folder)
    appender.append(b"again\n")  # the version is still there: its .crate folder is made again
    assert path.read_bytes() == b"again\n"


def test_a_removed_version_is_never_made_again(tmp_path):
    import shutil

    folder = tmp_path / "v0" / ".crate"
    folder.mkdir(parents=True)
    appender = Appender(str(folder / "cells.jsonl"), reopen=True, recheck=0)
    appender.append(b"old\n")
    shutil.rmtree(tmp_path / "v0")
    with pytest.raises(FileNotFoundError):
        appender.append(b"lost\n")
    assert not (tmp_path / "v0").exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_appends_through_its_own_open_file(tmp_path):
    path = tmp_path / "run.log"
    appender = Appender(str(path))
    appender.append(b"parent before\n")
    pid = os.fork()
    if pid == 0:
        try:
            appender.append(b"child\n")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    appender.append(b"parent after\n")
    assert path.read_bytes() == b"parent before\nchild\nparent after\n"


def test_the_write_that_keeps_the_interpreter_lock_behaves_as_os_write(tmp_path):
    from opencrate_nb.core import _appender

    write = _appender._bind_write()
    assert write is not os.write or sys.platform == "win32"  # POSIX: the C library's write is called directly
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    assert write(fd, b"one\n") == 4 and write(fd, bytearray(b"two\n")) == 4
    os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"one\ntwo\n"
    with pytest.raises(OSError) as closed:
        write(fd, b"x")
    assert closed.value.errno == errno.EBADF
