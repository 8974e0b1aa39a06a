"""Cleaning up and counting: ``crate gc``, ``crate stats``, ``oc.snapshot.gc()`` / ``.stats()``.

Garbage is what no artifact needs any more:

- history contents beyond retention (:data:`opencrate_nb.core.history.KEEP`), and
  contents no record line mentions;
- leftovers of interrupted work: hidden ``*.tmp*`` files of saves (in the kind folders,
  ``.crate`` and the version folder, where the history log is copied), ``.*.deleting``
  entries of deletes and resets, ``.crate/tmp/load-*`` folders of loads. Changes a killed
  process left half-done (core/_journal.py) are finished or undone first.

A save in progress is never disturbed: history contents are decided and removed while
holding the version's save lock (the lock a save holds from keeping the old content to
writing its record line), and a leftover or an unreferenced content is only removed
once it is older than ``min_age`` seconds (a save may still be writing its temporary
file). A version whose record is missing or damaged keeps all its history contents.
Removal goes folder manifests first, then objects, so a kill at any moment leaves
every kept content either whole or reported as not kept.
"""

import html
import os
import time

from . import _atomic, _journal, _objects, _retention, _savelock, _timelines, refs
from ._names import check_name
from .record import RECORD_DIR

DEFAULT_MIN_AGE = 3600.0  #: seconds: younger leftovers may belong to a save in progress


class Item:
    """One thing gc removes (or would): ``path``, ``size`` in bytes, ``reason``."""

    __slots__ = ("path", "size", "reason")

    def __init__(self, path, size, reason):
        self.path, self.size, self.reason = path, size, reason

    def to_dict(self):
        return {field: getattr(self, field) for field in self.__slots__}

    def __repr__(self):
        return f"<Item {self.reason} {self.path}>"


class GcReport:
    """What gc removed (``dry_run=False``) or would remove: ``items``, ``bytes``, ``notes``."""

    def __init__(self, dry_run):
        self.dry_run = dry_run
        self.items = []
        self.notes = []

    @property
    def bytes(self):
        return sum(item.size for item in self.items)

    def to_dict(self):
        return {
            "dry_run": self.dry_run,
            "bytes": self.bytes,
            "items": [i.to_dict() for i in self.items],
            "notes": self.notes,
        }

    def _headline(self):
        from .fileio import format_size

        verb = "would remove" if self.dry_run else "removed"
        return f"gc {verb} {len(self.items)} item{'s' if len(self.items) != 1 else ''} ({format_size(self.bytes)})"

    def __str__(self):
        lines = [self._headline()]
        lines += [f"  {item.reason:<22} {item.path}" for item in self.items]
        lines += [f"  note: {note}" for note in self.notes]
        if self.dry_run and self.items:
            lines.append("  (dry run: nothing was removed)")
        return "\n".join(lines)

    def __repr__(self):
        return f"<GcReport {self._headline()}>"

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))  # a terminal IPython shows the whole text, not the one-line repr

    def _repr_html_(self):
        e = html.escape
        rows = "".join(f"<tr><td>{e(i.reason)}</td><td>{e(i.path)}</td><td>{i.size}</td></tr>" for i in self.items)
        notes = "".join(f"<p>{e(n)}</p>" for n in self.notes)
        return f"<div class='opencrate-gc'><b>{e(self._headline())}</b><table>{rows}</table>{notes}</div>"


def _age(st, now):
    """Seconds since the entry was last written, renamed or linked (ctime moves on link and rename)."""
    return now - max(st.st_mtime, st.st_ctime)


def _old(entry, now, min_age):
    """Whether a directory entry is at least ``min_age`` old; False when it is gone meanwhile
    (a save renamed its temporary file into place while gc looked)."""
    try:
        return _age(entry.stat(follow_symlinks=False), now) >= min_age
    except FileNotFoundError:
        return False


def _size_of(path):
    if os.path.isdir(path) and not os.path.islink(path):
        return sum(os.path.getsize(full) for _, full in _atomic.iter_files(path))
    return os.path.getsize(path)


def collect(root=refs.DEFAULT_ROOT, name=None, dry_run=True, min_age=DEFAULT_MIN_AGE, keep=None, progress=None):
    """Find (and unless ``dry_run`` remove) garbage of snapshot ``name``, or of every snapshot.

    ``progress(done, total)`` is called while removing each batch (one per version).
    """
    if name is not None:
        name = check_name(name, "snapshot name")  # the spelling setup() stored
    report = GcReport(dry_run)
    keep = _retention.keep_count() if keep is None else keep
    now = time.time()
    try:
        versions = refs.iter_versions(root, name)
    except refs.VersionNotFoundError:
        if not _interrupted_resets(root, name):
            raise
        versions = []  # a reset of this name was killed half-way: only its leftover remains
    for ref in versions:
        with _savelock.version_lock(ref.dir_path):  # no save can keep or record a content meanwhile
            _finish_interrupted(ref, report, dry_run)
            found = _history_garbage(ref, report, keep, min_age, now)
            _remove(found, report, dry_run, progress)
        _remove(_leftovers(ref.dir_path, min_age, now), report, dry_run, progress)
    _remove(_interrupted_resets(root, name), report, dry_run, progress)
    return report


