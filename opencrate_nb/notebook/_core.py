"""The notebook layer's single door into ``opencrate_nb.core``.

Everything the magics, previews and capture need from core goes through these few
functions, so that a change in core is adapted here once.
"""

import os

from ..core import _appender, errors, handlers, lineage, record
from ..core import log as _log
from ..core.artifact import Artifact
from ..core.snapshot import snapshot

__all__ = [
    "Artifact",
    "errors",
    "handlers",
    "snapshot",
    "is_set_up",
    "set_current_cell",
    "write_to_files",
    "append_cells_line",
    "read_cells",
    "log_paths",
    "artifact_kind",
    "verbatim_artifact",
    "CELLS_FILE",
    "environment_changes",
    "saving_cell",
    "LOG_LEVELS",
    "read_log_entries",
    "select_log_entries",
    "version_listing",
]

CELLS_FILE = record.CELLS_FILE
OpenCrateError = errors.OpenCrateError
LOG_LEVELS = _log.LEVELS
read_log_entries = _log.read_entries
select_log_entries = _log.select_entries


def is_set_up():
    return bool(snapshot.is_set_up)


def set_current_cell(info):
    lineage.set_current_cell(info)


def write_to_files(level, message):
    """Write to the current run's log files (not the console); nothing when no snapshot is set up."""
    if snapshot.is_set_up:
        _log.write_to_files(level, message)


def append_cells_line(entry, version_dir=None):
    """Append one cell's entry to ``cells.jsonl``: one write on a file kept open (see core._appender).

    Raises UnicodeEncodeError for text with lone surrogates (the caller escapes and retries).
    """
    if version_dir is None:
        if not snapshot.is_set_up:
            return
        version_dir = os.path.abspath(snapshot.dir_path)
    line = record.encode_line(entry)
    appender = _cells_files.get(version_dir)
    if appender is None:
        appender = _cells_files[version_dir] = _appender.shared(
            os.path.join(record.record_dir(version_dir), CELLS_FILE)
        )
    appender.append(line)


_cells_files: dict = {}  # version folder -> the shared appender of its cells.jsonl


def read_cells(version_dir=None):
    return record.read_lines(version_dir or snapshot.dir_path, CELLS_FILE)


def saving_cell(version_dir, link, saved_at=None):
    """The ``cells.jsonl`` entry of the cell a record entry's ``cell`` field points to, or None.

    Matched on the cell id (else the execution count) and on having started before the save,
    so that a version resumed in a new kernel, whose counts start again at 1, finds the right one.
    """
    from ..core import catalog  # only cards need it: keep %load_ext light

    return catalog.saving_cell(version_dir, ".", link, before=saved_at)


def version_listing(version_dir):
    """The artifacts of a version as the tree lists them (rendered size, time and cell), each
    followed by its backups (which carry ``backup_of``); from the record index, no stat per artifact."""
    from ..core import catalog

    items = []
    for kind in catalog.version(version_dir, summaries=False)["kinds"]:
        for artifact in kind["artifacts"]:
            items.append(artifact)
            for backup in artifact["backups"]:
                items.append(dict(backup, kind=artifact["kind"], backup_of=artifact["name"]))
    return items


def log_paths():
    """(run log, history log) of the current version."""
    folder, name = snapshot.dir_path, snapshot.name
    run = getattr(snapshot, "log_path", None) or os.path.join(folder, f"{name}.log")
    history = getattr(snapshot, "history_log_path", None) or os.path.join(folder, f"{name}.history.log")
    return run, history


def artifact_kind(artifact):
    return getattr(artifact, "kind", None) or getattr(artifact, "snapshot_type", None)


def verbatim_artifact(kind, name):
    """An artifact of ``kind`` whose ``save(text)`` writes ``text`` byte for byte.

    Used by ``%%crate save --raw``: an inline YAML or JSON cell is stored exactly as typed
    (comments and key order kept) and still loads through the kind's own handler.
    """
    regular = snapshot.artifact(kind, name)
    base = type(regular.handler)

    class Verbatim(base):
        def to_bytes(self, obj, *args, **kwargs):
            return obj.encode("utf-8") if isinstance(obj, str) else bytes(obj)

    folder = os.path.dirname(regular.relative_path)
    return Artifact(regular.version_dir, kind, regular.name, Verbatim(), folder)


def environment_changes(wait_seconds=2.0):
    """How this run's environment differs from the run before it, or None without an earlier run.

    The run before is the previous run of this version when it was resumed, else the last
    run of the version before it. Returns ``(label of that run, [(field, before, now)])``.
    """
    from ..core import environment

    environment.wait(wait_seconds)  # the git look-up runs in the background after setup
    folder = snapshot.dir_path
    current = environment.current_run() or environment.last_run(folder)
    if current is None:
        return None
    earlier = [r for r in environment.runs(folder) if r.get("id") != current.get("id")]
    label = f"the previous run of {snapshot.version_name}"
    previous = earlier[-1] if earlier else None
    if previous is None:
        versions = snapshot.list_versions()
        position = versions.index(snapshot.version_name) if snapshot.version_name in versions else 0
        if position == 0:
            return None
        label = versions[position - 1]
        previous = environment.last_run(os.path.join(snapshot.root, snapshot.name, label))
        if previous is None:
            return label, None  # that version has no (readable) .crate/env.json
    return label, environment.compare(previous, current)
