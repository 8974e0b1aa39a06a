"""A snapshot root as one browsable tree, shared by the sidebar's REST API and the widget browser.

The tree comes from the per-version records (``.crate/record.jsonl``), never from hashing
files: a version costs one read of its record, a listing of its folder and of its kind
folders (to drop what was removed by hand and add what was copied in by hand), and a few
stats. Versions whose folders and record did not change since the last call are served
from a cache, so rebuilding after one save re-reads only the version that saved.

    tree(root)         -> JSON-safe dict, below
    version(dir)       -> the dict of one version folder, as in the tree (what ``%crate ls`` lists,
                          with ``summaries=False``: it shows none, so none is read)
    fingerprint(root)  -> str that changes whenever a record, log, kind or version folder changes
    resolve(root, rel) -> absolute path inside root, or ValueError
    check_readable(root, rel) -> (real path, stat) when it may be opened, else Unreadable (a ValueError)
    load_snippet, log_tail, saving_cell: what the UIs show next to a selected item

    {"root", "snapshots": [{"name", "versions": [{"folder": "v0:baseline", "number", "tag", "path",
        "created", "created_text", "modified", "modified_text", "size", "size_text", "artifact_count",
        "warnings": [str],
        "logs": [{"name", "path", "size", "size_text", "modified", "modified_text"}],
        "kinds": [{"kind", "folder", "artifacts": [{"name", "kind", "path", "size", "size_text",
                   "modified", "modified_text", "sha256", "cell", "cell_label", "summary",
                   "backups": [{"name", "path", "size", "size_text", "modified", "modified_text",
                                "cell", "cell_label"}]}]}]}]}]}

Paths are relative to the root and "/"-separated; versions are ordered by number, kind
folders and artifacts by name, backups in the order they were made. Next to each raw fact
is its rendered text (``*_text``, ``cell_label``: through ``core.format``, so every UI reads
the same), and ``summary`` is the handler's one-line summary when it is cheap to compute
(see :data:`SUMMARY_MAX_BYTES`), else None. Names that are not UTF-8 are shown escaped
(``bad\\xff.txt``) with a warning. ``warnings`` lists problems found while reading a version
(record lines the record index could not use, files the record lists that are gone, entries
that lead nowhere). The dicts returned are shared with the cache: read them, do not change them.

Nothing outside the root or hidden is read, and nothing that never ends: an artifact or log
that is a link out of the root or into a hidden folder, a link to nothing or in a loop, or a
FIFO, socket or device, carries ``problem`` (the phrase, also in ``warnings``; the key is
there only then), size 0 unless its record has one, and no summary. A version folder that
leads nowhere is listed empty with its problem in ``warnings``. The rules are those of
:func:`check_readable` (a request's path) and :func:`entry_facts` (a listed entry), which the
server's API uses too.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import gc
import hashlib
import itertools
import json
import keyword
import operator
import os
import re
import stat
import threading
from typing import Any, BinaryIO, Optional

from . import _atomic, _timelines, record, versions
from ._printable import is_unicode, printable
from .format import cell_label, format_size, format_time, format_times
from .handlers import get_handler, kind_for_folder

DEFAULT_ROOT = "snapshots"
ENV_FILE = "env.json"  # written by core/environment.py: its first run's start is the version's creation time
BACKUP_MARK = ".backup_"
LOG_SUFFIX = ".log"

#: A summary is computed only for files of at most this size, of kinds whose describe() reads
#: nothing but the file with the standard library, and for at most SUMMARY_MAX_COUNT artifacts of
#: a version; each is computed once per content.
SUMMARY_MAX_BYTES = 64 << 10
SUMMARY_MAX_COUNT = 200
SUMMARY_KINDS = ("text", "json", "yaml")

_cache_lock = threading.Lock()
_version_cache: dict[str, tuple[Any, dict[str, Any]]] = {}  # absolute version folder -> (state key, version dict)
_summaries: dict[
    tuple[str, Any], Optional[str]
] = {}  # (absolute path, sha256 or (size, modified)) -> one-line summary or None


# ------------------------------------------------------------------------------------------------
# paths
# ------------------------------------------------------------------------------------------------
class Unreadable(ValueError):
    """A path of the snapshot root that is not opened, and why.

    ``reason`` is one word for programs (``"invalid"``, ``"outside"``, ``"hidden"``,
    ``"missing"``, ``"loop"``, ``"special"``, ``"folder"``, ``"denied"``), ``problem`` the
    phrase a listing notes next to the item (``"a link to a place outside the snapshot root"``),
    and the message a sentence naming the path. A ValueError, as every refusal of a path here.
    """

    def __init__(self, reason: str, message: str, problem: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.problem = problem


def resolve(root: str | os.PathLike, rel_path: str) -> str:
    """The absolute real path of ``rel_path`` (``"/"``-separated, relative to ``root``).

    Refuses, with an :class:`Unreadable` (a ValueError) saying why, anything that could leave
    ``root``: absolute paths, ``..`` parts, NUL characters, and symlinks whose real path lies
    outside root. Percent-encoded paths must be decoded by the caller first (then ``..`` is
    caught here). Whether the path may be opened is :func:`check_readable`'s question.
    """
    if not isinstance(rel_path, str):
        # a ValueError like every other refusal, so that callers handle one error type
        raise Unreadable(
            "invalid",
            f"A path inside the snapshot root must be a string, got {type(rel_path).__name__}.",
            "not a path",
        )
    if "\x00" in rel_path:
        raise Unreadable("invalid", f"Refused path {rel_path!r}: it contains a NUL character.", "a NUL in the name")
    if (
        rel_path.startswith(("/", "\\"))
        or os.path.isabs(rel_path)
        or os.path.splitdrive(rel_path)[0]
        or re.match(r"^[A-Za-z]:[\\/]", rel_path)
    ):
        raise Unreadable(
            "outside",
            f"Refused path {rel_path!r}: give a path relative to the snapshot root, e.g. 'mnist/v0/jsons/metrics.json'.",
            "an absolute path",
        )
    if ".." in re.split(r"[\\/]", rel_path):  # a backslash separates on Windows
        raise Unreadable(
            "outside", f"Refused path {rel_path!r}: '..' would leave the snapshot root.", "'..' in the path"
        )
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, *[p for p in rel_path.split("/") if p not in ("", ".")]))
    if not contains(real_root, target):
        raise _refused("outside", rel_path)
    return target


def contains(real_top: str, real_path: str) -> bool:
    """Whether ``real_path`` is ``real_top`` or lies below it (both resolved: no link is followed here)."""
    return real_path == real_top or os.path.commonpath([real_top, real_path]) == real_top


def is_hidden(rel_path: str) -> bool:
    """Whether a part of ``rel_path`` (``/`` or ``\\`` separated) is hidden: a name starting with ``.``."""
    return any(part.startswith(".") and part not in (".", "..") for part in re.split(r"[\\/]+", rel_path) if part)


def visible_inside(real_top: str, path: str, resolved: bool = False) -> bool:
    """Whether ``path`` resolves to ``real_top`` or below it, with no hidden folder or file between them
    (``resolved``: ``path`` is a real path already, nothing to resolve).

    The rule for every link the catalog, the root discovery and the server follow: a link
    ``a2/snapshots -> ../.secret/snapshots`` leads into a hidden folder and is refused like it.
    """
    real = path if resolved else os.path.realpath(path)
    return contains(real_top, real) and not is_hidden(os.path.relpath(real, real_top))


def check_readable(
    root: str | os.PathLike, rel_path: str, allow_hidden: bool = False, folders: bool = True
) -> tuple[str, os.stat_result]:
    """(real path, its stat) of ``rel_path`` when it may be opened, else :class:`Unreadable`.

    It may when it resolves inside ``root`` (:func:`resolve`), is not hidden as asked nor as
    resolved (a link ``texts/r.txt -> ../.crate/record.jsonl`` is refused like the record;
    ``allow_hidden`` lifts that), exists, and is a regular file, or a folder when ``folders``.
    A FIFO, socket or device is refused before anything opens it (a FIFO would block forever).
    Nothing is opened here: a ``stat`` of the resolved target decides.
    """
    if not allow_hidden and isinstance(rel_path, str) and is_hidden(rel_path):
        raise _refused("hidden", rel_path)
    real = resolve(root, rel_path)
    real_root = os.path.realpath(root)
    asked = os.path.join(real_root, *[p for p in rel_path.split("/") if p not in ("", ".")])
    return real, _checked_target(real_root, real, rel_path, asked, allow_hidden, folders)


def _checked_target(real_root, real, shown, asked, allow_hidden=False, folders=True):
    """The stat of ``real`` (where ``asked`` resolves) when it lies visibly inside ``real_root`` and is
    a file (or a folder, when ``folders``), else Unreadable naming ``shown``."""
    if not contains(real_root, real):
        raise _refused("outside", shown)
    if not allow_hidden and is_hidden(os.path.relpath(real, real_root)):
        raise _refused("hidden", shown)
    try:
        facts = os.stat(real)
    except OSError as exc:
        raise _unreachable(shown, exc, os.path.lexists(asked)) from None
    _check_mode(facts, shown, folders)
    return facts


def _check_mode(facts, shown, folders=True):
    mode = facts.st_mode
    if stat.S_ISREG(mode) or (folders and stat.S_ISDIR(mode)):
        return
    raise _refused("folder" if stat.S_ISDIR(mode) else "special", shown)


def entry_facts(real_root: str, path: str, shown: str, entry: os.stat_result, folders: bool = True) -> os.stat_result:
    """The stat of what a listed entry of the root is, when it may be opened, else :class:`Unreadable`.

    ``entry`` is the entry's own ``lstat`` (a listing has it for free) and ``path`` lies in a
    folder known to resolve visibly inside ``real_root``: an entry that is no link is decided
    by ``entry`` alone (a file or folder: yes; a FIFO, socket or device: no), a link by where it
    resolves (:func:`check_readable`'s rules), so that no listing reads through a link out of
    the root or into a hidden folder, nor opens what never ends.
    """
    if stat.S_ISLNK(entry.st_mode):
        return _checked_target(real_root, os.path.realpath(path), shown, path, folders=folders)
    _check_mode(entry, shown, folders)
    return entry


_REFUSALS = {
    "outside": (
        "Refused path {!r}: it is a link to a place outside the snapshot root.",
        "a link to a place outside the snapshot root",
    ),
    "hidden": (
        "Refused path {!r}: hidden files and folders (names starting with '.'), and links to them, are not read.",
        "hidden, or a link into a hidden folder",
    ),
    "special": (
        "{!r} is not a regular file (a FIFO, socket or device): it is never opened, only files are read.",
        "not a regular file (a FIFO, socket or device)",
    ),
    "folder": (
        "{!r} is a folder, where a file is expected: ask for one of its files.",
        "a folder, where a file is expected",
    ),
}


def _refused(reason, shown):
    message, problem = _REFUSALS[reason]
    return Unreadable(reason, message.format(shown), problem)


def _unreachable(shown, exc, is_link=True):
    """Unreadable for an OSError met while following ``shown`` (gone, a loop of links, no permission);
    ``is_link``: ``shown`` itself is there, so what is gone is what it links to."""
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        if is_link:
            return Unreadable(
                "missing",
                f"{shown!r} is a link to nothing: its target is gone.",
                "a link to nothing (its target is gone)",
            )
        return Unreadable("missing", f"No file or folder {shown!r} in the snapshot root.", "no such file or folder")
    if exc.errno == errno.ELOOP:
        return Unreadable(
            "loop", f"{shown!r} is a loop of symbolic links: it leads to no file.", "a loop of symbolic links"
        )
    if isinstance(exc, PermissionError):
        return Unreadable("denied", f"{shown!r} cannot be read: permission denied.", "not readable (permission denied)")
    reason = exc.strerror or type(exc).__name__
    return Unreadable("denied", f"{shown!r} cannot be read: {reason}.", f"not readable ({reason})")


def open_regular(path: str) -> BinaryIO:
    """``path`` opened for reading in binary, refused (:class:`Unreadable`) unless it is a regular file.

    The open does not wait (``O_NONBLOCK``: a FIFO put in place after a check blocks nothing)
    and what was opened is checked with ``fstat``: the one way to open a file of the root that
    a hand-made FIFO or device cannot turn into a read that never ends.
    """
    shown = os.path.basename(path)
    return _atomic.open_regular(path, check=lambda facts: _check_mode(facts, shown, folders=False))


# ------------------------------------------------------------------------------------------------
# the state of one version folder: cheap stats that change whenever its tree would change
# ------------------------------------------------------------------------------------------------
def _stat_key(facts):
    return (facts.st_mtime_ns, facts.st_size, facts.st_ino)


def _version_state(version_dir):
    """(key, listing) of a version folder; ``listing`` is [(name, is_dir, lstat)] of its visible entries.

    A folder that cannot be listed (gone, a loop of links, no permission) has the key None.
    """
    key = []
    listing = []
    try:
        key.append(_stat_key(os.stat(version_dir)))
        with os.scandir(version_dir) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                if not is_dir and not entry.name.endswith(LOG_SUFFIX):
                    continue
                try:
                    facts = entry.stat(follow_symlinks=False)
                except OSError:  # removed since it was listed
                    continue
                listing.append((entry.name, is_dir, facts))
                key.append((entry.name, _stat_key(facts)))
    except OSError:
        return None, []
    try:
        key.append(_stat_key(os.stat(os.path.join(version_dir, record.RECORD_DIR, record.RECORD_FILE))))
    except OSError:
        key.append(None)
    listing.sort(key=lambda item: item[0])
    return tuple(key), listing


def _snapshot_folders(root):
    """[(name, snapshot_dir)] of the snapshot names under root; links leaving root, or leading into a
    hidden folder or nowhere, are skipped."""
    real_root = os.path.realpath(root)
    found = []
    try:
        entries = os.scandir(root)
    except OSError:
        return found
    with entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if not entry.is_dir():
                    continue
            except OSError:  # a loop of links
                continue
            if entry.is_symlink() and not visible_inside(real_root, entry.path):
                continue
            found.append((entry.name, entry.path))
    found.sort()
    return found


def _version_folders(snapshot_dir, real_root):
    """(number, tag, folder, path, problem) of each version of a snapshot, by number: ``problem`` is
    None, or an Unreadable for a version name that leads to no folder (a dangling link, a loop of
    links). Links leaving the root or leading into a hidden folder are skipped, as they are not there."""
    broken = []
    try:
        listed = versions.list_folders(snapshot_dir, broken)
    except OSError:  # the snapshot folder cannot be listed
        return
    found = [(*item, None) for item in listed]
    found += [(number, tag, folder, _unreachable(folder, error)) for number, tag, folder, error in broken]
    found.sort(key=lambda item: (item[0], item[1] or ""))
    for number, tag, folder, problem in found:
        path = os.path.join(snapshot_dir, folder)
        if problem is not None or not os.path.islink(path) or visible_inside(real_root, path):
            yield number, tag, folder, path, problem


def fingerprint(root: str | os.PathLike = DEFAULT_ROOT) -> str:
    """A short hash of the stats of every snapshot, version folder, record, env and log under ``root``.

    Equal fingerprints mean :func:`tree` would return the same tree, without building it.
    """
    digest = hashlib.sha1()
    real_root = os.path.realpath(root)
    for name, snapshot_dir in _snapshot_folders(root):
        digest.update(name.encode("utf-8", "surrogatepass") + b"\x00")
        for _number, _tag, folder, path, problem in _version_folders(snapshot_dir, real_root):
            key = (problem.reason,) if problem is not None else _version_state(path)[0]
            digest.update(f"{folder}\x00{key!r}\x01".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------
# the tree
# ------------------------------------------------------------------------------------------------
def tree(root: str | os.PathLike = DEFAULT_ROOT) -> dict[str, Any]:
    """Every snapshot under ``root``: versions by number, kind folders, artifacts by name, backups, logs."""
    with _without_gc_pauses():
        return _tree(os.fspath(root))


def version(version_dir: str | os.PathLike, summaries: bool = True) -> dict[str, Any]:
    """The dict of one version folder, as :func:`tree` has it (cached the same way).

    ``summaries=False`` (a listing that shows none): the items' ``summary`` may be left None,
    sparing a read of each small file; a later call that wants them fills them in the cache.
    """
    path = os.path.abspath(os.fspath(version_dir))
    snapshot_dir, folder = os.path.split(path)
    number, tag = versions.parse_folder(folder) or (None, None)
    real_root = os.path.realpath(os.path.dirname(snapshot_dir))
    rel = f"{os.path.basename(snapshot_dir)}/{folder}"
    with _without_gc_pauses():
        return _cached_version(path, path, rel, number, tag, real_root, summaries)


@contextlib.contextmanager
def _without_gc_pauses():
    """Building 10,000 artifact dicts triggers full garbage collections, and in a kernel or
    server holding a few hundred thousand objects each costs tens of ms (measured: 0.20 s
    with, 0.05 s without, for 100 x 100). The build makes no reference cycles, so the
    collector is paused for its duration and runs normally afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _tree(root_text):
    real_root = os.path.realpath(root_text)
    snapshots = []
    seen = set()
    for name, snapshot_dir in _snapshot_folders(root_text):
        version_list = []
        for number, tag, folder, path, problem in _version_folders(snapshot_dir, real_root):
            if problem is not None:
                version_list.append(_unreadable_version(path, f"{name}/{folder}", number, tag, problem))
                continue
            cache_id = os.path.abspath(path)
            seen.add(cache_id)
            version_list.append(_cached_version(cache_id, path, f"{name}/{folder}", number, tag, real_root))
        snapshots.append({"name": printable(name), "versions": version_list})
    with _cache_lock:
        prefix = os.path.abspath(root_text) + os.sep
        for stale in [k for k in _version_cache if k.startswith(prefix) and k not in seen]:
            del _version_cache[stale]
    return {"root": root_text, "snapshots": snapshots}


_PRIVATE = ("_created_from_env", "_summarised")


def _cached_version(cache_id, path, rel, number, tag, real_root, summaries=True):
    key, listing = _version_state(path)
    if key is None:
        try:
            os.stat(path)
        except OSError as exc:
            return _unreadable_version(path, rel, number, tag, _unreachable(rel.rsplit("/", 1)[-1], exc, False))
    with _cache_lock:
        hit = _version_cache.get(cache_id)
    if hit is not None and key is not None and hit[0] == key and hit[1]["path"] == printable(rel):
        built = hit[1]
    else:
        built = _build_version(path, rel, number, tag, listing, real_root)
        if key is not None:
            with _cache_lock:
                _version_cache[cache_id] = (key, built)
    if not built["_created_from_env"]:
        # env.json is written on a background thread after setup: look again until it is there
        created = _created(path)
        if created:
            built.update(created=created, created_text=_time_text(created), _created_from_env=True)
    if summaries and not built["_summarised"]:
        _add_summaries(path, built["kinds"], real_root)
        built["_summarised"] = True
    return {k: v for k, v in built.items() if k not in _PRIVATE}


def _unreadable_version(path, rel, number, tag, problem):
    """A version whose folder cannot be read (a link to nothing, a loop of links): listed, empty,
    with the problem in its warnings, so that the tree still answers and says why."""
    try:
        modified = os.lstat(path).st_mtime
    except OSError:  # gone since it was listed
        modified = 0.0
    shown = printable(rel)
    folder = shown.rsplit("/", 1)[-1]
    return {
        "folder": folder,
        "number": number,
        "tag": printable_tag(tag),
        "path": shown,
        "created": None,
        "created_text": None,
        "modified": _iso(modified),
        "modified_text": format_time(modified),
        "size": 0,
        "size_text": _size_text(0),
        "artifact_count": 0,
        "logs": [],
        "kinds": [],
        "warnings": [f"{folder}: {problem.problem}: the version cannot be read"],
    }


def _iso(timestamp):
    return _dt.datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="microseconds")


