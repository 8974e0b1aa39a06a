"""Automatic cell capture: every executed cell goes into the run log.

How it works
------------
``sys.stdout`` and ``sys.stderr`` are wrapped in a *tee*: every write goes first,
unchanged, to the stream that was there before (so the notebook shows exactly what it
would show without opencrate), and a copy is kept for the running cell. The copy is
capped: past ``max_chars`` characters per stream the middle is dropped and a marker
says how much, so a cell printing gigabytes never fills memory or the log. Carriage
returns are applied to the copy the way a terminal applies them, so a ``\\r``
progress bar leaves one line (its final state) in the log, not thousands.

``pre_run_cell`` starts a cell record and tells core which cell is running (every
artifact saved meanwhile links to it); ``post_run_cell`` writes one entry to the run
log (execution count, status, duration, stdout, stderr, traceback) and one JSON line
with the full source and the output mime types to ``.crate/cells.jsonl``.

Nested cells (``%%capture``, ``%%crate save`` and other magics that run their body
with ``shell.run_cell``) belong to the cell that contains them. Because ``%%capture``
and ipykernel may swap ``sys.stdout``, each ``pre_run_cell`` checks that a tee is still
the current stream and installs a new one when it is not; a tee only records while it
is the current ``sys.stdout``/``sys.stderr``, so a stream wrapped twice is never
recorded twice.
"""

import contextlib as _contextlib
import os as _os
import re as _re
import sys as _sys
import time as _time
import traceback as _traceback
import types as _types
import weakref as _weakref

from ..core.format import local_iso
from ..core.run_notebook import safe_text, safe_value
from . import _core, _run_notebook
from ._run_notebook import RunNotebook, notebook_outputs

#: Characters of each stream kept per cell in the log (the head and the tail).
DEFAULT_MAX_CHARS = 50_000
#: Chunks collected before they are merged into the capped copy.
_COMPACT_EVERY = 2048
#: An unfinished line (no newline yet) longer than this is logged as it is.
_PENDING_MAX = 20_000
_SOURCE_HEAD_CHARS = 80
#: a cell whose first line starts with this is not captured (the reproduce prelude uses it too)
SKIP_MARKER = "# opencrate: skip"
#: characters of rich output kept for a cell run before any setup (such cells wait in memory)
_PENDING_OUTPUT_CHARS = 50_000


# --------------------------------------------------------------------------------------------
# the capped copy of one stream during one cell
# --------------------------------------------------------------------------------------------
def _collapse_line(line):
    """What a terminal shows for one line that contains carriage returns."""
    line = line.rstrip("\r")
    return line[line.rfind("\r") + 1 :]


def _collapse_pending(text):
    """Like :func:`_collapse_line` for an unfinished line: keep a trailing ``\\r``."""
    trail = "\r" if text.endswith("\r") else ""
    return _collapse_line(text) + trail


def collapse_carriage_returns(text):
    """Apply ``\\r`` the way a terminal does: each line keeps what follows its last ``\\r``."""
    if "\r" not in text:
        return text
    return "\n".join(_collapse_line(line) for line in text.split("\n"))


