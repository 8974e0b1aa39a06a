"""Re-run a version's notebook in a fresh kernel and say whether the run reproduced.

``reproduce(name, version)`` executes the version's ``run.ipynb`` (or, with ``gather=``, the
slice of cells one artifact depended on) with nbclient in a new kernel. A prelude, not
captured itself, makes the notebook's own setup cell write into a new version tagged
``repro-of-v<N>`` instead of the version it names. Then every artifact of the original is
compared with its reproduction: *identical* (same SHA-256), *equal within tolerance*
(numbers in JSON/YAML, CSV tables and checkpoints/arrays within ``rtol``), *different*
(with what differs and, when the slice draws random numbers without a seed, that reason),
or *missing*; plus how the environment differs (Python, packages, git commit).

Used by ``crate reproduce`` and ``%crate reproduce``; the report is also written to
``<repro version>/.crate/reproduce.json``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Optional

from .core import _atomic, environment, gather, refs, run_notebook, versions
from .core._names import check_artifact_path
from .core.errors import OpenCrateError

TAG = "repro-of-v{number}"
DEFAULT_RTOL = 1e-6
DEFAULT_TIMEOUT = 600
REPORT_FILE = "reproduce.json"
#: the prelude's first line: capture leaves such a cell out
SKIP_MARKER = "# opencrate: skip"
_RANDOM = re.compile(r"\b(random|rand|randn|randint|normal|shuffle|permutation|choice|uniform|dropout)\b")
_SEEDED = re.compile(r"seed\s*\(|default_rng\s*\(\s*\d|Generator\s*\(|RandomState\s*\(\s*\d")
_DETAIL_LINES = 8
#: a cell that itself reproduces (a magic, the CLI, the function) is not re-run: it would start another run
_REPRODUCING = re.compile(r"%crate\s+reproduce\b|\bcrate\s+reproduce\b|\breproduce\.reproduce\(")


class ReproduceError(OpenCrateError):
    """The version cannot be re-run (no run notebook, no such artifact, nbclient missing)."""


@dataclass
class ArtifactResult:
    """How one artifact of the original compares with its reproduction."""

    path: str
    status: str  # "identical" | "within tolerance" | "different" | "missing" | "new"
    detail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("identical", "within tolerance", "new")


@dataclass
class Report:
    """What ``reproduce`` found. ``reproduced`` is true when every artifact is identical or within tolerance."""

    original: str
    reproduction: Optional[str]
    artifacts: list[ArtifactResult]
    environment: list[tuple[str, Any, Any]]
    failed_cells: list[str]
    rtol: float
    seconds: float

    @property
    def reproduced(self) -> bool:
        return self.reproduction is not None and all(a.ok for a in self.artifacts) and bool(self.artifacts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "original": self.original,
            "reproduction": self.reproduction,
            "reproduced": self.reproduced,
            "rtol": self.rtol,
            "seconds": round(self.seconds, 3),
            "artifacts": [{"path": a.path, "status": a.status, "detail": a.detail} for a in self.artifacts],
            "environment": [{"field": f, "original": a, "reproduction": b} for f, a, b in self.environment],
            "failed_cells": self.failed_cells,
        }

    def __str__(self) -> str:
        verdict = "reproduced" if self.reproduced else "NOT reproduced"
        lines = [f"{self.original} -> {self.reproduction or '(no version made)'}: {verdict} ({self.seconds:.1f} s)"]
        width = max([len(a.path) for a in self.artifacts] + [8])
        for result in self.artifacts:
            lines.append(f"  {result.path:<{width}}  {result.status}")
            lines += [f"  {'':<{width}}    {line}" for line in result.detail]
        if not self.artifacts:
            lines.append("  no artifact to compare: the original version saved none from a captured cell")
        for cell in self.failed_cells:
            lines.append(f"  failed in the reproduction: {cell}")
        if self.environment:
            lines.append("  environment differences:")
            lines += [f"    {f}: {_shown(a)} -> {_shown(b)}" for f, a, b in self.environment]
        else:
            lines.append("  environment: same python, packages and git commit")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def _shown(value: Any) -> str:
    return "(none)" if value is None else str(value)


# -- in the new kernel -----------------------------------------------------------------------------------
def redirect_setup(name: str, root: str, tag: str) -> None:
    """Make ``oc.snapshot.setup(name=NAME, ...)`` in this process write into a new version tagged ``tag``.

    The first such setup claims the new version; later ones (a notebook that resumes its
    version) resume it. Other snapshot names are set up as the notebook says.
    """
    import inspect

    from .core.snapshot import snapshot

    original = type(snapshot).setup.__get__(snapshot)
    signature = inspect.signature(original)
    claimed: dict[str, int] = {}

    def setup(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        if bound.arguments.get("name") == name:
            bound.arguments["start"] = claimed.get("number", "new")
            bound.arguments["tag"] = tag
            bound.arguments["root"] = root
        result = original(*bound.args, **bound.kwargs)
        if bound.arguments.get("name") == name:
            claimed["number"] = snapshot.version
        return result

    setup.__doc__ = original.__doc__
    snapshot.setup = setup  # type: ignore[method-assign]


def _prelude(name: str, root: str, tag: str) -> str:
    return (
        f"{SKIP_MARKER} (reproduce prelude)\n"
        "from opencrate_nb import reproduce as _opencrate_reproduce\n"
        f"_opencrate_reproduce.redirect_setup({name!r}, {root!r}, {tag!r})\n"
        "get_ipython().run_line_magic('load_ext', 'opencrate')\n"
        "del _opencrate_reproduce"
    )


# -- running -------------------------------------------------------------------------------------------------
def _cells_to_run(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    """The code cells to re-execute: not the ones the user interrupted, nor a reproduce itself."""
    chosen = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source") or ""
        source = "".join(source) if isinstance(source, list) else source
        meta = (cell.get("metadata") or {}).get("opencrate") or {}
        if meta.get("status") == "interrupted" or _REPRODUCING.search(source):
            continue
        chosen.append(
            {"id": cell.get("id"), "source": source, "cell_id": meta.get("cell_id"), "status": meta.get("status")}
        )
    return chosen


@contextlib.contextmanager
def _kernel_environment(source: str) -> Iterator[None]:
    """The new kernel is not the caller's notebook: it names the notebook it re-runs instead."""
    saved = {key: os.environ.get(key) for key in ("JPY_SESSION_NAME", "OPENCRATE_NOTEBOOK_SOURCE")}
    os.environ.pop("JPY_SESSION_NAME", None)
    os.environ["OPENCRATE_NOTEBOOK_SOURCE"] = source
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def execute(cells: list[dict[str, Any]], cwd: str, timeout: int, kernel_name: str = "python3") -> list[dict[str, Any]]:
    """Run ``cells`` (``{"id", "source"}``) in a fresh kernel with nbclient, each sent with its cell id.

    Returns the executed nbformat cells (with outputs). A failing cell does not stop the run.
    """
    from .core.handlers._base import require

    nbformat = require("nbformat", "reproduce", "Re-running a notebook")
    require("ipykernel", "reproduce", "Re-running a notebook")
    NotebookClient = require("nbclient", "reproduce", "Re-running a notebook").NotebookClient

    class _Client(NotebookClient):
        """nbclient sends no cell id; this one does (as JupyterLab does), so the new run keeps them."""

        _cell_id: Optional[str] = None

        async def async_execute_cell(self, cell: Any, cell_index: int, *args: Any, **kwargs: Any) -> Any:
            self._cell_id = cell.get("id")
            if not getattr(self.kc, "_opencrate_ids", False):
                _send_cell_ids(self)
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

    notebook = nbformat.v4.new_notebook()
    for cell in cells:
        new = nbformat.v4.new_code_cell(cell["source"])
        if cell.get("id"):
            new["id"] = cell["id"]
        notebook.cells.append(new)
    client = _Client(
        notebook, timeout=timeout, kernel_name=kernel_name, allow_errors=True, resources={"metadata": {"path": cwd}}
    )
    client.execute()
    return list(notebook.cells)