_KIND, _SIZE, _BACKUPS = operator.itemgetter("kind"), operator.itemgetter("size"), operator.itemgetter("backups")


def _build_version(version_dir, rel, number, tag, listing, real_root):
    problems = []
    if not is_unicode(rel):
        problems.append(f"{printable(rel)}: the name is not UTF-8 (shown escaped); rename it to open it")
        rel, tag = printable(rel), printable_tag(tag)
    entries = _current_entries(version_dir, problems)
    by_folder = {}
    for entry_path, entry in entries.items():
        kind_folder, _, file_name = entry_path.partition("/")
        if file_name and "/" not in file_name:
            by_folder.setdefault(kind_folder, {})[file_name] = entry
    logs, kinds = [], []
    newest = os.stat(version_dir).st_mtime
    try:
        newest = max(newest, os.stat(os.path.join(record.record_dir(version_dir), record.RECORD_FILE)).st_mtime)
    except OSError:
        pass
    for name, is_dir, facts in listing:
        newest = max(newest, facts.st_mtime)
        shown = _shown_name(name, name, problems)
        if not is_dir:
            logs.append(_rendered(_log_item(version_dir, rel, name, shown, facts, real_root, problems)))
            continue
        items = _kind_items(version_dir, f"{rel}/{shown}", name, by_folder.pop(name, {}), problems, real_root)
        if items:
            kind = next((i["kind"] for i in items if i["kind"]), None) or kind_for_folder(shown)
            if not all(map(_KIND, items)):
                for item in items:
                    item["kind"] = item["kind"] or kind
            kinds.append({"kind": kind, "folder": shown, "artifacts": items})
    for kind_folder, recorded in sorted(by_folder.items()):
        problems.append(f"the record lists {len(recorded)} artifact(s) in {kind_folder}/, which is missing")
    artifacts = [item for kind in kinds for item in kind["artifacts"]]
    size = sum(log["size"] for log in logs) + sum(map(_SIZE, artifacts))
    size += sum(b["size"] for backups in filter(None, map(_BACKUPS, artifacts)) for b in backups)
    times = map(dict.get, entries.values(), itertools.repeat("time"))
    first_save = min([t for t in times if isinstance(t, str)], default=None)
    return {
        "folder": rel.rsplit("/", 1)[-1],
        "number": number,
        "tag": tag,
        "path": rel,
        "created": first_save,
        "created_text": _time_text(first_save),
        "modified": _iso(newest),
        "modified_text": format_time(newest),
        "size": size,
        "size_text": _size_text(size),
        "artifact_count": len(artifacts),
        "logs": logs,
        "kinds": kinds,
        "warnings": problems,
        "_created_from_env": False,
        "_summarised": False,
    }


