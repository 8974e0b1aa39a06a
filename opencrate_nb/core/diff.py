"""Comparing two versions: which artifacts were added, removed or changed, and how.

``oc.snapshot.diff(a, b)`` reads each version's record (hashes and sizes), so finding
what changed never re-reads an artifact. What changed *inside* an artifact (JSON keys,
CSV cells, text lines, tensor shapes, image size...) is worked out the first time it is
shown, for at most :data:`MAX_DETAILED` artifacts. The result prints as text in a
terminal and renders as HTML in a notebook; every name in the HTML is escaped.
"""

import base64
import html
import json
import os

from . import _atomic, _timelines, environment, log, refs
from .errors import InvalidNameError
from .handlers import Handler, get_handler, kind_for_folder, kind_for_suffix
from .handlers._compare import MAX_PARSED_BYTES, Detail, capped, unified

MAX_DETAILED = 50  #: changed artifacts whose content is compared (the others: hash and size only)
VALUE_CHARS = 80


class Change:
    """One artifact whose content differs: ``path``, ``kind``, ``before`` and ``after``
    (``{"sha256", "size", "time"}`` from the records) and a lazily computed :attr:`detail`."""

    def __init__(self, path, kind, before, after, file_a, file_b):
        self.path, self.kind, self.before, self.after = path, kind, before, after
        self._files = (file_a, file_b)
        self._detail = None

    @property
    def detail(self):
        if self._detail is None:
            try:
                self._detail = compare_files(self.kind, *self._files)
            except Exception as exc:  # noqa: BLE001 - one unreadable artifact must not spoil the diff
                self._detail = Detail(note=f"content not compared: {type(exc).__name__}: {exc}")
        return self._detail

    def to_dict(self, detail=True):
        out = {"path": self.path, "kind": self.kind, "before": self.before, "after": self.after}
        if detail:
            out["detail"] = self.detail.to_dict()
        return out

    def __repr__(self):
        return f"<Change {self.path}>"


