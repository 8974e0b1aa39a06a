"""Checking versions against their record: ``oc.snapshot.verify()`` and ``crate verify``.

Every artifact the record says a version holds is re-hashed and compared with the
recorded hash (a size that differs is enough to know). Reported problems:

- ``corrupted``: the content on disk is not what was saved (or a kept history content
  no longer matches the hash it is named by);
- ``missing``: the record says the artifact exists, the file is gone;
- ``untracked``: a visible file in the version that no save recorded;
- ``record``: record lines that could not be read, or no record at all;
- ``interrupted``: a change a killed process left half-done (core/_journal.py); the next
  use of the version finishes or undoes it, and so does ``repair=True``
  (``crate verify --repair``), which runs that recovery before checking;
- ``journal``: an intent in the journal that recovery does not act on (not of the shape the
  writer writes: written by hand or by another program, or its recovery failed); it is set
  aside in ``.crate/journal.rejected.jsonl``, and reported until that file is removed.
"""

import hashlib
import html
import os

from . import _atomic, _journal, _objects, _savelock, _timelines, _writer, refs, run_notebook
from ._printable import printable
from .record import RECORD_DIR

SMALL_FILE = 1 << 20


class Problem:
    """One thing wrong: ``kind`` (corrupted, missing, untracked, record, interrupted, journal), ``where``
    (``name/version/path``) and a sentence saying what and what to do."""

    __slots__ = ("kind", "where", "message")

    def __init__(self, kind, where, message):
        self.kind, self.where, self.message = kind, where, message

    def to_dict(self):
        return {field: getattr(self, field) for field in self.__slots__}

    def __repr__(self):
        return f"<Problem {self.kind} {self.where}>"


class VerifyReport:
    """What verify returns: ``ok``, the ``problems``, and ``corrupted`` / ``missing`` /
    ``untracked`` as lists of ``name/version/path``; ``checked`` counts the files hashed."""

    def __init__(self, versions):
        self.versions = list(versions)
        self.problems = []
        self.checked = 0

    @property
    def ok(self):
        return not self.problems

    def _of(self, kind):
        return [p.where for p in self.problems if p.kind == kind]

    @property
    def corrupted(self):
        return self._of("corrupted")

    @property
    def missing(self):
        return self._of("missing")

    @property
    def untracked(self):
        return self._of("untracked")

    def __bool__(self):
        return self.ok

    def to_dict(self):
        return {
            "ok": self.ok,
            "versions": [v.label for v in self.versions],
            "checked": self.checked,
            "problems": [p.to_dict() for p in self.problems],
        }

    def _headline(self):
        span = self.versions[0].label if len(self.versions) == 1 else f"{len(self.versions)} versions"
        state = "ok" if self.ok else f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        return f"verify {span}: {self.checked} files checked, {state}"

    def __str__(self):
        return "\n".join([self._headline()] + [f"  {p.kind:<9} {p.where}: {p.message}" for p in self.problems])

    def __repr__(self):
        return f"<VerifyReport {self._headline()}>"

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))  # a terminal IPython shows the whole text, not the one-line repr

    def _repr_html_(self):
        e = html.escape
        rows = "".join(
            f"<tr><td>{e(p.kind)}</td><td>{e(p.where)}</td><td>{e(p.message)}</td></tr>" for p in self.problems
        )
        table = f"<table><tbody>{rows}</tbody></table>" if rows else ""
        return f"<div class='opencrate-verify'><b>{e(self._headline())}</b>{table}</div>"


def content_hash(path, size):
    """sha256 of a file; small files in one read (verify hashes thousands of them)."""
    if size < SMALL_FILE:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    return _atomic.hash_file(path)


def verify(version=None, snapshot=None, root=None, name=None, history_contents=True, progress=None, repair=False):
    """Verify one version: ``version`` as :func:`~opencrate_nb.core.refs.resolve` reads it; the
    current version of ``snapshot`` when None. ``repair=True`` first finishes or undoes
    interrupted changes."""
    if version is None and snapshot is not None and snapshot.is_set_up:
        version = snapshot.version_name
    if snapshot is not None and snapshot.is_set_up:
        root = snapshot.root if root is None else root
        name = name or snapshot.name
    ref = refs.resolve(version, name=name, root=root)
    return verify_versions([ref], history_contents=history_contents, progress=progress, repair=repair)


def verify_all(root=refs.DEFAULT_ROOT, name=None, history_contents=True, progress=None, repair=False):
    """Verify every version of snapshot ``name``, or of every snapshot under ``root``."""
    return verify_versions(
        refs.iter_versions(root, name), history_contents=history_contents, progress=progress, repair=repair
    )


def verify_versions(versions, history_contents=True, progress=None, repair=False):
    report = VerifyReport(versions)
    if repair:
        for ref in report.versions:
            _writer.recover(ref.dir_path)
    plans = [(ref, _plan(ref, report, history_contents)) for ref in report.versions]
    total = sum(len(work) for _, work in plans)
    done = 0
    for ref, work in plans:
        for rel, full, sha, size in work:
            problem = _check(full, sha, size)
            if problem is not None and rel is not None:
                problem = _recheck(ref, rel)
            elif problem is not None and problem[0] == "missing":
                problem = None  # a history content that retention removed meanwhile
            if problem is not None:
                report.problems.append(Problem(problem[0], f"{ref.label}/{rel or _object_rel(sha)}", problem[1]))
            report.checked += 1
            done += 1
            if progress is not None:
                progress(done, total)
    return report


