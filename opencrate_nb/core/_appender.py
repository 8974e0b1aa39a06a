"""Whole entries appended to an append-only file that several processes write: the run log, ``cells.jsonl``.

Each file is opened once (``O_APPEND``) and every entry goes in with one ``os.write`` while
that file's own ``flock`` is held: a few system calls, no lock file and no Python lock
machinery per entry (a cell's capture writes two entries). The lock is what lets a write the
disk cuts short be taken back: the file is truncated to where the entry started, which is
only safe while nobody else can append behind it, so no torn entry is left for the next one
to glue onto. Every writer of these files goes through this module.
"""

from __future__ import annotations

import os
import threading
from typing import Optional

from ._atomic import note_failure, write_all

try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows: the thread lock only
    _fcntl = None  # type: ignore[assignment]

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
        self._fd, self._pid, self._checked = fd, os.getpid(), False
        return fd

    def append(self, data: bytes) -> None:
        """Write ``data`` (whole lines) at the end; on failure none of it stays, and the error is raised."""
        with self._lock:
            fd = self._fd
            if fd is None or self._pid != os.getpid():
                fd = self._open()  # first use, or a forked child: its own open file, its own lock
            if _fcntl is None:  # pragma: no cover - Windows
                self._write(fd, os.lseek(fd, 0, os.SEEK_END), data)
                return
            status = self._lock_file(fd)
            if status.st_nlink == 0 and self.reopen:
                _fcntl.flock(fd, _fcntl.LOCK_UN)
                fd = self._open()
                status = self._lock_file(fd)
            try:
                if not self._checked:
                    self._checked = True
                    if status.st_size and os.pread(fd, 1, status.st_size - 1) != b"\n":
                        data = b"\n" + data  # a torn last line (a process killed mid-line): end it first
                self._write(fd, status.st_size, data)
            finally:
                _fcntl.flock(fd, _fcntl.LOCK_UN)

    @staticmethod
    def _lock_file(fd: int) -> os.stat_result:
        """Take the file's lock; its state (the end where the entry will start) once nobody else appends."""
        _fcntl.flock(fd, _fcntl.LOCK_EX)
        try:
            return os.fstat(fd)
        except BaseException:
            _fcntl.flock(fd, _fcntl.LOCK_UN)
            raise

    @staticmethod
    def _write(fd: int, start: int, data: bytes) -> None:
        try:
            write_all(fd, data)
        except OSError as exc:
            note_failure(exc)
            try:
                os.ftruncate(fd, start)  # take back what was written (nobody appends while we hold the lock)
            except OSError:
                pass
            raise

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
