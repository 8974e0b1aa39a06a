"""The save lock of a version: one writer at a time across threads and processes.

``<version>/.crate/save.lock`` serialises "keep the old content, move the new file into
place, write the record line" (history), and what garbage collection and verify decide
while saves may be running, so nobody sees a content on disk that the record does not yet
mention. The run environment's writer takes it too.
"""

import os
import threading
from typing import Any

from . import record as _record  # a module, not a name: record imports this module too

LOCK_FILE = "save.lock"

try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows
    _fcntl = None  # type: ignore[assignment]
try:
    import msvcrt as _msvcrt
except ImportError:
    _msvcrt = None  # type: ignore[assignment]


class VersionLock:
    """An exclusive lock of one version folder, across threads and processes.

    Held while an artifact's old file is kept, the new one is moved into place and its
    record line is written, and while garbage collection decides what to delete, so
    that nobody ever sees a content on disk that the record does not yet mention.
    Re-entrant within a thread. The lock file stays open between uses.
    """

    def __init__(self, version_dir):
        self.path = os.path.join(version_dir, _record.RECORD_DIR, LOCK_FILE)
        self._thread_lock = threading.RLock()
        self.depth = 0  #: how many times the holding thread has taken the lock (1: the outermost hold)
        self._fd = None
        self._pid = None
        self.opened = 0  # how many times the lock file was opened: the journal reopens its file after each

    def _open(self):
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd = os.open(self.path, flags, 0o644)
        except FileNotFoundError:
            folder = os.path.dirname(self.path)
            if not os.path.isdir(os.path.dirname(folder)):
                raise  # the version folder is gone (reset): never make it again from here
            os.makedirs(folder, exist_ok=True)
            self._fd = os.open(self.path, flags, 0o644)
        self._pid = _pid[0]
        self.opened += 1

    def _lock_file(self):
        if self._fd is None or self._pid != _pid[0] or os.fstat(self._fd).st_nlink == 0:
            self._open()  # first use, after a fork, or the folder was removed and made again
        if _fcntl is not None:
            _fcntl.flock(self._fd, _fcntl.LOCK_EX)
        elif _msvcrt is not None:  # pragma: no cover - Windows
            import time

            while True:
                try:
                    os.lseek(self._fd, 0, os.SEEK_SET)
                    _msvcrt.locking(self._fd, _msvcrt.LK_NBLCK, 1)
                    return
                except OSError:
                    time.sleep(0.005)

    def _unlock_file(self):
        if self._fd is None:
            return
        if _fcntl is not None:
            _fcntl.flock(self._fd, _fcntl.LOCK_UN)
        elif _msvcrt is not None:  # pragma: no cover - Windows
            os.lseek(self._fd, 0, os.SEEK_SET)
            _msvcrt.locking(self._fd, _msvcrt.LK_UNLCK, 1)

    def acquire(self):
        self._thread_lock.acquire()
        if self.depth == 0:
            try:
                self._lock_file()
            except BaseException:
                self._thread_lock.release()
                raise
        self.depth += 1

    def release(self):
        self.depth -= 1
        try:
            if self.depth == 0:
                self._unlock_file()
        finally:
            self._thread_lock.release()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


_pid = [os.getpid()]  # this process's id, without a system call per save


def _after_fork():
    _pid[0] = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def process_id() -> int:
    """``os.getpid()``, kept up to date across forks (the lock and the journal reopen their files in a child)."""
    return _pid[0]


class PerFolder:
    """One object per version folder and process, made by ``make(absolute folder)`` on first use.

    The save lock and the journal are kept this way: every save asks for both, so a folder
    already seen costs one dict lookup (callers pass absolute folders; a relative one is made
    absolute first).
    """

    def __init__(self, make: Any) -> None:
        self._make = make
        self._made: dict[str, Any] = {}
        self._guard = threading.Lock()

    def __call__(self, version_dir: str) -> Any:
        found = self._made.get(version_dir)
        if found is not None:
            return found
        key = os.path.abspath(version_dir)
        found = self._made.get(key)
        if found is None:
            with self._guard:
                found = self._made.get(key)
                if found is None:
                    found = self._made[key] = self._make(key)
        return found


#: the :class:`VersionLock` of a version folder (one object per folder and process)
version_lock = PerFolder(VersionLock)