class StreamCopy(list):
    """Text written to one stream during one cell, kept up to a cap.

    Writes are appended as chunks (a cheap ``list.append``); every few thousand chunks
    they are merged into ``head`` (the first part, up to the head cap) and ``tail`` (the
    most recent part), counting what falls in between in ``omitted``.
    """

    __slots__ = ("head", "tail", "omitted", "pending", "total", "head_cap", "tail_cap")

    def __init__(self, max_chars=DEFAULT_MAX_CHARS):
        # no list.__init__: the list is new and empty (two of these start with every cell)
        max_chars = max(int(max_chars), 2)
        self.head_cap = max_chars * 4 // 5
        self.tail_cap = max_chars - self.head_cap
        self.head = ""
        self.tail = ""
        self.omitted = 0
        self.pending = ""
        self.total = 0

    def compact(self):
        chunks = self[:]
        del self[:]
        try:
            joined = "".join(chunks)
        except TypeError:  # a stream that accepted bytes or other objects
            joined = "".join(
                c
                if isinstance(c, str)
                else c.decode("utf-8", "replace")
                if isinstance(c, (bytes, bytearray))
                else str(c)
                for c in chunks
            )
        self.total += len(joined)
        text = self.pending + joined
        cut = text.rfind("\n") + 1
        done, pending = text[:cut], text[cut:]
        if "\r" in done:
            done = collapse_carriage_returns(done[:-1]) + "\n"
        if "\r" in pending:
            pending = _collapse_pending(pending)
        if len(pending) > _PENDING_MAX:
            done, pending = done + pending, ""
        self.pending = pending
        if done:
            self._keep(done)

    def _keep(self, text):
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += text[:room]
            text = text[room:]
            if not text:
                return
        cap = self.tail_cap
        if len(text) >= cap:
            self.omitted += len(self.tail) + len(text) - cap
            self.tail = text[len(text) - cap :] if cap else ""
            return
        tail = self.tail + text
        if len(tail) > cap:
            self.omitted += len(tail) - cap
            tail = tail[len(tail) - cap :]
        self.tail = tail

    def finish(self):
        """The kept text (with a marker where the middle was dropped)."""
        if not self and not self.total:
            return ""  # nothing was written (most cells)
        self.compact()
        if self.pending:
            pending, self.pending = self.pending.rstrip("\r"), ""
            self._keep(pending)
        if not self.omitted:
            return self.head + self.tail
        head, tail, omitted = self.head, self.tail, self.omitted
        cut = head.rfind("\n") + 1  # cut at line ends, so that no half line is logged
        if cut:
            head, omitted = head[:cut], omitted + len(head) - cut
        else:
            head += "\n"
        start = tail.find("\n") + 1
        if 0 < start < len(tail):
            tail, omitted = tail[start:], omitted + start
        return f"{head}[... {omitted:,} characters not logged ...]\n{tail}"

    @property
    def truncated(self):
        return self.omitted > 0


# --------------------------------------------------------------------------------------------
# the tees
# --------------------------------------------------------------------------------------------
_OWN_ATTRS = frozenset(("_oc_stream", "_oc_copy", "_oc_owner"))


class _Tee:
    """Forwards everything to ``_oc_stream``; keeps a copy in ``_oc_copy`` when it is current."""

    # __dict__: a method patched on the tee (IPython 9 patches ``sys.stdout.write`` for each
    # cell to keep outputs in its history, then restores it) must stay on the tee; written
    # through to the stream below, the restore would point that stream's write back at us.
    __slots__ = ("_oc_stream", "_oc_copy", "_oc_owner", "__dict__", "__weakref__")
    stream_name = None

    def __init__(self, stream, owner):
        object.__setattr__(self, "_oc_stream", stream)
        object.__setattr__(self, "_oc_copy", None)
        object.__setattr__(self, "_oc_owner", owner)

    def write(self, text):
        written = self._oc_stream.write(text)
        copy = self._oc_copy
        if copy is not None and getattr(_sys, self.stream_name) is self:
            copy.append(text)
            if len(copy) > _COMPACT_EVERY:
                copy.compact()
        return written

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def write_untracked(self, text):
        """Write without keeping a copy (for text that already goes to the log files)."""
        return self._oc_stream.write(text)

    def flush(self):
        return self._oc_stream.flush()

    def __getattr__(self, name):
        return getattr(self._oc_stream, name)

    def __setattr__(self, name, value):
        if name in _OWN_ATTRS or hasattr(type(self), name):
            object.__setattr__(self, name, value)  # our slots, or a patch of one of our methods
        else:
            setattr(self._oc_stream, name, value)  # the stream's own settings stay the stream's

    def __delattr__(self, name):
        if name in self.__dict__:
            object.__delattr__(self, name)
        else:
            delattr(self._oc_stream, name)

    def __repr__(self):
        return f"<opencrate {self.stream_name} tee of {self._oc_stream!r}>"


_set_copy = _Tee._oc_copy.__set__  # a tee's copy, set without going through its __setattr__


class StdoutTee(_Tee):
    __slots__ = ()
    stream_name = "stdout"

    def write(self, text):
        # _Tee.write with the stream named in the code: a print of many lines calls this for
        # every line and every newline, so each lookup saved counts
        written = self._oc_stream.write(text)
        copy = self._oc_copy
        if copy is not None and _sys.stdout is self:
            copy.append(text)
            if len(copy) > _COMPACT_EVERY:
                copy.compact()
        return written


