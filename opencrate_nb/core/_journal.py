"""The intent journal of a version (``.crate/journal.jsonl``) and the recovery rule.

Every change of an artifact (save, backup, delete) writes one intent line here, under the
version's save lock, *before* it touches the artifact's name; the record line completes it
and the intent is marked done (its first byte becomes ``#``) before the lock is let go. So
whoever takes the lock and finds a live intent (a slot starting with ``{``) knows that a
process died in the middle of a change, and finishes it:

- the new content is under the name (same inode as staged, or same hash): roll forward,
  i.e. append the record line the dead process did not write;
- the old content is still there: roll back, i.e. remove what the dead process left
  (its temporary file, or a custom handler's half-written content, replaced by the kept
  old one).

Recovery runs at the next use of the version: a save (when it takes the lock), setup,
``history()`` / ``load(version=...)``, and ``verify(repair=True)`` (``crate verify --repair``).
The journal is not part of the record: readers of the record never see intents.
"""

import errno
import json
import os
import warnings
from typing import Optional, Union

from . import _atomic, _objects, record
from ._savelock import PerFolder, version_lock
from ._timelines import index_for
from .record import RECORD_DIR

JOURNAL_FILE = "journal.jsonl"
SLOT = 4096  # bytes per intent: one page, overwritten in place
LIVE, DONE = b"{", b"#"  # the first byte of a slot: an intent in progress, or one that is done


class RecoveryWarning(UserWarning):
    """An interrupted change was found; what recovery did is in the message."""


def journal_path(version_dir: str) -> str:
    return os.path.join(version_dir, RECORD_DIR, JOURNAL_FILE)


