"""The run's notebook: ``<version>/run.ipynb``, the cells as they were executed.

Capture already writes one line per executed cell to ``.crate/cells.jsonl`` (source, count,
cell id, time, status); what the notebook needs beyond that goes to
``.crate/notebook.jsonl``, and only when there is any, so a cell that shows nothing costs
no extra write:

- ``{"type": "outputs", "execution_count", "time", "outputs": [...]}``: the nbformat outputs of
  a cell that printed, displayed or failed (streams and rich outputs, large ones capped);
- ``{"type": "cell", "cell": {...}}``: a whole cell run before the snapshot was set up
  (imports, ``%load_ext``), written when the setup comes.

``run.ipynb`` (nbformat 4.5) is built from those lines when someone reads it
(:func:`ensure`), in the background a few seconds after the last cell, and at exit; it is
written atomically, so a reader never sees half a notebook. Which artifacts each cell saved
is joined from the record (``.crate/record.jsonl``) at that time, so saving costs nothing
extra; the runs (a version resumed in another kernel has several) come from ``env.json``.
Stdlib only: core stays light.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from typing import Any, Optional

from . import _appender, _atomic, record

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
    return any(
        os.path.exists(p) for p in (cells_path(version_dir), lines_path(version_dir), notebook_path(version_dir))
    )


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
    """Append one line (an ``outputs`` or ``cell`` entry); strings that UTF-8 cannot hold are escaped first.

    One write on a file kept open (see :mod:`._appender`): it runs at the end of every cell that shows something.
    """
    try:
        line = record.encode_line(entry)
    except UnicodeEncodeError:
        line = record.encode_line(safe_value(entry))
    _appender.shared(lines_path(os.path.abspath(version_dir))).append(line)


def _json_lines(path: str) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, parsed in one go (a torn or corrupt line is skipped)."""
    try:
        with _atomic.open_regular(path) as f:
            raw = f.read()
    except OSError:  # missing, or not a file (a FIFO would be read forever)
        return []
    lines = [line for line in raw.splitlines() if line.strip()]
    try:
        parsed = json.loads(b"[" + b",".join(lines) + b"]")  # one parse for the whole file: the usual case
    except (ValueError, UnicodeDecodeError):
        parsed = []
        for line in lines:
            try:
                parsed.append(json.loads(line))
            except (ValueError, UnicodeDecodeError):
                continue
    return [entry for entry in parsed if isinstance(entry, dict)]


def read_lines(version_dir: str) -> list[dict[str, Any]]:
    """Every readable line of ``notebook.jsonl`` (a torn last line, from a killed kernel, is skipped)."""
    return _json_lines(lines_path(version_dir))