class StderrTee(_Tee):
    __slots__ = ()
    stream_name = "stderr"

    def write(self, text):
        written = self._oc_stream.write(text)  # as StdoutTee.write
        copy = self._oc_copy
        if copy is not None and _sys.stderr is self:
            copy.append(text)
            if len(copy) > _COMPACT_EVERY:
                copy.compact()
        return written


_TEE_TYPES = {"stdout": StdoutTee, "stderr": StderrTee}


def _unwrap(stream):
    """The stream below any inactive tees left by an earlier (unloaded) capture."""
    while isinstance(stream, _Tee) and stream._oc_owner is None:
        stream = stream._oc_stream
    return stream


# --------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------
def format_duration(seconds):
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)} min {rest:.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes)} min"


def local_time_iso(seconds):
    """A cell's start time, ``2026-12-01T13:52:11.123+01:00`` (milliseconds: see :func:`format.local_iso`)."""
    return local_iso(seconds, 3)


def first_line(source, limit=_SOURCE_HEAD_CHARS):
    for line in source.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return ""


_IPYTHON_FRAMES = ("interactiveshell.py", "async_helpers.py")


def format_error(error):
    """Plain-text traceback of an exception raised by a cell, without IPython's own frames."""
    from IPython.core.error import UsageError

    if isinstance(error, UsageError):
        return f"UsageError: {error}"
    if isinstance(error, (SyntaxError, KeyboardInterrupt)):
        return "".join(_traceback.format_exception_only(type(error), error)).rstrip("\n")
    tb = error.__traceback__
    while (
        tb is not None
        and tb.tb_frame.f_code.co_filename.endswith(_IPYTHON_FRAMES)
        and "IPython" in tb.tb_frame.f_code.co_filename
    ):
        tb = tb.tb_next
    try:
        return "".join(_traceback.format_exception(type(error), error, tb)).rstrip("\n")
    except Exception:  # noqa: BLE001 - a broken __str__ must not break the log
        return f"{type(error).__name__}: <unprintable exception>"


_TERMINAL_SEQUENCE = _re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\\\)?")
_CONTROL = _re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def log_safe(text):
    """Text the log can hold and a terminal shows as it is: colour and cursor sequences removed,
    other control characters written as ``\\xNN``, lone surrogates (undecodable file names) as ``\\udcNN``."""
    if "\x1b" in text:
        text = _TERMINAL_SEQUENCE.sub("", text)
    if _CONTROL.search(text):
        text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return safe_text(text)


def format_log_message(count, status, duration, source, stdout, stderr, errors):
    head = f"cell [{count if count is not None else ' '}] {status} in {format_duration(duration)}"
    summary = first_line(source)
    lines = [f"{head}: {summary}" if summary else head]
    for label, text in (("stdout", stdout), ("stderr", stderr), ("traceback", errors)):
        if text:
            lines.append(f"--- {label} ---")
            lines.append(text.rstrip("\n"))
    return log_safe("\n".join(lines))


# --------------------------------------------------------------------------------------------
# the capture
# --------------------------------------------------------------------------------------------
class _Cell:
    __slots__ = (
        "info",
        "count",
        "started",
        "start_time",
        "stdout",
        "stderr",
        "outputs",
        "rich",
        "errors",
        "capturing",
    )

    def __init__(self, info, count, capturing, max_chars):
        self.info = info
        self.count = count
        self.started = _time.perf_counter()
        self.start_time = None
        self.capturing = capturing
        self.stdout = StreamCopy(max_chars) if capturing else None
        self.stderr = StreamCopy(max_chars) if capturing else None
        self.outputs = {}
        self.rich = []  # (output_type, data, metadata) of displays and the cell's result
        self.errors = []