def _finish_interrupted(ref, report, dry_run):
    """Changes a killed process left half-done are finished or undone first (what they name is not garbage)."""
    if dry_run:
        report.notes += [
            f"{ref.label}: interrupted {_journal.describe(intent)} (gc without dry_run, or crate verify --repair, "
            "finishes it)"
            for intent in _journal.pending(ref.dir_path)
        ]
    else:
        _journal.recover(ref.dir_path)


def _interrupted_resets(root, name):
    """``<root>/.<name>[.<token>].deleting``: what a reset killed half-way left (no version points there)."""
    found = []
    for entry in _objects.list_dir(root):
        if not (entry.name.startswith(".") and entry.name.endswith(".deleting")):
            continue
        stem = entry.name[1 : -len(".deleting")]
        owner = stem.rsplit(".", 1)[0] if _is_token(stem.rsplit(".", 1)[-1]) and "." in stem else stem
        if name is None or owner == name:
            found.append(_item(entry.path, "interrupted reset"))
    return found


def _is_token(text):
    return len(text) == 8 and all(c in "0123456789abcdef" for c in text)


def _item(path, reason, size=None):
    try:
        return Item(path, _size_of(path) if size is None else size, reason)
    except OSError:
        return None


def _remove(items, report, dry_run, progress):
    items = [item for item in items if item is not None]
    for done, item in enumerate(items):
        if progress is not None:
            progress(done, len(items))
        if not dry_run:
            _atomic.remove_quietly(item.path)
    if progress is not None and items:
        progress(len(items), len(items))
    report.items += items


def _history_garbage(ref, report, keep, min_age, now):
    index = _timelines.index_for(ref.dir_path, fresh=True)
    if index.rebuilt or any(not salvaged for _, salvaged in index.bad_lines):
        if not os.path.isdir(_objects.objects_dir(ref.dir_path)):
            return []
        report.notes.append(
            f"{ref.label}: record {'missing' if index.rebuilt else 'damaged'}; "
            "its history contents were left alone (see crate verify)"
        )
        return []
    return _collect_history(ref.dir_path, index, keep, min_age, now)


def _leftovers(folder, min_age, now):
    found = []
    for entry in _hidden_entries(folder):
        if entry.name.endswith(".deleting"):
            found.append(_item(entry.path, "interrupted delete"))
        elif _atomic.is_temp_name(entry.name) and _old(entry, now, min_age):
            found.append(_item(entry.path, "interrupted save"))
    for entry in _objects.list_dir(os.path.join(folder, RECORD_DIR, _objects.TMP_DIR)):
        if entry.name.startswith(_retention.PRUNED_PREFIX):  # out of the store already; never needed again
            found.append(_item(entry.path, "pruned content"))
        elif _old(entry, now, min_age):
            found.append(_item(entry.path, "leftover of a load"))
    return found


def _hidden_entries(folder):
    """Hidden entries of the version folder (copies of the history log), of the kind folders and
    of ``.crate`` (where temporary files are made)."""
    found = []
    for top in _objects.list_dir(folder):
        if top.is_dir(follow_symlinks=False) and (not top.name.startswith(".") or top.name == RECORD_DIR):
            found += [e for e in _objects.list_dir(top.path) if e.name.startswith(".")]
        elif top.name.startswith(".") and _atomic.is_temp_name(top.name):
            found.append(top)
    return found


def _collect_history(folder, index, keep, min_age, now):
    """Trees, then objects, that no retained content needs. Called with the version lock held."""
    retained = index.retained_hashes(keep)
    trees_dir = os.path.join(folder, RECORD_DIR, _objects.TREES_DIR)
    trees = [e for e in _objects.list_dir(trees_dir) if _objects.is_object_name(e.name)]
    needed = set(retained)
    found = []
    for tree in trees:
        if tree.name not in retained and _removable(tree.name, index, tree.stat(), min_age, now):
            found.append(_item(tree.path, _reason(tree.name, index)))
        else:
            needed.update(sha for _, sha in _objects.read_tree(folder, tree.name))
    for sha, path in _objects.kept_objects(folder):
        if sha in needed:
            continue
        st = os.stat(path)
        if _removable(sha, index, st, min_age, now):
            found.append(_item(path, _reason(sha, index), size=st.st_size))
    for store in [shard.path for shard in _objects.list_dir(_objects.objects_dir(folder))] + [trees_dir]:
        found += [
            _item(e.path, "interrupted save")
            for e in _objects.list_dir(store)
            if _atomic.is_temp_name(e.name) and _old(e, now, min_age)
        ]
    return found