def _code_cell(entry: dict[str, Any], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    meta = {k: entry.get(k) for k in ("time", "duration", "status", "cell_id")}
    return {
        "cell_type": "code",
        "execution_count": entry.get("execution_count"),
        "metadata": {"opencrate": meta},
        "source": entry.get("source") if isinstance(entry.get("source"), str) else "",
        "outputs": outputs,
    }


def read_cells(version_dir: str, with_saves: bool = True) -> list[dict[str, Any]]:
    """The executed code cells as nbformat cells, in execution order.

    With ``with_saves``, ``metadata.opencrate.saved`` lists the record operations each made.
    """
    outputs: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    cells: list[tuple[float, int, dict[str, Any]]] = []
    for entry in read_lines(version_dir):
        kind = entry.get("type")
        if kind == "outputs" and isinstance(entry.get("outputs"), list):
            outputs[(entry.get("execution_count"), entry.get("time"))] = entry["outputs"]
        elif kind == "cell" and isinstance(entry.get("cell"), dict):
            cell = dict(entry["cell"])
            started = _parse_time(((cell.get("metadata") or {}).get("opencrate") or {}).get("time"))
            cells.append((started if started is not None else float("-inf"), len(cells), cell))
    for entry in _json_lines(cells_path(version_dir)):
        if "source" not in entry:
            continue
        shown = outputs.get((entry.get("execution_count"), entry.get("time")), [])
        started = _parse_time(entry.get("time"))
        cells.append((started if started is not None else float("inf"), len(cells), _code_cell(entry, shown)))
    cells.sort(key=lambda item: (item[0], item[1]))
    found = [cell for _, _, cell in cells]
    if with_saves:
        join_saves(found, _json_lines(os.path.join(record.record_dir(version_dir), record.RECORD_FILE)))
    return found


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


def runs(version_dir: str) -> list[dict[str, Any]]:
    """The runs of a version that captured cells (from env.json), oldest first: each has ``start``
    and ``notebook`` = ``{"as_run", "path", "from", "cwd"}`` (where the notebook came from, and its folder)."""
    import sys

    from . import environment

    found = environment.runs(version_dir)
    current = environment.current_run()  # this process's run: env.json may not have its latest fields yet
    loaded = sys.modules.get(f"{__package__}.snapshot")  # not imported: nothing is set up in this process
    snapshot: Any = getattr(loaded, "snapshot", None)
    here = bool(snapshot is not None and snapshot.is_set_up)
    if here:
        here = os.path.abspath(snapshot.dir_path) == os.path.abspath(version_dir)
    if current is not None and here:
        found = [r for r in found if r.get("id") != current.get("id")] + [current]
    return [r for r in found if isinstance(r.get("notebook"), dict)]


def build(version_dir: str) -> dict[str, Any]:
    """The nbformat 4.5 notebook of a version, as a dict (cells, outputs, saves, runs)."""
    code = read_cells(version_dir)
    runs_ = runs(version_dir)
    starts = [(t, r) for t, r in ((_parse_time(r.get("start")), r) for r in runs_) if t is not None]
    cells: list[dict[str, Any]] = []
    used: set[str] = set()
    shown_run = 1
    for position, cell in enumerate(code, 1):
        meta = cell["metadata"]["opencrate"]
        started = _parse_time(meta.get("time"))
        if started is not None and starts:
            ended = started + float(meta.get("duration") or 0)
            run_number = sum(1 for start, _ in starts if start <= ended)  # the setup cell ends after its run began
            if meta.get("before_setup"):
                run_number += 1  # kept until the setup that followed it
            run_number = min(max(run_number, 1), len(starts))
            if run_number > shown_run:  # a resumed version: say where the next kernel starts
                shown_run = run_number
                text = (
                    f"*opencrate: run {run_number} of this version, started {starts[run_number - 1][1].get('start')}*"
                )
                cells.append(_markdown(text, f"run-{run_number}", used))
        cell["id"] = _unique_id(meta.get("cell_id"), position, used)
        cells.append(cell)
    first = runs_[0] if runs_ else {}
    notebook = first.get("notebook") or {}
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
                "cwd": notebook.get("cwd"),
                "source": notebook.get("path"),
                "runs": [{"start": r.get("start"), **(r.get("notebook") or {})} for r in runs_],
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


def cells_path(version_dir: str) -> str:
    return os.path.join(record.record_dir(version_dir), record.CELLS_FILE)


def _built_from(version_dir: str) -> str:
    """The state of ``cells.jsonl`` and ``notebook.jsonl`` (both only grow) that ``run.ipynb`` is built from.

    Raises FileNotFoundError when no cell was captured.
    """
    parts = []
    for path in (cells_path(version_dir), lines_path(version_dir)):
        try:
            st = os.stat(path)
            parts.append(f"{st.st_ino}:{st.st_size}")
        except FileNotFoundError:
            parts.append("-")
    if parts == ["-", "-"]:
        raise FileNotFoundError(cells_path(version_dir))
    return " ".join(parts)


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
    staged = _atomic.stage_bytes(path, safe_text(data).encode("utf-8"))
    try:
        os.replace(staged.tmp, path)
    except BaseException:
        _atomic.remove_quietly(staged.tmp)
        raise
    # the stamp names the file it describes: if another process's build replaces run.ipynb between
    # our two writes, the stamp no longer matches the file there and the next ensure() rebuilds
    _atomic.write_bytes(_stamp_path(version_dir), f"{state} {_identity(staged.st)}".encode("ascii"))
    return path


def _identity(st: os.stat_result) -> str:
    """Which file this is: a rename keeps both its inode and its modification time."""
    return f"{st.st_ino}:{st.st_mtime_ns}"


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
    try:
        current = _identity(os.stat(path))
    except FileNotFoundError:
        return write(version_dir)
    if built != f"{state} {current}":
        return write(version_dir)
    return path


def read_bytes(version_dir: str) -> bytes:
    """The up-to-date ``run.ipynb`` of a version as bytes; built in memory when the folder is read-only.

    Raises FileNotFoundError (saying why) when no cell was captured there.
    """
    try:
        path = ensure(version_dir)
    except OSError:  # a read-only snapshot (an archive, another user's): build it without writing
        if not has_notebook(version_dir):
            path = None
        else:
            data = json.dumps(build(version_dir), indent=1, ensure_ascii=False) + "\n"
            return safe_text(data).encode("utf-8")
    if path is None:
        raise FileNotFoundError(
            f"{version_dir} has no run notebook: no cell was captured there "
            "(load the extension with %load_ext opencrate before running the cells)."
        )
    with open(path, "rb") as f:
        return f.read()


def load(version_dir: str) -> dict[str, Any]:
    """The version's ``run.ipynb`` as a dict (built first when needed)."""
    return json.loads(read_bytes(version_dir))
