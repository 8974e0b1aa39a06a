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
``history()`` / ``load(version=...)``, gc, and ``verify(repair=True)`` (``crate verify --repair``).
The journal is not part of the record: readers of the record never see intents.

Recovery acts only on intents of the shape the writer writes (:func:`intent_problem`): a known
``op``, only its fields and of their types, an artifact path ``<kind folder>/<name>`` inside the
version, a temporary or ``.deleting`` name next to it, hashes in hex. Any other live intent (one a
hand or a hostile program wrote, longer than :data:`MAX_INTENT_BYTES`, nested too deeply), and
one whose recovery failed with an error that is not an ``OSError``, is *set aside*: never acted on,
copied (its start) to ``.crate/journal.rejected.jsonl`` with the problem, warned about once
(:class:`RecoveryWarning`), and reported by ``verify()`` as a ``journal`` problem until that file
is removed. A line that is not JSON at all is what a process killed while writing its intent
leaves (it had touched nothing): it is dropped without a word, as before.
"""

import errno
import hashlib
import json
import os
import re
import time
import warnings
from typing import Any, Optional, Union

from . import _atomic, _objects, record
from ._savelock import PerFolder, version_lock
from ._timelines import MAX_LINE_BYTES, index_for, is_plain, record_entry_error
from .format import local_iso
from .record import RECORD_DIR

JOURNAL_FILE = "journal.jsonl"
#: intents recovery would not act on, set aside (one JSON object a line); ``verify()`` reports them
REJECTED_FILE = "journal.rejected.jsonl"
SLOT = 4096  # bytes per intent: one page, overwritten in place
LIVE, DONE = b"{", b"#"  # the first byte of a slot: an intent in progress, or one that is done
#: the longest intent line read: the longest record line readers take, and the intent's own fields
MAX_INTENT_BYTES = MAX_LINE_BYTES + SLOT
_READ = 1 << 20  # how much of the journal is read at once
_KEPT_OF_LINE = 2000  # characters of a set-aside line kept in REJECTED_FILE for the user to look at
#: no wait on a FIFO put in the journal's place (a regular file ignores O_NONBLOCK)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class RecoveryWarning(UserWarning):
    """An interrupted change was found, or an intent set aside; what recovery did is in the message."""


def journal_path(version_dir: str) -> str:
    return os.path.join(version_dir, RECORD_DIR, JOURNAL_FILE)


def rejected_path(version_dir: str) -> str:
    return os.path.join(version_dir, RECORD_DIR, REJECTED_FILE)


class Rejected:
    """A live intent recovery does not act on: ``problem`` says why; ``head`` is the start of its line,
    ``size`` its length in bytes, ``digest`` the sha256 of what was read of it (one set-aside line
    per distinct intent) and ``offset`` where its slot starts in the journal (None: not known)."""

    __slots__ = ("problem", "head", "size", "digest", "offset")

    def __init__(self, problem: str, head: str = "", size: int = 0, digest: str = "", offset=None) -> None:
        self.problem, self.head, self.size, self.digest, self.offset = problem, head, size, digest, offset

    @classmethod
    def of_line(cls, problem: str, raw: bytes, size: int) -> "Rejected":
        head = raw[: _KEPT_OF_LINE * 4].decode("utf-8", "backslashreplace")[:_KEPT_OF_LINE]
        return cls(problem, head, size, hashlib.sha256(raw).hexdigest())

    def __repr__(self) -> str:
        return f"<Rejected intent: {self.problem}>"


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
        # where this process's intents start: after the live ones a recovery could not finish (an I/O
        # error), kept for the next try, which a change of this process must not overwrite
        self._base = 0
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
        self._fd, self._opened_with, self._open, self._completed, self._base = fd, self.lock.opened, [], False, 0
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
            live = os.pread(fd, 1, 0) == LIVE
        except OSError:
            return False
        if not live:
            self._base = 0  # what recovery left was settled meanwhile (by another process)
        return live

    def keep_live(self) -> None:
        """Recovery could not finish the live intents: they stay, and this process's go after them."""
        try:
            self._base = -(-os.fstat(self._file()).st_size // SLOT) * SLOT
        except OSError:
            pass

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
        offset = self._open[-1][0] + self._open[-1][1] if self._open else self._base
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
            os.ftruncate(self._fd, self._base)
            self._oversized = False

    def complete(self) -> None:
        """A save is recorded: its intent is done. While the save lock is leased (core/_savelock.py)
        the mark waits for the lock to be let go: nobody else reads the journal meanwhile, and one
        write per lease is spared per save. A process killed before marking leaves an intent that
        recovery finds complete and drops without a word."""
        if len(self._open) == 1 and not self._oversized and not self._base:  # the outermost change: the first slot
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
        """The live intents as written (parsed, not checked): recovery and reports take :meth:`intents`."""
        return [intent for _, _, intent, _ in self._parsed() if isinstance(intent, dict)]

    def intents(self) -> tuple[list, list]:
        """(the live intents recovery may act on, the :class:`Rejected` others), each in journal order.

        An intent is acted on only when it has the shape the writer writes (:func:`intent_problem`).
        A line that is not JSON is what a process killed while writing its intent left (it had
        touched nothing): it is in neither list.
        """
        valid, rejected = [], []
        for offset, raw, intent, size in self._parsed():
            if intent is None:
                continue
            if not isinstance(intent, Rejected):
                problem = intent_problem(intent)
                if problem is None:
                    valid.append(intent)
                    continue
                intent = Rejected.of_line(problem, raw, size)
            intent.offset = offset
            rejected.append(intent)
        return valid, rejected

    def _parsed(self) -> list:
        """(where its slot starts, line, its object or a :class:`Rejected` or None when not JSON, its length)
        of every live slot.

        Never raises for what the file holds: a line longer than :data:`MAX_INTENT_BYTES` is not
        parsed, one nested deeper than Python can parse is rejected.
        """
        try:
            fd = os.open(self.path, _READ_FLAGS)
        except FileNotFoundError:
            return []
        found = []
        try:
            offset = 0
            while True:  # an intent starts a slot and takes as many slots as its line needs
                first = os.pread(fd, 1, offset)
                if not first:
                    break
                if first not in (LIVE, DONE):
                    offset += SLOT  # never written
                    continue
                raw, end = _line_at(fd, offset, keep=first == LIVE)
                if first == LIVE:
                    size = end - offset
                    found.append((offset, raw, _parse(raw, size), size))
                offset += -(-(end - offset + 1) // SLOT) * SLOT
        finally:
            os.close(fd)
        return found

    def clear(self) -> None:
        os.ftruncate(self._file(), 0)
        self._open = []
        self._oversized = self._completed = False
        self._base = 0


def _line_at(fd, offset, keep=True):
    """(the line at ``offset``, at most ``MAX_INTENT_BYTES + 1`` of its bytes, and where it ends: its newline
    or the end of the file). ``keep=False``: only where it ends."""
    parts, kept, at = [], 0, offset
    while True:
        chunk = os.pread(fd, _READ, at)
        if not chunk:
            return b"".join(parts), at
        newline = chunk.find(b"\n")
        piece = chunk if newline < 0 else chunk[:newline]
        if keep and kept <= MAX_INTENT_BYTES:
            piece = piece[: MAX_INTENT_BYTES + 1 - kept]
            parts.append(piece)
            kept += len(piece)
        if newline >= 0:
            return b"".join(parts), at + newline
        at += len(chunk)


def _parse(raw, size):
    """The object of an intent line, a :class:`Rejected` (too long, too deep), or None (torn: not JSON)."""
    if size > MAX_INTENT_BYTES:
        return Rejected.of_line(f"the line is {size:,} bytes long, more than an intent can be", raw, size)
    try:
        intent = json.loads(raw)
    except RecursionError:
        return Rejected.of_line("the line is nested too deeply to read", raw, size)
    except ValueError:  # UnicodeDecodeError too: the dead process was killed while writing it
        return None
    if not isinstance(intent, dict):
        return Rejected.of_line(f"the line is a JSON {type(intent).__name__}, not an object", raw, size)
    return intent


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
        fd = os.open(journal_path(version_dir), _READ_FLAGS)
    except OSError:
        return False
    try:
        return os.pread(fd, 1, 0) == LIVE
    except OSError:
        return False  # not a file (a FIFO, a folder): nothing that recovery could read
    finally:
        os.close(fd)


def pending(version_dir: str) -> list:
    """The intents of interrupted changes that recovery will act on (for reports)."""
    if not _maybe_pending(version_dir):
        return []
    with version_lock(version_dir):
        journal = journal_for(version_dir)
        if not journal.orphaned():
            return []
        return [intent for intent in journal.intents()[0] if not _complete(version_dir, intent)]


def rejected(version_dir: str) -> list:
    """The :class:`Rejected` intents of a version, once each: those set aside in ``.crate/journal.rejected.jsonl``
    and those of the journal that the next recovery sets aside (for reports)."""
    if not _maybe_pending(version_dir) and not os.path.lexists(rejected_path(version_dir)):
        return []
    with version_lock(version_dir):
        found = _set_aside_before(version_dir)
        if _maybe_pending(version_dir):
            journal = journal_for(version_dir)
            if journal.orphaned():
                found += journal.intents()[1]
    seen: set = set()
    unique = []
    for item in found:
        if not item.digest or item.digest not in seen:
            seen.add(item.digest)
            unique.append(item)
    return unique


def _set_aside_before(version_dir):
    """What earlier recoveries set aside (``REJECTED_FILE``, read under the record's one rule for lines)."""
    found = []
    for entry in index_for(version_dir).lines(REJECTED_FILE):
        problem, digest = entry.get("problem"), entry.get("digest")
        if type(problem) is not str:
            problem = "an entry that does not say what was wrong"
        offset = entry.get("offset")
        offset = offset if type(offset) is int and offset >= 0 else None
        found.append(Rejected(problem[:1000], "", 0, digest if _atomic.is_sha256(digest) else "", offset))
    return found


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
    """With the save lock held: roll every orphaned intent forward or back, then empty the journal.

    Intents not of the writer's shape are set aside first (:func:`_set_aside`), never acted on.
    An ``OSError`` while finishing an intent (a full disk, a permission) leaves the journal as it
    is, with a warning, for the next use of the version; any other error sets that intent aside
    and recovery goes on: the version stays usable either way.
    """
    journal = journal_for(version_dir)
    if not journal.orphaned():
        return []
    try:
        intents, refused = journal.intents()
    except OSError as exc:
        warnings.warn(
            f"Could not read the journal of interrupted changes {journal.path}: {exc}. It stays as it is; run "
            "`crate verify --repair` once the cause is fixed.",
            RecoveryWarning,
            stacklevel=3,
        )
        return []
    _set_aside(version_dir, refused)
    done = []
    for intent in intents:
        try:
            what = _RECOVER[intent["op"]](version_dir, intent)
            if what is not None:  # None: it was complete, only not marked done
                done.append(what)
        except OSError as exc:
            journal.keep_live()
            warnings.warn(
                f"Could not finish the interrupted {describe(intent)} in {version_dir}: {exc}. "
                "It stays in the journal; run `crate verify --repair` once the cause is fixed.",
                RecoveryWarning,
                stacklevel=3,
            )
            return done
        except Exception as exc:  # noqa: BLE001 - a bug or an unforeseen state must not make the version unusable
            raw = record.encode_json(intent).encode("utf-8", "backslashreplace")
            _set_aside(
                version_dir,
                [
                    Rejected.of_line(
                        f"recovering the {describe(intent)} failed: {type(exc).__name__}: {exc!s:.300}", raw, len(raw)
                    )
                ],
            )
    journal.clear()
    if done:
        warnings.warn(
            f"Recovered interrupted changes in {version_dir}: {'; '.join(done)}.", RecoveryWarning, stacklevel=3
        )
    return done


def _set_aside(version_dir, refused):
    """Keep intents that recovery does not act on in ``REJECTED_FILE`` (once each), with one warning each."""
    if not refused:
        return
    known = {item.digest for item in _set_aside_before(version_dir)}
    for item in refused:
        if item.digest in known:
            continue  # set aside already (the journal was kept for an intent that could not be finished)
        known.add(item.digest)
        line = {"time": local_iso(time.time()), "problem": item.problem, "offset": item.offset, "size": item.size}
        line.update(digest=item.digest, line=item.head)
        try:
            record.append_line(version_dir, line, file=REJECTED_FILE)
            kept = f"its start is kept in {RECORD_DIR}/{REJECTED_FILE} (`crate verify` reports it until that file is removed)"
        except OSError as exc:
            kept = f"it could not be kept in {RECORD_DIR}/{REJECTED_FILE} ({exc})"
        at = "" if item.offset is None else f" (at byte {item.offset:,})"
        warnings.warn(
            f"Set aside an intent in {journal_path(version_dir)}{at} that recovery does not act on: {item.problem}. "
            f"Nothing was changed for it; {kept}.",
            RecoveryWarning,
            stacklevel=4,
        )


# -- what the writer writes ------------------------------------------------------------------------
#: the fields of each kind of intent, as core/_writer.py writes them (a field it always writes
#: may be missing: it reads as null), and the fields of the record entry each embeds
_FIELDS = {
    "save": {"entry", "op", "old", "ino", "tmp"},
    "backup": {"entry", "op", "ino", "tmp"},
    "delete": {"entry", "op", "old", "doomed"},
    "custom": {"entry", "op", "old"},
}
_RECORD_FIELDS = {"op", "name", "kind", "path", "size", "sha256", "time", "cell"}
_ENTRY_FIELDS = {
    "save": _RECORD_FIELDS,
    "backup": _RECORD_FIELDS | {"of"},
    "delete": _RECORD_FIELDS,
    "custom": {"op", "name", "kind", "path"},
}
_ENTRY_OP = {"save": "save", "backup": "backup", "delete": "delete", "custom": "save"}
_NAME_MAX = 255  # bytes of one file name part (Linux, macOS)
_DOOMED = re.compile(r"\.[0-9a-f]{8}\.deleting")


def intent_problem(intent: Any) -> Optional[str]:
    """Why recovery must not act on ``intent``, or None when it has the shape the writer writes.

    A known ``op``; an ``entry`` whose ``path`` is a kind folder and a name, neither hidden (so
    never into ``.crate``), inside the version; ``tmp`` (save, backup) a temporary name and
    ``doomed`` (delete) a ``.deleting`` name next to it, as the writer makes them; only the fields
    the writer writes for that ``op``, in the intent and in its entry; an entry that is a valid
    record entry of the right ``op``, of plain values, named as its path says, with a size and
    sha256 for a save or backup and none for a delete; ``old`` a sha256 in hex or null, ``ino``
    a whole number or null. The paths come first: they say what recovery would touch.
    """
    if type(intent) is not dict:
        return f"it is a JSON {type(intent).__name__}, not an object"
    op = intent.get("op")
    if type(op) is not str or op not in _FIELDS:
        return f'"op" is {_shown(op)}, not one of {", ".join(sorted(_FIELDS))}'
    entry = intent.get("entry")
    if type(entry) is not dict:
        return f'"entry" is {_shown(entry)}, not an object'
    problem = _artifact_path_problem(entry.get("path"))
    if problem is not None:
        return f'"entry.path" {problem}'
    rel: str = entry["path"]
    folder, _, base = rel.rpartition("/")
    for field, shape in (("tmp", "a temporary file"), ("doomed", "a .deleting name")):
        value = intent.get(field)
        if value is None:
            continue
        problem = _path_problem(value)
        if problem is not None:
            return f'"{field}" {problem}'
        there, _, leaf = value.rpartition("/")
        made = _atomic.is_temp_name(leaf) if field == "tmp" else _DOOMED.fullmatch(leaf, len(base) + 1) is not None
        if there != folder or not leaf.startswith(f".{base}.") or not made:
            return f'"{field}" {_shown(value)} is not {shape} next to {_shown(rel)}, as the writer names it'
    extra = sorted(key for key in intent if key not in _FIELDS[op])
    if extra:
        return f"a {op} intent has no field {_shown(extra[0])}"
    extra = sorted(key for key in entry if key not in _ENTRY_FIELDS[op])
    if extra:
        return f'the "entry" of a {op} intent has no field {_shown(extra[0])}'
    if entry.get("op") != _ENTRY_OP[op]:
        return f'"entry.op" is {_shown(entry.get("op"))}, not "{_ENTRY_OP[op]}"'
    problem = record_entry_error(entry)
    if problem is not None:
        return f"in its entry, {problem}"
    if not is_plain(entry):
        return '"entry.cell" holds a value that is not text, a number, true, false or null'
    name = entry.get("name")
    if name is not None and name != base:
        return f'"entry.name" {_shown(name)} is not the name in "entry.path" {_shown(rel)}'
    size, sha = entry.get("size"), entry.get("sha256")
    if op in ("save", "backup") and (type(size) is not int or not _atomic.is_sha256(sha)):
        return f"the entry of a {op} has no size and sha256"
    if op == "delete" and (size is not None or sha is not None):
        return "the entry of a delete has a size or sha256"
    old = intent.get("old")
    if old is not None and not _atomic.is_sha256(old):
        return f'"old" is {_shown(old)}, not a sha256 in hex'
    ino = intent.get("ino")
    if ino is not None and (type(ino) is not int or ino < 0):
        return f'"ino" is {_shown(ino)}, not an inode number'
    return None


def _shown(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _path_problem(value):
    """Why ``value`` is not a relative, normalised ``/``-path of real names inside the version, or None."""
    if type(value) is not str:
        return f"is {_shown(value)}, not a path"
    if not value or value.startswith("/") or "\\" in value:
        return f"{_shown(value)} is not a relative path"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return f"{_shown(value)} holds NUL or another control character"
    parts = value.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return f"{_shown(value)} is not a path inside the version (an empty, '.' or '..' part)"
    try:
        if any(len(part.encode("utf-8")) > _NAME_MAX for part in parts):
            return f"{_shown(value)} has a part longer than {_NAME_MAX} bytes"
    except UnicodeEncodeError:
        return f"{_shown(value)} is not valid Unicode"
    return None


def _artifact_path_problem(value):
    """:func:`_path_problem`, and the shape of an artifact's path: a kind folder and a name, neither hidden."""
    problem = _path_problem(value)
    if problem is not None:
        return problem
    parts = value.split("/")
    if len(parts) != 2 or any(part.startswith(".") for part in parts):
        return f"{_shown(value)} is not <kind folder>/<name> (neither hidden)"
    return None


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


#: the recovery of each kind of change (the keys are those of :data:`_FIELDS`)
_RECOVER = {
    "save": _recover_save,
    "backup": _recover_backup,
    "delete": _recover_delete,
    "custom": _recover_custom,
}