def _log_item(version_dir, rel, name, shown, facts, real_root, problems):
    """A run log of the version listing: a file, or a link to a file visibly inside the root (its
    target's size and time); anything else is listed with its problem and read for nothing."""
    log = {"name": shown, "path": f"{rel}/{shown}", "size": facts.st_size, "modified": _iso(facts.st_mtime)}
    if not stat.S_ISREG(facts.st_mode):
        try:
            target = entry_facts(real_root, os.path.join(version_dir, name), shown, facts, folders=False)
        except Unreadable as exc:
            log["size"] = 0
            log["problem"] = exc.problem
            problems.append(f"{shown}: {exc.problem}: not read")
        else:
            log["size"], log["modified"] = target.st_size, _iso(target.st_mtime)
    return log


def printable_tag(tag):
    """A version's tag as it can be shown (tags come from folder names)."""
    return None if tag is None else printable(tag)


def _created(version_dir):
    try:
        with open_regular(os.path.join(version_dir, record.RECORD_DIR, ENV_FILE)) as f:  # a FIFO blocks nothing
            runs = json.loads(f.read()).get("runs")
        start = runs[0].get("start")
    except (OSError, ValueError, AttributeError, IndexError, TypeError, KeyError):
        return None
    return start if isinstance(start, str) else None


