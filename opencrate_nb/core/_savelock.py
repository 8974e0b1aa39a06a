"""The save lock of a version: one writer at a time across threads and processes.

``<version>/.crate/save.lock`` serialises "keep the old content, move the new file into
place, write the record line" (history), and what garbage collection and verify decide
while saves may be running, so nobody sees a content on disk that the record does not yet
mention. The run environment's writer takes it too.
"""

import atexit
import os
import threading
import time
from typing import Any, Optional

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


#: How long this process keeps the file lock after its last use (seconds), and for how long at most
#: while it keeps using it. Saves in a loop then take the file lock once per LEASE_MAX instead of
#: twice per save (a flock pair, a stat and a read of the journal); another process waits at most
#: about this long more for its turn.
LEASE_IDLE = 0.02
LEASE_MAX = 0.01


class VersionLock:
    """An exclusive lock of one version folder, across threads and processes.

    Held while an artifact's old file is kept, the new one is moved into place and its
    record line is written, and while garbage collection decides what to delete, so
    that nobody ever sees a content on disk that the record does not yet mention.
    Re-entrant within a thread. The lock file stays open between uses.

    The file lock is leased: let go by the last holder, it stays taken for this process
    until it has been idle for :data:`LEASE_IDLE` (a background thread lets it go), or at
    the next letting go once it was held for :data:`LEASE_MAX`. ``fresh`` says whether the
    outermost hold took the file lock anew (then what another process left must be looked at).
    ``before_let_go`` runs just before the file lock is let go (the journal marks its last
    intent done there).
    """

    def __init__(self, version_dir):
        self.path = os.path.join(version_dir, _record.RECORD_DIR, LOCK_FILE)
        self._thread_lock = threading.RLock()
        self.depth = 0  #: how many times the holding thread has taken the lock (1: the outermost hold)
        self._fd = None
        self._pid = None
        self.opened = 0  # how many times the lock file was opened: the journal reopens its file after each
        self.fresh = True  #: whether the outermost hold took the file lock anew
        self.taken = 0  #: how many times this process took the file lock anew (what it saw since holds)
        self._index: Optional[tuple] = None  # (taken, the record index) as our last record line left it
        self.before_let_go: Optional[Any] = None
        self._held_by: Optional[int] = None  # the process holding the file lock (a forked child does not)
        self._held_since = 0.0
        self._idle_since = 0.0
        # the lock file's descriptor was inherited by a forked child: a flock belongs to the open
        # file, which the child keeps, so a lock taken through it would outlive this process
        self._shared = False

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
        if self._fd is None or self._pid != _pid[0] or self._shared or os.fstat(self._fd).st_nlink == 0:
            self._open()  # first use, after a fork (in the child, or shared with one), or the folder was made anew
            self._shared = False
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
            if self._held_by == _pid[0]:
                self.fresh = False  # still leased: nobody else can have changed anything
            else:
                try:
                    self._lock_file()
                except BaseException:
                    self._thread_lock.release()
                    raise
                self.fresh = True
                self.taken += 1
                self._held_by = _pid[0]
                self._held_since = time.monotonic()
        self.depth += 1

    def release(self):
        self.depth -= 1
        try:
            if self.depth == 0:
                now = time.monotonic()
                if _fcntl is None or now - self._held_since >= LEASE_MAX:
                    self._let_go()
                else:
                    self._idle_since = now
                    if self not in _keeper.leased:  # else watched already (a save in a loop)
                        _keeper.watch(self)
        finally:
            self._thread_lock.release()

    def _let_go(self):
        """Let the file lock go (the thread lock held, depth 0)."""
        if self._held_by != _pid[0]:
            return
        self._held_by = None
        try:
            if self.before_let_go is not None:
                self.before_let_go()
        finally:
            self._unlock_file()

    def note_index(self, index: Optional[Any]) -> None:
        """The record index this process's record line just extended (None: it was not)."""
        self._index = (self.taken, index) if index is not None else None

    def complete_index(self) -> Optional[Any]:
        """That index, while nobody else can have written the record since (the file lock held, or
        leased, without a break): no look at the record file needed. None otherwise."""
        known = self._index
        return known[1] if known is not None and known[0] == self.taken else None

    def let_go_if_idle(self, idle: float = 0.0, then: Any = None) -> bool:
        """Let the leased file lock go if no thread holds the lock and it was idle ``idle`` seconds;
        ``then()`` runs after, still under the thread lock. True when it is not held any more."""
        if not self._thread_lock.acquire(blocking=False):
            return False
        try:
            if self._held_by == _pid[0]:
                if self.depth or time.monotonic() - self._idle_since < idle:
                    return False
                self._let_go()
            if then is not None:
                then()
            return True
        finally:
            self._thread_lock.release()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


class _LeaseKeeper:
    """The background thread that lets leased file locks go once idle (started on the first lease)."""

    def __init__(self):
        self.leased: set = set()  # read without the guard by VersionLock.release: a set lookup per save
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def watch(self, lock: VersionLock) -> None:
        if lock in self.leased and self._thread is not None:
            return  # the common case: a save in a loop (a set lookup, no lock)
        with self._guard:
            self.leased.add(lock)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="opencrate-lease", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self):
        while True:
            self._wake.wait()
            time.sleep(LEASE_IDLE)
            self.sweep(LEASE_IDLE)
            with self._guard:
                if not self.leased:
                    self._wake.clear()

    def sweep(self, idle: float = 0.0) -> None:
        """Let go every leased file lock that no thread holds and that was idle ``idle`` seconds
        (idle 0: at exit, before a fork, in tests)."""
        with self._guard:
            leased = list(self.leased)
        for lock in leased:
            try:
                # forgotten under the lock's thread lock: a save that leases it again watches it again
                lock.let_go_if_idle(idle, then=lambda lock=lock: self._forget(lock))
            except Exception:  # noqa: BLE001 - the lease thread must outlive any one lock's trouble
                self._forget(lock)  # its file is gone (a removed folder): nothing left to let go

    def _forget(self, lock):
        with self._guard:
            self.leased.discard(lock)

    def after_fork_in_child(self):
        self.leased, self._guard, self._wake, self._thread = set(), threading.Lock(), threading.Event(), None


_keeper = _LeaseKeeper()


def let_go_leases() -> None:
    """Let go the file locks this process keeps leased (tests call it before looking at the files)."""
    _keeper.sweep()


def forget_indexes() -> None:
    """A record file was replaced or removed here: no lock vouches for an index any more."""
    for lock in list(version_lock._made.values()):
        lock.note_index(None)


_pid = [os.getpid()]  # this process's id, without a system call per save


def _after_fork():
    _pid[0] = os.getpid()
    _keeper.after_fork_in_child()


def _after_fork_in_parent():
    """The children hold our lock files open (DataLoader workers live as long as training): the
    next taking of each lock opens its file anew, so that no child can keep a lock of ours taken."""
    for lock in list(version_lock._made.values()):
        lock._shared = True


if hasattr(os, "register_at_fork"):
    # a child must not inherit a leased lock: it would keep it taken after this process died
    os.register_at_fork(before=let_go_leases, after_in_child=_after_fork, after_in_parent=_after_fork_in_parent)
atexit.register(let_go_leases)


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
