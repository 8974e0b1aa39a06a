"""The widget browser's plain-text form: the catalog tree, not the widget's Python repr.

It is what an executed notebook stores next to the widget, and what viewers without a
widget manager (and terminals) show.
"""

from __future__ import annotations

from typing import Any

from ._browser_view import SnapshotBrowser
from ._text_tree import text_of


class TextFallbackBrowser(SnapshotBrowser):
    """The widget browser whose plain-text form is the tree, not the widget's Python repr."""

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):  # (data, metadata)
            data, metadata = bundle
            return {**data, "text/plain": text_of(self.root)}, metadata
        if isinstance(bundle, dict):
            return {**bundle, "text/plain": text_of(self.root)}
        return bundle

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(text_of(self.root))