def _current_entries(version_dir, problems):
    """What the version holds now, from the record index; the lines it could not use become problems."""
    index = _timelines.index_for(version_dir)
    with index.lock:  # a copy: another thread may extend the index while the tree is built
        problems.extend(str(problem) for problem in index.problems)
        return dict(index.current)


def _kind_items(version_dir, rel_folder, kind_folder, recorded, problems, real_root):
    """The artifacts of one kind folder, by name, each with its backups.

    Facts come from the record; a listing of the folder (names and file types, no stat) drops
    what was removed by hand and adds (with a stat) what was copied in by hand. A backup is
    known by its record entry (op "backup", field "of") or, for files the record does not
    describe, by its name ``<stem>.backup_<tag or time><suffix>`` next to ``<stem><suffix>``.
    """
    folder = os.path.join(version_dir, kind_folder)
    try:
        with os.scandir(folder) as entries:
            listed = {e.name: e for e in entries if not e.name.startswith(".")}
    except OSError:
        return []
    names = list(listed)
    gone = recorded.keys() - listed.keys()
    if gone:
        problems.extend(f"{kind_folder}/{n} is in the record but not on disk" for n in recorded if n in gone)
    names.sort()  # the artifacts in order as they are made: no sorting after, unless backups move
    artifacts, backups, maybe_backups, made = {}, [], [], []
    for file_name in names:
        entry = recorded.get(file_name)
        shown = file_name if file_name.isascii() else _shown_name(file_name, f"{kind_folder}/{file_name}", problems)
        item = _item(folder, rel_folder, file_name, entry, shown, listed[file_name], real_root, problems)
        made.append(item)
        if entry is not None and entry.get("op") == "backup" and type(entry.get("of")) is str:
            backups.append((item, entry["of"]))
            continue
        if BACKUP_MARK in file_name and (entry is None or entry.get("rebuilt")):
            maybe_backups.append(item)
        artifacts[file_name] = item
    _render_times(made)
    if maybe_backups:
        stems = {}
        for file_name in artifacts:
            stems.setdefault(_stem_suffix(folder, file_name)[0], []).append(file_name)
        for item in maybe_backups:
            original = _original_of(folder, item["name"], stems)
            if original is not None:
                del artifacts[item["name"]]
                backups.append((item, original))
    if not backups:
        return list(artifacts.values())
    for backup, original in sorted(backups, key=_backup_order(version_dir, kind_folder)):
        owner = artifacts.get(original)
        if owner is None:
            artifacts[backup["name"]] = backup  # its artifact is gone: show the backup on its own
        else:
            owner["backups"].append({k: backup[k] for k in _BACKUP_FIELDS})
    return [artifacts[n] for n in sorted(artifacts)]


