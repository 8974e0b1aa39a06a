"""The per-version record: ``<version>/.crate/*.jsonl``, append-only JSON lines.

UIs read the record instead of walking and hashing files. This module writes it; every
reader asks the record index (``_timelines.index_for``), which holds the one rule for torn
or corrupt lines (e.g. the last line after a crash); a missing record is described from
the files.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import time as _time
from collections.abc import Iterable
from typing import Any, Optional

from . import _atomic, _savelock, _timelines, lineage
from ._printable import is_unicode
from .format import local_iso

RECORD_DIR = ".crate"
RECORD_FILE = "record.jsonl"
CELLS_FILE = "cells.jsonl"

_open_fds: dict[tuple[str, str], int] = {}


def _compact_encoder():
    """Compact JSON (``separators=(",", ":")``, non-ASCII kept, unknown values as ``str``), built once.

    ``json.dumps`` builds its C encoder anew on every call, which costs more than encoding a
    record line; this one is built once (and skips the circular-reference check: record and
    journal entries are flat values this package makes).
    """
    from json import encoder

    if encoder.c_make_encoder is None:  # pragma: no cover - a Python without the _json accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
    chunks = encoder.c_make_encoder(None, str, encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda value: "".join(chunks(value, 0))


#: ``value`` as compact JSON text (what every record and journal line is made of)
encode_json = _compact_encoder()
_quote = json.encoder.encode_basestring  # the JSON text of a str, as encode_json writes it (non-ASCII kept)


class RecordWarning(UserWarning):
    """A record line could not be read as written: it was skipped, or its torn start was dropped."""


def now_iso():
    """Local time with microseconds and UTC offset, e.g. 2026-11-22T20:31:05.123456+00:00."""
    return local_iso(_time.time())


def record_dir(version_dir):
    return os.path.join(version_dir, RECORD_DIR)


def _fd_for(key, version_dir, file):
    fd = _open_fds.get(key)
    if fd is not None:
        return fd
    folder = record_dir(version_dir)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, file)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except IsADirectoryError:
        raise OSError(errno.EISDIR, _not_a_record_file(path, "a folder")) from None
    try:
        _end_with_newline(fd, path)
    except BaseException:
        os.close(fd)
        raise
    _open_fds[key] = fd
    return fd


def _end_with_newline(fd, path):
    """After a crash the last line may be torn (no newline): end it, so the next line stays readable.
    Something that is not a file under the record's name (a FIFO would swallow every line) is refused."""
    st = os.fstat(fd)
    what = _atomic.not_a_file(st.st_mode)
    if what is not None:
        raise OSError(errno.EINVAL, _not_a_record_file(path, what))
    size = st.st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")


def _not_a_record_file(path, what):
    return f"{path} is {what}, not a record file: move it away, then save again"


def close_all():
    """Close cached record files and let leased save locks go (before a version folder is removed,
    at setup, and at exit): a lock or record file must not outlive its folder."""
    _savelock.let_go_leases()
    _savelock.forget_indexes()
    while _open_fds:
        _, fd = _open_fds.popitem()
        try:
            os.close(fd)
        except OSError:
            pass


def encode_line(entry: dict) -> bytes:
    """One record line: ``entry`` as compact JSON and a newline (what :func:`append_line` writes)."""
    return (encode_json(entry) + "\n").encode("utf-8")


def append_line(version_dir: str, entry: dict, file: str = RECORD_FILE, line: Optional[bytes] = None):
    """Append one JSON object as one line, under the version's save lock.

    A line that cannot be written whole (a full disk writes part of it) is taken back by
    truncating to the old end, so no torn line is ever left for the next one to glue onto;
    the error is raised. ``line`` is ``encode_line(entry)`` when the caller has it already.
    A record line this process writes extends the cached record index in memory
    (``_timelines.note_appended``), so the next reader does not read it back; that index is
    returned (None when it had to be read from the file anyway).
    """
    if line is None:
        line = encode_line(entry)
    if not os.path.isabs(version_dir):
        version_dir = os.path.abspath(version_dir)
    with _savelock.version_lock(version_dir):
        return append_locked(version_dir, entry, line, file)


