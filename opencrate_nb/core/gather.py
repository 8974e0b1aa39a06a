"""Lineage: the executed cells an artifact depended on, from a def-use analysis of their sources.

As Microsoft's Gather for notebooks does: each captured cell (``run.ipynb``, in execution
order) is parsed with :mod:`ast` for the names it defines and the names it uses; starting
from the cell that saved the artifact, walking back through the cells run before it, a
cell joins the slice when it defines a name the slice still needs, and the names it uses
are needed from then on. A plain assignment (``x = ...``) ends the search for ``x``; a
change in place (``x.append(...)``, ``x[0] = ...``, ``x += 1``, ``model.fit(...)``) does not,
since it needs an earlier ``x`` too. Calls on imported modules do not count as changes,
except seeding (``np.random.seed(0)``, ``torch.manual_seed(0)``). The setup cell that chose
the version is always part of the slice, and ``%crate`` lines need ``%load_ext opencrate``.
Cells that failed are left out: what they defined is uncertain.

The analysis is static and local: names reached only through ``exec``, ``globals()`` or
files written by one cell and read by another are not seen (the docs say so).

Stdlib only: core stays light.
"""

from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from . import run_notebook
from .errors import OpenCrateError

#: a pseudo-name: defined by ``%load_ext opencrate``, used by every ``%crate`` line
EXTENSION = "%opencrate"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HELP = re.compile(r"^[?]{0,2}[A-Za-z_][\w.]*[?]{1,2}\s*$")
_MAGIC_ASSIGN = re.compile(r"^(\s*)([A-Za-z_][\w\s,]*?)\s*=\s*[%!]")
NAMES_FILE = "names.json"
_NONE: frozenset[str] = frozenset()
_SETUP = re.compile(r"(^\s*%crate\s+setup\b)|(\bsnapshot\.setup\s*\()", re.M)


class LineageError(OpenCrateError, LookupError):
    """An artifact whose saving cell is not among the captured cells."""


@dataclass(frozen=True)
class CellNames:
    """What one cell does with names, whatever ran before it.

    ``uses``: read from earlier cells; ``kills``: bound anew (earlier definitions no longer
    matter); ``changes``: changed in place or rebound from themselves; ``calls``: roots of
    method calls (a change unless the name is a module); ``seeds``: roots of seeding calls;
    ``imports``; ``functions``: names bound by ``def``/``class`` (their free names are needed
    where they are called); ``setup``: the cell sets up a snapshot.
    """

    uses: frozenset[str]
    kills: frozenset[str]
    changes: frozenset[str] = frozenset()
    calls: frozenset[str] = frozenset()
    seeds: frozenset[str] = frozenset()
    imports: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()
    setup: bool = False


# -- one cell ---------------------------------------------------------------------------------------------
def _magic_line(line: str, uses: set[str], defines: set[str], kills: set[str]) -> None:
    body = line.strip()
    words = body[1:].split()
    name = words[0] if words else ""
    if name in ("load_ext", "reload_ext") and "opencrate" in words[1:]:
        defines.add(EXTENSION)
        kills.add(EXTENSION)
        return
    if name == "crate":
        uses.add(EXTENSION)
    for word in words[1:]:
        uses.update(_IDENTIFIER.findall(word.split("=", 1)[-1]) if not word.startswith("-") else ())


def _python_part(source: str, uses: set[str], defines: set[str], kills: set[str]) -> str:
    """The source with IPython-only lines (``%magic``, ``!shell``, ``x = %magic``) made ``pass``."""
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        words = lines[0].strip()[2:].split()
        if words[:1] == ["capture"]:
            names = [w for w in words[1:] if not w.startswith("-")]
            defines.update(names[:1])
            kills.update(names[:1])
        if words[:1] == ["crate"]:
            uses.add(EXTENSION)
        lines = ["pass", *lines[1:]]
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith(("%", "!")):
            _magic_line(stripped if stripped[0] == "%" else "%" + stripped, uses, defines, kills)
            out.append(indent + "pass")
            continue
        assigned = _MAGIC_ASSIGN.match(line)
        if assigned:
            targets = set(_IDENTIFIER.findall(assigned.group(2)))
            defines.update(targets)
            kills.update(targets)
            _magic_line(line[assigned.end() - 1 :], uses, defines, kills)
            out.append(indent + "pass")
            continue
        if _HELP.match(stripped):
            out.append(indent + "pass")  # help: obj? or obj??
            continue
        out.append(line)
    return "\n".join(out)


