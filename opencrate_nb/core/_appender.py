"""Whole entries appended to an append-only file that several processes write: the run log, ``cells.jsonl``.

Each file is opened once (``O_APPEND``) and every entry goes in with one ``os.write`` while
that file's own ``flock`` is held: a few system calls, no lock file and no Python lock
machinery per entry (a cell's capture writes two entries). The lock is what lets a write the
disk cuts short be taken back: the file is truncated to where the entry started, which is
only safe while nobody else can append behind it, so no torn entry is left for the next one
to glue onto. Every writer of these files goes through this module.
"""

from __future__ import annotations

import errno
import os
import threading
from typing import Optional

from ._atomic import note_failure

try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows: the thread lock only
    _fcntl = None  # type: ignore[assignment]

_forks = [0]  # how many forks this process is from the one that opened a file: a child opens its own


def _forked() -> None:
    _forks[0] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)

_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class Appender:
    """Appends whole entries to the file at ``path``.

    ``reopen``: when the file was removed behind our back (its folder deleted and made again),
    open the file under ``path`` anew instead of writing into the removed one; the folder is
    made only when its parent exists (a removed version is never made again from here).
    """

    def __init__(self, path: str, reopen: bool = False) -> None:
        self.path = path
        self.reopen = reopen
        self._fd: Optional[int] = None
        self._pid = 0
        self._fork = 0
        self._checked = False  # the end of the file was looked at since it was opened
        self._lock = threading.Lock()  # flock is per open file: threads of one process need this too

    def open(self) -> None:
        """Open (or create) the file now, so that it exists before the first entry."""
        with self._lock:
            self._open()

    def _open(self) -> int:
        self._close_fd()
        try:
            fd = os.open(self.path, _FLAGS, 0o644)
        except FileNotFoundError:
            folder = os.path.dirname(self.path)
            if not self.reopen or not os.path.isdir(os.path.dirname(folder)):
                raise
            os.makedirs(folder, exist_ok=True)
            fd = os.open(self.path, _FLAGS, 0o644)
        self._fd, self._pid, self._fork, self._checked = fd, os.getpid(), _forks[0], False
        return fd

    def append(self, data: bytes) -> None:
        """Write ``data`` (whole lines) at the end; on failure none of it stays, and the error is raised."""
        with self._lock:
            fd = self._fd
            if fd is None or self._fork != _forks[0]:
                fd = self._open()  # first use, or a forked child: its own open file, its own lock
            if _fcntl is None:  # pragma: no cover - Windows: appends of this process only
                _write(fd, data)
                return
            _fcntl.flock(fd, _fcntl.LOCK_EX)
            if self.reopen and _removed(fd):
                _fcntl.flock(fd, _fcntl.LOCK_UN)
                fd = self._open()
                _fcntl.flock(fd, _fcntl.LOCK_EX)
            try:
                if not self._checked:
                    size = os.fstat(fd).st_size
                    if size and os.pread(fd, 1, size - 1) != b"\n":
                        data = b"\n" + data  # a torn last line (a process killed mid-line): end it first
                _write(fd, data)
                self._checked = True
            finally:
                _fcntl.flock(fd, _fcntl.LOCK_UN)

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None and self._pid == os.getpid():
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        """Close the file (it is opened again by the next append)."""
        with self._lock:
            self._close_fd()


def _removed(fd: int) -> bool:
    try:
        return os.fstat(fd).st_nlink == 0
    except OSError:
        return True


def _write(fd: int, data: bytes) -> None:
    """Append all of ``data`` with (nearly always) one ``os.write``; what a failure left written is cut off again.

    Cutting is safe because the caller holds the file's lock: nobody appended behind us.
    """
    done = 0
    try:
        done = os.write(fd, data)
        while done < len(data):  # a short write: the disk is full, or a signal came
            written = os.write(fd, memoryview(data)[done:])
            if written <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            done += written
    except OSError as exc:
        note_failure(exc)
        if done:
            try:
                os.ftruncate(fd, os.fstat(fd).st_size - done)
            except OSError:
                pass
        raise