def append_locked(
    version_dir: str, entry: dict, line: bytes, file: str = RECORD_FILE, plain: bool = False, lock: Any = None
):
    """:func:`append_line` for a caller that holds the save lock of ``version_dir`` (absolute).

    ``plain``: ``entry`` is known to hold only what JSON gives back unchanged (:func:`save_entry`
    says so), so the record index takes it without checking. ``lock``: that save lock, when the
    caller has it at hand.

    Where the line goes is known without a look at the file while the save lock was held without
    a break since this process's last record line (the index read the record up to there): a file
    removed by hand is then found at the next taking of the file lock (at most ``LEASE_MAX`` later),
    as a removal between a look and the write always could be.
    """
    key = (version_dir, file)
    fd = _open_fds.get(key)
    is_record = file == RECORD_FILE
    if is_record and lock is None:
        lock = _savelock.version_lock(version_dir)
    end = None
    if fd is None:
        fd = _fd_for(key, version_dir, file)
    elif is_record:
        known = lock.complete_index()  # our last line, and the lock held since: where the end is
        end = known.record_end() if known is not None else None
    if end is not None:
        identity, start = end
    else:
        try:
            st = os.fstat(fd)
            if st.st_nlink == 0:
                raise FileNotFoundError("the record file was removed")
        except OSError:
            # the folder or the file was removed or replaced behind our back: reopen once
            _open_fds.pop(key, None)
            try:
                os.close(fd)
            except OSError:
                pass
            fd = _fd_for(key, version_dir, file)
            st = os.fstat(fd)
        identity, start = (st.st_dev, st.st_ino), st.st_size  # appends are serialised by the save lock
    try:
        whole = os.write(fd, line) == len(line)
    except OSError:
        whole = False  # a full disk: _append_whole writes again, takes back and raises
    if not whole:
        if is_record:
            lock.note_index(None)  # what the file holds is read from it again
        _append_whole(fd, line, start)
    if is_record:
        index = _timelines.note_appended(version_dir, identity, start, line, entry, plain)
        lock.note_index(index)
        return index
    return None


def _append_whole(fd, line, start):
    """After a first write of ``line`` at ``start`` (the old end) fell short or failed: write the rest,
    or take back what was written of it and raise (the disk-full error)."""
    try:
        written = os.lseek(fd, 0, os.SEEK_END) - start
        if written != len(line):  # the rest, or ENOSPC
            _atomic.write_all(fd, line[written:])
    except OSError as exc:
        _atomic.note_failure(exc)
        try:
            os.ftruncate(fd, start)
        except OSError:
            pass
        raise


def make_entry(op: str, name: str, kind, rel_path: str, size=None, sha256=None, **extra) -> dict:
    """A record entry for a save, backup or delete, stamped now and with the running cell."""
    entry = {
        "op": op,
        "name": name,
        "kind": kind,
        "path": rel_path,
        "size": size,
        "sha256": sha256,
        "time": local_iso(_time.time()),
        "cell": lineage.current_cell(),
    }
    if extra:
        entry.update(extra)
    return entry


_cell_text: list = [None, "null", True]  # the running cell, its JSON, whether JSON gives it back as it is


def save_entry(name: str, kind, rel_path: str, size: int, sha256: str) -> tuple[dict, bytes, bool]:
    """``make_entry("save", ...)``, its :func:`encode_line` (byte for byte, in one f-string: every
    save makes one, and encoding the whole entry costs more than the rest of it), and whether the
    entry is plain (JSON gives it back unchanged: see :func:`append_locked`)."""
    entry = make_entry("save", name, kind, rel_path, size, sha256)
    if (
        type(size) is not int
        or type(sha256) is not str  # hex digits: the writer hashed it, or checked a handler's hash
        or type(name) is not str
        or type(rel_path) is not str
        or (kind is not None and type(kind) is not str)
    ):
        return entry, encode_line(entry), False
    cell = entry["cell"]
    if cell is not _cell_text[0]:
        # checked where it sits, inside an entry: a cell of plain values only (not of nested dicts)
        plain = cell is None or (type(cell) is dict and _timelines.is_plain({"cell": cell}))
        _cell_text[:] = [cell, encode_json(cell), plain]
    text = (
        f'{{"op":"save","name":{_quote(name)},"kind":{"null" if kind is None else _quote(kind)},'
        f'"path":{_quote(rel_path)},"size":{size},"sha256":"{sha256}","time":"{entry["time"]}",'
        f'"cell":{_cell_text[1]}}}\n'
    )
    return entry, text.encode("utf-8"), _cell_text[2]


