"""core/log.py: ``oc.info`` and friends, the run log and the history log."""

import os
import re

import pytest
from _notebook_fixtures import REPO
from loguru import logger

from opencrate_nb.core import log
from opencrate_nb.core.errors import InvalidNameError, NotSetUpError

FILE_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - (\w+) +(.*)$")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def file_messages(path):
    """(level, message) of every log line of a file."""
    return [FILE_LINE.match(line).groups() for line in read(path).splitlines() if FILE_LINE.match(line)]


def test_console_lines_look_like_the_guide(oc, capsys):
    oc.snapshot.setup(name="guide", start="new")
    capsys.readouterr()
    oc.info("This is an informational message from the current run.")
    oc.error("An error occurred, affecting a part of the pipeline.")
    oc.critical("Critical failure: pipeline likely to terminate.")
    oc.success("Important step completed successfully!")
    oc.warning("A potential issue detected, but execution continues.")
    assert capsys.readouterr().out.splitlines() == [
        "INFO      This is an informational message from the current run.",
        "ERROR     An error occurred, affecting a part of the pipeline.",
        "CRITICAL  Critical failure: pipeline likely to terminate.",
        "SUCCESS   Important step completed successfully!",
        "WARNING   A potential issue detected, but execution continues.",
    ]


def test_file_lines_have_time_level_and_message(oc):
    oc.snapshot.setup(name="guide", start="new")
    oc.info("first")
    oc.critical("second")
    lines = read(oc.snapshot.log_path).splitlines()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - INFO     first", lines[-2])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - CRITICAL second", lines[-1])


def test_several_arguments_are_joined_by_spaces(oc, capsys):
    oc.snapshot.setup(name="guide", start="new")
    capsys.readouterr()
    oc.info("epoch", 3, "loss", 0.25)
    assert capsys.readouterr().out == "INFO      epoch 3 loss 0.25\n"


def test_exception_adds_the_traceback_to_console_and_file_in_the_guides_layout(oc, capsys):
    """A blank line after the header, after each frame and so before the exception line; no caret lines."""
    oc.snapshot.setup(name="guide", start="new")
    capsys.readouterr()
    try:
        result = 10 / 0  # noqa: F841
    except ZeroDivisionError:
        oc.exception("Caught a division by zero error.")
    oc.info("All log messages have been dispatched.")
    out = capsys.readouterr().out
    expected = re.compile(
        r"ERROR     Caught a division by zero error.\n"
        r"Traceback \(most recent call last\):\n"
        r"\n"
        r'  File "[^"]+", line \d+, in test_exception\w+\n'
        r"    result = 10 / 0  # noqa: F841\n"
        r"\n"
        r"ZeroDivisionError: division by zero\n"
        r"INFO      All log messages have been dispatched.\n"
    )
    assert expected.fullmatch(out), out
    text = read(oc.snapshot.log_path)
    assert "- ERROR    Caught a division by zero error.\nTraceback (most recent call last):\n\n  File " in text
    assert "\n\nZeroDivisionError: division by zero\n" in text
    assert [e.level for e in log.read_entries(oc.snapshot.log_path)] == ["ERROR", "INFO"]  # still two entries


def test_format_traceback_separates_frames_and_keeps_chained_exceptions():
    def inner():
        raise KeyError("k")

    try:
        try:
            inner()
        except KeyError as exc:
            raise ValueError("outer") from exc
    except ValueError as exc:
        text = log.format_traceback(type(exc), exc, exc.__traceback__)
    assert "\n\nThe above exception was the direct cause of the following exception:\n\n" in text
    assert text.count("Traceback (most recent call last):\n\n  File ") == 2
    assert '    inner()\n\n  File "' in text  # a blank line between two frames
    assert text.endswith("\n\nValueError: outer\n")
    assert not re.search(r"^\s*[~^]+\s*$", text, re.M)