def _stem_suffix(folder, file_name):
    if "." not in file_name or os.path.isdir(os.path.join(folder, file_name)):
        return file_name, ""
    return os.path.splitext(file_name)


def _original_of(folder, file_name, stems):
    """``model.backup_best.pt`` -> ``model.pt`` when that artifact is in the same folder."""
    start = file_name.find(BACKUP_MARK)
    while start > 0:
        for candidate in stems.get(file_name[:start], ()):
            suffix = _stem_suffix(folder, candidate)[1]
            if candidate != file_name and file_name.endswith(suffix) and BACKUP_MARK not in candidate:
                return candidate
        start = file_name.find(BACKUP_MARK, start + 1)
    return None


_BACKUP_FIELDS = ("name", "path", "size", "size_text", "modified", "modified_text", "cell", "cell_label")


def _backup_order(version_dir, kind_folder):
    """Sort key of (backup item, original): the order the record says they were made, then time."""
    index = _timelines.index_for(version_dir)
    made = {}

    def key(pair):
        item, original = pair
        order = made.get(original)
        if order is None:
            order = made[original] = {}
            for name in index.backups_of(f"{kind_folder}/{original}"):
                order.setdefault(name, len(order))
        return (order.get(item["name"], len(order)), item["modified"] or "", item["name"])

    return key


