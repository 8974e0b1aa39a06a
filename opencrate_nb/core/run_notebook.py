"""The run's notebook: ``<version>/run.ipynb``, the cells as they were executed.

Capture appends one JSON line per executed cell to ``<version>/.crate/notebook.jsonl`` (a
single ``O_APPEND`` write, so a cell costs the same in a 10-cell and a 10,000-cell run);
``run.ipynb`` is built from those lines when someone reads it (:func:`ensure`), in the
background a few seconds after the last cell, and at exit. It is nbformat 4.5 and
written atomically, so a reader never sees half a notebook.

Lines of ``notebook.jsonl``:

- ``{"type": "run", "start", "cwd", "source", "python"}``: a kernel started writing to this
  version (a version resumed later gets a second one);
- ``{"type": "cell", "cell": {...}}``: an nbformat code cell (``source``, ``execution_count``,
  ``outputs``) whose ``metadata.opencrate`` holds ``time``, ``duration``, ``status`` and the
  front end's ``cell_id`` (null when it sent none).

Which artifacts each cell saved is joined from the record (``.crate/record.jsonl``) when
the notebook is built, so saving costs nothing extra. Stdlib only: core stays light.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from typing import Any, Optional

from . import _atomic, record

NOTEBOOK_FILE = "run.ipynb"
LINES_FILE = "notebook.jsonl"
BUILT_FILE = "notebook.built"  # which state of notebook.jsonl run.ipynb was built from
_VALID_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def lines_path(version_dir: str) -> str:
    return os.path.join(record.record_dir(version_dir), LINES_FILE)


def notebook_path(version_dir: str) -> str:
    return os.path.join(version_dir, NOTEBOOK_FILE)


def has_notebook(version_dir: str) -> bool:
    """Whether the version captured any cell (so ``run.ipynb`` exists or can be built)."""
    return os.path.exists(lines_path(version_dir)) or os.path.exists(notebook_path(version_dir))


def safe_text(text: str) -> str:
    """``text`` that encodes as UTF-8: lone surrogates (``os.fsdecode`` of invalid bytes) become ``\\udcxx``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def safe_value(value: Any) -> Any:
    """A JSON-ready copy of ``value`` whose every string encodes as UTF-8 (see :func:`safe_text`)."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(str(k)): safe_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [safe_value(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return safe_text(str(value))


def append(version_dir: str, entry: dict[str, Any]) -> None:
    """Append one line (a ``run`` or ``cell`` entry); strings that UTF-8 cannot hold are escaped first."""
    try:
        record.append_line(version_dir, entry, file=LINES_FILE)
    except UnicodeEncodeError:
        record.append_line(version_dir, safe_value(entry), file=LINES_FILE)


def read_lines(version_dir: str) -> list[dict[str, Any]]:
    """Every readable line of ``notebook.jsonl`` (a torn last line, from a killed kernel, is skipped)."""
    try:
        with open(lines_path(version_dir), "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in raw.splitlines():
        try:
            entry = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out


def read_cells(version_dir: str, with_saves: bool = True) -> list[dict[str, Any]]:
    """The executed code cells, in execution order (``metadata.opencrate.saved`` joined from the record)."""
    cells = [e["cell"] for e in read_lines(version_dir) if e.get("type") == "cell" and isinstance(e.get("cell"), dict)]
    if with_saves:
        join_saves(cells, record.read_lines(version_dir) if record.has_record(version_dir) else [])
    return cells


def _parse_time(text: Any) -> Optional[float]:
    if not isinstance(text, str):
        return None
    try:
        return _dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def join_saves(cells: list[dict[str, Any]], entries: list[dict[str, Any]]) -> None:
    """Set ``metadata.opencrate.saved`` of each cell: the record operations made while it ran.

    A record entry names its cell by execution count and cell id; counts start again at 1
    when a version is resumed in a new kernel, so the newest matching cell that started no
    later than the operation wins (as :func:`opencrate_nb.core.catalog.saving_cell` does).
    """
    found: dict[Any, list[tuple[float, dict[str, Any]]]] = {}
    for cell in cells:
        meta = cell.setdefault("metadata", {}).setdefault("opencrate", {})
        meta["saved"] = []
        start = _parse_time(meta.get("time"))
        started = start if start is not None else float("-inf")
        found.setdefault(("count", cell.get("execution_count")), []).append((started, meta))
        if meta.get("cell_id"):
            found.setdefault(("id", meta["cell_id"]), []).append((started, meta))
    for entry in entries:
        link = entry.get("cell")
        if not isinstance(link, dict):
            continue
        key = ("id", link["cell_id"]) if link.get("cell_id") else ("count", link.get("execution_count"))
        when = _parse_time(entry.get("time"))
        best = None
        for started, meta in found.get(key, ()):
            if when is None or started <= when + 1e-3:
                best = meta
        if best is not None:
            best["saved"].append({"op": entry.get("op"), "path": entry.get("path"), "sha256": entry.get("sha256")})


def build(version_dir: str) -> dict[str, Any]:
    """The nbformat 4.5 notebook of a version, as a dict (from ``notebook.jsonl`` and the record)."""
    lines = read_lines(version_dir)
    runs = [e for e in lines if e.get("type") == "run"]
    cells: list[dict[str, Any]] = []
    code: list[dict[str, Any]] = []
    used: set[str] = set()
    run_number = 0
    for entry in lines:
        if entry.get("type") == "run":
            run_number += 1
            if run_number > 1:  # a resumed version: say where the next kernel starts
                text = f"*opencrate: run {run_number} of this version, started {entry.get('start')}*"
                cells.append(_markdown(text, f"run-{run_number}", used))
            continue
        cell = entry.get("cell")
        if entry.get("type") != "cell" or not isinstance(cell, dict):
            continue
        cell = dict(cell)
        cell["cell_type"] = "code"
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
        if not isinstance(cell.get("source"), str):
            cell["source"] = ""
        meta = dict(cell.get("metadata") or {})
        meta["opencrate"] = dict(meta.get("opencrate") or {})
        cell["metadata"] = meta
        cell["id"] = _unique_id(meta["opencrate"].get("cell_id"), len(code) + 1, used)
        code.append(cell)
        cells.append(cell)
    join_saves(code, record.read_lines(version_dir) if record.has_record(version_dir) else [])
    first = runs[0] if runs else {}
    version = os.path.basename(os.path.normpath(version_dir))
    name = os.path.basename(os.path.dirname(os.path.normpath(version_dir)))
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "version": first.get("python") or ""},
            "opencrate": {
                "snapshot": name,
                "version": version,
                "cwd": first.get("cwd"),
                "source": first.get("source"),
                "runs": [{k: v for k, v in r.items() if k != "type"} for r in runs],
            },
        },
        "cells": cells,
    }


def _markdown(text: str, wanted: str, used: set[str]) -> dict[str, Any]:
    return {"cell_type": "markdown", "id": _unique_id(wanted, 0, used), "metadata": {}, "source": text}


def _unique_id(wanted: Any, position: int, used: set[str]) -> str:
    """The front end's cell id when nbformat accepts it and it is not taken (a re-run cell), else ``run-<n>``."""
    candidate = wanted if isinstance(wanted, str) and _VALID_ID.match(wanted) else f"run-{position}"
    base, n = candidate, 1
    while candidate in used:
        n += 1
        candidate = f"{base[:58]}-{n}"
    used.add(candidate)
    return candidate