class _Scan(ast.NodeVisitor):
    """Names of one top-level statement: loads, plain bindings, and changes in place."""

    def __init__(self) -> None:
        self.loads: set[str] = set()
        self.binds: set[str] = set()
        self.changes: set[str] = set()
        self.calls: set[str] = set()
        self.seeds: set[str] = set()
        self.imports: set[str] = set()
        self.functions: set[str] = set()

    # ast.NodeVisitor looks each handler up by name and walks fields through a generator; a
    # 1000-cell run visits ~20,000 nodes, so both are done here with a per-class table
    def visit(self, node: ast.AST) -> None:
        handler = _HANDLERS.get(node.__class__)
        if handler is None:
            handler = _HANDLERS[node.__class__] = getattr(
                _Scan, f"visit_{node.__class__.__name__}", _Scan.generic_visit
            )
        handler(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def visit_Constant(self, node: ast.Constant) -> None:
        """A literal binds and reads nothing."""

    # bindings
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loads.add(node.id)
        else:
            self.binds.add(node.id)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            name = alias.asname or alias.name.split(".")[0]
            self.binds.add(name)
            self.imports.add(name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.binds.add(alias.asname or alias.name)
                self.imports.add(alias.asname or alias.name)

    def _target_root(self, node: ast.AST) -> Optional[str]:
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    def _changed(self, target: ast.AST) -> None:
        root = self._target_root(target)
        if root is not None:
            self.changes.add(root)
            self.loads.add(root)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._assign_target(target)
        self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._assign_target(node.target)
        if node.value is not None:
            self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        root = self._target_root(node.target)
        if root is not None:
            self.changes.add(root)
            self.loads.add(root)
        self.generic_visit(node)

    def _assign_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._assign_target(element)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            self._changed(target)
            self.visit(target)
        elif isinstance(target, ast.Starred):
            self._assign_target(target.value)
        else:
            self.visit(target)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.binds.add(target.id)
            else:
                self._changed(target)
                self.visit(target)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            root = self._target_root(func)
            if root is not None:
                (self.seeds if "seed" in func.attr.lower() else self.calls).add(root)
        self.generic_visit(node)

    # scopes: what a function or class body reads from the cell's globals
    def _function(self, node: Any) -> None:
        self.binds.add(node.name)
        self.functions.add(node.name)
        for decorator in node.decorator_list:
            self.visit(decorator)
        args = node.args
        for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
            self.visit(default)
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        params.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
        inner = _Scan()
        declared: set[str] = set()
        for statement in node.body:
            for sub in ast.walk(statement):
                if isinstance(sub, ast.Global):
                    declared.update(sub.names)
            inner.visit(statement)
        # defining a function changes nothing yet: what its body reads is what calling it will need
        self.loads.update(inner.loads - ((inner.binds | params) - declared))

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.binds.add(node.name)
        self.functions.add(node.name)
        for base in [*node.bases, *node.decorator_list, *[k.value for k in node.keywords]]:
            self.visit(base)
        inner = _Scan()
        for statement in node.body:
            inner.visit(statement)
        self.loads.update(inner.loads - inner.binds)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        inner = _Scan()
        inner.visit(node.body)
        params = {a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]}
        self.loads.update(inner.loads - params)

    def _comprehension(self, node: Any) -> None:
        inner = _Scan()
        for generator in node.generators:
            inner.visit(generator)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                inner.visit(getattr(node, part))
        self.loads.update(inner.loads - inner.binds)
        self.changes.update(inner.changes - inner.binds)

    visit_ListComp = _comprehension
    visit_SetComp = _comprehension
    visit_GeneratorExp = _comprehension
    visit_DictComp = _comprehension


_HANDLERS: dict[type, Any] = {}
_memo: dict[str, CellNames] = {}
_MEMO_MAX = 20_000


def cell_names(source: str) -> CellNames:
    """What ``source`` uses, kills and changes (remembered per source: cells repeat)."""
    found = _memo.get(source)
    if found is None:
        found = _cell_names(source)
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        _memo[source] = found
    return found


def _cell_names(source: str) -> CellNames:
    uses: set[str] = set()
    defines: set[str] = set()
    kills: set[str] = set()
    python = _python_part(source, uses, defines, kills)
    setup = bool(_SETUP.search(source))
    try:
        tree = ast.parse(python)
    except (SyntaxError, ValueError):
        uses.update(_IDENTIFIER.findall(python))  # not Python we can read: assume it reads every name in it
        return CellNames(frozenset(uses), frozenset(kills), frozenset(defines - kills), setup=setup)
    changes = defines - kills
    calls: set[str] = set()
    seeds: set[str] = set()
    imports: set[str] = set()
    functions: set[str] = set()
    bound_here: set[str] = set()
    for statement in tree.body:
        scan = _Scan()
        scan.visit(statement)
        uses.update(scan.loads - bound_here)
        fresh = scan.binds - scan.loads
        kills.update(fresh)
        changes.update((scan.binds - fresh) | scan.changes)
        calls.update(scan.calls - bound_here)
        seeds.update(scan.seeds)
        bound_here.update(scan.binds)
        imports.update(scan.imports)
        functions.update(scan.functions)
    return CellNames(
        frozenset(uses),
        frozenset(kills),
        frozenset(changes - kills),
        frozenset(calls),
        frozenset(seeds),
        frozenset(imports),
        frozenset(functions),
        setup,
    )


# -- a slice ------------------------------------------------------------------------------------------------
def analyse(cells: list[dict[str, Any]], version_dir: Optional[str] = None) -> list[CellNames]:
    """:func:`cell_names` of each cell, in order; with ``version_dir``, through its names cache."""
    cache = _Cache(version_dir) if version_dir else None
    out = []
    for cell in cells:
        source = cell.get("source") or ""
        source = "".join(source) if isinstance(source, list) else str(source)
        found = _memo.get(source)
        if found is None and cache is not None:
            found = cache.get(source)
        if found is None:
            found = cell_names(source)
            if cache is not None:
                cache.put(source, found)
        out.append(found)
    if cache is not None:
        cache.save()
    return out


class _Cache:
    """``.crate/names.json``: the names of each cell source seen in a version, so that parsing
    happens once (the run notebook's background rebuild fills it while the run goes on)."""

    FIELDS = ("uses", "kills", "changes", "calls", "seeds", "imports", "functions")

    def __init__(self, version_dir: str) -> None:
        from .record import record_dir

        self.path = os.path.join(record_dir(version_dir), NAMES_FILE)
        self.added = False
        try:
            with open(self.path, "rb") as f:
                data = json.loads(f.read())
            self.data: dict[str, Any] = data if isinstance(data, dict) and data.get("v") == 1 else {"v": 1}
        except (OSError, ValueError):
            self.data = {"v": 1}

    @staticmethod
    def key(source: str) -> str:
        import hashlib

        return hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, source: str) -> Optional[CellNames]:
        found = self.data.get(self.key(source))
        if not isinstance(found, list) or len(found) != len(self.FIELDS) + 1:
            return None
        try:
            fields = {f: frozenset(x) if x else _NONE for f, x in zip(self.FIELDS, found)}
            return CellNames(**fields, setup=bool(found[-1]))
        except TypeError:
            return None

    def put(self, source: str, names: CellNames) -> None:
        self.data[self.key(source)] = [sorted(getattr(names, f)) for f in self.FIELDS] + [names.setup]
        self.added = True

    def save(self) -> None:
        if not self.added or not os.path.isdir(os.path.dirname(self.path)):
            return
        from . import _atomic

        try:
            _atomic.write_bytes(self.path, json.dumps(self.data, separators=(",", ":")).encode("utf-8"))
        except OSError:
            pass  # a read-only snapshot: lineage still works, only slower


