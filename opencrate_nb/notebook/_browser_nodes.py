"""The widget browser's model: the catalog tree as nodes, and the rows that are visible.

Plain data, no widgets: the view (``_browser_view``) asks :func:`visible_rows` for the rows
to draw after every click, so only expanded levels cost anything. A kind folder shows its
artifacts a page at a time (``PAGE``), so 10,000 artifacts never become 10,000 widgets.
"""

from ..core.format import plural

PAGE = 200

SNAPSHOT, VERSION, KIND, ARTIFACT, BACKUP, LOG, MORE = (
    "snapshot",
    "version",
    "kind",
    "artifact",
    "backup",
    "log",
    "more",
)

#: one sign per kind, shown before the name (from fonts every system has: no emoji)
KIND_ICONS = {
    "text": "\u00b6",
    "json": "{}",
    "yaml": "\u2699",
    "csv": "\u25a6",
    "image": "\u25a3",
    "gif": "\u25a4",
    "video": "\u25b6",
    "audio": "\u266a",
    "checkpoint": "\u25c6",
    "log": "\u2261",
}


class Node:
    """One item of the tree. ``data`` is the catalog's dict for it; ``version`` the dict of its version."""

    __slots__ = ("children", "data", "id", "kind", "name", "parent", "snapshot", "type", "version")

    def __init__(self, node_type, node_id, name, data, parent=None, snapshot=None, version=None, kind=None):
        self.type, self.id, self.name, self.data = node_type, node_id, name, data
        self.parent, self.snapshot, self.version, self.kind = parent, snapshot, version, kind
        self.children = []

    @property
    def expandable(self):
        return bool(self.children)

    @property
    def path(self):
        """Path relative to the root ("/"-separated)."""
        return self.id

    def info(self):
        """The short text shown after the name."""
        data = self.data
        if self.type == SNAPSHOT:
            count = len(data["versions"])
            return plural(count, "version")
        if self.type == VERSION:
            parts = [plural(data["artifact_count"], "artifact"), data["size_text"]]
            if data.get("created_text"):
                parts.append(data["created_text"])
            return " \u00b7 ".join(parts)
        if self.type == KIND:
            count = len(data["artifacts"])
            return f"{data['kind']} \u00b7 {plural(count, 'artifact')}"
        if self.type in (ARTIFACT, BACKUP, LOG):
            parts = [data["size_text"]]
            backups = len(data.get("backups") or ())
            if backups:
                parts.append(plural(backups, "backup"))
            return " \u00b7 ".join(parts)
        return ""


def index(tree):
    """``(roots, by_id)``: the snapshot nodes, and every node by its id (its path under the root)."""
    by_id = {}
    roots = []
    for snap in tree["snapshots"]:
        snap_node = Node(SNAPSHOT, snap["name"], snap["name"], snap, snapshot=snap["name"])
        roots.append(snap_node)
        by_id[snap_node.id] = snap_node
        for version in snap["versions"]:
            v_node = Node(VERSION, version["path"], version["folder"], version, snap_node, snap["name"], version)
            snap_node.children.append(v_node)
            by_id[v_node.id] = v_node
            for kind in version["kinds"]:
                k_id = f"{version['path']}/{kind['folder']}"
                k_node = Node(KIND, k_id, kind["folder"], kind, v_node, snap["name"], version, kind["kind"])
                v_node.children.append(k_node)
                by_id[k_id] = k_node
                for art in kind["artifacts"]:
                    a_node = Node(ARTIFACT, art["path"], art["name"], art, k_node, snap["name"], version, art["kind"])
                    k_node.children.append(a_node)
                    by_id[a_node.id] = a_node
                    for backup in art["backups"]:
                        b_node = Node(
                            BACKUP, backup["path"], backup["name"], backup, a_node, snap["name"], version, art["kind"]
                        )
                        a_node.children.append(b_node)
                        by_id[b_node.id] = b_node
            for log in version["logs"]:
                l_node = Node(LOG, log["path"], log["name"], log, v_node, snap["name"], version, "log")
                v_node.children.append(l_node)
                by_id[l_node.id] = l_node
    return roots, by_id


class Row:
    """A visible line of the tree: a node, or (``more`` > 0) the "… N more" line of a long folder."""

    __slots__ = ("depth", "expanded", "more", "node", "page_key")

    def __init__(self, node, depth, expanded=False, more=0, page_key=None):
        self.node, self.depth, self.expanded, self.more, self.page_key = node, depth, expanded, more, page_key

    @property
    def key(self):
        return ("more", self.page_key) if self.more else self.node.id

    @property
    def label(self):
        return f"\u2026 {self.more} more" if self.more else self.node.name


def visible_rows(roots, expanded, pages=None, query=""):
    """The rows to draw: children of expanded nodes, ``PAGE`` at a time (``pages[parent id]`` pages).

    With ``query``, only matching items and their folders are shown, the folders opened
    (:func:`matches`: the sidebar filters by the same rule); everything inside a matching
    folder stays reachable.
    """
    pages = pages or {}
    terms = query.lower().split()
    matched, keep = _matching(roots, terms) if terms else (set(), None)
    rows = []

    def walk(nodes, depth, page_key, filtered):
        shown = [n for n in nodes if n.id in keep] if filtered else nodes
        limit = pages.get(page_key, 1) * PAGE
        for node in shown[:limit]:
            narrowing = filtered and node.id not in matched
            is_open = node.expandable and (
                node.id in expanded or (narrowing and any(c.id in keep for c in node.children))
            )
            rows.append(Row(node, depth, is_open))
            if is_open:
                walk(node.children, depth + 1, node.id, narrowing)
        if len(shown) > limit:
            rows.append(Row(None, depth, more=len(shown) - limit, page_key=page_key))

    walk(roots, 0, "", keep is not None)
    return rows


def matches(path, terms):
    """The filtering rule of both trees: every whitespace-separated term of the query occurs,
    ignoring case, in the item's path relative to the root (which includes its name)."""
    path = path.lower()
    return all(term in path for term in terms)


def _matching(roots, terms):
    """(ids of the nodes that match, those ids plus the ids of all their ancestors)."""
    matched, keep = set(), set()

    def visit(node):
        hit = matches(node.path, terms)
        if hit:
            matched.add(node.id)
        for child in node.children:
            hit = visit(child) or hit
        if hit:
            keep.add(node.id)
        return hit

    for root in roots:
        visit(root)
    return matched, keep
