"""Whole entries appended to an append-only file that several processes write: the run log, ``cells.jsonl``.

Each file is opened once (``O_APPEND``) and every entry goes in with one ``os.write``: the
kernel places a single append at the end of the file as one piece, whoever else appends at
the same time, so no lock is taken (a cell's capture writes two entries, and each system
call a kernel's main thread makes hands the interpreter to its other threads). A write the
disk cuts short is detected and the part that did get written is blanked out in place, so
no torn entry is left for the next one to glue onto. Every writer of these files goes
through this module.
"""

from __future__ import annotations

import errno
import os
import threading
import time
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

#: seconds between two looks for a removed file (``Appender(reopen=True)``)
RECHECK_SECONDS = 0.5

_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class Appender:
    """Appends whole entries to the file at ``path``.

    ``reopen``: when the file was removed behind our back (its folder deleted and made again),
    open the file under ``path`` anew instead of writing into the removed one; the folder is
    made only when its parent exists (a removed version is never made again from here). That
    is looked at (one ``fstat``) at most every ``recheck`` seconds, not for every entry.
    """

    def __init__(self, path: str, reopen: bool = False, recheck: float = RECHECK_SECONDS) -> None:
        self.path = path
        self.reopen = reopen
        self.recheck = recheck
        self._fd: Optional[int] = None
        self._pid = 0
        self._fork = 0
        self._next_check = 0.0  # time.monotonic() after which a removed file is looked for again
        self._checked = False  # the end of the file was looked at since it was opened
        self._lock = threading.Lock()  # opening and blanking: one thread at a time

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
        """Write ``data`` (whole lines) at the end with one ``os.write``; on failure none of it stays, and
        the error is raised."""
        with self._lock:
            fd = self._fd
            if fd is None or self._fork != _forks[0] or (self.reopen and self._removed(fd)):
                fd = self._open()  # first use, a forked child (its own open file), or the file was removed
            if not self._checked and _ends_mid_line(fd):
                data = b"\n" + data  # a torn last line (a process killed mid-line): end it first
            try:
                written = _write(fd, data)
            except OSError as exc:  # nothing was written
                note_failure(exc)
                raise
            if written != len(data):
                _blank(fd, written)
                short = OSError(
                    errno.ENOSPC, f"{os.strerror(errno.ENOSPC)}: only {written} of {len(data)} bytes written"
                )
                note_failure(short)
                raise short
            self._checked = True

    def _removed(self, fd: int) -> bool:
        now = time.monotonic()
        if now < self._next_check:
            return False
        self._next_check = now + self.recheck
        return _removed(fd)

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


def _write(fd: int, data: bytes) -> int:
    """``os.write``, but keeping the interpreter lock where the C library can be called that way.

    ``os.write`` lets the lock go for the call; in a kernel, the thread that sends messages then
    takes it and the cell waits until that thread lets go again: measured 60-70 us per entry at
    the end of every cell, against a few microseconds for the write itself (a small append to
    the page cache). Bound once, at the first entry (ctypes is not imported before).
    """
    global _write
    _write = _bind_write()
    return _write(fd, data)


def _bind_write():
    try:
        import ctypes

        libc = ctypes.PyDLL(None, use_errno=True)  # PyDLL: calls keep the interpreter lock
        c_write = libc.write
        c_write.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t)
        c_write.restype = ctypes.c_ssize_t
    except (ImportError, OSError, AttributeError):  # no C library to call (Windows): the plain write
        return os.write

    def write_holding_the_lock(fd: int, data: bytes) -> int:
        if type(data) is not bytes:
            data = bytes(data)
        while True:
            written = c_write(fd, data, len(data))
            if written >= 0:
                return written
            code = ctypes.get_errno()
            if code != errno.EINTR:
                raise OSError(code, os.strerror(code))

    return write_holding_the_lock


#: how long a file that ends mid-line is watched for another writer's append in progress
TAIL_SETTLE_SECONDS = (0.001, 0.004, 0.016)


def _ends_mid_line(fd: int) -> bool:
    """Whether the file ends in the middle of a line that nobody is still writing (a killed writer's).

    Another process's append may be under way: the file's size grows page by page during
    one write, so its end seen meanwhile is mid-entry. Such an end moves within moments; a
    torn one stays. A wrong guess only costs a blank line, which readers skip.
    """
    size = os.fstat(fd).st_size
    for pause in (*TAIL_SETTLE_SECONDS, None):
        if not size or os.pread(fd, 1, size - 1) == b"\n":
            return False
        if pause is None:
            return True
        time.sleep(pause)
        later = os.fstat(fd).st_size
        if later == size:
            return True
        size = later
    return True


def _removed(fd: int) -> bool:
    try:
        return os.fstat(fd).st_nlink == 0
    except OSError:
        return True


def _blank(fd: int, count: int) -> None:
    """Turn the ``count`` bytes a short write left at the end of our write into a blank line.

    Others may have appended behind them already (nobody waits for anybody), so they are
    overwritten in place rather than cut off: the part of the entry is gone, the entries after
    it start on a line of their own, and readers skip a blank line (a log reads it as an empty
    continuation line). Overwriting needs no new blocks, so it works on a full disk.
    """
    if count <= 0:
        return
    end = os.lseek(fd, 0, os.SEEK_CUR)  # an O_APPEND write leaves the offset at its own end
    flags = _fcntl.fcntl(fd, _fcntl.F_GETFL) if _fcntl is not None else None
    try:
        if flags is not None:
            _fcntl.fcntl(fd, _fcntl.F_SETFL, flags & ~os.O_APPEND)  # pwrite would append otherwise (Linux)
        os.pwrite(fd, b" " * (count - 1) + b"\n", end - count)
    except OSError:
        pass  # the next entry still starts after a newline: see Appender._checked
    finally:
        if flags is not None:
            _fcntl.fcntl(fd, _fcntl.F_SETFL, flags)


_shared: dict[str, Appender] = {}
_shared_guard = threading.Lock()


def shared(path: str) -> Appender:
    """This process's one appender of a file in a version's record folder (opened again if it is removed)."""
    appender = _shared.get(path)
    if appender is None:
        with _shared_guard:
            appender = _shared.setdefault(path, Appender(path, reopen=True))
    return appender


def close_shared() -> None:
    """Close the shared appenders' files (each setup and reset: the next entry opens the file under its path)."""
    with _shared_guard:
        for appender in _shared.values():
            appender.close()