def _send_cell_ids(client: Any) -> None:
    kc = client.kc

    def send(code: str, silent: bool = False, store_history: bool = True, user_expressions: Any = None,
             allow_stdin: Any = None, stop_on_error: bool = True) -> str:  # fmt: skip
        content = {
            "code": code,
            "silent": silent,
            "store_history": store_history,
            "user_expressions": user_expressions or {},
            "allow_stdin": False,
            "stop_on_error": stop_on_error,
        }
        metadata = {"cellId": client._cell_id} if client._cell_id else {}
        msg = kc.session.msg("execute_request", content, metadata=metadata)
        kc.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    kc.execute = send
    kc._opencrate_ids = True


# -- comparing ------------------------------------------------------------------------------------------------
def _close(a: Any, b: Any, rtol: float) -> bool:
    """Equal, numbers within ``rtol``, recursively through dicts, lists, arrays, tensors and tables."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=rtol, abs_tol=0.0)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], rtol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y, rtol) for x, y in zip(a, b))
    if hasattr(a, "detach") and hasattr(b, "detach"):  # tensors
        a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
    if hasattr(a, "to_numpy") and hasattr(b, "to_numpy") and hasattr(a, "columns"):  # data frames
        if list(a.columns) != list(b.columns):
            return False
        a, b = a.to_numpy(), b.to_numpy()
    if hasattr(a, "shape") and hasattr(b, "shape") and hasattr(a, "dtype"):
        import numpy as np

        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            return bool(np.allclose(a, b, rtol=rtol, atol=0.0, equal_nan=True))
        return bool(np.array_equal(a, b))
    return bool(a == b)


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _read_table(path: str) -> list[list[Any]]:
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return [[_number(v) for v in row] for row in csv.reader(f)]


def within_tolerance(kind: str, path_a: str, path_b: str, rtol: float) -> bool:
    """Whether two files of ``kind`` hold the same values up to ``rtol`` (False when the kind has no values)."""
    if kind == "csv":
        return _close(_read_table(path_a), _read_table(path_b), rtol)
    if kind == "json":
        with open(path_a, "rb") as fa, open(path_b, "rb") as fb:
            return _close(json.loads(fa.read()), json.loads(fb.read()), rtol)
    if kind in ("yaml", "checkpoint"):
        from .core.handlers import get_handler

        handler = get_handler(kind)
        return _close(handler.load(path_a), handler.load(path_b), rtol)
    return False


def _differences(kind: str, path_a: str, path_b: str) -> list[str]:
    from .core import diff

    try:
        detail = diff.compare_files(kind, path_a, path_b)
    except Exception as exc:  # noqa: BLE001 - the verdict stands without the detail
        return [f"content not compared: {type(exc).__name__}: {exc}"]
    lines = [f"{what}: {_short(before)} -> {_short(after)}" for what, before, after in detail.rows]
    lines += [line for line in detail.lines if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    if detail.note:
        lines.append(detail.note)
    if len(lines) > _DETAIL_LINES:
        lines = lines[:_DETAIL_LINES] + [f"... {len(lines) - _DETAIL_LINES} more"]
    return lines or ["the bytes differ"]


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unseeded(version_dir: str, path: str) -> Optional[str]:
    """A reason for a difference: a cell of the artifact's slice draws random numbers and none sets a seed."""
    try:
        found = gather.lineage(version_dir, path)
    except Exception:  # noqa: BLE001 - no lineage: no reason to give
        return None
    sources = [str(c.get("source") or "") for c in found.cells]
    if any(_SEEDED.search(s) for s in sources):
        return None
    for cell, source in zip(found.cells, sources):
        if _RANDOM.search(source):
            count = cell.get("execution_count")
            return f"why: In [{count}] draws random numbers and no cell it depends on sets a seed"
    return None