def warm(version_dir: str) -> None:
    """Parse the captured cells not in the names cache yet (called in the background during a run)."""
    analyse(run_notebook.read_cells(version_dir, with_saves=False), version_dir)


def dependencies(cells: list[dict[str, Any]], names: list[CellNames]) -> tuple[list[set[int]], list[Optional[int]]]:
    """For each cell, the earlier cells whose definitions it read, and the setup cell in force.

    One pass forward in execution order, keeping for every name the cells whose definitions
    of it reach the current cell (a plain assignment replaces them, a change adds to them).
    A function's free names are looked up where it is called.
    """
    reaching: dict[str, list[int]] = {}
    imported: set[str] = set()
    deps: list[set[int]] = []
    setups: list[Optional[int]] = []
    setup: Optional[int] = None
    for index, (cell, n) in enumerate(zip(cells, names)):
        found: set[int] = set()
        for name in n.uses:
            sources = reaching.get(name)
            if not sources:
                continue
            found.update(sources)
            for source in sources:
                if name in names[source].functions:
                    for free in names[source].uses:
                        found.update(reaching.get(free, ()))
        deps.append(found)
        setups.append(setup)
        if _status(cell) == "error":
            continue  # what a failed cell defined is uncertain: later cells do not depend on it
        for name in n.kills:
            reaching[name] = [index]
        for name in n.changes | (n.calls - imported) | n.seeds:
            if name not in n.kills:
                reaching.setdefault(name, []).append(index)
        imported.difference_update(n.kills)
        imported.update(n.imports)
        if n.setup:
            setup = index
    return deps, setups


