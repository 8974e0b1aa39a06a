"""The ipywidgets browser of a snapshot root: a lazy tree on the left, preview and actions on the right.

Only visible rows are widgets, and their layouts and styles are shared, so a row costs four
widget models; row widgets are reused across refreshes. A background thread compares
``catalog.fingerprint`` every ``poll`` seconds and rebuilds when something changed; it stops
when the browser is closed. Every name and value that goes into HTML is escaped; tree rows
are buttons and labels, whose text is never parsed as HTML.
"""

import collections
import functools
import os
import threading
import time

import ipywidgets as widgets
from ipywidgets.widgets.widget_string import LabelStyle

from ..core import catalog
from ..core.format import plural
from . import _browser_details as details
from . import _browser_nodes as nodes
from . import _core
from .preview import esc

#: Hidden row widgets kept for reuse (collapsing and expanding a folder costs nothing).
ROW_CACHE = 600
#: Lines of a log shown by the log action (and in the preview of a log).
LOG_LINES = details.LOG_LINES
#: Versions shown expanded when the browser opens (snapshots are opened while they fit).
OPEN_AT_START = 100

_CSS = (
    """<style>
.opencrate-browser { border: 1px solid var(--jp-border-color2, #ddd); padding: 4px; }
.opencrate-browser .opencrate-browser-tree { overflow-y: auto; max-height: 480px; min-width: 260px; }
.opencrate-browser .opencrate-browser-row { height: 24px; min-height: 24px; align-items: center; }
.opencrate-browser .opencrate-browser-row button { height: 22px; line-height: 22px; padding: 0 4px; margin: 0;
  background: transparent; box-shadow: none; text-align: left; width: auto; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
.opencrate-browser .opencrate-browser-row button:hover { background: var(--jp-layout-color2, #eee); }
.opencrate-browser .opencrate-browser-toggle { min-width: 18px; max-width: 40px; padding: 0 2px; }
.opencrate-browser .opencrate-browser-row button.opencrate-browser-selected {
  background: var(--jp-brand-color3, #bbdefb); font-weight: 600; }
.opencrate-browser .opencrate-browser-more { font-style: italic; }
.opencrate-browser .opencrate-browser-info { color: var(--jp-ui-font-color2, #666); font-size: 11px;
  margin-left: 6px; white-space: nowrap; }
.opencrate-browser .opencrate-browser-detail { padding-left: 8px; min-width: 0; }
.opencrate-browser .opencrate-browser-snippet textarea { font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; white-space: pre; overflow-x: auto; }
.opencrate-browser .opencrate-browser-meta th, .opencrate-browser .opencrate-browser-meta td {
  padding: 1px 8px 1px 0; text-align: left; vertical-align: top; }
.opencrate-browser .widget-html-content { line-height: 1.4; }
.opencrate-browser .opencrate-browser-confirm-box button { flex: 0 0 auto; width: auto; }
.opencrate-browser .opencrate-browser-error { color: var(--jp-error-color1, #c62828); }
"""
    + "".join(f".opencrate-browser .opencrate-browser-depth-{d} {{ padding-left: {d * 14}px; }}\n" for d in range(12))
    + "</style>"
)

# Copies the snippet field's text to the clipboard in the browser. It reads the text from the
# page, so no value is ever put into this script.
_COPY_JS = (
    "var b=this,r=b.closest('.opencrate-browser'),t=r&&r.querySelector('.opencrate-browser-snippet textarea');"
    "if(!t)return;var ok=function(){b.textContent='Copied';setTimeout(function(){b.textContent='Copy';},1500);};"
    "var old=function(){t.select();document.execCommand('copy');ok();};"
    "if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t.value).then(ok,old);}"
    "else{old();}"
)
_COPY_BUTTON = (
    f'<button class="opencrate-browser-copy jupyter-button" title="Copy the snippet to the clipboard" '
    f'onclick="{esc(_COPY_JS)}">Copy</button>'
)