def _removable(sha, index, st, min_age, now):
    """A recorded content beyond retention goes at once; an unreferenced one only when old enough."""
    return sha in index.hash_paths or _age(st, now) >= min_age


def _reason(sha, index):
    return "beyond retention" if sha in index.hash_paths else "unreferenced content"


# -- statistics ---------------------------------------------------------------------------------
class Stats:
    """Per version: ``files`` and ``bytes`` of the current artifacts, ``history_contents`` and
    ``history_bytes`` kept, ``logical_bytes`` (every save of every kept content stored on its own),
    ``stored_bytes`` (on disk, each file counted once) and ``saved_bytes`` by deduplication."""

    FIELDS = ("files", "bytes", "history_contents", "history_bytes", "logical_bytes", "stored_bytes", "saved_bytes")

    def __init__(self):
        self.rows = []  # (VersionRef, {field: int})

    def totals(self, name=None):
        out = dict.fromkeys(self.FIELDS, 0)
        for ref, row in self.rows:
            if name is None or ref.name == name:
                for field in self.FIELDS:
                    out[field] += row[field]
        return out

    def to_dict(self):
        names = list(dict.fromkeys(ref.name for ref, _ in self.rows))
        return {
            "versions": [dict(row, name=ref.name, version=ref.folder) for ref, row in self.rows],
            "snapshots": {n: self.totals(n) for n in names},
            "total": self.totals(),
        }

    def __str__(self):
        from .fileio import format_size

        head = f"{'version':<32} {'files':>7} {'bytes':>10} {'history':>8} {'hist.bytes':>10} {'saved':>10}"
        lines = [head]
        for ref, row in self.rows:
            lines.append(
                f"{ref.label:<32} {row['files']:>7} {format_size(row['bytes']):>10} "
                f"{row['history_contents']:>8} {format_size(row['history_bytes']):>10} "
                f"{format_size(row['saved_bytes']):>10}"
            )
        total = self.totals()
        lines.append(
            f"{'total':<32} {total['files']:>7} {format_size(total['bytes']):>10} "
            f"{total['history_contents']:>8} {format_size(total['history_bytes']):>10} "
            f"{format_size(total['saved_bytes']):>10}"
        )
        return "\n".join(lines)

    def _repr_html_(self):
        e = html.escape
        head = "".join(f"<th>{f}</th>" for f in ("version",) + self.FIELDS)
        body = "".join(
            "<tr>" + f"<td>{e(ref.label)}</td>" + "".join(f"<td>{row[f]}</td>" for f in self.FIELDS) + "</tr>"
            for ref, row in self.rows
        )
        return f"<table class='opencrate-stats'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def stats(root=refs.DEFAULT_ROOT, name=None, progress=None):
    """:class:`Stats` of snapshot ``name``, or of every snapshot under ``root``."""
    out = Stats()
    versions = refs.iter_versions(root, name)
    for number, ref in enumerate(versions):
        out.rows.append((ref, version_stats(ref.dir_path)))
        if progress is not None:
            progress(number + 1, len(versions))
    return out


def version_stats(folder):
    index = _timelines.index_for(folder)
    seen = set()  # inodes: hard links (history objects of unchanged files) are counted once
    row = dict.fromkeys(Stats.FIELDS, 0)

    def stored(st):
        key = (st.st_dev, st.st_ino)
        if key not in seen:
            seen.add(key)
            row["stored_bytes"] += st.st_size

    for path, timeline in index.timelines.items():
        full = os.path.join(folder, path)
        for content in timeline.contents:
            is_current = content is timeline.current()
            kept = is_current or (content.sha256 and _objects.content_path(folder, content.sha256))
            if kept and isinstance(content.size, int):
                row["logical_bytes"] += content.size * content.saves
        if timeline.current() is None or not os.path.lexists(full):
            continue
        row["files"] += 1
        if os.path.isdir(full):
            for _, each in _atomic.iter_files(full):
                st = os.stat(each)
                row["bytes"] += st.st_size
                stored(st)
        else:
            st = os.stat(full)
            row["bytes"] += st.st_size
            stored(st)
    for _, path in _objects.kept_objects(folder):
        st = os.stat(path)
        row["history_contents"] += 1
        before = row["stored_bytes"]
        stored(st)
        row["history_bytes"] += row["stored_bytes"] - before
    row["saved_bytes"] = max(row["logical_bytes"] - row["stored_bytes"], 0)
    return row