class Diff:
    """What ``oc.snapshot.diff(a, b)`` returns.

    ``added`` / ``removed`` / ``changed``: sorted artifact paths (``"jsons/metrics.json"``);
    ``changes``: a :class:`Change` per changed path; ``unchanged``: how many are the same;
    ``environment``: (field, before, after) of the run environments; ``log``: a
    :class:`Detail` of the run logs (timestamps ignored). ``bool(diff)`` is true when
    any artifact differs.
    """

    def __init__(self, a, b, entries_a, entries_b):
        self.a, self.b = a, b
        self._entries = (entries_a, entries_b)
        self.added = sorted(set(entries_b) - set(entries_a))
        self.removed = sorted(set(entries_a) - set(entries_b))
        self.changes = []
        unchanged = 0
        for path in sorted(set(entries_a) & set(entries_b)):
            old, new = entries_a[path], entries_b[path]
            if old["sha256"] == new["sha256"]:
                unchanged += 1
                continue
            kind = new.get("kind") or old.get("kind") or kind_for_folder(path.split("/", 1)[0])
            self.changes.append(
                Change(path, kind, old, new, os.path.join(a.dir_path, path), os.path.join(b.dir_path, path))
            )
        self.changed = [c.path for c in self.changes]
        self.unchanged = unchanged
        self._environment = None
        self._log = None

    def change(self, path):
        """The :class:`Change` of ``path`` (a path or a file name)."""
        for item in self.changes:
            if path in (item.path, item.path.rsplit("/", 1)[-1]):
                return item
        raise KeyError(
            f"{path!r} did not change between {self.a.label} and {self.b.label}. "
            f"Changed: {', '.join(self.changed) or 'nothing'}."
        )

    @property
    def environment(self):
        if self._environment is None:
            self._environment = environment.compare(
                environment.last_run(self.a.dir_path), environment.last_run(self.b.dir_path)
            )
        return self._environment

    @property
    def log(self):
        if self._log is None:
            self._log = compare_logs(
                os.path.join(self.a.dir_path, f"{self.a.name}.log"), os.path.join(self.b.dir_path, f"{self.b.name}.log")
            )
        return self._log

    def __bool__(self):
        return bool(self.added or self.removed or self.changes)

    def __len__(self):
        return len(self.added) + len(self.removed) + len(self.changes)

    def to_dict(self):
        ea, eb = self._entries
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "added": [dict(eb[p], path=p) for p in self.added],
            "removed": [dict(ea[p], path=p) for p in self.removed],
            "changed": [c.to_dict(detail=n < MAX_DETAILED) for n, c in enumerate(self.changes)],
            "unchanged": self.unchanged,
            "environment": [list(row) for row in self.environment],
            "log": self.log.to_dict(),
        }

    # -- display ------------------------------------------------------------------------------
    def __str__(self):
        from .fileio import format_size

        ea, eb = self._entries
        out = [
            f"diff {self.a.label} -> {self.b.label}: {len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.changes)} changed, {self.unchanged} unchanged"
        ]
        out += [f"  + {p}  ({_size(eb[p], format_size)})" for p in self.added]
        out += [f"  - {p}  ({_size(ea[p], format_size)})" for p in self.removed]
        for number, change in enumerate(self.changes):
            out.append(
                f"  ~ {change.path}  ({_size(change.before, format_size)} -> {_size(change.after, format_size)})"
            )
            if number < MAX_DETAILED:
                out += ["      " + line for line in _detail_text(change.detail)]
        if len(self.changes) > MAX_DETAILED:
            out.append(f"  (content compared for the first {MAX_DETAILED} changed artifacts)")
        if self.environment:
            out.append("run environment:")
            out += ["  " + _row_text(*row) for row in self.environment]
        if self.log:
            out.append("run log (timestamps ignored):")
            out += ["  " + line for line in _detail_text(self.log)]
        return "\n".join(out)

    def __repr__(self):
        return f"<Diff {self.a.label} -> {self.b.label}: +{len(self.added)} -{len(self.removed)} ~{len(self.changes)}>"

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))  # a terminal IPython shows the whole text, not the one-line repr

    def _repr_html_(self):
        from .fileio import format_size

        e = html.escape
        ea, eb = self._entries
        rows = [
            f"<tr class='added'><td>+</td><td>{e(p)}</td><td></td><td>{e(_size(eb[p], format_size))}</td></tr>"
            for p in self.added
        ]
        rows += [
            f"<tr class='removed'><td>&minus;</td><td>{e(p)}</td><td>{e(_size(ea[p], format_size))}</td><td></td></tr>"
            for p in self.removed
        ]
        rows += [
            f"<tr class='changed'><td>~</td><td>{e(c.path)}</td><td>{e(_size(c.before, format_size))}</td>"
            f"<td>{e(_size(c.after, format_size))}</td></tr>"
            for c in self.changes
        ]
        parts = [
            f"<div class='opencrate-diff'><style>{_CSS}</style>",
            f"<h4>{e(self.a.label)} &rarr; {e(self.b.label)}</h4>",
            f"<p>{len(self.added)} added, {len(self.removed)} removed, {len(self.changes)} changed, "
            f"{self.unchanged} unchanged</p>",
        ]
        if rows:
            parts.append(
                "<table><thead><tr><th></th><th>artifact</th><th>before</th><th>after</th></tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>"
            )
        for change in self.changes[:MAX_DETAILED]:
            parts.append(f"<details open><summary>{e(change.path)}</summary>{_detail_html(change.detail)}</details>")
        if self.environment:
            parts.append(
                "<details open><summary>run environment</summary>"
                f"{_detail_html(Detail(rows=self.environment))}</details>"
            )
        if self.log:
            parts.append(f"<details><summary>run log</summary>{_detail_html(self.log)}</details>")
        parts.append("</div>")
        return _left_aligned("".join(parts))