_ACTIONS = ("snippet", "backup", "delete", "log")
_ACTION_LABELS = {"snippet": "Load snippet", "backup": "Back up", "delete": "Delete\u2026", "log": "Log tail"}
_ACTION_TYPES = {
    "snippet": (nodes.ARTIFACT, nodes.BACKUP, nodes.LOG),
    "backup": (nodes.ARTIFACT,),
    "delete": (nodes.ARTIFACT, nodes.BACKUP),
    "log": (nodes.VERSION, nodes.KIND, nodes.ARTIFACT, nodes.BACKUP, nodes.LOG),
}


class _Shared:
    """Layouts and styles shared by every row (one widget model each, not one per row)."""

    def __init__(self):
        self.row = widgets.Layout(width="100%", overflow="hidden")
        self.toggle = widgets.Layout(width="auto", min_width="18px")  # the caret (and icon) only: no gap
        self.node = widgets.Layout(width="auto", max_width="70%")
        self.info = widgets.Layout(width="auto")
        self.button_style = widgets.ButtonStyle()
        self.label_style = LabelStyle()

    def close(self):
        for widget in (self.row, self.toggle, self.node, self.info, self.button_style, self.label_style):
            widget.close()


class _RowView:
    """The widgets of one tree row; kept and updated while its key stays the same.

    Each widget is created with its final state (one message to the front end, not one per
    property), and :meth:`update` sends only what changed.
    """

    def __init__(self, browser, row, shared, selected):
        self.key = row.key
        self.depth = min(row.depth, 11)
        toggle, node_text, info, node_classes = self._texts(row, selected)
        self.toggle = widgets.Button(
            description=toggle,
            disabled=bool(row.more) or not row.node.expandable,
            tooltip=_toggle_tip(row),
            layout=shared.toggle,
            style=shared.button_style,
            _dom_classes=("opencrate-browser-toggle",),
        )
        self.node = widgets.Button(
            description=node_text,
            tooltip="" if row.more else row.node.path,
            layout=shared.node,
            style=shared.button_style,
            _dom_classes=node_classes,
        )
        self.info = widgets.Label(
            info, layout=shared.info, style=shared.label_style, _dom_classes=("opencrate-browser-info",)
        )
        self.box = widgets.HBox(
            [self.toggle, self.node, self.info],
            layout=shared.row,
            _dom_classes=("opencrate-browser-row", f"opencrate-browser-depth-{self.depth}"),
        )
        key = row.key
        if row.more:
            self.node.on_click(lambda _: browser._show_more(key[1]))
        else:
            self.node.on_click(lambda _: browser._on_row_click(key))
            self.toggle.on_click(lambda _: browser.toggle(key))

    @staticmethod
    def _texts(row, selected):
        if row.more:
            return "", row.label, "", ("opencrate-browser-more",)
        node = row.node
        caret = ("\u25be" if row.expanded else "\u25b8") if node.expandable else "\u2002"
        icon = nodes.KIND_ICONS.get(node.kind or "", "") if node.type != nodes.SNAPSHOT else ""
        classes = ("opencrate-browser-node",) + (("opencrate-browser-selected",) if selected else ())
        return f"{caret} {icon}".rstrip(), row.label, node.info(), classes

    def update(self, row, selected):
        depth = min(row.depth, 11)
        if depth != self.depth:
            self.box._dom_classes = ("opencrate-browser-row", f"opencrate-browser-depth-{depth}")
            self.depth = depth
        toggle, node_text, info, node_classes = self._texts(row, selected)
        self.toggle.description = toggle
        self.toggle.tooltip = _toggle_tip(row)
        self.node.description = node_text
        self.info.value = info
        if not row.more:
            self.toggle.disabled = not row.node.expandable
            self.node._dom_classes = node_classes

    def set_selected(self, selected):
        if selected:
            self.node.add_class("opencrate-browser-selected")
        else:
            self.node.remove_class("opencrate-browser-selected")

    def close(self):
        for widget in (self.toggle, self.node, self.info, self.box):
            widget.close()


