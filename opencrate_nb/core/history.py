"""Artifact history: every content an artifact has had, oldest first, and loading an earlier one.

The record (``.crate/record.jsonl``) says when each content became current, by which cell,
with its size and hash; the contents themselves are kept in the version's object store
(core/_objects.py) by the write protocol (core/_writer.py). Saving the same content again
adds nothing. Retention (core/_retention.py): the last :data:`KEEP` earlier contents of
each artifact are kept (environment variable ``OPENCRATE_HISTORY_KEEP`` sets the default,
5); ``KEEP = 0`` switches history off. Explicit backups (``artifact.backup()``) are
ordinary files and are never pruned.

Loading an earlier content materialises it under the artifact's file name in
``.crate/tmp`` for the duration of the handler's ``load`` (handlers pick formats by suffix).
"""

import contextlib
import datetime as _dt
import html
import os
import secrets
import shutil
import warnings
from typing import Optional

from . import _atomic, _journal
from ._objects import TREES_DIR, content_path, object_path, read_tree, tmp_dir
from ._retention import keep_count
from ._timelines import index_for, parse_time, to_timestamp
from .errors import OpenCrateError
from .format import cell_label, format_time

ENV_KEEP = "OPENCRATE_HISTORY_KEEP"
DEFAULT_KEEP = 5


def _keep_from_env():
    value = os.environ.get(ENV_KEEP, "").strip()
    if not value:
        return DEFAULT_KEEP
    try:
        number = int(value)
    except ValueError:
        warnings.warn(
            f"{ENV_KEEP}={value!r} is not a whole number; keeping {DEFAULT_KEEP} earlier contents.", stacklevel=2
        )
        return DEFAULT_KEEP
    return max(number, 0)


#: Earlier contents kept per artifact (0 switches history off). Set it at run time:
#: ``opencrate_nb.core.history.KEEP = 10``.
KEEP = _keep_from_env()


class NotInHistoryError(OpenCrateError, FileNotFoundError):
    """The requested earlier content does not exist, or was not kept."""


# -- listing and loading -------------------------------------------------------------------------
class History(list):
    """What ``artifact.history()`` returns: a list of dicts, oldest first, with a readable display.

    Each item: ``index``, ``time`` (when this content became current), ``until`` (when it
    was replaced or deleted; None while current), ``size``, ``sha256``, ``cell``,
    ``saves`` (consecutive saves of this same content), ``current``, ``available``
    (its content can be loaded) and ``path`` (where the content is, when available).
    """

    name: Optional[str] = None

    def __str__(self):
        from .fileio import format_size

        if not self:
            return f"{self.name}: no history"
        lines = [f"{self.name}: {len(self)} content{'s' if len(self) != 1 else ''}"]
        for item in self:
            cell = item.get("cell") or {}
            where = f"  {cell_label(cell)}" if cell_label(cell) else ""
            size = format_size(item["size"]) if isinstance(item.get("size"), int) else "?"
            flag = "current" if item["current"] else ("kept" if item["available"] else "not kept")
            saves = f"  saved {item['saves']}x" if item.get("saves", 1) > 1 else ""
            lines.append(
                f"  [{item['index']}] {_short_time(item['time'])}  {size:>9}  "
                f"{(item['sha256'] or '?')[:12]}  {flag}{saves}{where}"
            )
        return "\n".join(lines)

    def _repr_html_(self):
        from .fileio import format_size

        rows = []
        for item in self:
            cell = item.get("cell") or {}
            flag = "current" if item["current"] else ("kept" if item["available"] else "not kept")
            size = format_size(item["size"]) if isinstance(item.get("size"), int) else "?"
            rows.append(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(str(v))}</td>"
                    for v in (
                        item["index"],
                        _short_time(item["time"]),
                        size,
                        (item["sha256"] or "?")[:12],
                        flag,
                        item.get("saves", 1),
                        cell_label(cell) or "",
                    )
                )
                + "</tr>"
            )
        head = "".join(f"<th>{h}</th>" for h in ("#", "saved", "size", "sha256", "state", "saves", "cell"))
        return (
            f"<div class='opencrate-history'><b>{html.escape(str(self.name))}</b>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )


def _short_time(text):
    return format_time(text)


def history_of(version_dir: str, rel: str, path: str) -> History:
    """The :class:`History` of the artifact at ``rel`` (file ``path``) in a version."""
    _journal.recover_if_pending(version_dir)  # an interrupted change is finished (or undone) first
    index = index_for(version_dir)
    timeline = index.timelines.get(rel)
    out = History()
    out.name = rel.rsplit("/", 1)[-1]
    if timeline is None:
        if os.path.exists(path):  # on disk but never recorded
            st = os.stat(path)
            sha, size = _atomic.hash_tree(path) if os.path.isdir(path) else (_atomic.hash_file(path), st.st_size)
            stamp = _dt.datetime.fromtimestamp(st.st_mtime).astimezone().isoformat(timespec="microseconds")
            out.append(
                {
                    "index": 0,
                    "time": stamp,
                    "until": None,
                    "size": size,
                    "sha256": sha,
                    "cell": None,
                    "saves": 1,
                    "current": True,
                    "available": True,
                    "path": path,
                }
            )
        return out
    last = len(timeline.contents) - 1
    for number, content in enumerate(timeline.contents):
        current = number == last and not timeline.deleted
        where = None
        if current:
            where = path if os.path.lexists(path) else None
        elif content.sha256:
            where = content_path(version_dir, content.sha256)
        sha = content.sha256
        if sha is None and current and where is not None and not os.path.isdir(where):
            sha = _atomic.hash_file(where)
        out.append(
            {
                "index": number,
                "time": content.time,
                "until": content.until,
                "size": content.size,
                "sha256": sha,
                "cell": content.cell,
                "saves": content.saves,
                "current": current,
                "available": where is not None,
                "path": where,
            }
        )
    return out


def pick(entries, version=None, at=None):
    """The history item for ``version=k`` (negative counts from the end) or ``at=`` a time."""
    if (version is None) == (at is None):
        raise TypeError("Give exactly one of version= (a position in the history) or at= (a time).")
    name = entries.name
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int):
            raise TypeError(f"version= is a position in {name}'s history (0 = first, -1 = current), got {version!r}.")
        count = len(entries)
        if not -count <= version < count:
            span = f"0..{count - 1} (or -1..-{count})" if count else "none"
            raise IndexError(
                f"{name} has {count} content{'s' if count != 1 else ''} in its history: "
                f"version={version} is out of range; valid: {span}. See artifact.history()."
            )
        return entries[version]
    stamp = to_timestamp(at)
    for item in reversed(entries):
        start = parse_time(item["time"])
        if start is None or start > stamp:
            continue
        until = parse_time(item["until"]) if item["until"] else None
        if until is None or stamp < until:
            return item
        raise NotInHistoryError(f"{name} did not exist at {_show(at)}: it was deleted at {_short_time(item['until'])}.")
    if not entries:
        raise NotInHistoryError(f"{name} has no saved content at all, so nothing existed at {_show(at)}.")
    raise NotInHistoryError(
        f"{name} did not exist yet at {_show(at)}: it was first saved at {_short_time(entries[0]['time'])}."
    )