def compare(original: str, reproduction: str, rtol: float, only: Optional[set[str]] = None) -> list[ArtifactResult]:
    """Each artifact of ``original`` (``only``: these paths) against ``reproduction``."""
    from .core import diff

    before = diff.entries_of(original)
    after = diff.entries_of(reproduction)
    results = []
    for path in sorted(before):
        if only is not None and path not in only:
            continue
        entry = before[path]
        if path not in after:
            results.append(ArtifactResult(path, "missing", ["the reproduction did not save it"]))
            continue
        if entry["sha256"] == after[path]["sha256"]:
            results.append(ArtifactResult(path, "identical"))
            continue
        kind = entry.get("kind") or ""
        file_a, file_b = os.path.join(original, path), os.path.join(reproduction, path)
        try:
            close = within_tolerance(kind, file_a, file_b, rtol)
        except Exception:  # noqa: BLE001 - unreadable as values: compared as bytes only
            close = False
        if close:
            results.append(ArtifactResult(path, "within tolerance", [f"values equal within rtol={rtol:g}"]))
            continue
        detail = _differences(kind, file_a, file_b)
        reason = _unseeded(original, path)
        results.append(ArtifactResult(path, "different", detail + ([reason] if reason else [])))
    for path in sorted(set(after) - set(before)):
        if only is None:
            results.append(ArtifactResult(path, "new", ["saved by the reproduction only"]))
    return results


