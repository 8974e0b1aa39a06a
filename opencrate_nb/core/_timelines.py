"""The record of a version read as one timeline per artifact: every content it has had, and when.

History, diff, verify, gc and the CLI ask "what did this artifact hold, from when until
when, and which hashes are still referenced"; :func:`index_for` answers from a per-version
index that is cached and kept current by reading only the lines appended since last time.
"""

import datetime as _dt
import json
import os
import threading

from .record import RECORD_DIR, RECORD_FILE

_INDEX_CACHE_SIZE = 64


def parse_time(text):
    """An ISO 8601 time from the record -> POSIX timestamp (None when unreadable)."""
    if not isinstance(text, str):
        return None
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.astimezone()
    return value.timestamp()


def to_timestamp(when):
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


class Content:
    """One distinct content in an artifact's timeline (consecutive saves of it are merged)."""

    __slots__ = ("sha256", "size", "time", "until", "cell", "saves", "kind", "op", "last_time", "_ts")

    def __init__(self, entry):
        self.sha256 = entry.get("sha256")
        self.size = entry.get("size")
        self.time = entry.get("time")
        self.last_time = self.time
        self.until = None
        self.cell = entry.get("cell")
        self.saves = 1
        self.kind = entry.get("kind")
        self.op = entry.get("op")
        self._ts = False

    @property
    def timestamp(self):
        if self._ts is False:
            self._ts = parse_time(self.last_time)
        return self._ts


class Timeline:
    """The contents of one artifact path, oldest first; ``deleted`` when the last one was deleted."""

    __slots__ = ("path", "name", "kind", "contents", "deleted", "pruned")

    def __init__(self, path):
        self.path = path
        self.name = path.rsplit("/", 1)[-1]
        self.kind = None
        self.contents = []
        self.deleted = None
        self.pruned = 0  # earlier contents that retention has already dealt with (in this process)

    def current(self):
        if self.deleted or not self.contents:
            return None
        return self.contents[-1]

    def earlier(self):
        return self.contents if self.deleted else self.contents[:-1]

    def retained(self, keep):
        """Hashes whose objects retention keeps: the current content and the last ``keep`` earlier ones."""
        earlier = self.earlier()
        kept = {c.sha256 for c in earlier[max(len(earlier) - keep, 0) :]} if keep > 0 else set()
        current = self.current()
        if current is not None:
            kept.add(current.sha256)
        kept.discard(None)
        return kept


def _parse_line(raw):
    """(entry or None, clean). A torn line followed by a good one is salvaged from the good part."""
    try:
        entry = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        at = raw.rfind(b'{"op":')
        if at > 0:
            try:
                entry = json.loads(raw[at:])
            except (ValueError, UnicodeDecodeError):
                return None, False
            return (entry if isinstance(entry, dict) else None), False
        return None, False
    if not isinstance(entry, dict):
        return None, False
    return entry, True


class RecordIndex:
    """The record of one version read into timelines, kept up to date by reading only new lines."""

    def __init__(self, version_dir):
        self.version_dir = version_dir
        self.record_path = os.path.join(version_dir, RECORD_DIR, RECORD_FILE)
        self._reset()
        self._guard = threading.Lock()

    def _reset(self):
        self.offset = 0
        self.ino = None
        self.lines = 0
        self.bad_lines = []  # (line number, salvaged)
        self.timelines = {}
        self.hash_paths = {}
        self.has_record = False
        self.rebuilt = False
        self.entries = 0

    def refresh(self):
        with self._guard:
            try:
                st = os.stat(self.record_path)
            except FileNotFoundError:
                self._reset()
                self._load_from_files()
                return self
            if self.ino != st.st_ino or st.st_size < self.offset or self.rebuilt:
                self._reset()
                self.ino = st.st_ino
            self.has_record = True
            if st.st_size == self.offset:
                return self
            with open(self.record_path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
            end = data.rfind(b"\n")
            if end < 0:
                return self  # only a partial line so far
            self.offset += end + 1
            for raw in data[:end].split(b"\n"):
                self.lines += 1
                if not raw.strip():
                    continue
                entry, clean = _parse_line(raw)
                if not clean:
                    self.bad_lines.append((self.lines, entry is not None))
                if entry is not None:
                    self.apply(entry)
        return self

    def _load_from_files(self):
        from .record import scan_files

        self.rebuilt = True
        for entry in scan_files(self.version_dir, with_hash=False):
            self.apply(entry)

    def apply(self, entry):
        path = entry.get("path")
        if not isinstance(path, str):
            return
        op = entry.get("op")
        self.entries += 1
        timeline = self.timelines.get(path)
        if timeline is None:
            timeline = self.timelines[path] = Timeline(path)
        if op == "delete":
            if timeline.contents and not timeline.deleted:
                timeline.contents[-1].until = entry.get("time")
            timeline.deleted = entry.get("time") or True
            return
        if op not in ("save", "backup"):
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
            self.hash_paths.setdefault(sha, set()).add(path)

    def current_entries(self):
        """path -> Content of what the version holds now (by the record)."""
        out = {}
        for path, timeline in self.timelines.items():
            current = timeline.current()
            if current is not None:
                out[path] = current
        return out

    def retained_hashes(self, keep):
        kept = set()
        for timeline in self.timelines.values():
            kept |= timeline.retained(keep)
        return kept


_indexes: dict[str, RecordIndex] = {}
_indexes_guard = threading.Lock()


def index_for(version_dir, fresh=False):
    """The (cached, refreshed) :class:`RecordIndex` of a version; ``fresh=True`` reads the record anew."""
    if fresh:
        return RecordIndex(version_dir).refresh()
    key = os.path.abspath(version_dir)
    with _indexes_guard:
        index = _indexes.pop(key, None)
        if index is None:
            index = RecordIndex(key)
        _indexes[key] = index  # most recently used last
        while len(_indexes) > _INDEX_CACHE_SIZE:
            _indexes.pop(next(iter(_indexes)))
    return index.refresh()