def _console_on_a_terminal(oc, monkeypatch, no_color):
    """What the console sink writes when stdout is a real pseudo-terminal."""
    import sys

    master, replica = os.openpty()
    terminal = os.fdopen(replica, "w", encoding="utf-8")
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stdout", terminal)
    try:
        oc.snapshot.setup(name="tty", start="new")
        oc.success("done")
        terminal.flush()
    finally:
        log.detach()
        monkeypatch.undo()
        terminal.close()
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the writer's end is closed and everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks).decode()


def test_levels_are_coloured_on_a_terminal(oc, monkeypatch):
    written = _console_on_a_terminal(oc, monkeypatch, no_color=False)
    assert re.search(r"(\x1b\[[0-9;]+m)+SUCCESS\x1b\[0m   done", written), repr(written)


def test_no_color_keeps_a_terminal_plain(oc, monkeypatch):
    written = _console_on_a_terminal(oc, monkeypatch, no_color=True)
    assert "SUCCESS   done" in written and "\x1b" not in written


def test_levels_are_coloured_in_a_kernel_and_files_stay_plain(tmp_path, monkeypatch):
    """In a real Jupyter kernel (whose front end renders ANSI colours), as the guide's notebook shows them."""
    from _notebook_fixtures import kernel_env, require

    require("nbclient", "a notebook in a real kernel")
    require("ipykernel", "a notebook in a real kernel")
    import nbformat
    from nbclient import NotebookClient

    kernel_env(monkeypatch)
    monkeypatch.delenv("NO_COLOR", raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import opencrate as oc\noc.snapshot.setup(name='k')\noc.warning('careful')")]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    [output] = nb.cells[0].outputs
    assert re.fullmatch(r"(\x1b\[[0-9;]+m)+WARNING\x1b\[0m   careful\n", output["text"]), output
    assert read(tmp_path / "snapshots" / "k" / "v0" / "k.log").endswith(" - WARNING  careful\n")


def test_log_level_filters_console_and_files(oc, capsys):
    oc.snapshot.setup(name="quiet", start="new", log_level="warning")
    oc.debug("hidden debug")
    oc.info("hidden info")
    oc.warning("shown warning")
    out = capsys.readouterr().out
    assert "hidden" not in out and "WARNING   shown warning" in out
    assert [level for level, _ in file_messages(oc.snapshot.log_path)] == ["WARNING"]
    oc.snapshot.setup(name="loud", start="new", log_level="debug")
    oc.debug("visible debug")
    assert ("DEBUG", "visible debug") in file_messages(oc.snapshot.log_path)


def test_default_level_is_info(oc):
    oc.snapshot.setup(name="default", start="new")
    oc.debug("not written")
    oc.info("written")
    assert [m for _, m in file_messages(oc.snapshot.log_path) if "written" in m] == ["written"]


def test_run_log_is_rewritten_and_history_log_appears_on_the_second_run(oc):
    oc.snapshot.setup(name="snapshot_guide", start="new", tag="initial-run")
    oc.info("run one")
    log_path, history_path = oc.snapshot.log_path, oc.snapshot.history_log_path
    assert not os.path.exists(history_path)  # a first run has only <name>.log

    oc.snapshot.setup(name="snapshot_guide", start="last", tag="initial-run")
    oc.info("run two")
    assert [m for _, m in file_messages(log_path)] == ["run two"]
    assert [m for _, m in file_messages(history_path)] == ["run one", "run two"]

    oc.snapshot.setup(name="snapshot_guide", start=0, tag="initial-run")
    oc.info("run three")
    assert [m for _, m in file_messages(log_path)] == ["run three"]
    assert [m for _, m in file_messages(history_path)] == ["run one", "run two", "run three"]


def test_history_log_across_real_processes(oc, tmp_path, run_python):
    for run in ("A", "B"):
        run_python(
            f"""
            import opencrate as oc
            oc.snapshot.setup(name="proc", start="last")
            oc.info("run {run}")
        """,
            cwd=tmp_path,
        )
    folder = tmp_path / "snapshots" / "proc" / "v0"
    assert [m for _, m in file_messages(folder / "proc.log")] == ["run B"]
    assert [m for _, m in file_messages(folder / "proc.history.log")] == ["run A", "run B"]


def test_repeated_setup_does_not_duplicate_lines(oc, capsys):
    for _ in range(4):
        oc.snapshot.setup(name="again", start="last")
    capsys.readouterr()
    oc.info("once")
    assert capsys.readouterr().out == "INFO      once\n"
    assert [m for _, m in file_messages(oc.snapshot.log_path)] == ["once"]
    assert [m for _, m in file_messages(oc.snapshot.history_log_path)].count("once") == 1


def test_user_loguru_sinks_are_kept_and_receive_messages(oc):
    received = []
    sink_id = logger.add(lambda message: received.append(message.record["message"]), level="INFO")
    try:
        oc.snapshot.setup(name="sinks", start="new")
        oc.info("to everyone")
        oc.snapshot.setup(name="sinks", start="new")
        oc.info("still to everyone")
        logger.info("the user's own message")
    finally:
        logger.remove(sink_id)  # raises ValueError if setup had removed the user's sink
    assert received == ["to everyone", "still to everyone", "the user's own message"]
    assert "the user's own message" not in read(oc.snapshot.log_path)  # only opencrate's messages in the run log


def test_messages_are_not_printed_twice_by_loguru_default_sink(oc, capfd):
    oc.snapshot.setup(name="once", start="new")
    capfd.readouterr()
    oc.info("only on stdout")
    out, err = capfd.readouterr()
    assert out.count("only on stdout") == 1
    assert "only on stdout" not in err


def test_logging_before_setup_says_to_call_setup(oc):
    for function in (oc.info, oc.debug, oc.warning, oc.error, oc.critical, oc.success, oc.exception):
        with pytest.raises(NotSetUpError, match=r"Call oc.snapshot.setup\(name=...\) first"):
            function("too early")


def test_reset_detaches_the_log(oc):
    oc.snapshot.setup(name="gone", start="new")
    oc.snapshot.reset(confirm=True)
    with pytest.raises(NotSetUpError):
        oc.info("after reset")


def test_check_level():
    from opencrate_nb.core import log

    assert log.check_level("Debug") == "DEBUG"
    with pytest.raises(InvalidNameError, match="'info'"):
        log.check_level(10)


def test_write_to_files_skips_the_console(oc, capsys):
    from opencrate_nb.core import log

    oc.snapshot.setup(name="files", start="new")
    capsys.readouterr()
    log.write_to_files("info", "captured cell output")
    assert capsys.readouterr().out == ""
    assert ("INFO", "captured cell output") in file_messages(oc.snapshot.log_path)


def test_write_to_files_keeps_the_runs_level_and_writes_both_logs(oc):
    oc.snapshot.setup(name="levels", start="new", log_level="warning")
    oc.snapshot.setup(name="levels", start=oc.snapshot.version, log_level="warning")  # a rerun: history log too
    log.write_to_files("info", "a quiet cell")
    log.write_to_files("error", "cell [2] error\n--- traceback ---\nZeroDivisionError")
    for path in (oc.snapshot.log_path, oc.snapshot.history_log_path):
        entries = log.read_entries(path)
        assert [(e.level, e.message) for e in entries][-1] == (
            "ERROR",
            "cell [2] error\n--- traceback ---\nZeroDivisionError",
        )
        assert "a quiet cell" not in read(path)


def test_text_no_encoding_can_hold_is_escaped_not_lost(oc):
    oc.snapshot.setup(name="escaped", start="new")
    log.write_to_files("info", "caf\udce9.txt")
    oc.info("also caf\udce9")
    assert [m for _, m in file_messages(oc.snapshot.log_path)][-2:] == ["caf\\udce9.txt", "also caf\\udce9"]


# -- reading the log back: the one parser of the file format ----------------------------------------
SAMPLE = (
    "2026-01-01 10:00:00 - INFO     one\n"
    "2026-01-01 10:00:01 - ERROR    two\nTraceback:\n  line\n"
    "2026-01-01 10:00:02 - SUCCESS    indented three\n"
    "2026-01-01 10:00:03 - CRITICAL four\n"
)


def test_entries_keep_their_continuation_lines():
    entries = log.parse_entries(SAMPLE)
    assert [e.level for e in entries] == ["INFO", "ERROR", "SUCCESS", "CRITICAL"]
    assert [e.time for e in entries][:2] == ["2026-01-01 10:00:00", "2026-01-01 10:00:01"]
    assert entries[1].message == "two\nTraceback:\n  line"
    assert entries[1].text == "2026-01-01 10:00:01 - ERROR    two\nTraceback:\n  line"
    assert entries[2].message == "  indented three"  # the message's own leading spaces are kept
    assert entries[3].message == "four"
    assert entries[1].unstamped == "ERROR    two\nTraceback:\n  line"
    assert "\n".join(e.text for e in entries) + "\n" == SAMPLE  # nothing lost, nothing added


def test_text_before_the_first_entry_is_kept_as_an_entry_without_level():
    [head, entry] = log.parse_entries("not a log line\n2026-01-01 10:00:00 - INFO     one")
    assert (head.time, head.level, head.message) == (None, None, "not a log line")
    assert head.unstamped == "not a log line" and entry.message == "one"
    assert log.parse_entries("") == []


def test_selecting_by_level_then_the_last_entries():
    entries = log.parse_entries("stray\n" + SAMPLE)
    assert [e.level for e in log.select_entries(entries, level="error")] == [None, "ERROR", "CRITICAL"]
    assert [e.message for e in log.select_entries(entries, last=2)] == ["  indented three", "four"]
    assert [e.level for e in log.select_entries(entries, level="success", last=1)] == ["CRITICAL"]
    assert len(log.select_entries(entries, last=0)) == 5
    with pytest.raises(InvalidNameError, match="Invalid log_level 'loud'"):
        log.select_entries(entries, level="loud")
    with pytest.raises(ValueError, match="0 \\(all\\) or more"):
        log.select_entries(entries, last=-1)


def test_the_parser_reads_what_the_writer_writes(oc):
    oc.snapshot.setup(name="roundtrip", start="new")
    oc.info("first")
    try:
        1 / 0
    except ZeroDivisionError:
        oc.exception("failed")
    oc.warning("last")
    entries = log.read_entries(oc.snapshot.log_path)
    assert [(e.level, e.message.splitlines()[0]) for e in entries] == [
        ("INFO", "first"),
        ("ERROR", "failed"),
        ("WARNING", "last"),
    ]
    assert "ZeroDivisionError: division by zero" in entries[1].message
    assert len(log.read_entries(oc.snapshot.log_path, max_bytes=10)) == 1


KERNEL = """
import sys, time
sys.path.insert(0, {repo!r})
import opencrate as oc
oc.snapshot.setup(name="shared", start=0, root={root!r})
print("ready", flush=True)
for n in range(200):
    oc.info(f"{{sys.argv[1]}} line {{n}}")
    if n == 20:
        print("going", flush=True)
        sys.stdin.readline()
"""


def test_two_processes_on_one_version_keep_every_log_line(tmp_path):
    """The second setup must not truncate the run log the first process still writes to."""
    import subprocess
    import sys

    root = str(tmp_path / "snapshots")
    os.makedirs(os.path.join(root, "shared", "v0"))
    code = KERNEL.format(repo=REPO, root=root)
    env = dict(os.environ, PYTHONPATH=REPO)
    first = subprocess.Popen(
        [sys.executable, "-c", code, "first"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    lines = iter(first.stdout.readline, "")
    assert "going\n" in lines  # the console also shows the log lines: read up to the marker
    second = subprocess.run([sys.executable, "-c", code, "second"], env=env, input="\n", capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    first.communicate("\n", timeout=60)
    assert first.returncode == 0
    with open(os.path.join(root, "shared", "v0", "shared.log"), "rb") as f:
        data = f.read()
    assert b"\0" not in data
    messages = [line.split(" - ", 1)[1].split(None, 1)[1] for line in data.decode().splitlines()]
    for who in ("first", "second"):
        assert [m for m in messages if m.startswith(who)] == [f"{who} line {n}" for n in range(200)]
