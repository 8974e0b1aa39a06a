"""The details pane of the widget browser: what the selected item holds, then its facts, each once.

Every fact comes from the catalog node as the catalog rendered it (``size_text``,
``modified_text``, ``cell_label``, ``summary``), so the pane reads as the sidebar and
``%crate ls`` do; only the content preview opens the file. Every value put into HTML is escaped.
"""

from ..core import catalog
from ..core.format import format_size
from . import _browser_nodes as nodes
from . import preview
from .preview import esc

#: Lines of a log shown in the preview of a log.
LOG_LINES = 40


def preview_html(root, node, artifact_for):
    """What the item holds: a content preview, a log's tail, or a table of what is inside.
    The facts about the item are in the details below it (:func:`facts_html`), each once."""
    if node.type in (nodes.ARTIFACT, nodes.BACKUP):
        artifact = artifact_for(node)
        return preview.kind_preview(artifact, node.kind, preview.describe(artifact))
    if node.type == nodes.LOG:
        return pre(catalog.log_tail(root, node.path, max_lines=LOG_LINES)) or "<div>(empty log)</div>"
    if node.type == nodes.SNAPSHOT:
        rows = [
            [v["folder"], v.get("created_text") or "", v["artifact_count"], v["size_text"]]
            for v in node.data["versions"][-50:]
        ]
        return preview.table_html(["version", "created", "artifacts", "size"], rows)
    if node.type == nodes.VERSION:
        rows = [
            [k["folder"], k["kind"], len(k["artifacts"]), format_size(sum(a["size"] for a in k["artifacts"]))]
            for k in node.data["kinds"]
        ]
        return (
            preview.table_html(["folder", "kind", "artifacts", "size"], rows)
            if rows
            else "<div>No artifacts in this version yet.</div>"
        )
    rows = [
        [a["name"], a["size_text"], a["modified_text"] or ""]
        for a in node.data["artifacts"][: preview.LISTING_MAX_FILES]
    ]
    return preview.table_html(["artifact", "size", "modified"], rows, total_rows=len(node.data["artifacts"]))


def facts_html(root, node):
    """The facts of the selected item, each once, as the catalog rendered them."""
    data = node.data
    facts = [("path", f"{root}/{node.path}")]
    if node.type == nodes.VERSION:
        facts += [
            ("tag", data["tag"] or "none"),
            ("created", data.get("created_text") or "unknown"),
            ("modified", data["modified_text"]),
            ("size", size_text(data)),
            ("artifacts", data["artifact_count"]),
            ("logs", ", ".join(log["name"] for log in data["logs"])),
        ]
        facts += [("warning", w) for w in data.get("warnings", ())]
    elif node.type in (nodes.ARTIFACT, nodes.BACKUP, nodes.LOG):
        facts += [
            ("kind", node.kind),
            ("size", size_text(data)),
            ("saved" if data.get("sha256") else "modified", data.get("modified_text") or "unknown"),
        ]
        if node.type == nodes.ARTIFACT:
            facts.append(("by", data.get("cell_label") or "code outside a notebook cell"))
        if data.get("summary"):
            facts.append(("content", data["summary"]))
        if data.get("sha256"):
            facts.append(("sha256", data["sha256"]))
        if node.type == nodes.BACKUP:
            facts.append(("backup of", node.parent.name))
        if data.get("backups"):
            facts.append(("backups", ", ".join(b["name"] for b in data["backups"])))
    html = "".join(f'<tr><th>{esc(k)}</th><td style="word-break:break-all">{esc(v)}</td></tr>' for k, v in facts)
    html = f'<table style="font-size:12px;margin-top:6px">{html}</table>'
    if node.type == nodes.ARTIFACT and data.get("cell"):
        html += _cell_html(root, node, data["cell"])
    return html


def _cell_html(root, node, cell):
    """The source of the saving cell, once, folded (its label is in the facts above)."""
    try:
        entry = catalog.saving_cell(root, node.version["path"], cell, before=node.data.get("modified"))
    except (OSError, ValueError):
        entry = None
    source = entry.get("source") if entry else None
    if not isinstance(source, str) or not source:
        return '<div style="font-size:12px;margin-top:4px">The source of the saving cell was not recorded.</div>'
    return (
        f'<details class="opencrate-browser-cell" style="font-size:12px;margin-top:4px" open>'
        f"<summary>source of {esc(node.data.get('cell_label') or 'the saving cell')}</summary>"
        f"{pre(source)}</details>"
    )


_PRE_STYLE = (
    "max-height:320px;overflow:auto;margin:4px 0 0;padding:6px;white-space:pre-wrap;font-size:12px;"
    "background:var(--jp-layout-color2,#f6f6f6)"
)


def pre(text):
    return f'<pre style="{_PRE_STYLE}">{esc(text)}</pre>' if text else ""


def size_text(data):
    size = data.get("size")
    return f"{data['size_text']} ({size:,} bytes)" if isinstance(size, int) else "unknown"