def _shown_name(name, where, problems):
    """``name`` as it can be shown and sent; a name that is not UTF-8 is escaped, with a warning."""
    if is_unicode(name):
        return name
    shown = printable(name)
    problems.append(f"{printable(where)}: the name is not UTF-8 (shown escaped); rename it to open it")
    return shown


# Each distinct size, time and saving cell is rendered once (a version's thousands of artifacts
# share a few hundred sizes, times to the second and cells), and rebuilding a version after one
# save renders one time, not all. The hot loop of _item reads these dicts directly.
_RENDERED_MAX = 1 << 16
_size_texts: dict[int, str] = {}
_time_texts: dict[Any, Optional[str]] = {}
_cells: dict[tuple[Any, Any], tuple[dict[str, Any], Optional[str]]] = {}


def _size_text(size):
    text = _size_texts.get(size)
    if text is None:
        text = format_size(size)
        if type(size) is int:  # not True, whose hash is 1's
            if len(_size_texts) > _RENDERED_MAX:
                _size_texts.clear()
            _size_texts[size] = text
    return text


def _time_text(iso):
    if not iso:
        return None
    text = _time_texts.get(iso)
    if text is None:
        text = format_time(iso)
        if len(_time_texts) > _RENDERED_MAX:
            _time_texts.clear()
        _time_texts[iso] = text
    return text