def _show(at):
    return at.isoformat(sep=" ") if isinstance(at, (_dt.datetime, _dt.date)) else repr(at)


def load(artifact, version=None, at=None, args=(), kwargs=None):
    """Load an earlier content of ``artifact`` (an :class:`~opencrate_nb.core.artifact.Artifact`)."""
    kwargs = kwargs or {}
    entries = artifact.history()
    item = pick(entries, version=version, at=at)
    if item["current"]:
        return artifact.load(*args, **kwargs)
    if not item["available"]:
        raise NotInHistoryError(
            f"Content {item['index']} of {artifact.name!r} (saved {_short_time(item['time'])}) was not kept: "
            f"history keeps the last {keep_count()} earlier contents of each artifact "
            f"(opencrate_nb.core.history.KEEP or ${ENV_KEEP}). Use artifact.backup() for copies that are never pruned."
        )
    with materialized(artifact.version_dir, item, artifact.name) as path:
        handler = artifact.handler
        if getattr(artifact, "_custom", False):
            saved_path = getattr(handler, "path", None)
            handler.path = path
            try:
                return handler.load(*args, **kwargs)
            finally:
                handler.path = saved_path
        return handler.load(path, *args, **kwargs)


@contextlib.contextmanager
def materialized(version_dir, item, name):
    """An earlier content under its artifact's file name, in ``.crate/tmp``, removed on exit.

    Handlers choose formats by suffix, so the object is linked (or copied) to a file of
    the right name; a folder content is rebuilt from its manifest.
    """
    root = tmp_dir(version_dir)
    os.makedirs(root, exist_ok=True)
    folder = os.path.join(root, f"load-{secrets.token_hex(6)}")
    os.mkdir(folder)
    try:
        target = os.path.join(folder, name)
        if os.path.basename(os.path.dirname(item["path"])) == TREES_DIR:
            for rel, sha in read_tree(version_dir, item["sha256"]):
                dest = os.path.join(target, *rel.split("/"))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                _link_or_copy(object_path(version_dir, sha), dest)
            os.makedirs(target, exist_ok=True)  # an empty folder content
        else:
            _link_or_copy(item["path"], target)
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _link_or_copy(source, target):
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
