"""``oc.browse()`` where no widget can be drawn: the catalog tree as text (no ipywidgets needed).

A terminal (IPython or the Python prompt) gets :class:`TextTree`; the widget uses
:func:`text_of` as its ``text/plain`` fallback, so both read the same lines.
"""

from __future__ import annotations

from typing import Any

from ..core import catalog, tree_text


def text_of(root: str) -> str:
    """The snapshots under ``root`` as the text tree (from the catalog, so as fresh as the widget)."""
    return tree_text.render(catalog.tree(root), title=root)


class TextTree:
    """``oc.browse()`` in a terminal: shows the tree when displayed (its repr is the tree)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def text(self) -> str:
        return text_of(self.root)

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())