def _render_times(items):
    """Each item's ``modified_text``, formatted for all of them at once (a folder of 10,000 saves
    has 10,000 distinct times: no cache helps the first listing)."""
    for item, text in zip(items, format_times([item["modified"] for item in items])):
        item["modified_text"] = text if item["modified"] else None


def _rendered(item):
    item["size_text"] = _size_text(item["size"])
    item["modified_text"] = _time_text(item["modified"])
    return item


def _cell(cell):
    """(the saving cell as the tree has it, its label); the items share these (read-only) dicts."""
    key = (cell.get("execution_count"), cell.get("cell_id"))
    known = _cells.get(key)
    if known is None:
        if len(_cells) > _RENDERED_MAX:
            _cells.clear()
        shown = {"execution_count": key[0], "cell_id": key[1]}
        known = _cells[key] = (shown, cell_label(shown))
    return known


def _item(folder, rel_folder, file_name, entry, shown, listed, real_root, problems):
    """The dict of one artifact: facts from its record entry (the record index checked their
    types), or from a stat when the record does not describe it.

    ``listed`` is its ``os.DirEntry``: a file or folder (the listing says so, no system call)
    is what it seems; a link is followed only to a file or folder visibly inside the root. A
    link elsewhere, to nothing or in a loop, a FIFO, socket or device gets a ``problem`` (also
    in the version's warnings) and size 0 unless the record has one: it is never read, nor is
    its target's size or time taken.
    """
    get = (entry or _NO_ENTRY).get
    size, modified, cell = get("size"), get("time"), get("cell")
    problem = None
    plain = listed.is_file(follow_symlinks=False) or listed.is_dir(follow_symlinks=False)
    if size is None or modified is None or not plain:  # copied in by hand, or a link, FIFO, socket, device
        where = f"{rel_folder.rsplit('/', 1)[-1]}/{shown}"
        facts, problem = _listed_facts(listed, real_root, where, problems)
        if problem is not None and (size is None or modified is None):
            size, modified = 0, _iso(facts.st_mtime) if facts else None  # the entry's own time
        elif size is None or modified is None:
            size, modified = facts.st_size, _iso(facts.st_mtime)
            if stat.S_ISDIR(facts.st_mode):
                size = _folder_size(real_root, os.path.join(folder, file_name), where, problems)
    label = None
    if cell:
        cell, label = _cells.get((cell.get("execution_count"), cell.get("cell_id"))) or _cell(cell)
    item = {
        "name": shown,
        "kind": get("kind"),
        "path": f"{rel_folder}/{shown}",
        "size": size,
        "size_text": _size_texts.get(size) or _size_text(size),
        "modified": modified,
        "modified_text": None,  # by _render_times, for all items of a folder at once
        "sha256": get("sha256"),
        "cell": cell or None,
        "cell_label": label,
        "summary": None,
        "backups": [],
    }
    if problem is not None:
        item["problem"] = problem
    return item


def _listed_facts(listed, real_root, where, problems):
    """(stat, None) of what a listed entry is (a link's target), or (its own lstat or None, problem)
    when it may not be read (:func:`entry_facts`), the problem added to ``problems``."""
    try:
        own = listed.stat(follow_symlinks=False)
    except OSError as exc:  # removed since it was listed
        own, problem = None, _unreachable(where, exc, False).problem
    else:
        try:
            return entry_facts(real_root, listed.path, where, own), None
        except Unreadable as exc:
            problem = exc.problem
    problems.append(f"{where}: {problem}: not read")
    return own, problem


def _folder_size(real_root, folder, where, problems):
    """The bytes of the files in a folder artifact. A link counts only as a file visibly inside the
    root; links to nothing or in a loop, FIFOs, sockets and devices are not counted (the version's
    warnings say how many); links to folders are not entered (``os.walk`` does not)."""
    size = skipped = 0
    for base, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            try:
                facts = os.lstat(path)
                if not stat.S_ISREG(facts.st_mode):
                    facts = entry_facts(real_root, path, name, facts, folders=False)
            except (ValueError, OSError):  # Unreadable, or removed since it was listed
                skipped += 1
                continue
            size += facts.st_size
    if skipped:
        problems.append(
            f"{where}: {skipped} entr{'y' if skipped == 1 else 'ies'} in it not counted (links to nothing, in a "
            "loop, out of the snapshot root or into a hidden folder; FIFOs, sockets or devices)"
        )
    return size