_CSS = (
    ".opencrate-diff table{border-collapse:collapse;margin:4px 0}"
    ".opencrate-diff td,.opencrate-diff th{padding:2px 8px;text-align:left;vertical-align:top}"
    ".opencrate-diff tr.added td:first-child,.opencrate-diff .plus{color:#1a7f37}"
    ".opencrate-diff tr.removed td:first-child,.opencrate-diff .minus{color:#cf222e}"
    ".opencrate-diff pre{margin:4px 0;font-size:12px}"
    ".opencrate-diff .side{display:flex;gap:12px;align-items:flex-start}"
    ".opencrate-diff .side img{min-width:96px;max-width:320px;max-height:320px;image-rendering:pixelated}"
)


_CELL_ALIGN = "text-align:left;vertical-align:top;padding:2px 8px"


def _left_aligned(markup):
    """Every cell aligned left by its own style attribute: notebook front ends right-align table cells,
    and a stored notebook's viewer drops the <style> element (style attributes are kept)."""
    return markup.replace("<td", f"<td style='{_CELL_ALIGN}'").replace("<th>", f"<th style='{_CELL_ALIGN}'>")


def _size(entry, format_size):
    size = entry.get("size")
    return format_size(size) if isinstance(size, int) else "?"


def _short(value):
    if value is None:
        return "none"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 3] + "..."


def _row_text(what, before, after):
    if after == "":
        return f"{what}: {_short(before)}"
    if before == "":
        return f"{what}: {_short(after)}"
    return f"{what}: {_short(before)} -> {_short(after)}"


def _detail_text(detail):
    lines = [_row_text(*row) for row in detail.rows]
    lines += detail.lines
    if detail.media:
        lines.append(f"({detail.media[0]}: shown side by side in a notebook)")
    if detail.note:
        lines.append(f"({detail.note})")
    return lines


def _detail_html(detail):
    e = html.escape
    parts = []
    if detail.rows:
        body = "".join(
            f"<tr><td>{e(str(what))}</td><td class='minus'>{e(_short(x))}</td><td class='plus'>{e(_short(y))}</td></tr>"
            for what, x, y in detail.rows
        )
        parts.append(
            f"<table><thead><tr><th></th><th>before</th><th>after</th></tr></thead><tbody>{body}</tbody></table>"
        )
    if detail.lines:

        def colour(line):
            cls = (
                "plus"
                if line.startswith("+") and not line.startswith("+++")
                else ("minus" if line.startswith("-") and not line.startswith("---") else "")
            )
            return f"<span class='{cls}'>{e(line)}</span>" if cls else e(line)

        parts.append("<pre>" + "\n".join(colour(line) for line in detail.lines) + "</pre>")
    if detail.media:
        mime, before, after = detail.media
        parts.append(
            "<div class='side'>"
            + "".join(
                f"<figure><figcaption>{label}</figcaption>{_media_tag(mime, data)}</figure>"
                for label, data in (("before", before), ("after", after))
            )
            + "</div>"
        )
    if detail.note:
        parts.append(f"<p><i>{e(detail.note)}</i></p>")
    return "".join(parts)


def _media_tag(mime, data):
    source = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    if mime.startswith("image/"):
        return f"<img src='{source}'/>"
    tag = "audio" if mime.startswith("audio/") else "video"
    return f"<{tag} controls src='{source}'></{tag}>"


# -- comparing contents: each handler compares its own kind (Handler.compare) -------------------
def compare_files(kind, path_a, path_b):
    """A :class:`Detail` of how the file (or folder) at ``path_b`` differs from ``path_a``."""
    if os.path.isdir(path_a) or os.path.isdir(path_b):
        return _compare_folders(path_a, path_b)
    handler = get_handler(kind)
    if not _compares_contents(handler):
        handler = get_handler(kind_for_suffix(path_b) or "") or handler  # a custom kind's file: by its suffix
    if not callable(getattr(handler, "compare", None)):
        handler = Handler()  # a handler of the user's own: the sizes
    return handler.compare(path_a, path_b)


def _compares_contents(handler):
    return getattr(type(handler), "compare", Handler.compare) is not Handler.compare