def _built_from(version_dir: str) -> str:
    """The state of ``notebook.jsonl`` (it only grows) that ``run.ipynb`` was last built from."""
    st = os.stat(lines_path(version_dir))
    return f"{st.st_ino} {st.st_size}"


def _stamp_path(version_dir: str) -> str:
    return os.path.join(record.record_dir(version_dir), BUILT_FILE)


def write(version_dir: str) -> Optional[str]:
    """(Re)build ``run.ipynb`` from ``notebook.jsonl``, atomically. None when no cell was captured."""
    try:
        state = _built_from(version_dir)
    except FileNotFoundError:
        return None
    notebook = build(version_dir)
    data = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    path = notebook_path(version_dir)
    _atomic.write_bytes(path, safe_text(data).encode("utf-8"))
    _atomic.write_bytes(_stamp_path(version_dir), state.encode("ascii"))
    return path


def ensure(version_dir: str) -> Optional[str]:
    """The path of an up-to-date ``run.ipynb`` (rebuilt when cells were captured since), or None."""
    path = notebook_path(version_dir)
    try:
        state = _built_from(version_dir)
    except FileNotFoundError:
        return path if os.path.exists(path) else None
    try:
        with open(_stamp_path(version_dir), "rb") as f:
            built = f.read().decode("ascii", "replace")
    except FileNotFoundError:
        built = ""
    if built != state or not os.path.exists(path):
        return write(version_dir)
    return path


def load(version_dir: str) -> dict[str, Any]:
    """The version's ``run.ipynb`` as a dict (built first when needed)."""
    path = ensure(version_dir)
    if path is None:
        raise FileNotFoundError(
            f"{version_dir} has no run notebook: no cell was captured there "
            "(load the extension with %load_ext opencrate before running the cells)."
        )
    with open(path, "rb") as f:
        return json.loads(f.read())