def _toggle_tip(row):
    """'Expand mnist' / 'Collapse mnist' (a caret alone says nothing to a screen reader or a hover)."""
    if row.more or not row.node.expandable:
        return ""
    return f"{'Collapse' if row.expanded else 'Expand'} {row.label}"


def _panel(value="", css_class=None, visible=True):
    html = widgets.HTML(value, layout=widgets.Layout(display=None if visible else "none"))
    if css_class:
        html.add_class(css_class)
    return html


def _show(widget, visible):
    widget.layout.display = None if visible else "none"


def _action(name):
    """A button handler acting on the selected item, when the action applies to it."""

    def wrap(method):
        @functools.wraps(method)
        def on_click(self, _button=None):
            with self._lock:
                node = self.selected
                if node is None or node.type not in _ACTION_TYPES[name]:
                    self._say("Select an item first.", error=True)
                    return
                method(self, node)

        return on_click

    return wrap


class SnapshotBrowser(widgets.VBox):
    """Browse every snapshot under ``root``: click a row to preview it; actions act on the selection."""

    def __init__(self, root=catalog.DEFAULT_ROOT, poll=1.0):
        super().__init__()
        self.add_class("opencrate-browser")
        self.root = os.fspath(root)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = None
        self._fingerprint = None
        self._roots, self._by_id = [], {}
        self._expanded, self._pages, self._query = set(), {}, ""
        self._selected = None
        self._shown = None  # (node id, data) of what the detail panels show
        self._log_path = None
        self._pending_delete = None
        self._opened_once = False
        self._shared = _Shared()
        self._rows = collections.OrderedDict()  # key -> _RowView, visible ones first
        self._build()
        self.refresh(force=True)
        if poll:
            self._thread = threading.Thread(
                target=self._poll, args=(float(poll),), name="opencrate-browser-poll", daemon=True
            )
            self._thread.start()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self):
        self._summary = widgets.Label()
        self._summary.add_class("opencrate-browser-summary")
        self._filter = widgets.Text(
            placeholder="filter by name", continuous_update=False, layout=widgets.Layout(width="220px")
        )
        self._filter.add_class("opencrate-browser-filter")
        self._filter.observe(self._on_filter, names="value")
        self._refresh_button = widgets.Button(description="Refresh", layout=widgets.Layout(width="auto"))
        self._refresh_button.add_class("opencrate-browser-refresh")
        self._refresh_button.on_click(lambda _: self.refresh(force=True))
        header = widgets.HBox(
            [self._summary, self._filter, self._refresh_button],
            layout=widgets.Layout(justify_content="space-between", align_items="center"),
        )
        self._status = _panel(css_class="opencrate-browser-status")
        self._tree = widgets.VBox(layout=widgets.Layout(width="100%", max_height="480px", overflow="auto"))
        self._tree.add_class("opencrate-browser-tree")
        self._empty = _panel(css_class="opencrate-browser-empty")

        self._preview = _panel(
            '<div style="color:var(--jp-ui-font-color2,#666)">Select an item to preview it.</div>',
            "opencrate-browser-preview",
        )
        self._meta = _panel(css_class="opencrate-browser-meta")
        self._buttons = {}
        for action in _ACTIONS:
            button = widgets.Button(
                description=_ACTION_LABELS[action], disabled=True, layout=widgets.Layout(width="auto")
            )
            button.add_class(f"opencrate-browser-action-{action}")
            button.on_click(getattr(self, f"_on_{action}"))
            self._buttons[action] = button
        self._buttons["delete"].button_style = "danger"
        self._backup_tag = widgets.Text(placeholder="backup tag (optional)", layout=widgets.Layout(width="170px"))
        self._backup_tag.add_class("opencrate-browser-backup-tag")
        actions = widgets.HBox([*self._buttons.values(), self._backup_tag], layout=widgets.Layout(flex_flow="row wrap"))
        self._confirm_text = widgets.HTML()
        self._confirm_button = widgets.Button(
            description="Delete", button_style="danger", layout=widgets.Layout(width="auto")
        )
        self._confirm_button.add_class("opencrate-browser-confirm")
        self._confirm_button.on_click(self._on_confirm_delete)
        self._cancel_button = widgets.Button(description="Cancel", layout=widgets.Layout(width="auto"))
        self._cancel_button.add_class("opencrate-browser-cancel")
        self._cancel_button.on_click(lambda _: self._cancel_delete())
        self._confirm = widgets.VBox(
            [self._confirm_text, widgets.HBox([self._confirm_button, self._cancel_button])],
            layout=widgets.Layout(display="none"),
        )
        self._confirm.add_class("opencrate-browser-confirm-box")
        self._snippet = widgets.Textarea(rows=5, layout=widgets.Layout(width="100%"))
        self._snippet.add_class("opencrate-browser-snippet")
        self._snippet_box = widgets.VBox(
            [self._snippet, widgets.HTML(_COPY_BUTTON)], layout=widgets.Layout(display="none")
        )
        self._log = _panel(css_class="opencrate-browser-log", visible=False)
        detail = widgets.VBox(
            [actions, self._confirm, self._snippet_box, self._preview, self._meta, self._log],
            layout=widgets.Layout(width="55%"),
        )
        detail.add_class("opencrate-browser-detail")
        body = widgets.HBox([widgets.VBox([self._tree, self._empty], layout=widgets.Layout(width="45%")), detail])
        self.children = [widgets.HTML(_CSS), header, self._status, body]

    # -- refreshing ------------------------------------------------------------------------------------
    def refresh(self, force=False):
        """Re-read the root if anything changed (always with ``force``); returns whether it rebuilt."""
        with self._lock:
            if self._stop.is_set():
                return False
            stamp = catalog.fingerprint(self.root)
            if stamp == self._fingerprint and not force:
                return False
            tree = catalog.tree(self.root)
            self._fingerprint = stamp
            self._roots, self._by_id = nodes.index(tree)
            if not self._opened_once:
                self._opened_once = True
                budget = OPEN_AT_START
                for snap in self._roots:
                    if len(snap.children) <= budget:
                        self._expanded.add(snap.id)
                        budget -= len(snap.children)
            self._summarise(tree)
            self._draw_rows()
            self._refresh_details()
            return True

    def _poll(self, interval):
        """Check for changes every ``interval`` seconds, or less often on a root so large that a
        check takes more than a twentieth of that (the kernel stays responsive)."""
        wait = interval
        while not self._stop.wait(wait):
            started = time.perf_counter()
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - a vanished folder mid-read: say so, try again next time
                self._say(f"Could not refresh: {type(exc).__name__}: {exc}", error=True)
            wait = max(interval, 20 * (time.perf_counter() - started))

    def close(self):
        """Stop watching the root and close every widget of the browser."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        with self._lock:
            for view in self._rows.values():
                view.close()
            self._rows.clear()
            for child in self._all_widgets():
                child.close()
            self._shared.close()
        super().close()

    @property
    def closed(self):
        return self._stop.is_set()

    def _all_widgets(self):
        stack, seen = list(self.children), []
        while stack:
            widget = stack.pop()
            seen.append(widget)
            stack.extend(getattr(widget, "children", ()))
        return seen

    def _summarise(self, tree):
        versions = sum(len(s["versions"]) for s in tree["snapshots"])
        artifacts = sum(v["artifact_count"] for s in tree["snapshots"] for v in s["versions"])
        count = len(tree["snapshots"])
        self._summary.value = (
            f"{plural(count, 'snapshot')} \u00b7 {plural(versions, 'version')} \u00b7 "
            f"{plural(artifacts, 'artifact')} in {self.root}"
        )
        if count:
            self._empty.value = ""
        else:
            self._empty.value = (
                f"<div>No snapshots under <code>{esc(self.root)}</code> yet. Start one with "
                "<code>oc.snapshot.setup(name=...)</code>; it appears here by itself.</div>"
            )

    # -- the tree ----------------------------------------------------------------------------------------
    def _draw_rows(self):
        rows = nodes.visible_rows(self._roots, self._expanded, self._pages, self._query)
        old = self._rows
        fresh = collections.OrderedDict()
        for row in rows:
            selected = row.key == self._selected
            view = old.pop(row.key, None)
            if view is None:
                view = _RowView(self, row, self._shared, selected)
            else:
                view.update(row, selected)
            fresh[row.key] = view
        self._tree.children = [view.box for view in fresh.values()]
        hidden = list(old.items())  # kept for reuse, up to ROW_CACHE; the oldest are closed
        for _key, view in hidden[: max(0, len(hidden) - ROW_CACHE)]:
            view.close()
        fresh.update(hidden[max(0, len(hidden) - ROW_CACHE) :])
        self._rows = fresh

    def toggle(self, node_id):
        """Open or close a snapshot, version, kind folder or artifact with backups."""
        with self._lock:
            if node_id in self._expanded:
                self._expanded.discard(node_id)
            elif node_id in self._by_id:
                self._expanded.add(node_id)
            self._draw_rows()

    def expand(self, node_id):
        with self._lock:
            node = self._by_id.get(node_id)
            while node is not None:
                if node.expandable:
                    self._expanded.add(node.id)
                node = node.parent
            self._draw_rows()

    def _show_more(self, page_key):
        with self._lock:
            self._pages[page_key] = self._pages.get(page_key, 1) + 1
            self._draw_rows()

    def _on_filter(self, change):
        with self._lock:
            self._query = change["new"] or ""
            self._draw_rows()

    @property
    def visible_names(self):
        """The names of the rows shown now, top to bottom (what a user reads in the tree)."""
        return [view.node.description for view in list(self._rows.values())[: len(self._tree.children)]]

    # -- selection and details -----------------------------------------------------------------------------
    def select(self, node_id, expand=False):
        """Select the item at ``node_id`` (its path under the root) and show its preview and metadata."""
        with self._lock:
            node = self._by_id.get(node_id)
            if node is None:
                raise KeyError(f"No item {node_id!r} under {self.root!r}.")
            previous = self._rows.get(self._selected)
            if previous is not None:
                previous.set_selected(False)
            self._selected = node_id
            if expand and node.expandable and node_id not in self._expanded:
                self._expanded.add(node_id)
                self._draw_rows()
            view = self._rows.get(node_id)
            if view is not None:
                view.set_selected(True)
            self._cancel_delete()
            self._say("")
            _show(self._snippet_box, False)
            self._render_details(node)

    def _on_row_click(self, node_id):
        with self._lock:
            self.refresh()  # cheap when nothing changed; acts on what is on disk now
            if node_id in self._by_id:
                self.select(node_id, expand=True)
            else:  # removed after the row was drawn
                self._say(f"{node_id} is gone.")

    @property
    def selected(self):
        return self._by_id.get(self._selected)

    def _refresh_details(self):
        if self._selected is None:
            return
        node = self._by_id.get(self._selected)
        if node is None:
            self._say(f"{self._selected} is gone.")
            self._selected = None
            self._shown = None
            self._preview.value = ""
            self._meta.value = ""
            self._cancel_delete()
            self._enable_actions(None)
        elif self._shown != (node.id, node.data):
            self._render_details(node)
        if self._log_path is not None:
            self._render_log()

    def _render_details(self, node):
        self._shown = (node.id, node.data)
        self._enable_actions(node)
        try:
            self._preview.value = details.preview_html(self.root, node, self._artifact)
        except Exception as exc:  # noqa: BLE001 - a preview never breaks the browser
            self._preview.value = f"<div>Preview unavailable: {esc(type(exc).__name__)}: {esc(exc)}</div>"
        self._meta.value = details.facts_html(self.root, node)

    def _enable_actions(self, node):
        for action, button in self._buttons.items():
            button.disabled = node is None or node.type not in _ACTION_TYPES[action]

    def _artifact(self, node):
        """An Artifact object for a node (a backup is an artifact of the same kind with its own name).

        Its path is checked to stay inside the root, then spelled as ``%crate show`` spells it
        (root/name/version/...), so that the card is the same.
        """
        catalog.resolve(self.root, node.path)
        version_dir = os.path.join(self.root, *node.version["path"].split("/"))
        folder = node.path.rsplit("/", 2)[-2]
        handler = _core.handlers.get_handler(node.kind) or _core.handlers.Handler()
        return _core.Artifact(version_dir, node.kind, node.name, handler, folder)

    # -- actions ---------------------------------------------------------------------------------------------
    def _say(self, message, error=False):
        css = ' class="opencrate-browser-error"' if error else ""
        self._status.value = f"<div{css}>{esc(message)}</div>" if message else ""

    @_action("snippet")
    def _on_snippet(self, node):
        self._snippet.value = catalog.load_snippet(self.root, node.path, node.kind)
        _show(self._snippet_box, True)
        self._say(f"Load snippet for {node.name}: copy it, or select it and paste it into a cell.")

    @_action("backup")
    def _on_backup(self, node):
        tag = self._backup_tag.value.strip() or None
        try:
            made = self._artifact(node).backup(tag=tag)
        except (_core.OpenCrateError, OSError, ValueError) as exc:
            self._say(f"Backup failed: {exc}", error=True)
            return
        self._backup_tag.value = ""
        self._expanded.add(node.id)
        self.refresh(force=True)
        self._say(f"Backed up {node.name} as {made}.")

    @_action("delete")
    def _on_delete(self, node):
        self._pending_delete = node.id
        what = "backup" if node.type == nodes.BACKUP else "artifact"
        self._confirm_text.value = (
            f"<span>Delete the {what} <b>{esc(node.name)}</b> of "
            f"{esc(node.snapshot)}/{esc(node.version['folder'])}?</span>"
        )
        _show(self._confirm, True)

    def _cancel_delete(self):
        self._pending_delete = None
        _show(self._confirm, False)

    def _on_confirm_delete(self, _=None):
        with self._lock:
            node = self._by_id.get(self._pending_delete)
            self._cancel_delete()
            if node is None:
                self._say("Nothing to delete: the item is gone or the selection changed.", error=True)
                return
            try:
                self._artifact(node).delete(confirm=True)
            except (_core.OpenCrateError, OSError, ValueError) as exc:
                self._say(f"Delete failed: {exc}", error=True)
                return
            parent = node.parent
            self.refresh(force=True)
            if parent is not None and parent.id in self._by_id:
                self.select(parent.id)
            self._say(f"Deleted {node.name}.")

    @_action("log")
    def _on_log(self, node):
        if node.type == nodes.LOG:
            self._log_path = node.path
        else:
            logs = node.version["logs"]
            run_log = f"{node.snapshot}.log"
            chosen = next((log for log in logs if log["name"] == run_log), logs[0] if logs else None)
            if chosen is None:
                self._say(f"{node.snapshot}/{node.version['folder']} has no log.", error=True)
                return
            self._log_path = chosen["path"]
        self._render_log()

    def _render_log(self):
        try:
            text = catalog.log_tail(self.root, self._log_path, max_lines=LOG_LINES)
        except (OSError, ValueError) as exc:
            self._log.value = f'<div class="opencrate-browser-error">{esc(exc)}</div>'
        else:
            self._log.value = (
                f'<div style="font-size:12px;margin-top:6px"><b>{esc(self._log_path)}</b> '
                f"(last {LOG_LINES} lines){details.pre(text)}</div>"
            )
        _show(self._log, True)