class Journal:
    """The journal file of one version, kept open (one object per version and process).

    Use only with the version's save lock held.
    """

    def __init__(self, version_dir):
        self.version_dir = version_dir
        self.path = journal_path(version_dir)
        self.lock = version_lock(version_dir)  #: the version's save lock, held whenever the journal is used
        self._fd = None
        self._opened_with = -1  # the lock's ``opened`` count when this file was opened
        self._open = []  # offsets of this process's intents not yet completed (nested changes)
        self._oversized = False  # an intent took more than one slot: empty the file when done
        self._completed = False  # the first slot holds a completed save's intent, to mark done before letting go
        self.abandoned = False  #: an intent of this process was left for recovery: look before the next change
        self.lock.before_let_go = self._mark_completed

    def _file(self):
        """The open journal, still the file under its name.

        The journal lives and dies with the version's ``.crate`` folder, as the lock file
        does, and the lock checks its own file each time it is taken (reopening it after a
        fork or when the folder was removed and made again): while the lock has not
        reopened its file since the journal opened this one, this one is current too.
        """
        fd = self._fd
        if fd is not None and self._opened_with == self.lock.opened:
            return fd
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o644)
        except FileNotFoundError:
            if not os.path.isdir(self.version_dir):
                raise
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            fd = os.open(self.path, flags, 0o644)
        self._fd, self._opened_with, self._open, self._completed = fd, self.lock.opened, [], False
        return fd

    def orphaned(self) -> bool:
        """Whether intents of a dead process wait (call right after taking the lock)."""
        try:
            fd = self._file()  # first: a reopened file (after a fork) has nothing of this process's
        except OSError:
            return False
        if self._open or self._completed:
            return False
        self.abandoned = False
        try:
            return os.pread(fd, 1, 0) == LIVE
        except OSError:
            return False

    def begin(self, intent: Union[dict, bytes], entry_line: Optional[bytes] = None) -> None:
        """Write the intent of a change, whole, before the change touches anything.

        Intents go in fixed slots that are overwritten in place, so that once the journal has
        its first block a change costs no allocation (and a full disk cannot stop the intent).
        Only the intent's line is written: what an earlier, longer intent left after it in its
        slot is never read (:meth:`read` looks only where slots start). ``entry_line`` is the
        record line the change will append (``record.encode_line``): it becomes the intent's
        ``entry`` without being encoded again. ``intent`` may come encoded (bytes of a JSON object).
        """
        fd = self._fd
        if fd is None or self._opened_with != self.lock.opened:
            fd = self._file()
        line = intent if type(intent) is bytes else record.encode_json(intent).encode("utf-8")
        if entry_line is not None:
            line = b'{"entry":' + entry_line.rstrip(b"\n") + (b"," + line[1:] if len(line) > 2 else b"}")
        line += b"\n"
        size = -(-len(line) // SLOT) * SLOT
        offset = self._open[-1][0] + self._open[-1][1] if self._open else 0
        try:
            if os.pwrite(fd, line, offset) != len(line):
                _pwrite_all(fd, line, offset)
        except OSError as exc:
            _atomic.note_failure(exc)
            try:
                os.pwrite(fd, DONE, offset)
            except OSError:
                pass
            raise
        self._oversized = self._oversized or size > SLOT
        self._open.append((offset, size))
        if offset == 0:
            self._completed = False  # its slot is this intent's now

    def end(self) -> None:
        """The change is complete (recorded) or undone: its intent is marked done."""
        if not self._open or self._fd is None:
            return
        offset, _ = self._open.pop()
        os.pwrite(self._fd, DONE, offset)
        if not self._open and self._oversized:
            os.ftruncate(self._fd, 0)
            self._oversized = False

    def complete(self) -> None:
        """A save is recorded: its intent is done. While the save lock is leased (core/_savelock.py)
        the mark waits for the lock to be let go: nobody else reads the journal meanwhile, and one
        write per lease is spared per save. A process killed before marking leaves an intent that
        recovery finds complete and drops without a word."""
        if len(self._open) == 1 and not self._oversized:  # the outermost change: the first slot
            self._open.pop()
            self._completed = True
        else:
            self.end()

    def _mark_completed(self) -> None:
        if self._completed:
            self._completed = False
            if self._fd is not None:
                try:
                    os.pwrite(self._fd, DONE, 0)
                except OSError:
                    pass  # the version folder is gone, or the disk failed: recovery finds the save complete

    def abandon(self) -> None:
        """A change failed half-way and could not be undone: leave its intent for recovery."""
        if self._open:
            self._open.pop()
            self.abandoned = True

    def read(self) -> list:
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        intents = []
        offset = 0
        while offset < len(data):  # an intent starts a slot and takes as many slots as its line needs
            first = data[offset : offset + 1]
            if first not in (LIVE, DONE):
                offset += SLOT  # never written
                continue
            end = data.find(b"\n", offset)
            end = len(data) if end < 0 else end
            if first == LIVE:
                try:
                    intent = json.loads(data[offset:end])
                except (ValueError, UnicodeDecodeError):
                    intent = None  # the dead process was killed while writing it: it never touched anything
                if isinstance(intent, dict) and isinstance(intent.get("entry"), dict):
                    intents.append(intent)
            offset += -(-(end - offset + 1) // SLOT) * SLOT
        return intents

    def clear(self) -> None:
        os.ftruncate(self._file(), 0)
        self._open = []
        self._oversized = self._completed = False


def _pwrite_all(fd, data, offset):
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view, offset = view[written:], offset + written


#: the :class:`Journal` of a version folder (one object per folder and process)
journal_for = PerFolder(Journal)


def _maybe_pending(version_dir):
    """A cheap look without the lock: does the journal's first slot hold a live intent?"""
    try:
        with open(journal_path(version_dir), "rb") as f:
            return f.read(1) == LIVE
    except OSError:
        return False


def pending(version_dir: str) -> list:
    """The intents of interrupted changes (for reports)."""
    if not _maybe_pending(version_dir):
        return []
    with version_lock(version_dir):
        journal = journal_for(version_dir)
        if not journal.orphaned():
            return []
        return [intent for intent in journal.read() if not _complete(version_dir, intent)]


def describe(intent: dict) -> str:
    entry = intent["entry"]
    return f"{intent.get('op', '?')} of {entry.get('path')!r}"


def recover_if_pending(version_dir: str) -> list:
    """Finish or undo interrupted changes of a version, if any. Returns what was done."""
    if not _maybe_pending(version_dir):
        return []
    with version_lock(version_dir):
        return recover(version_dir)


def recover(version_dir: str) -> list:
    """With the save lock held: roll every orphaned intent forward or back, then empty the journal."""
    journal = journal_for(version_dir)
    if not journal.orphaned():
        return []
    done = []
    for intent in journal.read():
        try:
            what = _RECOVER[intent.get("op")](version_dir, intent)
            if what is not None:  # None: it was complete, only not marked done
                done.append(what)
        except KeyError:
            done.append(f"ignored an unknown intent {intent.get('op')!r}")
        except OSError as exc:
            warnings.warn(
                f"Could not finish the interrupted {describe(intent)} in {version_dir}: {exc}. "
                "It stays in the journal; run `crate verify --repair` once the cause is fixed.",
                RecoveryWarning,
                stacklevel=2,
            )
            return done
    journal.clear()
    if done:
        warnings.warn(
            f"Recovered interrupted changes in {version_dir}: {'; '.join(done)}.", RecoveryWarning, stacklevel=2
        )
    return done


# -- the rule, per kind of change -----------------------------------------------------------------
def _full(version_dir, rel):
    return os.path.join(version_dir, *rel.split("/"))


def _content_hash(path):
    if os.path.isdir(path):
        return _atomic.hash_tree(path)[0]
    return _atomic.hash_file(path)


def _holds(path, entry, ino):
    """Whether ``path`` holds the content of ``entry`` (the staged inode, or the same hash)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if ino is not None and st.st_ino == ino and st.st_size == entry.get("size"):
        return True
    if not os.path.isdir(path) and st.st_size != entry.get("size"):
        return False
    return _content_hash(path) == entry.get("sha256")


def _recorded_sha(version_dir, rel):
    """The hash the record has as current for ``rel`` (None: nothing or deleted)."""
    timeline = index_for(version_dir).timelines.get(rel)
    current = timeline.current() if timeline is not None else None
    return current.sha256 if current is not None else False if timeline is None else None


def _append(version_dir, entry):
    record.append_line(version_dir, dict(entry, recovered=True))


def _remove(version_dir, rel):
    if rel:
        _atomic.remove_quietly(_full(version_dir, rel))


def _complete(version_dir, intent):
    """A save or backup whose record line was written: its process died before marking it done
    (core/_savelock.py leases the lock; the mark waits for the lease to end)."""
    if intent.get("op") not in ("save", "backup"):
        return False
    entry = intent["entry"]
    return _recorded_sha(version_dir, entry.get("path")) == entry.get("sha256")


def _recover_save(version_dir, intent):
    entry = intent["entry"]
    rel = entry["path"]
    recorded = _complete(version_dir, intent)
    forward = recorded or _holds(_full(version_dir, rel), entry, intent.get("ino"))
    _remove(version_dir, intent.get("tmp"))  # the new content not moved in, or the old one swapped out
    if recorded:
        return None  # complete: its process died before marking the intent done
    if not forward:
        return f"undid the unfinished {describe(intent)}"
    _append(version_dir, entry)
    return f"finished the {describe(intent)}"


_recover_backup = _recover_save


def _recover_delete(version_dir, intent):
    entry = intent["entry"]
    rel = entry["path"]
    if os.path.lexists(_full(version_dir, rel)):
        return f"undid the unfinished {describe(intent)}"  # never renamed away
    if _recorded_sha(version_dir, rel) not in (None, False):
        _append(version_dir, entry)
    _remove(version_dir, intent.get("doomed"))
    return f"finished the {describe(intent)}"


def _recover_custom(version_dir, intent):
    """A custom handler wrote in place and died: its content goes back to the kept old one."""
    entry = intent["entry"]
    rel = entry["path"]
    path = _full(version_dir, rel)
    old = intent.get("old")
    now = _content_hash(path) if os.path.lexists(path) else None
    recorded = _recorded_sha(version_dir, rel)
    if now == old or (now is not None and now == recorded):
        return f"found the {describe(intent)} {'not started' if now == old else 'complete'}"
    if old is not None and _objects.content_path(version_dir, old) is None:
        return f"could not undo the {describe(intent)}: its old content was not kept"
    _objects.restore(version_dir, old, path)
    return f"undid the unfinished {describe(intent)}"


_RECOVER = {
    "save": _recover_save,
    "backup": _recover_backup,
    "delete": _recover_delete,
    "custom": _recover_custom,
}