def log_operation(version_dir: str, op: str, name: str, kind, rel_path: str, size=None, sha256=None, **extra) -> dict:
    """Record a save, backup or delete. Returns the entry written."""
    entry = make_entry(op, name, kind, rel_path, size, sha256, **extra)
    append_line(version_dir, entry)
    return entry


def read_lines(version_dir: str, file: str = RECORD_FILE) -> list[dict]:
    """All usable lines of a record file, oldest first (from the record index; see ``_timelines``).

    Lines that are torn, corrupt or of the wrong shape are skipped with one RecordWarning each.
    The entries are shared with the index: read them, do not change them.
    """
    return list(_timelines.index_for(version_dir).lines(file))


def has_record(version_dir: str) -> bool:
    return os.path.exists(os.path.join(record_dir(version_dir), RECORD_FILE))


def read_record(version_dir: str) -> list[dict]:
    """The record's entries, or entries rebuilt from the files (not hashed) when it is missing."""
    return list(_timelines.index_for(version_dir).entries)


def current_artifacts(version_dir: str) -> dict[str, dict]:
    """Latest entry per relative path, deletes applied: what the version holds now (cached by the index)."""
    return dict(_timelines.index_for(version_dir).current)


def latest_per_path(entries: Iterable[dict]) -> dict[str, dict]:
    """The newest of ``entries`` for each relative path, deletes applied (unusable entries skipped)."""
    current: dict[str, dict] = {}
    for entry in entries:
        if isinstance(entry, dict) and _timelines.record_entry_error(entry) is None:
            _timelines.apply_current(current, entry)
    return current


def scan_files(version_dir: str, with_hash: bool = True) -> list[dict]:
    """Entries describing the artifacts found on disk (used to rebuild a lost record).

    A file directly inside a kind folder is one artifact; a folder inside a kind folder
    is one folder artifact (custom handlers such as a folder of label files).
    """
    from .handlers import kind_for_folder

    entries: list[dict] = []
    try:
        kind_folders = sorted(os.scandir(version_dir), key=lambda e: e.name)
    except FileNotFoundError:
        return entries
    for folder in kind_folders:
        if folder.name.startswith(".") or not folder.is_dir(follow_symlinks=False) or not is_unicode(folder.name):
            continue
        kind = kind_for_folder(folder.name)
        for item in sorted(os.scandir(folder.path), key=lambda e: e.name):
            if item.name.startswith(".") or not is_unicode(item.name):
                continue  # a name that is not UTF-8 cannot be an artifact (verify lists it as untracked)
            rel = f"{folder.name}/{item.name}"
            stat = item.stat()
            if item.is_dir():
                sha, size = _atomic.hash_tree(item.path) if with_hash else (None, _tree_size(item.path))
            else:
                sha, size = (_atomic.hash_file(item.path) if with_hash else None), stat.st_size
            time = _dt.datetime.fromtimestamp(stat.st_mtime).astimezone().isoformat(timespec="microseconds")
            entries.append(
                {
                    "op": "save",
                    "name": item.name,
                    "kind": kind,
                    "path": rel,
                    "size": size,
                    "sha256": sha,
                    "time": time,
                    "cell": None,
                    "rebuilt": True,
                }
            )
    return entries


def _tree_size(folder):
    return sum(os.path.getsize(full) for _, full in _atomic.iter_files(folder))


def rebuild_record(version_dir: str) -> list[dict]:
    """Write a fresh record from the files (hashing them); the old one is kept as ``record.jsonl.bak``."""
    entries = scan_files(version_dir, with_hash=True)
    folder = record_dir(version_dir)
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, RECORD_FILE)
    close_all()
    if os.path.exists(target):
        os.replace(target, target + ".bak")
    data = "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in entries)
    _atomic.write_bytes(target, data.encode("utf-8"))
    return entries
