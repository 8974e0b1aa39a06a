"""Capture's half of the run's notebook: each finished cell becomes one nbformat cell.

:class:`RunNotebook` turns what :mod:`.capture` recorded for a cell (source, streams, rich
outputs, errors) into an nbformat code cell and appends it to the version's
``.crate/notebook.jsonl`` (see :mod:`opencrate_nb.core.run_notebook`, which builds
``run.ipynb`` from those lines). Cells run before the first setup are kept in memory
(the last :data:`PENDING_MAX`) and written ahead of the setup cell, so imports and
``%load_ext`` made before it are part of the notebook too. ``run.ipynb`` itself is
rebuilt on a background thread once no cell has run for :data:`REBUILD_AFTER` seconds, at
exit and when another version is set up (and whenever someone reads it).
"""

from __future__ import annotations

import atexit
import base64
import collections
import os
import threading
import time
import weakref
from typing import Any, Optional

from ..core import run_notebook

#: cells run before any setup that are kept for the notebook of the first version set up
PENDING_MAX = 200
#: seconds without a cell before ``run.ipynb`` is rebuilt in the background
REBUILD_AFTER = 3.0
#: seconds after which it is rebuilt even while cells keep running
REBUILD_AT_LEAST = 120.0
#: characters of one output's value kept in the notebook; beyond, a marker says what was left out
MAX_OUTPUT_CHARS = 500_000
#: characters of rich outputs kept per cell in all
MAX_CELL_OUTPUT_CHARS = 2_000_000
#: mime types that only make sense with live state the notebook does not hold
_LIVE_ONLY = ("application/vnd.jupyter.widget-view+json",)

_instances: weakref.WeakSet[RunNotebook] = weakref.WeakSet()


def notebook_source(shell: Any = None, script: Optional[str] = None) -> dict[str, Optional[str]]:
    """Where the notebook being run lives, as far as the kernel can tell: ``{"path", "from"}``.

    Jupyter servers (JupyterLab, Notebook 7) set ``JPY_SESSION_NAME``; VS Code sets
    ``__vsc_ipynb_file__``; ``ipython script.ipy`` runs a file. Headless runners
    (nbclient, papermill, ``jupyter execute``) tell nothing: ``{"path": None, "from": None}``;
    ``crate reproduce`` names the ``run.ipynb`` it re-runs.
    """
    if script:
        return {"path": os.path.abspath(script), "from": "script"}
    rerun = os.environ.get("OPENCRATE_NOTEBOOK_SOURCE")  # set by reproduce: the run.ipynb re-executed
    if rerun:
        return {"path": rerun, "from": "reproduce"}
    session = os.environ.get("JPY_SESSION_NAME")
    if session:
        return {"path": session, "from": "JPY_SESSION_NAME"}
    user_ns = getattr(shell, "user_ns", None) or {}
    vscode = user_ns.get("__vsc_ipynb_file__")
    if isinstance(vscode, str) and vscode:
        return {"path": vscode, "from": "vscode"}
    return {"path": None, "from": None}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return str(value)


def _marker(mime: str, size: int) -> str:
    from ..core.format import format_size

    return f"[opencrate: {mime} output of {format_size(size)} not kept in run.ipynb]"


def output_data(data: dict[str, Any], budget: list[int]) -> dict[str, Any]:
    """A display's mime bundle as nbformat holds it: text as str, binary as base64, large values capped.

    ``budget`` is ``[characters left for this cell]``; a value that does not fit is replaced
    by a marker naming its type and size (in ``text/plain`` when no plain text is left).
    """
    out: dict[str, Any] = {}
    notes = []
    for mime, value in data.items():
        if not isinstance(mime, str) or mime in _LIVE_ONLY:
            continue
        if isinstance(value, (bytes, bytearray)):
            value = base64.b64encode(bytes(value)).decode("ascii")
        elif not (mime.endswith("json") or mime.endswith("+json")):
            value = _text(value)
        size = len(value) if isinstance(value, str) else len(repr(value))
        if size > MAX_OUTPUT_CHARS or size > budget[0]:
            notes.append(_marker(mime, size))
            continue
        budget[0] -= size
        out[mime] = run_notebook.safe_value(value)
    if notes:
        plain = out.get("text/plain", "")
        out["text/plain"] = (plain + "\n" if plain else "") + "\n".join(notes)
    if not out:
        out["text/plain"] = _text(data.get("text/plain", "")) or "[opencrate: live output (a widget) not kept]"
    return out