def _object_rel(sha):
    return f"{RECORD_DIR}/objects/{sha[:2]}/{sha}"


def _check(full, sha, size):
    """``(kind, message)`` of what is wrong with the content at ``full``, or None."""
    try:
        st = os.stat(full)
        if os.path.isdir(full):
            actual, actual_size = _atomic.hash_tree(full)
        else:
            actual_size = st.st_size
            actual = None if size is not None and size != actual_size else content_hash(full, actual_size)
    except FileNotFoundError:
        return "missing", "recorded as saved, but the file is gone"
    if actual == sha:
        return None
    found = "" if actual is None else f", sha256 {sha[:12]} -> {actual[:12]}"
    return "corrupted", (
        f"content differs from the record (size {size} -> {actual_size}{found}); "
        "restore it from a backup or an earlier content (artifact.history())"
    )


def _recheck(ref, rel):
    """Look again under the save lock: a save may have replaced the file after the record was read."""
    with _savelock.version_lock(ref.dir_path):
        content = _timelines.index_for(ref.dir_path).current_entries().get(rel)
        if content is None or not content.sha256:
            return None  # deleted meanwhile
        return _check(os.path.join(ref.dir_path, rel), content.sha256, content.size)


def _plan(ref, report, history_contents):
    """[(path in the version or None for a history object, full path, expected sha256, expected size)]
    to hash; record and untracked problems go straight into ``report``."""
    folder = ref.dir_path
    index = _timelines.index_for(folder, fresh=True)
    record_where = f"{ref.label}/{RECORD_DIR}/record.jsonl"
    interrupted = {}
    for intent in _journal.pending(folder):
        interrupted[intent["entry"].get("path")] = intent
        report.problems.append(
            Problem(
                "interrupted",
                f"{ref.label}/{intent['entry'].get('path')}",
                f"the {intent.get('op')} of this artifact was interrupted (its process was killed); the next use of "
                "the version (setup, a save, history()) finishes or undoes it, or run crate verify --repair",
            )
        )
    _report_rejected(ref, report)
    if index.rebuilt and interrupted:
        return []  # the first save was interrupted before its record line: nothing else to check
    if index.rebuilt:
        if not _visible_files(folder, ref.name):
            return []  # nothing saved yet
        report.problems.append(
            Problem(
                "record",
                record_where,
                "no record, so nothing can be verified; write one from the files with "
                "opencrate_nb.core.record.rebuild_record(version_dir)",
            )
        )
        return []
    for line, salvaged in index.bad_lines:
        if not salvaged:
            report.problems.append(Problem("record", record_where, f"line {line} is unreadable and was skipped"))
    current = index.current_entries()
    work = [
        (path, os.path.join(folder, path), content.sha256, content.size)
        for path, content in sorted(current.items())
        if content.sha256 and path not in interrupted
    ]
    untracked = [path for path in _visible_files(folder, ref.name) if path not in current and path not in interrupted]
    if untracked:
        with _savelock.version_lock(folder):  # a save may have moved its file in before writing its record line
            current = _timelines.index_for(folder).current_entries()
        report.problems += [
            Problem(
                "untracked",
                f"{ref.label}/{printable(path)}",
                "on disk but never saved through opencrate (no record entry)",
            )
            for path in sorted(untracked)
            if path not in current
        ]
    if history_contents:
        work += [(None, full, sha, None) for sha, full in _objects.kept_objects(folder)]
    return work


def _report_rejected(ref, report):
    """One ``journal`` problem per intent recovery does not act on (set aside, or to be at the next use)."""
    where = f"{ref.label}/{RECORD_DIR}/{_journal.JOURNAL_FILE}"
    kept = f"{RECORD_DIR}/{_journal.REJECTED_FILE}"
    for item in _journal.rejected(ref.dir_path):
        at = "" if item.offset is None else f" at byte {item.offset:,}"
        report.problems.append(
            Problem(
                "journal",
                where,
                f"an intent{at} recovery does not act on ({printable(item.problem)}); nothing was changed for it. "
                f"It is set aside in {kept} (at the next use of the version, if not yet): look at it, then "
                "remove that file",
            )
        )


def _visible_files(folder, name):
    """Relative paths of the artifacts on disk: entries of the kind folders, and stray root files."""
    logs = {f"{name}.log", f"{name}.history.log", run_notebook.NOTEBOOK_FILE}  # written by opencrate itself
    found = []
    for entry in _objects.list_dir(folder):
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            found += [
                f"{entry.name}/{item.name}" for item in _objects.list_dir(entry.path) if not item.name.startswith(".")
            ]
        elif entry.name not in logs:
            found.append(entry.name)
    return found