def _compare_folders(path_a, path_b):
    def files(folder):
        return dict(_atomic.iter_files(folder)) if os.path.isdir(folder) else {}

    a, b = files(path_a), files(path_b)
    rows = [(f"- {rel}", os.path.getsize(a[rel]), "") for rel in sorted(set(a) - set(b))]
    rows += [(f"+ {rel}", "", os.path.getsize(b[rel])) for rel in sorted(set(b) - set(a))]
    rows += [
        (rel, os.path.getsize(a[rel]), os.path.getsize(b[rel]))
        for rel in sorted(set(a) & set(b))
        if _atomic.hash_file(a[rel]) != _atomic.hash_file(b[rel])
    ]
    return capped(rows, "files")


def compare_logs(path_a, path_b):
    """The run logs' messages compared with timestamps stripped, plus per-level counts."""

    def read(path):
        try:
            return log.read_entries(path, max_bytes=MAX_PARSED_BYTES)
        except FileNotFoundError:
            return []

    entries_a, entries_b = read(path_a), read(path_b)
    a = [line for entry in entries_a for line in entry.unstamped.splitlines()]
    b = [line for entry in entries_b for line in entry.unstamped.splitlines()]
    if a == b:
        return Detail()

    def levels(entries):
        counts = {}
        for entry in entries:
            if entry.level is not None:
                counts[entry.level] = counts.get(entry.level, 0) + 1
        return counts

    count_a, count_b = levels(entries_a), levels(entries_b)
    rows = [
        (f"{level} lines", count_a.get(level, 0), count_b.get(level, 0))
        for level in dict.fromkeys([*count_a, *count_b])
        if count_a.get(level) != count_b.get(level)
    ]
    return Detail(rows=rows, lines=unified(a, b))


# -- entry point --------------------------------------------------------------------------------
def entries_of(version_dir):
    """``{path: {"sha256", "size", "time", "kind"}}`` of what a version holds now, from its record.

    Hashes missing from the record (a record rebuilt from the files) are computed here.
    """
    out = {}
    for path, content in _timelines.index_for(version_dir).current_entries().items():
        full = os.path.join(version_dir, path)
        sha = content.sha256
        if sha is None:
            if not os.path.lexists(full):
                continue
            sha = _atomic.hash_tree(full)[0] if os.path.isdir(full) else _atomic.hash_file(full)
        out[path] = {"sha256": sha, "size": content.size, "time": content.last_time, "kind": content.kind}
    return out


def diff(a=None, b=None, snapshot=None, root=None, name=None):
    """Compare version ``a`` with version ``b`` (see :mod:`opencrate_nb.core.refs` for how to name them).

    With a snapshot set up: ``diff()`` compares the previous version with the current one,
    ``diff(a)`` compares ``a`` with the current one.
    """
    current = None
    if snapshot is not None and snapshot.is_set_up:
        root = snapshot.root if root is None else root
        name = name or snapshot.name
        current = refs.resolve(snapshot.version_name, name=snapshot.name, root=snapshot.root)
    if b is None:
        if current is None:
            raise InvalidNameError(
                "diff needs two versions (e.g. diff(0, 1) or diff('run/v0', 'run/v1')), "
                "or a snapshot set up with oc.snapshot.setup() to compare against."
            )
        if a is None:
            a = _previous(current)
        b = current
    ref_a = refs.resolve(a, name=name, root=root)
    ref_b = refs.resolve(b, name=name or ref_a.name, root=ref_a.root)
    return Diff(ref_a, ref_b, entries_of(ref_a.dir_path), entries_of(ref_b.dir_path))


def _previous(ref):
    found = refs.list_versions(ref.root, ref.name)
    position = found.index(ref)
    if position == 0:
        raise InvalidNameError(
            f"{ref.label} is the first version of {ref.name!r}: name a version to compare "
            "with, e.g. oc.snapshot.diff('other_name/v0')."
        )
    return found[position - 1]