class CellCapture:
    """Records executed cells of one shell. ``register()`` hooks it in, ``unregister()`` undoes it all."""

    def __init__(self, shell, max_chars=DEFAULT_MAX_CHARS):
        self.shell = shell
        self.max_chars = max_chars
        self.enabled = True
        self.registered = False
        self.problems = []  # internal errors, kept for %crate status (never raised into a cell)
        self._stack = []  # [ExecutionInfo, ...] of the cells running, outermost first
        self._cell = None  # the outermost running cell
        self._tees = _weakref.WeakSet()
        self._hooked = []  # (object, attribute, wrapper)
        self._hosts = ()  # (display_pub, displayhook) when the outputs were last hooked
        self._count_ahead = _counter_ahead(shell)
        self._paused = 0  # > 0 while opencrate's own output is written (a %crate magic)
        self._script_cells = 0
        self._in_script = False  # a file of cells (``ipython script.ipy``) is being run
        self.notebook = RunNotebook(shell)

    # -- registration -------------------------------------------------------------------------
    def register(self):
        if self.registered:
            return
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        self.shell.events.register("pre_execute", self.pre_execute)
        self.shell.events.register("post_execute", self.post_execute)
        self.registered = True
        self._hook_scripts()
        _core.snapshot.on_setup(self.notebook.on_setup)
        if _core.is_set_up():  # set up before the extension was loaded
            self.notebook.setup_dir = _os.path.abspath(_core.snapshot.dir_path)
        try:
            self._start_loading_cell()
        except Exception as exc:  # noqa: BLE001 - capture must never break a cell
            self._problem("register", exc)

    def _start_loading_cell(self):
        """Record the cell that loads the extension (``%load_ext opencrate``) too: the notebook starts there."""
        if self._stack:
            return
        running = getattr(getattr(self.shell, "displayhook", None), "exec_result", None)
        info = getattr(running, "info", None)
        if info is not None and getattr(info, "raw_cell", None) and not getattr(info, "silent", False):
            self._pre(info)
        else:
            self._start_script_cell(depth=40)  # ``%load_ext`` inside ``ipython script.ipy``

    def unregister(self):
        if not self.registered:
            return
        for event, callback in (
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
            ("pre_execute", self.pre_execute),
            ("post_execute", self.post_execute),
        ):
            try:
                self.shell.events.unregister(event, callback)
            except ValueError:
                pass
        self.registered = False
        _core.snapshot.remove_setup_hook(self.notebook.on_setup)
        self._uninstall_tees()
        self._unhook_outputs()
        if self._stack:
            _core.set_current_cell(None)
        self._stack.clear()
        self._cell = None
        self.notebook.close()

    def enable(self):
        self.enabled = True

    def disable(self):
        """Stop recording; the running cell keeps what it recorded so far."""
        self.enabled = False
        cell = self._cell
        if cell is not None and cell.capturing:
            for tee in list(self._tees):
                tee._oc_copy = None
        self._uninstall_tees()

    @_contextlib.contextmanager
    def untracked(self):
        """Run opencrate's own output (a ``%crate`` magic) without copying it into the log or the notebook."""
        self._paused += 1
        paused = self._pause()
        try:
            yield
        finally:
            self._paused -= 1
            if not self._paused:
                for tee, copy in paused:
                    if tee._oc_owner is self:
                        tee._oc_copy = copy

    # -- the event callbacks --------------------------------------------------------------------
    def pre_execute(self):
        """``ipython script.ipy`` runs its cells silently (no pre_run_cell): find such a cell on the stack."""
        if self._stack or not self._in_script:
            return
        try:
            self._start_script_cell(depth=8)
        except Exception as exc:  # noqa: BLE001 - capture must never break a cell
            self._problem("pre_execute", exc)

    def post_execute(self):
        if not self._stack or not getattr(self._stack[0], "_oc_script", False) or len(self._stack) != 1:
            return
        try:
            info = self._stack[0]
            frame = _sys._getframe(1)
            while frame is not None and not (
                frame.f_code.co_name == "run_cell" and frame.f_locals.get("raw_cell") is info.raw_cell
            ):
                frame = frame.f_back
            if frame is None:
                return  # a nested run_cell ended, not the script's cell
            ran = frame.f_locals.get("result")
            result = _types.SimpleNamespace(
                info=info,
                execution_count=info._oc_count,
                error_before_exec=getattr(ran, "error_before_exec", None),
                error_in_exec=getattr(ran, "error_in_exec", None),
            )
            self._post(result)
        except Exception as exc:  # noqa: BLE001 - capture must never break a cell
            self._problem("post_execute", exc)

    def _hook_scripts(self):
        """Know when ``safe_execfile_ipy`` runs a file, so that other cells pay nothing for scripts."""
        original = getattr(self.shell, "safe_execfile_ipy", None)
        if original is None or any(o is self.shell and a == "safe_execfile_ipy" for o, a, _ in self._hooked):
            return
        capture = self

        def safe_execfile_ipy(*args, **kwargs):
            capture._in_script = True
            try:
                return original(*args, **kwargs)
            finally:
                capture._in_script = False

        safe_execfile_ipy.__wrapped__ = original
        self._hooked.append((self.shell, "safe_execfile_ipy", safe_execfile_ipy))
        self.shell.safe_execfile_ipy = safe_execfile_ipy

    def _start_script_cell(self, depth):
        frame = _sys._getframe(2)
        for _ in range(depth):
            if frame is None:
                return
            if frame.f_code.co_name == "safe_execfile_ipy" and isinstance(frame.f_locals.get("cell"), str):
                break
            frame = frame.f_back
        else:
            return
        if frame is None:
            return
        self._script_cells += 1
        self._in_script = True  # loaded by the script itself: its later cells are found the same way
        self.notebook.script = frame.f_locals.get("fname")
        info = _types.SimpleNamespace(
            raw_cell=frame.f_locals["cell"],
            store_history=False,
            silent=True,
            cell_id=None,
            _oc_script=True,
            _oc_count=self._script_cells,
        )
        self._pre(info)

    def pre_run_cell(self, info):
        try:
            self._pre(info)
        except Exception as exc:  # noqa: BLE001 - capture must never break a cell
            self._problem("pre_run_cell", exc)

    def post_run_cell(self, result):
        try:
            self._post(result)
        except Exception as exc:  # noqa: BLE001 - capture must never break a cell
            self._problem("post_run_cell", exc)

    def _pre(self, info):
        if self._stack and getattr(info, "store_history", False):
            # a top-level cell while we think one is running: a post_run_cell was lost
            self._stack.clear()
            self._finish_streams(self._cell)
            self._cell = None
        self._stack.append(info)
        if len(self._stack) > 1:
            cell = self._cell
            if cell is not None and cell.capturing and self.enabled:
                self._install_tees(cell)  # %%capture may have swapped the streams
            return
        stored = getattr(info, "store_history", True)  # a cell kept out of history counts nothing
        count = getattr(info, "_oc_count", None) or self.shell.execution_count - (self._count_ahead if stored else 0)
        skipped = (getattr(info, "raw_cell", None) or "").startswith(SKIP_MARKER)
        cell = _Cell(info, count, self.enabled and not skipped, self.max_chars)
        self._cell = cell
        _core.set_current_cell({"execution_count": count, "cell_id": getattr(info, "cell_id", None)})
        if cell.capturing:
            cell.start_time = local_time_iso(_time.time())
            self._install_tees(cell)
            self._hook_outputs()

    def _post(self, result):
        if not self._stack:
            return  # an empty cell: IPython sends post_run_cell without pre_run_cell
        info = getattr(result, "info", None)
        if result is not None and info is not self._stack[-1] and not _same_cell(info, self._stack):
            return  # an empty cell nested in a running one
        self._stack.pop()
        cell = self._cell
        if cell is None:
            return
        if self._stack:  # a nested cell ended: its failure belongs to the outer cell
            error = _error_of(result)
            if error is not None:
                cell.errors.append(error)
            return
        self._cell = None
        _core.set_current_cell(None)
        true_count = getattr(result, "execution_count", None)
        if isinstance(true_count, int) and getattr(cell.info, "store_history", True) and not _oc_script(cell):
            self._count_ahead += cell.count - true_count  # learn the shell's habit from what it reports
        self._finish_streams(cell)
        if cell.capturing:
            self._record(cell, result)

    # -- the record -----------------------------------------------------------------------------
    def _record(self, cell, result):
        set_up = _core.is_set_up()
        duration = _time.perf_counter() - cell.started
        error = _error_of(result)
        errors = list(cell.errors)
        if error is not None and not any(e is error for e in errors):
            errors.append(error)
        status = "ok"
        if error is not None or errors:
            final = error if error is not None else errors[-1]
            status = "interrupted" if isinstance(final, KeyboardInterrupt) else "error"
        stdout = cell.stdout.finish()
        stderr = cell.stderr.finish()
        count = getattr(result, "execution_count", None)
        if count is None:
            count = cell.count
        source = getattr(cell.info, "raw_cell", "") or ""
        cell_id = getattr(cell.info, "cell_id", None)
        tracebacks = [format_error(e) for e in errors]
        if set_up:
            folder = self.notebook.setup_dir or _os.path.abspath(_core.snapshot.dir_path)
            kinds = list(cell.outputs)
            if stdout:
                kinds.insert(0, "stdout")
            if stderr:
                kinds.insert(1 if stdout else 0, "stderr")
            if errors:
                kinds.append("error")
            error_text = "\n\n".join(tracebacks)
            level = {"ok": "info", "error": "error", "interrupted": "warning"}[status]
            _core.write_to_files(level, format_log_message(count, status, duration, source, stdout, stderr, error_text))
            entry = {
                "execution_count": count,
                "cell_id": cell_id,
                "time": cell.start_time,
                "duration": round(duration, 6),
                "status": status,
                "source": source,
                "outputs": kinds,
                "stdout_chars": cell.stdout.total,
                "stderr_chars": cell.stderr.total,
                "truncated": cell.stdout.truncated or cell.stderr.truncated,
                "error": None if not errors else {"ename": type(errors[-1]).__name__, "evalue": _safe_str(errors[-1])},
            }
            try:
                _core.append_cells_line(entry, folder)
            except UnicodeEncodeError:  # a source or message with lone surrogates
                _core.append_cells_line(safe_value(entry), folder)
        if not (stdout or stderr or cell.rich or errors):
            outputs = []  # most cells show nothing: nothing more to write
        else:
            failures = [(type(e).__name__, _safe_str(e), text) for e, text in zip(errors, tracebacks)]
            budget = _PENDING_OUTPUT_CHARS if not set_up else _run_notebook.MAX_CELL_OUTPUT_CHARS
            outputs = notebook_outputs(count, stdout, stderr, cell.rich, failures, budget)
        if set_up:
            self.notebook.recorded(folder, count, cell.start_time, outputs)
            return
        meta = {"time": cell.start_time, "duration": round(duration, 6), "status": status, "cell_id": cell_id}
        notebook_cell = {"cell_type": "code", "execution_count": count, "metadata": {"opencrate": meta}}
        self.notebook.before_setup({**notebook_cell, "source": safe_text(source), "outputs": outputs})

    def _problem(self, where, exc):
        if len(self.problems) < 20:
            self.problems.append(f"{where}: {type(exc).__name__}: {exc}")

    # -- streams --------------------------------------------------------------------------------
    def _only_current_tees(self):
        """(stdout tee, stderr tee) when those two are current and are all our tees (the usual case), else None."""
        out, err = _sys.stdout, _sys.stderr
        if (
            type(out) is StdoutTee
            and out._oc_owner is self
            and type(err) is StderrTee
            and err._oc_owner is self
            and len(self._tees) == 2
        ):
            return out, err
        return None

    def _install_tees(self, cell):
        current = self._only_current_tees()
        if current is not None:
            _set_copy(current[0], cell.stdout)
            _set_copy(current[1], cell.stderr)
            return
        for name, copy in (("stdout", cell.stdout), ("stderr", cell.stderr)):
            current = getattr(_sys, name)
            if current is None:
                continue
            cls = _TEE_TYPES[name]
            if not (type(current) is cls and current._oc_owner is self):
                current = cls(_unwrap(current), self)
                setattr(_sys, name, current)
                self._tees.add(current)
            for tee in list(self._tees):
                if type(tee) is cls:
                    tee._oc_copy = copy

    def _finish_streams(self, cell):
        current = self._only_current_tees()
        for tee in current if current is not None else list(self._tees):
            _set_copy(tee, None)

    def _uninstall_tees(self):
        for name in ("stdout", "stderr"):
            current = getattr(_sys, name)
            while isinstance(current, _Tee) and (current._oc_owner is self or current._oc_owner is None):
                current = current._oc_stream
            if current is not getattr(_sys, name):
                setattr(_sys, name, current)
        for tee in list(self._tees):
            tee._oc_copy = None
            tee._oc_owner = None  # a tee someone else still holds just forwards from now on
        self._tees = _weakref.WeakSet()

    # -- output mime types ----------------------------------------------------------------------
    def _note(self, keys, kind=None, data=None, metadata=None):
        cell = self._cell
        if cell is not None and cell.capturing and not self._paused:
            for key in keys:
                cell.outputs.setdefault(key, None)
            if kind is not None:
                cell.rich.append((kind, data, metadata))

    def _hook_outputs(self):
        """Wrap ``display_pub.publish`` and ``displayhook.write_format_data`` to see mime types, and
        the shell's traceback and usage-error printers so that what they print (on stdout/stderr
        in a terminal) is not copied: the log has its own traceback section."""
        shell = self.shell
        hosts = (getattr(shell, "display_pub", None), getattr(shell, "displayhook", None))
        if self._hooked and hosts == self._hosts:
            return  # hooked already, on the same objects (each is hooked once; a new one gets hooked)
        self._hosts = hosts
        targets = (
            (getattr(shell, "display_pub", None), "publish", _display_wrapper),
            (getattr(shell, "displayhook", None), "write_format_data", _result_wrapper),
            (getattr(shell, "displayhook", None), "write_output_prompt", _untracked_wrapper),
            (shell, "_showtraceback", _untracked_wrapper),
            (shell, "show_usage_error", _untracked_wrapper),
        )
        for obj, attr, make in targets:
            if obj is None or any(o is obj and a == attr for o, a, _ in self._hooked):
                continue
            original = getattr(obj, attr, None)
            if original is None:
                continue
            self._hooked.append((obj, attr, make(self, original)))
            setattr(obj, attr, self._hooked[-1][2])

    def _pause(self):
        paused = [(tee, tee._oc_copy) for tee in list(self._tees)]
        for tee, _ in paused:
            tee._oc_copy = None
        return paused

    def _unhook_outputs(self):
        for obj, attr, wrapper in self._hooked:
            if obj.__dict__.get(attr) is wrapper:
                try:
                    delattr(obj, attr)
                except AttributeError:
                    pass
        self._hooked = []
        self._hosts = ()