# -- the entry point ------------------------------------------------------------------------------------------
def _artifact_path(version_dir: str, name: str) -> str:
    from .core import diff

    name = check_artifact_path(name)  # the spelling the record holds
    paths = sorted(diff.entries_of(version_dir))
    matches = [p for p in paths if p == name or p.rsplit("/", 1)[-1] == name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        shown = ", ".join(p.rsplit("/", 1)[-1] for p in paths) or "none"
        raise ReproduceError(f"No artifact {name!r} in {version_dir} (artifacts: {shown}).")
    raise ReproduceError(f"{name!r} names several artifacts ({', '.join(matches)}): give the kind folder too.")


def reproduce(
    name: str,
    version: Any,
    root: str = refs.DEFAULT_ROOT,
    gather_artifact: Optional[str] = None,
    rtol: float = DEFAULT_RTOL,
    timeout: int = DEFAULT_TIMEOUT,
    kernel_name: str = "python3",
) -> Report:
    """Re-execute version ``version`` of snapshot ``name`` in a fresh kernel and compare what it saved."""
    if not (isinstance(rtol, (int, float)) and rtol >= 0 and math.isfinite(rtol)):
        raise ReproduceError(f"rtol must be a number, 0 or more (got {rtol!r}).")
    ref = refs.resolve(version, name=name, root=root)
    original = ref.dir_path
    only = None
    if gather_artifact is not None:
        path = _artifact_path(original, gather_artifact)
        found = gather.lineage(original, path)
        notebook = found.notebook()
        only = {path}
    else:
        try:
            notebook = run_notebook.load(original)
        except FileNotFoundError as exc:
            raise ReproduceError(str(exc)) from None
    cells = _cells_to_run(notebook)
    if not cells:
        raise ReproduceError(f"{ref.label} has no cell to re-run.")
    folders = [r["notebook"].get("cwd") for r in run_notebook.runs(original)]
    cwd = next((f for f in folders if isinstance(f, str) and os.path.isdir(f)), os.getcwd())
    tag = TAG.format(number=ref.number)
    root_abs = os.path.abspath(ref.root)
    started = time.perf_counter()
    before = {folder for _, _, folder in versions.list_folders(os.path.join(root_abs, ref.name))}
    cells = [{"id": "opencrate-prelude", "source": _prelude(ref.name, root_abs, tag)}, *cells]
    with _kernel_environment(run_notebook.notebook_path(os.path.abspath(original))):
        executed = execute(cells, cwd, timeout, kernel_name)
    made = [
        (number, folder)
        for number, found_tag, folder in versions.list_folders(os.path.join(root_abs, ref.name))
        if found_tag == tag and folder not in before
    ]
    reproduction = os.path.join(root_abs, ref.name, max(made)[1]) if made else None
    failed = []
    for original_cell, ran in zip(cells[1:], executed[1:]):
        errors = [o for o in ran.get("outputs", []) if o.get("output_type") == "error"]
        if errors and original_cell.get("status") != "error":
            first = original_cell["source"].strip().splitlines()[0] if original_cell["source"].strip() else ""
            failed.append(f"{first[:60]} ({errors[0].get('ename')}: {_short(errors[0].get('evalue'))})")
    artifacts = compare(original, reproduction, rtol, only) if reproduction else []
    env = []
    if reproduction:
        environment.wait()
        env = environment.compare(environment.last_run(original), environment.last_run(reproduction))
    label = f"{ref.name}/{os.path.basename(reproduction)}" if reproduction else None
    report = Report(ref.label, label, artifacts, env, failed, float(rtol), time.perf_counter() - started)
    if reproduction:
        data = json.dumps(report.to_dict(), indent=1, ensure_ascii=False, default=str) + "\n"
        _atomic.write_bytes(os.path.join(reproduction, ".crate", REPORT_FILE), data.encode("utf-8"))
    return report