def slice_of(cells: list[dict[str, Any]], target: int, names: Optional[list[CellNames]] = None) -> list[int]:
    """Indices (in execution order) of the cells that cell ``target`` depended on, itself included."""
    names = analyse(cells[: target + 1]) if names is None else names
    deps, setups = dependencies(cells[: target + 1], names[: target + 1])
    chosen = {target}
    todo = [target]
    setup = target if names[target].setup else setups[target]
    if setup is not None and setup not in chosen:
        chosen.add(setup)
        todo.append(setup)
    while todo:
        for earlier in deps[todo.pop()]:
            if earlier not in chosen:
                chosen.add(earlier)
                todo.append(earlier)
    return sorted(chosen)


def _status(cell: dict[str, Any]) -> Optional[str]:
    return ((cell.get("metadata") or {}).get("opencrate") or {}).get("status")


def _meta(cell: dict[str, Any]) -> dict[str, Any]:
    return (cell.get("metadata") or {}).get("opencrate") or {}


def _label(cell: dict[str, Any]) -> str:
    count = cell.get("execution_count")
    return f"In [{count}]" if isinstance(count, int) else "In [ ]"


def _first_line(cell: dict[str, Any]) -> str:
    for line in str(cell.get("source") or "").splitlines():
        if line.strip():
            return line.strip()[:80]
    return ""


# -- an artifact's lineage ---------------------------------------------------------------------------
@dataclass
class Lineage:
    """The saving cell of one artifact and the slice of executed cells it depended on.

    ``cells``: the slice in execution order (nbformat cell dicts, the saving cell last);
    ``warnings``: why re-running the slice might not give the same artifact.
    """

    artifact: str
    version_dir: str
    cell: dict[str, Any]
    cells: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)

    def notebook(self) -> dict[str, Any]:
        """A clean nbformat 4.5 notebook of the slice: sources in order, no outputs."""
        out: list[dict[str, Any]] = []
        for position, cell in enumerate(self.cells, 1):
            meta = _meta(cell)
            out.append(
                {
                    "cell_type": "code",
                    "id": cell.get("id") or f"gather-{position}",
                    "execution_count": None,
                    "metadata": {"opencrate": {"execution_count": cell.get("execution_count"), **_kept(meta)}},
                    "source": cell.get("source") or "",
                    "outputs": [],
                }
            )
        return {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
                "opencrate": {
                    "gathered_for": self.artifact,
                    "version": os.path.basename(os.path.normpath(self.version_dir)),
                    "snapshot": os.path.basename(os.path.dirname(os.path.normpath(self.version_dir))),
                    "warnings": list(self.warnings),
                },
            },
            "cells": out,
        }

    def write(self, path: str) -> str:
        """Write :meth:`notebook` to ``path`` (atomically, see ``_atomic.write_output``); returns the path."""
        from . import _atomic

        data = json.dumps(self.notebook(), indent=1, ensure_ascii=False) + "\n"
        _atomic.write_output(path, run_notebook.safe_text(data).encode("utf-8"))
        return path

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact,
            "cell": {"execution_count": self.cell.get("execution_count"), "cell_id": _meta(self.cell).get("cell_id")},
            "cells": [{"execution_count": c.get("execution_count"), "source": c.get("source")} for c in self.cells],
            "warnings": list(self.warnings),
        }

    def __str__(self) -> str:
        lines = [f"{self.artifact}: saved by {_label(self.cell)}, depends on {len(self.cells)} cell(s)"]
        lines += [f"  {_label(c)}: {_first_line(c)}" for c in self.cells]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Lineage of {self.artifact}: {len(self.cells)} cells>"