def _display_wrapper(capture, original):
    """``display_pub.publish(data, metadata=None, ...)``: a ``display_data`` output."""

    def wrapper(data, *args, **kwargs):
        try:
            if isinstance(data, dict):
                metadata = kwargs.get("metadata", args[0] if args else None)
                capture._note(data, "display_data", dict(data), metadata)
        except Exception:  # noqa: BLE001 - capture must never break a display
            pass
        return _without_copy(capture, original, data, *args, **kwargs)

    wrapper.__wrapped__ = original
    wrapper._opencrate_capture = True
    return wrapper


def _result_wrapper(capture, original):
    """``displayhook.write_format_data(format_dict, md_dict=None)``: the cell's ``execute_result``."""

    def wrapper(data, *args, **kwargs):
        try:
            if isinstance(data, dict):
                metadata = kwargs.get("md_dict", args[0] if args else None)
                capture._note(data, "execute_result", dict(data), metadata)
        except Exception:  # noqa: BLE001 - capture must never break a display
            pass
        return _without_copy(capture, original, data, *args, **kwargs)

    wrapper.__wrapped__ = original
    wrapper._opencrate_capture = True
    return wrapper


def _without_copy(capture, original, *args, **kwargs):
    """Call ``original`` with the stream copies paused: what a terminal prints for a display is
    already recorded as that display."""
    paused = capture._pause()
    try:
        return original(*args, **kwargs)
    finally:
        for tee, copy in paused:
            if tee._oc_owner is capture:
                tee._oc_copy = copy