_NO_ENTRY: dict = {}


def _add_summaries(version_dir, kinds, real_root):
    """Fill ``summary`` where it is cheap: small files of kinds read by the standard library,
    at most SUMMARY_MAX_COUNT per version, each content summarised once. Only what the listing
    allowed (:func:`entry_facts`, in ``_item``) is opened: no item with a ``problem`` (a link out
    of the root or into a hidden folder, a FIFO), no folder. A file replaced by hand since then
    changed its kind folder, so the version was listed again before this reads it."""
    budget = SUMMARY_MAX_COUNT
    for kind in kinds:
        handler = get_handler(kind["kind"]) if kind["kind"] in SUMMARY_KINDS else None
        summarize = getattr(handler, "summary", None)
        if summarize is None:
            continue
        for item in kind["artifacts"]:
            if budget <= 0:
                return
            if (
                item["kind"] != kind["kind"]
                or not isinstance(item["size"], int)
                or item["size"] > SUMMARY_MAX_BYTES
                or "problem" in item
            ):
                continue
            budget -= 1
            full = os.path.abspath(os.path.join(version_dir, *item["path"].split("/")[-2:]))
            key = (full, item["sha256"] or (item["size"], item["modified"]))
            if key not in _summaries:
                try:
                    line = summarize(handler.describe(full))
                except Exception:  # noqa: BLE001 - a file that cannot be summarised has no summary
                    line = None
                if len(_summaries) > 100_000:
                    _summaries.clear()
                _summaries[key] = line if isinstance(line, str) and line else None
            item["summary"] = _summaries[key]


# ------------------------------------------------------------------------------------------------
# what a UI shows next to an item
# ------------------------------------------------------------------------------------------------
def load_snippet(root: str | os.PathLike, rel_path: str, kind: str) -> str:
    """Python code that loads the file at ``rel_path`` (relative to ``root``) into a variable.

    Built-in kinds and kinds from other packages load with ``oc.io.<kind>.load(path)``, which
    needs no snapshot to be set up and changes nothing; logs load as text; a custom kind
    known only to the notebook that saved it is loaded with its handler class.
    """
    from . import handlers

    path = "/".join([os.fspath(root).replace(os.sep, "/").rstrip("/"), rel_path.lstrip("/")])
    file_name = rel_path.rsplit("/", 1)[-1]
    variable = _variable_for(file_name, kind)
    if kind == "log":
        return f"import opencrate as oc\n\n{variable} = oc.io.text.load({path!r})\nprint({variable}[-2000:])"
    if handlers.get_handler(kind) is not None:
        return f"import opencrate as oc\n\n{variable} = oc.io.{kind}.load({path!r})\n{variable}"
    return (
        f"# {kind!r} is a custom kind: load it with the handler class it was saved with\n"
        f"handler = YourHandler()\nhandler.path = {path!r}\n{variable} = handler.load()\n{variable}"
    )


def _variable_for(file_name, kind):
    word = re.sub(r"\W+", "_", file_name.split(BACKUP_MARK, 1)[0].split(".", 1)[0]).strip("_").lower()
    if kind == "log":
        word = f"{word}_log"
    if not word.isidentifier() or keyword.iskeyword(word) or word in ("oc", "handler"):
        word = f"{kind}_{word}".strip("_")
    return word if word.isidentifier() and not keyword.iskeyword(word) else "value"


def log_tail(
    root: str | os.PathLike,
    rel_path: str,
    max_lines: int = 40,
    max_bytes: int = 64 << 10,
    allow_hidden: bool = False,
) -> str:
    """The last ``max_lines`` lines of a log (or any text file) under root, reading at most ``max_bytes``.

    Only a regular file visibly inside the root is read (:func:`check_readable`); anything else,
    a folder named ``x.log`` or a FIFO, raises :class:`Unreadable` saying what it is.
    """
    path, _ = check_readable(root, rel_path, allow_hidden, folders=False)
    with open_regular(path) as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        f.seek(max(0, end - max_bytes))
        data = f.read()
    lines = data.decode("utf-8", "replace").splitlines()
    if end > max_bytes and lines:
        lines = lines[1:]  # the first line read is probably cut
    return "\n".join(lines[-max_lines:]) if max_lines else ""


def saving_cell(
    root: str | os.PathLike, version_path: str, cell: Any, before: Optional[str] = None
) -> Optional[dict[str, Any]]:
    """The notebook cell (from ``.crate/cells.jsonl``) that a record entry's ``cell`` points to, or None.

    Kernel restarts reuse execution counts, so the newest matching cell that started no
    later than ``before`` (the save's ISO time, when given) wins; a ``cell_id`` match is preferred.
    """
    if not isinstance(cell, dict):
        return None
    return _timelines.index_for(resolve(root, version_path)).saving_cell(cell, before)