def notebook_outputs(
    count: Optional[int],
    stdout: str,
    stderr: str,
    rich: list[tuple[str, dict[str, Any], Any]],
    errors: list[tuple[str, str, str]],
    budget: int = MAX_CELL_OUTPUT_CHARS,
) -> list[dict[str, Any]]:
    """A cell's nbformat outputs: streams first (each merged), then rich outputs in order, then errors.

    ``rich``: ``(output_type, data, metadata)``; ``errors``: ``(ename, evalue, traceback text)``;
    ``budget``: characters of rich output kept for the cell.
    """
    outputs: list[dict[str, Any]] = []
    for name, text in (("stdout", stdout), ("stderr", stderr)):
        if text:
            outputs.append({"output_type": "stream", "name": name, "text": run_notebook.safe_text(text)})
    left = [budget]
    for kind, data, metadata in rich:
        output: dict[str, Any] = {"output_type": kind, "data": output_data(data, left), "metadata": {}}
        if isinstance(metadata, dict):
            output["metadata"] = run_notebook.safe_value(metadata)
        if kind == "execute_result":
            output["execution_count"] = count
        outputs.append(output)
    for ename, evalue, traceback in errors:
        outputs.append(
            {
                "output_type": "error",
                "ename": run_notebook.safe_text(ename),
                "evalue": run_notebook.safe_text(evalue),
                "traceback": run_notebook.safe_text(traceback).split("\n"),
            }
        )
    return outputs


class RunNotebook:
    """Appends the cells of one shell to the notebook of the version they ran in."""

    def __init__(self, shell: Any = None) -> None:
        self.shell = shell
        self.version_dir: Optional[str] = None
        self.pending: collections.deque[dict[str, Any]] = collections.deque(maxlen=PENDING_MAX)
        self.script: Optional[str] = None  # the file ``ipython script.ipy`` runs, when it does
        self._timer: Optional[threading.Timer] = None
        self._last_cell = 0.0
        self._new_run = False
        self.setup_dir: Optional[str] = None  # the current version's folder, bound at setup
        self._last_build = time.monotonic()
        self._lock = threading.Lock()
        _instances.add(self)

    def on_setup(self, snapshot: Any) -> None:
        """Setup hook: a new run starts (also of the same version), so the next cell notes where it came from.

        The version's folder is bound now, as an absolute path: an ``os.chdir()`` later does not move it.
        """
        self.setup_dir = os.path.abspath(snapshot.dir_path)
        self._new_run = True

    def before_setup(self, cell: dict[str, Any]) -> None:
        """Keep a cell run while no snapshot is set up, for the notebook of the next version set up."""
        cell["metadata"]["opencrate"]["before_setup"] = True
        self.pending.append(cell)

    def recorded(self, version_dir: str, count: Any, time: Any, outputs: list[dict[str, Any]]) -> None:
        """A cell was written to ``cells.jsonl`` of ``version_dir``; ``outputs``: what it showed (often none)."""
        if version_dir != self.version_dir or self._new_run:
            self._new_run = False
            self._start(version_dir)
        if outputs:
            entry = {"type": "outputs", "execution_count": count, "time": time, "outputs": outputs}
            run_notebook.append(version_dir, entry)
        self._schedule()

    def _start(self, version_dir: str) -> None:
        previous, self.version_dir = self.version_dir, version_dir
        if previous is not None:
            self._rebuild(previous)
        from ..core import environment

        for cell in self.pending:
            run_notebook.append(version_dir, {"type": "cell", "cell": cell})
        self.pending.clear()
        source = notebook_source(self.shell, self.script)
        environment.note("notebook", {"as_run": run_notebook.NOTEBOOK_FILE, **source, "cwd": os.getcwd()})

    def _schedule(self) -> None:
        """Rebuild ``run.ipynb`` once the kernel has been idle for :data:`REBUILD_AFTER` seconds
        (or :data:`REBUILD_AT_LEAST` seconds after the last rebuild, for runs that never pause)."""
        self._last_cell = time.monotonic()
        with self._lock:
            if self._timer is not None:
                return  # the pending timer sees the new cell when it fires
            self._start_timer(REBUILD_AFTER)

    def _start_timer(self, delay: float) -> None:
        timer = threading.Timer(delay, self._rebuild_later)
        timer.daemon = True
        timer.name = "opencrate-run-notebook"
        self._timer = timer
        timer.start()

    def _rebuild_later(self) -> None:
        now = time.monotonic()
        busy = now - self._last_cell < REBUILD_AFTER and now - self._last_build < REBUILD_AT_LEAST
        with self._lock:
            if busy:  # cells keep coming: wait for a pause, the cells' own time is not ours to take
                self._start_timer(REBUILD_AFTER - (now - self._last_cell))
                return
            self._timer = None
        if self.version_dir is not None:
            self._last_build = time.monotonic()
            self._rebuild(self.version_dir)

    @staticmethod
    def _rebuild(version_dir: str) -> None:
        try:
            run_notebook.ensure(version_dir)
            from ..core import gather

            gather.warm(version_dir)  # parse the new cells now, so that lineage later is a look-up
        except Exception:  # noqa: BLE001 - the folder may be gone (reset); the lines stay the source
            pass

    def flush(self) -> Optional[str]:
        """Bring ``run.ipynb`` of the current version up to date now; its path (None before any setup)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        if self.version_dir is None:
            return None
        return run_notebook.ensure(self.version_dir)

    def close(self) -> None:
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - at unload or exit: never raise
            pass


def _flush_all() -> None:
    for notebook in list(_instances):
        notebook.close()


atexit.register(_flush_all)
