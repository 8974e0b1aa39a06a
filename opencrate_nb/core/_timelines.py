"""The record index: the one reader of a version's record files (``.crate/*.jsonl``).

Everything that asks "what does this version hold, and what has each artifact held" asks
:func:`index_for`: current entries, one timeline per artifact (every content it has had,
from when until when), backups in the order they were made, the notebook cells that saved
them (``cells.jsonl``) and the lines that could not be read. The index of a version is
cached by the record file's identity (device, inode) and extended by reading only the
bytes appended since the last call, so asking it again costs one ``stat``.

One rule for lines that cannot be used, in every file:

- a line without its newline yet is not read (a writer may be in the middle of it);
- a line that is not valid JSON is salvaged when a complete object follows a torn start
  (a crash cut a line short, and the next write glued onto it); otherwise it is skipped;
- a line that is longer than :data:`MAX_LINE_BYTES`, nested deeper than Python can parse,
  not UTF-8, not a JSON object, or whose fields have the wrong types is skipped.

Each skipped or salvaged line is warned about once (:class:`~opencrate_nb.core.record.RecordWarning`)
and listed in :attr:`RecordIndex.problems`, which UIs show.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import threading
import warnings
from contextlib import AbstractContextManager
from typing import Any, Callable, Optional, Union

from . import _atomic
from . import record as _record
from .format import from_local_iso

_INDEX_CACHE_SIZE = 64
#: Lines longer than this are skipped unread (a record line is a few hundred bytes).
MAX_LINE_BYTES = 1 << 20
#: The cell log holds whole cell sources, so its lines may be longer.
MAX_CELL_LINE_BYTES = 16 << 20
#: how much of a record file is read at once: what a reader holds in memory beyond one line
READ_CHUNK = 8 << 20
RECORD_OPS = ("save", "backup", "delete")

Entry = dict[str, Any]


# ------------------------------------------------------------------------------------------------
# times
# ------------------------------------------------------------------------------------------------
def parse_time(text: Any) -> Optional[float]:
    """An ISO 8601 time from the record -> POSIX timestamp (None when unreadable)."""
    if not isinstance(text, str):
        return None
    recent = from_local_iso(text)
    if recent is not None:
        return recent
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.astimezone()
    return value.timestamp()


def to_timestamp(when: Union[_dt.datetime, _dt.date, str, int, float]) -> float:
    """A datetime, date, ISO string or POSIX number -> POSIX timestamp. Naive times are local."""
    if isinstance(when, bool):
        raise TypeError(f"at= needs a datetime or an ISO 8601 string, got {when!r}.")
    if isinstance(when, (int, float)):
        return float(when)
    if isinstance(when, _dt.datetime):
        return (when if when.tzinfo else when.astimezone()).timestamp()
    if isinstance(when, _dt.date):
        return _dt.datetime(when.year, when.month, when.day).astimezone().timestamp()
    if isinstance(when, str):
        stamp = parse_time(when.strip())
        if stamp is None:
            raise ValueError(f"at={when!r} is not an ISO 8601 time: use e.g. '2026-11-22T20:31:05' or a datetime.")
        return stamp
    raise TypeError(f"at= needs a datetime or an ISO 8601 string, got {type(when).__name__}.")


# ------------------------------------------------------------------------------------------------
# what a valid line holds
# ------------------------------------------------------------------------------------------------
def _text_error(entry: Entry, field: str, required: bool = False) -> Optional[str]:
    value = entry.get(field)
    if value is None:
        return f'"{field}" is missing' if required else None
    if type(value) is not str:
        return f'"{field}" is {type(value).__name__}, not a string'
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f'"{field}" is not valid Unicode'
    return None


def _count_error(entry: Entry, field: str) -> Optional[str]:
    value = entry.get(field)
    if value is None or (type(value) is int and value >= 0):
        return None
    return f'"{field}" is {value!r:.40}, not a whole number of bytes'


def _cell_error(cell: Any) -> Optional[str]:
    if cell is None:
        return None
    if type(cell) is not dict:
        return f'"cell" is {type(cell).__name__}, not an object'
    count = cell.get("execution_count")
    if count is not None and type(count) is not int:
        return '"cell.execution_count" is not a whole number'
    return _text_error(cell, "cell_id")


def _path_error(path: str) -> Optional[str]:
    if "\x00" in path or "\\" in path or path.startswith("/"):
        return f'"path" {path!r:.80} is not a relative path'
    if (path.startswith(".") or "/." in path or "//" in path or path.endswith("/")) and any(
        part in ("", ".", "..") for part in path.split("/")
    ):
        return f'"path" {path!r:.80} is not a path inside the version'
    return None


_OPTIONAL_TEXT = ("name", "kind", "time", "of")


def _is_common(entry: Entry) -> bool:
    """True for a line of the shape the writer writes, checked in one pass: exactly the fields of
    ``record.make_entry`` (and a backup's "of"), every text field ASCII, a relative path with no part
    that is empty or starts with ".", a whole size, a sha256 in hex, a numbered cell.

    It says yes only to lines that :func:`record_entry_error`'s detailed checks accept too; any
    other line (False) gets those checks, which say what is wrong. Reading 10,000 lines costs
    one call per line here instead of a dozen.
    """
    try:
        text = entry["op"] + entry["path"] + entry["name"] + entry["kind"] + entry["time"]
        size, sha, cell = entry["size"], entry["sha256"], entry["cell"]
        if len(entry) != 8:
            text += entry["of"]
            if len(entry) != 9:
                return False
    except (KeyError, TypeError):  # a field missing, or not text (a kind of None): the detailed checks decide
        return False
    path = entry["path"]
    if entry["op"] not in RECORD_OPS or not text.isascii() or not path or path[0] in "/." or path[-1] == "/":
        return False
    if "\x00" in path or "\\" in path or "/." in path or "//" in path:
        return False
    if size is not None and (type(size) is not int or size < 0):
        return False
    if sha is not None and not _atomic.is_sha256(sha):
        return False
    if cell is None:
        return True
    if type(cell) is not dict:
        return False
    count, cell_id = cell.get("execution_count"), cell.get("cell_id")
    return (count is None or type(count) is int) and (cell_id is None or (type(cell_id) is str and cell_id.isascii()))


def record_entry_error(entry: Entry) -> Optional[str]:
    """Why a record line's object cannot be used (wrong types, a path leaving the version), or None.

    Operations other than save, backup and delete are kept (for writers newer than this
    reader) but only their ``op`` is checked; they change no timeline.
    """
    return None if _is_common(entry) else _entry_error(entry)


def _entry_error(entry: Entry) -> Optional[str]:
    """The detailed checks of a record line, each saying what is wrong."""
    error = _text_error(entry, "op", required=True)
    if error or entry["op"] not in RECORD_OPS:
        return error
    error = _text_error(entry, "path", required=True) or _path_error(entry["path"])
    if error:
        return error
    for field in _OPTIONAL_TEXT:
        error = _text_error(entry, field)
        if error:
            return error
    error = _count_error(entry, "size") or _cell_error(entry.get("cell"))
    sha = entry.get("sha256")
    if error is None and sha is not None and not _atomic.is_sha256(sha):
        error = f'"sha256" is {sha!r:.40}, not a sha256 in hex'
    return error


def cell_entry_error(entry: Entry) -> Optional[str]:
    """Why a ``cells.jsonl`` object cannot be used, or None."""
    error = _cell_error(entry) or _text_error(entry, "time") or _text_error(entry, "source")
    return error


def _any_object(entry: Entry) -> Optional[str]:
    return None


# ------------------------------------------------------------------------------------------------
# one append-only JSON-lines file, read incrementally under the one rule
# ------------------------------------------------------------------------------------------------
class LineProblem:
    """A line that was skipped, or salvaged (``salvaged``: its torn start was dropped)."""

    __slots__ = ("file", "line", "reason", "salvaged")

    def __init__(self, file: str, line: int, reason: str, salvaged: bool) -> None:
        self.file, self.line, self.reason, self.salvaged = file, line, reason, salvaged

    def __str__(self) -> str:
        what = "read the complete entry after a torn start" if self.salvaged else "skipped"
        return f"{self.file} line {self.line}: {what} ({self.reason})"

    def __repr__(self) -> str:
        return f"<LineProblem {self}>"


_warned: set[tuple[str, Any, int]] = set()
_warned_unreadable: set[tuple[str, str]] = set()  # (path, why): files that are there but not readable as lines
_warned_guard = threading.Lock()


def _warn_once(path: str, identity: Any, problem: LineProblem) -> None:
    key = (path, identity, problem.line)
    with _warned_guard:
        if key in _warned:
            return
        _warned.add(key)
    what = "Read the entry after the torn start of" if problem.salvaged else "Skipped"
    warnings.warn(f"{what} line {problem.line} of {path}: {problem.reason}.", _record.RecordWarning, stacklevel=4)


def _parse_all(chunk: bytes, lines: list[bytes], max_line: int) -> Optional[list[Any]]:
    """Every line of ``chunk`` (``lines``, split at its newlines) parsed in one ``json.loads`` call
    (several times faster than a call per line), or None when a line is empty, too long, not
    ``{...}``, torn, or holds more than one value: then each line is read on its own, under the rule."""
    # every line is {...} when the chunk is and each newline stands between "}" and "{"
    if chunk[:1] != b"{" or chunk[-1:] != b"}" or chunk.count(b"}\n{") != len(lines) - 1:
        return None
    if max(map(len, lines)) > max_line:
        return None
    try:
        parsed = json.loads(b"[" + b",".join(lines) + b"]")
    except (ValueError, RecursionError):
        return None
    return parsed if len(parsed) == len(lines) else None


def _loads(raw: bytes) -> tuple[Any, Optional[str]]:
    try:
        return json.loads(raw), None
    except RecursionError:
        return None, "nested too deeply"
    except UnicodeDecodeError:
        return None, "not UTF-8"
    except ValueError:
        return None, "torn or not JSON"


_PLAIN_TYPES = (str, int, bool, type(None))


def is_plain(entry: Any) -> bool:
    """Whether ``entry`` is a dict of str, int, bool, None (or a dict of those): it survives JSON unchanged."""
    if type(entry) is not dict:
        return False
    for key, value in entry.items():
        if type(key) is not str:
            return False
        kind = type(value)
        if kind is dict:
            if not all(type(k) is str and type(v) in _PLAIN_TYPES for k, v in value.items()):
                return False
        elif kind not in _PLAIN_TYPES:
            return False
    return True


class LineFile:
    """The entries of one JSON-lines file, kept current by reading only what was appended."""

    def __init__(
        self,
        path: str,
        label: str,
        check: Callable[[Entry], Optional[str]],
        marker: Optional[bytes],
        max_line: int,
    ) -> None:
        self.path, self.label, self.check, self.marker, self.max_line = path, label, check, marker, max_line
        self._clear()

    def _clear(self) -> None:
        self.identity: Optional[tuple[int, int]] = None
        self.offset = 0
        self.line_count = 0
        self.entries: list[Entry] = []
        self.problems: list[LineProblem] = []
        self.pending = 0  # bytes after the last newline: a line being written, or torn by a crash
        self._skipping = False  # read past the start of a line too long to be one, up to its newline
        self._pending_mtime = 0
        self._tail = b""

    @property
    def exists(self) -> bool:
        return self.identity is not None

    def _read(self, chunk: bytes) -> None:
        """Take the complete lines of ``chunk`` (which ends before its last newline) under the rule."""
        lines = chunk.split(b"\n")
        parsed = _parse_all(chunk, lines, self.max_line) if len(lines) > 1 else None
        first = self.line_count
        if parsed is not None:
            check = self.check
            usable = [type(entry) is dict and check(entry) is None for entry in parsed]
            if all(usable):  # the usual case: every line as the writer wrote it
                self.entries.extend(parsed)
                self.line_count = first + len(lines)
                return
        for number, raw in enumerate(lines):
            self.line_count = first + number + 1  # the line number a problem names
            if parsed is not None and usable[number]:
                self.entries.append(parsed[number])
            elif raw.strip() or parsed is not None:
                self._take(raw)  # says why, once

    def update(self) -> tuple[bool, list[Entry]]:
        """(started over, the entries appended since the last update). A missing file reads as empty."""
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            existed = self.identity is not None
            self._clear()
            return existed, []
        except OSError as exc:  # a symbolic link loop, no permission
            return self._unreadable(exc.strerror or str(exc))
        what = _atomic.not_a_file(st.st_mode)
        if what is not None:
            return self._unreadable(f"it is {what}, not a file")
        identity = (st.st_dev, st.st_ino)
        restart = identity != self.identity or st.st_size < self.offset
        if not restart and st.st_size == self.offset:
            self.pending = 0
            return False, []
        if not restart and st.st_size == self.offset + self.pending and st.st_mtime_ns == self._pending_mtime:
            return False, []  # the same unfinished last line as before: not read again
        try:
            f = _atomic.open_regular(self.path)
        except OSError as exc:  # replaced since the stat
            return self._unreadable(exc.strerror or str(exc))
        with f:
            if not restart and self._tail:
                f.seek(self.offset - len(self._tail))
                restart = f.read(len(self._tail)) != self._tail  # rewritten in place: read it anew
            if restart:
                self._clear()
                self.identity = identity
                f.seek(0)
            start = len(self.entries)
            self.pending = self._read_from(f)
        self._pending_mtime = st.st_mtime_ns
        return restart, self.entries[start:]

    def _read_from(self, f) -> int:
        """Read ``f`` from ``offset`` to its end, :data:`READ_CHUNK` at a time, so that memory stays
        bounded whatever the file holds (a crash can leave gigabytes of NUL bytes without a newline).
        A line growing past ``max_line`` is reported at once and read past, up to its newline, even
        across updates. Returns the length of the partial last line, kept for the next update."""
        carry = b""
        while True:
            block = f.read(READ_CHUNK)
            if not block:
                return len(carry)
            if self._skipping:
                newline = block.find(b"\n")
                cut = len(block) if newline < 0 else newline + 1
                self.offset += cut
                self._tail = (self._tail + block[:cut])[-32:]
                if newline < 0:
                    continue
                self._skipping = False
                block = block[cut:]
            data = carry + block if carry else block
            end = data.rfind(b"\n")
            if end >= 0:
                self._read(data[:end])
                self.offset += end + 1
                self._tail = data[max(0, end - 31) : end + 1]
                carry = data[end + 1 :]
            else:
                carry = data
            if len(carry) > self.max_line:
                self.line_count += 1
                self._problem(f"more than {self.max_line:,} bytes long, more than a record line can be", False)
                self.offset += len(carry)
                self._tail = carry[-32:]
                carry, self._skipping = b"", True

    def _unreadable(self, reason: str) -> tuple[bool, list[Entry]]:
        """The file is there but cannot be read as lines (a folder, a FIFO, a link loop): read as
        missing, with one warning."""
        existed = self.identity is not None
        self._clear()
        with _warned_guard:
            if (self.path, reason) in _warned_unreadable:
                return existed, []
            _warned_unreadable.add((self.path, reason))
        warnings.warn(f"Cannot read {self.path}: {reason}; read as missing.", _record.RecordWarning, stacklevel=4)
        return existed, []

    def appended(
        self, identity: tuple[int, int], start: int, line: bytes, entry: Entry, plain: bool = False
    ) -> Optional[Entry]:
        """This process appended ``line`` (the encoding of the writer's ``entry``) at ``start``: take it
        without reading the file back.

        Only when this file was read up to ``start`` (same file, nothing pending). An entry of
        plain JSON values (what ``record.make_entry`` builds; ``plain``: the writer knows it is)
        is taken as it is, unchecked: it equals what a reader would parse; anything else is
        parsed from ``line`` and checked. Returns the entry taken, or None (then the next
        :meth:`update` reads it from the file).
        """
        if identity != self.identity or start != self.offset or self.pending or self._skipping:
            return None
        if not plain and not is_plain(entry):
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):
                return None
            if type(entry) is not dict or self.check(entry) is not None:
                return None
        self.entries.append(entry)
        self.line_count += 1
        self.offset = start + len(line)
        self._tail = (self._tail + line)[-32:]
        return entry

    def _take(self, raw: bytes) -> None:
        salvaged = False
        if len(raw) > self.max_line:
            self._problem(f"{len(raw):,} bytes long, more than a record line can be", False)
            return
        entry, reason = _loads(raw)
        if reason is not None:
            at = raw.rfind(self.marker) if self.marker else -1
            if at <= 0:
                self._problem(reason, False)
                return
            entry, second = _loads(raw[at:])
            if second is not None:
                self._problem(reason, False)
                return
            salvaged = True
        if not isinstance(entry, dict):
            self._problem(f"a JSON {type(entry).__name__}, not an object", False)
            return
        error = self.check(entry)
        if error is not None:
            self._problem(error, False)
            return
        if salvaged:
            self._problem("its start was lost", True)
        self.entries.append(entry)

    def _problem(self, reason: str, salvaged: bool) -> None:
        problem = LineProblem(self.label, self.line_count, reason, salvaged)
        self.problems.append(problem)
        _warn_once(self.path, self.identity, problem)


# ------------------------------------------------------------------------------------------------
# timelines
# ------------------------------------------------------------------------------------------------
class Content:
    """One distinct content in an artifact's timeline (consecutive saves of it are merged)."""

    __slots__ = ("sha256", "size", "time", "until", "cell", "saves", "kind", "op", "last_time", "_ts")

    def __init__(self, entry: Entry) -> None:
        self.sha256: Optional[str] = entry.get("sha256")
        self.size: Optional[int] = entry.get("size")
        self.time: Optional[str] = entry.get("time")
        self.last_time = self.time
        self.until: Optional[str] = None
        self.cell: Optional[dict] = entry.get("cell")
        self.saves = 1
        self.kind: Optional[str] = entry.get("kind")
        self.op: Optional[str] = entry.get("op")
        self._ts: Any = False

    @property
    def timestamp(self) -> Optional[float]:
        """When this content was last saved, as a POSIX timestamp."""
        if self._ts is False:
            self._ts = parse_time(self.last_time)
        return self._ts


class Timeline:
    """The contents of one artifact path, oldest first; ``deleted`` when the last one was deleted."""

    __slots__ = ("path", "name", "kind", "contents", "deleted", "pruned")

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = path.rsplit("/", 1)[-1]
        self.kind: Optional[str] = None
        self.contents: list[Content] = []
        self.deleted: Any = None
        self.pruned = 0  # earlier contents that retention has already dealt with (in this process)

    def current(self) -> Optional[Content]:
        if self.deleted or not self.contents:
            return None
        return self.contents[-1]

    def earlier(self) -> list[Content]:
        return self.contents if self.deleted else self.contents[:-1]

    def retained(self, keep: int) -> set[str]:
        """Hashes whose objects retention keeps: the current content and the last ``keep`` earlier ones."""
        earlier = self.earlier()
        chosen = earlier[max(len(earlier) - keep, 0) :] if keep > 0 else []
        current = self.current()
        if current is not None:
            chosen = [*chosen, current]
        return {c.sha256 for c in chosen if c.sha256 is not None}


def apply_current(current: dict[str, Entry], entry: Entry) -> None:
    """The rule for what a version holds: a save or backup makes its path current, a delete removes it."""
    op = entry.get("op")
    if op == "delete":
        current.pop(entry["path"], None)
    elif op in ("save", "backup"):
        current[entry["path"]] = entry


# ------------------------------------------------------------------------------------------------
# the index of one version
# ------------------------------------------------------------------------------------------------
class RecordIndex:
    """The record of one version read into current entries, timelines and backups, kept up to date.

    ``has_record`` is False (and ``rebuilt`` True) when the version has no record: its
    entries are then described from the files (unhashed), and read anew on every refresh.
    """

    def __init__(self, version_dir: str) -> None:
        self.version_dir = version_dir
        folder = os.path.join(version_dir, _record.RECORD_DIR)
        self.record_path = os.path.join(folder, _record.RECORD_FILE)
        self._record = LineFile(
            self.record_path,
            f"{_record.RECORD_DIR}/{_record.RECORD_FILE}",
            record_entry_error,
            b'{"op":',
            MAX_LINE_BYTES,
        )
        self._cells = LineFile(
            os.path.join(folder, _record.CELLS_FILE),
            f"{_record.RECORD_DIR}/{_record.CELLS_FILE}",
            cell_entry_error,
            b'{"execution_count":',
            MAX_CELL_LINE_BYTES,
        )
        self._others: dict[str, LineFile] = {}
        self._guard = threading.RLock()
        self._wanted = False  # timelines were asked for: keep them current on every refresh
        self._clear()

    def _clear(self) -> None:
        self._timelines: dict[str, Timeline] = {}
        self._hash_paths: dict[str, set[str]] = {}
        self._timed = 0  # entries applied to the timelines so far: they are built when first asked for
        self.current: dict[str, Entry] = {}
        self._backups: dict[tuple[str, str], list[str]] = {}
        self.has_record = False
        self.rebuilt = False
        self._rebuilt_entries: list[Entry] = []

    # -- reading -------------------------------------------------------------------------------
    def refresh(self) -> RecordIndex:
        """Read what was appended to the record since the last call (or everything, if it changed)."""
        with self._guard:
            restart, new = self._record.update()
            if not self._record.exists:
                self._clear()
                self._load_from_files()
                return self
            if restart or self.rebuilt:
                self._clear()
                new = self._record.entries
            self.has_record = True
            self._apply_all(new)
            if self._wanted:
                self._catch_up()  # timelines handed out before stay current
        return self

    def appended(self, identity: tuple[int, int], start: int, line: bytes, entry: Entry, plain: bool = False) -> bool:
        """A record line this process wrote (see :meth:`LineFile.appended`): applied in memory.

        True when it was (the index then holds the whole record, as of the end of that line).
        """
        with self._guard:
            if self.rebuilt:
                return False
            taken = self._record.appended(identity, start, line, entry, plain)
            if taken is None:
                return False
            self.has_record = True
            if taken["op"] == "save":  # the usual line, made current in line (as :meth:`_apply_all` does)
                self.current[taken["path"]] = taken
            else:
                self.apply(taken)  # timelines catch up when next asked for: a first save needs none
            return True

    def record_end(self) -> Optional[tuple[tuple[int, int], int]]:
        """(identity, size) of the record file as this index has read it whole, or None (no record
        read, or a partial line at its end). The writer's word for where its next line goes, while
        it holds the save lock without a break since its last line (no stat of the file: a stat
        makes the kernel stamp the next write with a fine-grained time, dirtying the inode each save).
        """
        record = self._record
        if self.rebuilt or record.identity is None or record.pending or record._skipping:
            return None
        return record.identity, record.offset

    def _load_from_files(self) -> None:
        self.rebuilt = True
        self._rebuilt_entries = _record.scan_files(self.version_dir, with_hash=False)
        for entry in self._rebuilt_entries:
            self.apply(entry)

    def _apply_all(self, entries: list[Entry]) -> None:
        """:meth:`apply` of each entry, with the usual one (a save) made current in line: a cold read
        of 10,000 lines makes one call per backup or delete, not one per line."""
        current, apply = self.current, self.apply
        for entry in entries:
            if entry["op"] == "save":  # every usable line has its op
                current[entry["path"]] = entry
            else:
                apply(entry)

    def apply(self, entry: Entry) -> None:
        """Add one (valid) record entry to the current entries and backups (timelines follow when asked)."""
        op = entry.get("op")
        if op not in RECORD_OPS:
            return
        path = entry["path"]
        apply_current(self.current, entry)
        if op == "backup" and entry.get("of"):
            folder = path.rsplit("/", 1)[0] if "/" in path else ""
            self._backups.setdefault((folder, entry["of"]), []).append(entry.get("name") or path.rsplit("/", 1)[-1])

    def _catch_up(self) -> None:
        """Apply the entries read since the timelines were last asked for (listing needs no timelines)."""
        if self._wanted and self._timed == len(self.entries):
            return  # nothing new (a save asks two or three times): no lock, no slice
        with self._guard:
            self._wanted = True
            entries = self.entries
            for entry in entries[self._timed :]:
                if entry.get("op") in RECORD_OPS:
                    self._add_to_timeline(entry)
            self._timed = len(entries)

    def _add_to_timeline(self, entry: Entry) -> None:
        op, path = entry["op"], entry["path"]
        timeline = self._timelines.get(path)
        if timeline is None:
            timeline = self._timelines[path] = Timeline(path)
        if op == "delete":
            if timeline.contents and not timeline.deleted:
                timeline.contents[-1].until = entry.get("time")
            timeline.deleted = entry.get("time") or True
            return
        sha = entry.get("sha256")
        last = timeline.contents[-1] if timeline.contents else None
        if last is not None and not timeline.deleted and sha is not None and last.sha256 == sha:
            last.saves += 1
            last.last_time = entry.get("time") or last.last_time
            last._ts = False
            if entry.get("size") is not None:
                last.size = entry.get("size")
            return
        if last is not None and not timeline.deleted:
            last.until = entry.get("time")
        timeline.deleted = None
        timeline.contents.append(Content(entry))
        timeline.kind = entry.get("kind") or timeline.kind
        if entry.get("name"):
            timeline.name = entry["name"]
        if sha:
            self._hash_paths.setdefault(sha, set()).add(path)

    @property
    def timelines(self) -> dict[str, Timeline]:
        """path -> :class:`Timeline` of every path the record mentions."""
        self._catch_up()
        return self._timelines

    @property
    def hash_paths(self) -> dict[str, set[str]]:
        """sha256 -> the paths that have held that content."""
        self._catch_up()
        return self._hash_paths

    # -- questions -----------------------------------------------------------------------------
    @property
    def lock(self) -> AbstractContextManager[Any]:
        """Held while the index is extended: hold it to read several of its parts as of one moment."""
        return self._guard

    @property
    def entries(self) -> list[Entry]:
        """Every usable record entry, oldest first (described from the files when there is no record)."""
        return self._rebuilt_entries if self.rebuilt else self._record.entries

    @property
    def problems(self) -> list[LineProblem]:
        """The record lines that were skipped or salvaged, and a last line without its end (which is
        read once it is complete; a crashed writer's torn line is ended by the next save)."""
        problems = self._record.problems
        if self._record.pending:
            end = LineProblem(
                self._record.label, self._record.line_count + 1, "no end of line yet: torn, or being written", False
            )
            problems = [*problems, end]
        return problems

    @property
    def bad_lines(self) -> list[tuple[int, bool]]:
        """(line number, salvaged) of each record line that was not read as it was written."""
        return [(p.line, p.salvaged) for p in self._record.problems]

    @property
    def offset(self) -> int:
        """Bytes of the record read so far."""
        return self._record.offset

    def current_entries(self) -> dict[str, Content]:
        """path -> Content of what the version holds now (by the record)."""
        out = {}
        for path, timeline in self.timelines.items():
            current = timeline.current()
            if current is not None:
                out[path] = current
        return out

    def current_entry(self, path: str) -> Optional[Entry]:
        """The newest save or backup entry of ``path``, unless it was deleted since."""
        return self.current.get(path)

    def backups_of(self, path: str) -> list[str]:
        """The names of the backups of the artifact at ``path``, in the order they were made."""
        folder, _, name = path.rpartition("/")
        return list(self._backups.get((folder, name), ()))

    def retained_hashes(self, keep: int) -> set[str]:
        kept: set[str] = set()
        for timeline in self.timelines.values():
            kept |= timeline.retained(keep)
        return kept

    # -- the cell log and other files of .crate ------------------------------------------------------
    def cells(self) -> list[Entry]:
        """The usable entries of ``cells.jsonl`` (one per executed notebook cell), oldest first."""
        with self._guard:
            self._cells.update()
            return self._cells.entries

    def cell_problems(self) -> list[LineProblem]:
        with self._guard:
            self._cells.update()
            return self._cells.problems

    def saving_cell(self, cell: Any, before: Optional[str] = None) -> Optional[Entry]:
        """The ``cells.jsonl`` entry of the cell a record entry's ``cell`` points to, or None.

        Kernel restarts reuse execution counts, so the newest matching cell that started no
        later than ``before`` (the save's ISO time, when given) wins; a ``cell_id`` match is preferred.
        """
        if not isinstance(cell, dict):
            return None
        count, cell_id = cell.get("execution_count"), cell.get("cell_id")
        limit = parse_time(before) if before else None
        for entry in reversed(self.cells()):
            same = entry.get("cell_id") == cell_id if cell_id else entry.get("execution_count") == count
            if not same:
                continue
            started = parse_time(entry.get("time")) if limit is not None else None
            if started is not None and limit is not None and started > limit:
                continue
            return entry
        return None

    def lines(self, file: str) -> list[Entry]:
        """The usable objects of any JSON-lines file in ``.crate`` (the record, the cell log or another)."""
        if file == _record.RECORD_FILE:
            return self.refresh()._record.entries  # the file's lines only: [] when there is no record
        if file == _record.CELLS_FILE:
            return self.cells()
        with self._guard:
            reader = self._others.get(file)
            if reader is None:
                path = os.path.join(self.version_dir, _record.RECORD_DIR, file)
                label = f"{_record.RECORD_DIR}/{file}"
                reader = self._others[file] = LineFile(path, label, _any_object, None, MAX_CELL_LINE_BYTES)
            reader.update()
            return reader.entries


_indexes: dict[str, RecordIndex] = {}
_indexes_guard = threading.Lock()


def index_for(version_dir: Union[str, os.PathLike], fresh: bool = False) -> RecordIndex:
    """The (cached, refreshed) :class:`RecordIndex` of a version; ``fresh=True`` reads the record anew."""
    key = os.path.abspath(os.fspath(version_dir))
    if fresh:
        return RecordIndex(key).refresh()
    with _indexes_guard:
        index = _indexes.pop(key, None)
        if index is None:
            index = RecordIndex(key)
        _indexes[key] = index  # most recently used last
        while len(_indexes) > _INDEX_CACHE_SIZE:
            _indexes.pop(next(iter(_indexes)))
    return index.refresh()


def cached_current(version_dir: str, rel: str) -> Optional[Entry]:
    """The current entry of ``rel`` in the cached index of ``version_dir`` (absolute), as last read.

    Not refreshed, so a hint only (another process may have written since): the writer tries
    a first save's no-replace rename when it says nothing is there.
    """
    index = _indexes.get(version_dir)
    return None if index is None else index.current.get(rel)


def note_appended(
    version_dir: str, identity: tuple[int, int], start: int, line: bytes, entry: Entry, plain: bool = False
) -> Optional[RecordIndex]:
    """The writer appended ``line`` (the encoding of ``entry``, which it no longer changes) to the
    record of ``version_dir`` (absolute) at ``start``.

    A cached index that had read the record up to there takes the line in memory, so the
    save after it (retention, the old content's hash) costs no read of the record. Returns
    that index (complete: the writer holds the save lock), or None.
    """
    index = _indexes.get(version_dir)
    if index is not None and index.appended(identity, start, line, entry, plain):
        return index
    return None
