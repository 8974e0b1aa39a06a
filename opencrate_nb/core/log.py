"""Run logging with loguru: ``oc.info(...)`` and friends.

Each setup writes two files in the version folder: ``<name>.log`` (this run) and
``<name>.history.log`` (every run of the version, appended; it appears when a version is
run for the second time). The console shows ``LEVEL     message``.

``<name>.log`` starts anew for each run, by an atomic replace with an empty file, unless
another live process (a second kernel on the same version) still writes to it: then this
run appends, so nobody's lines are truncated. Every process holding the run log holds a
shared lock on ``.crate/log.lock``; whoever gets it exclusively (under the version's save
lock) knows it is alone.

Only sinks that opencrate added are ever removed. loguru's own default stderr sink
(handler 0, which nobody added on purpose) is swapped once for an equivalent sink that
leaves opencrate's messages out, so they are not printed twice; sinks the user added
keep receiving everything.
"""

import os
import re
import sys
import time as _time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional, Union

from . import _appender, _atomic, _terminal
from .errors import InvalidNameError, NotSetUpError

LEVELS = ("trace", "debug", "info", "success", "warning", "error", "critical")
FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss} - {level: <8} {message}"
_TRACEBACK_KEY = "opencrate_nb_traceback"
_CARETS = re.compile(r"\s*[~^]+[\s~^]*")  # the 3.11+ markers under a failing expression
_LOGURU_DEFAULT_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | "
    "<cyan>{name}</cyan>:<cyan>{function}</cyan>:<cyan>{line}</cyan> - <level>{message}</level>"
)

_handler_ids: list[int] = []
_log_hold: list[int] = []  # the fd of .crate/log.lock while this process writes a run log
_bound = None  # the loguru logger bound with our marker, once configured
_file_sinks: list["_FileSink"] = []  # the run log and the history log, while configured
_file_level = [0]  # loguru's number of the level the files keep
_default_replaced = False


class _Stdout:
    """A sink that writes to whatever ``sys.stdout`` is at the time (notebooks swap it)."""

    def write(self, message):
        sys.stdout.write(message)

    def flush(self):
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError):
            pass


class _FileSink:
    """A log file as a loguru sink: each message is one whole append (see :mod:`._appender`).

    Messages from several threads and processes (two kernels on one version) never interleave
    within an entry, and :func:`write_to_files` writes its entries here without loguru.
    """

    def __init__(self, path):
        self.appender = _appender.Appender(path)
        self.appender.open()
        self.full = False  # the disk was full at the last write: said once, until a write works again

    def write(self, message):
        try:
            self.appender.append(message.encode("utf-8", "backslashreplace"))
        except OSError as exc:
            if exc.errno not in _atomic.DISK_FULL_ERRNOS:
                raise
            if not self.full:  # one line, not loguru's traceback for every message
                self.full = True
                sys.stderr.write(
                    f"opencrate: the disk holding {self.appender.path} is full; log messages are not written "
                    "to it until there is room again (the console still shows them).\n"
                )
        else:
            self.full = False

    def close(self):
        self.appender.close()


def format_traceback(exc_type, exc_value, tb) -> str:
    """A traceback laid out as the OpenCrate guide prints it: a blank line after the header, after each
    frame (so also before the exception line), no caret lines; chained exceptions keep Python's separators."""
    out: list[str] = []
    for chunk in traceback.TracebackException(exc_type, exc_value, tb).format():
        if chunk.startswith("Traceback (most recent call last):"):
            out.append(chunk + "\n")
        elif chunk.startswith("  File ") or chunk.startswith("  [Previous line repeated"):
            kept = [line for line in chunk.splitlines() if not _CARETS.fullmatch(line)]
            out.append("\n".join(kept) + "\n\n")
        else:
            out.append(chunk)
    return "".join(out)


def _traceback_of(record) -> str:
    """The record's traceback text (guide layout), stored once in its extra so every sink shows the same."""
    extra = record["extra"]
    if _TRACEBACK_KEY not in extra:
        exc = record["exception"]
        text = ""
        if exc is not None and exc.type is not None:
            text = format_traceback(exc.type, exc.value, exc.traceback).rstrip("\n") + "\n"
        extra[_TRACEBACK_KEY] = text
    return extra[_TRACEBACK_KEY]


def _console_format(record) -> str:
    """'LEVEL     message' with the level in loguru's colour (shown only where colours are on)."""
    _traceback_of(record)
    padding = " " * max(1, 10 - len(record["level"].name))
    return "<level>{level}</level>" + padding + "{message}\n{extra[" + _TRACEBACK_KEY + "]}"


