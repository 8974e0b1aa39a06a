"""The per-version record: ``<version>/.crate/*.jsonl``, append-only JSON lines.

UIs read the record instead of walking and hashing files. A torn or corrupt line
(e.g. the last line after a crash) is skipped with a warning; a missing record is
rebuilt from the files.
"""

import datetime as _dt
import json
import os
import warnings

from . import lineage

RECORD_DIR = ".crate"
RECORD_FILE = "record.jsonl"
CELLS_FILE = "cells.jsonl"

_open_fds = {}
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


class RecordWarning(UserWarning):
    """A record line could not be read and was skipped."""


def now_iso():
    """Local time with microseconds and UTC offset, e.g. 2026-11-22T20:31:05.123456+00:00."""
    return _dt.datetime.now().astimezone().isoformat(timespec="microseconds")


def record_dir(version_dir):
    return os.path.join(version_dir, RECORD_DIR)


def _fd_for(key, version_dir, file):
    fd = _open_fds.get(key)
    if fd is not None:
        return fd
    folder = record_dir(version_dir)
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, file), os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    _end_with_newline(fd)
    _open_fds[key] = fd
    return fd


def _end_with_newline(fd):
    """After a crash the last line may be torn (no newline): end it, so the next line stays readable."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")


def close_all():
    """Close cached record files (before a version folder is removed, and at exit)."""
    while _open_fds:
        _, fd = _open_fds.popitem()
        try:
            os.close(fd)
        except OSError:
            pass


def append_line(version_dir: str, entry: dict, file: str = RECORD_FILE) -> None:
    """Append one JSON object as one line, under the version's save lock.

    A line that cannot be written whole (a full disk writes part of it) is taken back by
    truncating to the old end, so no torn line is ever left for the next one to glue onto;
    the error is raised.
    """
    from ._savelock import version_lock

    line = (_encode(entry) + "\n").encode("utf-8")
    key = (os.path.abspath(version_dir), file)
    with version_lock(version_dir):
        fd = _fd_for(key, version_dir, file)
        try:
            if os.fstat(fd).st_nlink == 0:
                raise FileNotFoundError("the record file was removed")
        except OSError:
            # the folder or the file was removed or replaced behind our back: reopen once
            _open_fds.pop(key, None)
            try:
                os.close(fd)
            except OSError:
                pass
            fd = _fd_for(key, version_dir, file)
        _append_whole(fd, line)


def _append_whole(fd, line):
    from ._atomic import note_failure, write_all

    start = os.lseek(fd, 0, os.SEEK_END)  # appends are serialised by the save lock
    try:
        write_all(fd, line)
    except OSError as exc:
        note_failure(exc)
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
        "time": now_iso(),
        "cell": lineage.current_cell(),
    }
    entry.update(extra)
    return entry


def log_operation(version_dir: str, op: str, name: str, kind, rel_path: str, size=None, sha256=None, **extra) -> dict:
    """Record a save, backup or delete. Returns the entry written."""
    entry = make_entry(op, name, kind, rel_path, size, sha256, **extra)
    append_line(version_dir, entry)
    return entry


def read_lines(version_dir, file=RECORD_FILE):
    """All readable lines of a record file; corrupt ones are skipped with a RecordWarning."""
    path = os.path.join(record_dir(version_dir), file)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    entries = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            warnings.warn(f"Skipped unreadable line {number} of {path} (torn or corrupt).", RecordWarning, stacklevel=2)
            continue
        if isinstance(entry, dict):
            entries.append(entry)
        else:
            warnings.warn(f"Skipped line {number} of {path}: not a JSON object.", RecordWarning, stacklevel=2)
    return entries


def has_record(version_dir):
    return os.path.exists(os.path.join(record_dir(version_dir), RECORD_FILE))


def read_record(version_dir):
    """The record's entries, or entries rebuilt from the files (not hashed) when it is missing."""
    if has_record(version_dir):
        return read_lines(version_dir)
    return scan_files(version_dir, with_hash=False)


def current_artifacts(version_dir):
    """Latest entry per relative path, deletes applied: what the version holds now."""
    return latest_per_path(read_record(version_dir))


def latest_per_path(entries):
    """The newest of ``entries`` for each relative path, deletes applied (non-dict entries skipped)."""
    current = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        path = entry.get("path")
        if not isinstance(path, str):
            continue
        if entry.get("op") == "delete":
            current.pop(path, None)
        else:
            current[path] = entry
    return current


def scan_files(version_dir, with_hash=True):
    """Entries describing the artifacts found on disk (used to rebuild a lost record).

    A file directly inside a kind folder is one artifact; a folder inside a kind folder
    is one folder artifact (custom handlers such as a folder of label files).
    """
    from . import _atomic
    from .handlers import kind_for_folder

    entries = []
    try:
        kind_folders = sorted(os.scandir(version_dir), key=lambda e: e.name)
    except FileNotFoundError:
        return entries
    for folder in kind_folders:
        if folder.name.startswith(".") or not folder.is_dir(follow_symlinks=False):
            continue
        kind = kind_for_folder(folder.name)
        for item in sorted(os.scandir(folder.path), key=lambda e: e.name):
            if item.name.startswith("."):
                continue
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
    from ._atomic import iter_files

    return sum(os.path.getsize(full) for _, full in iter_files(folder))


def rebuild_record(version_dir):
    """Write a fresh record from the files (hashing them); the old one is kept as ``record.jsonl.bak``."""
    from . import _atomic

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
