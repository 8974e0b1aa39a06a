"""Lineage warnings where users look: the artifact card and ``%crate status``.

Both call into :mod:`opencrate_nb.core.gather`; neither may ever fail because of it.
"""

from __future__ import annotations

import html
from typing import Any


def card_warnings_html(artifact: Any) -> str:
    """HTML lines warning that the artifact's slice ran out of order or used an edited cell ('' if none)."""
    try:
        from ..core import gather

        found = gather.lineage(artifact.version_dir, artifact.relative_path).warnings
    except Exception:  # noqa: BLE001 - no captured cell, an odd artifact: no warning to give
        return ""
    return "".join(
        f'<div class="opencrate-lineage-warning" style="color:#b45309">&#9888; {html.escape(w)}</div>' for w in found
    )


def status_rows(version_dir: str) -> list[tuple[str, str]]:
    """``%crate status`` rows: one per artifact whose slice has a warning."""
    try:
        from ..core import gather

        found = gather.all_warnings(version_dir)
    except Exception as exc:  # noqa: BLE001 - a broken record must not break %crate status
        return [("lineage", f"unknown ({type(exc).__name__}: {exc})")]
    rows = []
    for path, warnings in sorted(found.items()):
        name = path.rsplit("/", 1)[-1]
        rows += [(f"lineage of {name}", warning) for warning in warnings]
    return rows