def _file_format(record) -> str:
    """FILE_FORMAT with the guide's traceback layout."""
    _traceback_of(record)
    return FILE_FORMAT + "\n{extra[" + _TRACEBACK_KEY + "]}"


def check_level(level):
    if not isinstance(level, str) or level.lower() not in LEVELS:
        raise InvalidNameError(f"Invalid log_level {level!r}: use one of {', '.join(repr(x) for x in LEVELS)}.")
    return level.upper()


def _ours(record):
    return record["extra"].get("opencrate_nb") is True


def _console_filter(record):
    return _ours(record) and not record["extra"].get("files_only")


def _not_ours(record):
    return not _ours(record)


def _replace_default_sink(logger):
    global _default_replaced
    if _default_replaced:
        return
    _default_replaced = True
    try:
        logger.remove(0)
    except ValueError:
        return  # the user already changed loguru's set-up: leave it alone
    logger.add(
        sys.stderr,
        level=os.environ.get("LOGURU_LEVEL", "DEBUG"),
        format=os.environ.get("LOGURU_FORMAT", _LOGURU_DEFAULT_FORMAT),
        filter=_not_ours,
    )


def _start_run_log(log_path, version_dir):
    """Empty the run log for a new run, unless another process holds it (then append). Holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no shared locks; start anew as before
        fcntl = None
    from . import _atomic
    from ._savelock import version_lock
    from .record import RECORD_DIR

    if fcntl is None or version_dir is None:
        _atomic.write_bytes(log_path, b"")
        return
    folder = os.path.join(version_dir, RECORD_DIR)
    os.makedirs(folder, exist_ok=True)
    with version_lock(version_dir):
        fd = os.open(os.path.join(folder, "log.lock"), os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # POSIX locks: a forked child holds none of ours
                alone = True
            except OSError:
                alone = False
            if alone or not os.path.exists(log_path):
                _atomic.write_bytes(log_path, b"")  # a new file under the name: a reader never sees it torn
            fcntl.lockf(fd, fcntl.LOCK_SH)  # nobody can take it exclusively meanwhile: that needs the save lock
        except BaseException:
            os.close(fd)
            raise
    _log_hold.append(fd)


def _release_run_log():
    while _log_hold:
        try:
            os.close(_log_hold.pop())
        except OSError:
            pass


def configure(log_path, history_path, level="info", version_dir=None):
    """(Re)attach the console and file sinks for a run. Previous opencrate sinks are removed.

    With ``version_dir``, the run log is shared safely with other processes of that version.
    """
    global _bound
    from loguru import logger

    level = check_level(level)
    detach()
    if log_path:  # None: a rank that writes no log file
        _start_run_log(log_path, version_dir)
    _replace_default_sink(logger)
    console = _Stdout()
    colorize = _terminal.wants_colour(sys.stdout)
    _handler_ids.append(
        logger.add(
            console,
            level=level,
            format=_console_format,
            filter=_console_filter,
            colorize=colorize,
            backtrace=False,
            diagnose=False,
        )
    )
    _file_level[0] = logger.level(level).no
    for path in (log_path, history_path):
        if not path:
            continue
        sink = _FileSink(path)
        _file_sinks.append(sink)
        _handler_ids.append(
            logger.add(
                sink,
                level=level,
                format=_file_format,
                filter=_ours,
                backtrace=False,
                diagnose=False,
                colorize=False,
                catch=True,
            )
        )
    _bound = logger.bind(opencrate_nb=True)


def detach():
    """Remove the sinks opencrate added (closing the log files); other sinks stay."""
    global _bound
    if _handler_ids:
        from loguru import logger

        while _handler_ids:
            try:
                logger.remove(_handler_ids.pop())
            except ValueError:
                pass
    while _file_sinks:
        _file_sinks.pop().close()
    _appender.close_shared()  # the record folder's appenders (cells.jsonl...): a new run opens them anew
    _release_run_log()
    _bound = None


def _logger():
    if _bound is None:
        raise NotSetUpError(
            "No snapshot is set up, so there is no run log to write to. Call oc.snapshot.setup(name=...) first."
        )
    return _bound


def _join(args):
    return " ".join(str(a) for a in args)


def trace(*args):
    _logger().trace(_join(args))


def debug(*args):
    _logger().debug(_join(args))


def info(*args):
    """Log an informational message; several arguments are joined by spaces."""
    _logger().info(_join(args))


def success(*args):
    _logger().success(_join(args))


def warning(*args):
    _logger().warning(_join(args))


def error(*args):
    _logger().error(_join(args))


def critical(*args):
    _logger().critical(_join(args))


def exception(*args):
    """Log at ERROR level with the traceback of the exception being handled."""
    _logger().opt(exception=True).error(_join(args))


_LEVEL_NUMBERS = {"TRACE": 5, "DEBUG": 10, "INFO": 20, "SUCCESS": 25, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def write_to_files(level: str, message: str) -> None:
    """Write to the run's log files only (the notebook layer's cell capture uses this).

    The entry is laid out here as :data:`FILE_FORMAT` lays it out and appended directly, without
    loguru's per-message machinery: a cell's capture pays for one formatted line and one write per file.
    """
    _logger()
    name = level.upper()
    if _LEVEL_NUMBERS.get(name, 0) < _file_level[0]:
        return
    stamp = _time.strftime("%Y-%m-%d %H:%M:%S")
    data = f"{stamp} - {name: <8} {message}\n".encode("utf-8", "backslashreplace")
    for sink in list(_file_sinks):
        sink.appender.append(data)


# -- reading the log files back ----------------------------------------------------------------
# FILE_FORMAT above writes "<time> - <level padded to 8> <message>"; a message of several lines
# (a traceback, a cell's captured output) continues on the lines that follow, unprefixed.
_ENTRY_START = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:[.,]\d+)? - ([A-Z][A-Z0-9_]*)(?: |$)")
_LEVEL_WIDTH = 8


@dataclass(frozen=True)
class LogEntry:
    """One entry of a run log: its first line and the lines that continue it.

    Text before the first entry (a file that does not start with one) is an entry of its own
    with ``time`` and ``level`` None, so nothing in the file is dropped.
    """

    time: Optional[str]  #: as written: "2026-12-01 08:22:22" (local time, the format of core.format)
    level: Optional[str]  #: "INFO", "ERROR", ... (custom loguru levels too)
    message: str  #: the message, continuation lines included
    text: str  #: the entry exactly as written in the file

    @property
    def unstamped(self) -> str:
        """The entry without its time stamp ("INFO     message..."): what stays equal between two runs."""
        if self.time is None:
            return self.text
        return self.text.split(" - ", 1)[1]

    def to_dict(self) -> dict[str, Optional[str]]:
        return {"time": self.time, "level": self.level, "message": self.message}


def parse_entries(text: str) -> list[LogEntry]:
    """The entries of a run log or history log, in file order (the one parser of that format)."""
    starts: list[tuple[Optional[str], Optional[str], list[str]]] = []
    for line in text.splitlines():
        match = _ENTRY_START.match(line)
        if match or not starts:
            starts.append((match.group(1) if match else None, match.group(2) if match else None, [line]))
        else:
            starts[-1][2].append(line)
    entries = []
    for time, level, lines in starts:
        message = "\n".join(lines)
        if time is not None and level is not None:
            first = lines[0][len(time) :].split(" - ", 1)[1]  # "<level><padding> <message>"
            cut = max(len(level), _LEVEL_WIDTH) + 1
            message = "\n".join([first[cut:], *lines[1:]])
        entries.append(LogEntry(time=time, level=level, message=message, text="\n".join(lines)))
    return entries


def read_entries(path: Union[str, "os.PathLike[str]"], max_bytes: Optional[int] = None) -> list[LogEntry]:
    """The entries of the log file at ``path`` (its first ``max_bytes`` only, when given).

    Undecodable bytes are replaced rather than refused: a log is read to be looked at.
    Raises FileNotFoundError when there is no such file.
    """
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_entries(f.read() if max_bytes is None else f.read(max_bytes))


def select_entries(entries: Sequence[LogEntry], level: Optional[str] = None, last: int = 0) -> list[LogEntry]:
    """The entries at ``level`` or above (text without a known level is kept), then the ``last`` N (0: all)."""
    chosen = list(entries)
    if level is not None:
        floor = LEVELS.index(check_level(level).lower())
        chosen = [
            e
            for e in chosen
            if e.level is None or e.level.lower() not in LEVELS or LEVELS.index(e.level.lower()) >= floor
        ]
    if last < 0:
        raise ValueError(f"The number of log entries must be 0 (all) or more, got {last}.")
    return chosen[-last:] if last else chosen
