"""The catalog tree as readable text: what ``oc.browse()`` shows where no widget can be drawn.

A terminal, a plain-text notebook viewer and an executed notebook's stored text/plain output
all read the same lines, with the facts the widget shows (counts, sizes, times, saving cells)
rendered by the catalog through ``core.format``.
"""

from __future__ import annotations

from typing import Any

from .format import plural

_TEE, _LAST, _PIPE, _GAP = "├── ", "└── ", "│   ", "    "
_SEP = " · "


def render(tree: dict[str, Any], title: str | None = None) -> str:
    """``tree`` (``catalog.tree(root)``) as lines of text; ``title`` replaces the root's name on the first line."""
    snapshots = tree.get("snapshots") or []
    head = title or str(tree.get("root") or "snapshots")
    if not snapshots:
        return f"{head}: no snapshots yet (oc.snapshot.setup(name=...) creates one)"
    lines = [f"{head}  ({plural(len(snapshots), 'snapshot')})"]
    for s_index, snapshot in enumerate(snapshots):
        s_last = s_index == len(snapshots) - 1
        versions = snapshot.get("versions") or []
        lines.append(_branch("", s_last) + f"{snapshot['name']}  ({plural(len(versions), 'version')})")
        s_prefix = _child_prefix("", s_last)
        for v_index, version in enumerate(versions):
            v_last = v_index == len(versions) - 1
            lines.append(_branch(s_prefix, v_last) + version["folder"] + "  " + _version_facts(version))
            _version_lines(version, _child_prefix(s_prefix, v_last), lines)
    return "\n".join(lines)


def _version_facts(version: dict[str, Any]) -> str:
    parts = [plural(version.get("artifact_count") or 0, "artifact"), version.get("size_text") or "?"]
    if version.get("created_text"):
        parts.append(version["created_text"])
    for warning in version.get("warnings") or ():
        parts.append(f"warning: {warning}")
    return _SEP.join(parts)


def _version_lines(version: dict[str, Any], prefix: str, lines: list[str]) -> None:
    children: list[tuple[str, list[str]]] = []
    for kind in version.get("kinds") or ():
        artifacts = kind.get("artifacts") or []
        rows = [_artifact_text(a) for a in artifacts]
        children.append((f"{kind['folder']}  ({kind['kind']}{_SEP}{plural(len(artifacts), 'artifact')})", rows))
    for log in version.get("logs") or ():
        children.append((f"{log['name']}  {log.get('size_text') or '?'}", []))
    for c_index, (text, rows) in enumerate(children):
        c_last = c_index == len(children) - 1
        lines.append(_branch(prefix, c_last) + text)
        inner = _child_prefix(prefix, c_last)
        for r_index, row in enumerate(rows):
            lines.append(_branch(inner, r_index == len(rows) - 1) + row)


def _artifact_text(artifact: dict[str, Any]) -> str:
    parts = [artifact.get("size_text") or "?"]
    if artifact.get("modified_text"):
        parts.append(artifact["modified_text"])
    if artifact.get("cell_label"):
        parts.append(artifact["cell_label"])
    backups = artifact.get("backups") or ()
    if backups:
        parts.append(plural(len(backups), "backup"))
    if artifact.get("summary"):
        parts.append(artifact["summary"])
    return f"{artifact['name']}  {_SEP.join(parts)}"


def _branch(prefix: str, last: bool) -> str:
    return prefix + (_LAST if last else _TEE)


def _child_prefix(prefix: str, last: bool) -> str:
    return prefix + (_GAP if last else _PIPE)