def _kept(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in ("cell_id", "time") if meta.get(k) is not None}


def saving_index(cells: list[dict[str, Any]], artifact_path: str) -> Optional[int]:
    """The index of the last cell that saved ``artifact_path`` (a path inside the version), or None."""
    found = None
    for index, cell in enumerate(cells):
        for op in _meta(cell).get("saved") or ():
            if op.get("path") == artifact_path and op.get("op") == "save":
                found = index
    return found


def lineage(version_dir: str, artifact_path: str, cells: Optional[list[dict[str, Any]]] = None) -> Lineage:
    """The :class:`Lineage` of the artifact at ``artifact_path`` (``"jsons/m.json"``) of a version."""
    cells = run_notebook.read_cells(version_dir) if cells is None else cells
    target = saving_index(cells, artifact_path)
    if target is None:
        raise LineageError(
            f"{artifact_path} was not saved by a captured cell of {version_dir}: lineage needs the cell "
            "(load the extension with %load_ext opencrate before the cells that save it)."
        )
    names = analyse(cells[: target + 1], version_dir)
    indices = slice_of(cells, target, names)
    chosen = [cells[i] for i in indices]
    return Lineage(artifact_path, version_dir, cells[target], chosen, order_warnings(cells, indices, version_dir))


# -- warnings --------------------------------------------------------------------------------------------
def front_end_positions(version_dir: str) -> dict[str, int]:
    """Cell id -> position in the notebook the run came from (when its file can be read), else {}."""
    for run in reversed(run_notebook.runs(version_dir)):
        notebook = run["notebook"]
        path = notebook.get("path")
        if not isinstance(path, str) or not path.endswith(".ipynb"):
            continue
        cwd = str(notebook.get("cwd") or "")
        for candidate in (path, os.path.join(cwd, path), os.path.join(cwd, os.path.basename(path))):
            try:
                with open(candidate, "rb") as f:
                    front = json.loads(f.read())
            except (OSError, ValueError):
                continue
            cells = front.get("cells") if isinstance(front, dict) else None
            if isinstance(cells, list):
                return {c["id"]: i for i, c in enumerate(cells) if isinstance(c, dict) and isinstance(c.get("id"), str)}
    return {}


def order_warnings(cells: list[dict[str, Any]], indices: list[int], version_dir: Optional[str] = None) -> list[str]:
    """Why the slice may not re-run as it ran: cells run out of top-to-bottom order, cells edited later."""
    warnings = []
    positions = front_end_positions(version_dir) if version_dir else {}
    placed = []
    for i in indices:
        position = positions.get(_meta(cells[i]).get("cell_id") or "")
        if position is not None:
            placed.append((i, position))
    for (a, pa), (b, pb) in zip(placed, placed[1:]):
        if pb < pa:
            warnings.append(
                f"{_label(cells[b])} ran after {_label(cells[a])} but sits above it in the notebook: "
                "the slice ran out of top-to-bottom order"
            )
    for i in indices:
        cell_id = _meta(cells[i]).get("cell_id")
        if not cell_id:
            continue
        for later in cells[i + 1 :]:
            if _meta(later).get("cell_id") == cell_id and later.get("source") != cells[i].get("source"):
                warnings.append(
                    f"{_label(cells[i])} was edited and re-run later as {_label(later)}: "
                    "the artifact was made with the old source"
                )
                break
    return warnings


def all_warnings(version_dir: str) -> dict[str, list[str]]:
    """``{artifact path: warnings}`` for every artifact of a version whose slice has any (one analysis)."""
    cells = run_notebook.read_cells(version_dir)
    if not cells:
        return {}
    names = analyse(cells, version_dir)
    saved: dict[str, int] = {}
    for index, cell in enumerate(cells):
        for op in _meta(cell).get("saved") or ():
            if op.get("op") == "save" and isinstance(op.get("path"), str):
                saved[op["path"]] = index
    out = {}
    for path, target in saved.items():
        found = order_warnings(cells, slice_of(cells, target, names), version_dir)
        if found:
            out[path] = found
    return out