def _untracked_wrapper(capture, original):
    def wrapper(*args, **kwargs):
        return _without_copy(capture, original, *args, **kwargs)

    wrapper.__wrapped__ = original
    wrapper._opencrate_capture = True
    return wrapper


def _counter_ahead(shell):
    """How far ``shell.execution_count`` is ahead of the running cell's number at ``pre_run_cell``.

    IPython 8 counts a cell kept in history up after running it (0 ahead); IPython 9 before
    (1 ahead). Loaded by ``%load_ext``, the running cell's own result says which; otherwise the
    version decides, and every ``post_run_cell`` corrects it from the number IPython reports.
    """
    running = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    count = getattr(running, "execution_count", None)
    if isinstance(count, int):
        return max(shell.execution_count - count, 0)
    import IPython

    return 1 if IPython.version_info[0] >= 9 else 0


def _error_of(result):
    if result is None:
        return None
    error = getattr(result, "error_before_exec", None)
    if error is None:
        error = getattr(result, "error_in_exec", None)
    return error


def _safe_str(value):
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break the log
        return "<unprintable>"


def _same_cell(info, stack):
    """A result whose ``info`` is a copy of the running cell's (IPython makes one when showing a
    traceback fails, e.g. for an exception whose ``__str__`` raises)."""
    return len(stack) == 1 and info is not None and getattr(info, "raw_cell", None) == getattr(stack[0], "raw_cell", 0)


def _oc_script(cell):
    return getattr(cell.info, "_oc_script", False)
