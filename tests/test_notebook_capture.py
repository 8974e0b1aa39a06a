"""Automatic cell capture (opencrate_nb/notebook/capture.py) in a real IPython shell.

Stream behaviour inside a real kernel is tested in test_notebook_kernel.py.
"""

import io
import re
import sys

import pytest
from _notebook_fixtures import cell_entries, log_text, run, run_captured

import opencrate as oc
from opencrate_nb.notebook import _extension, capture


def _entry(source):
    found = [e for e in cell_entries() if e["source"] == source]
    assert len(found) == 1, (source, found)
    return found[0]


# -- the capped copy -----------------------------------------------------------------------------
def test_stream_copy_keeps_small_text():
    copy = capture.StreamCopy(100)
    for part in ("a", "b\n", "c"):
        copy.append(part)
    assert copy.finish() == "ab\nc"
    assert copy.total == 4 and not copy.truncated


def test_stream_copy_caps_with_marker():
    copy = capture.StreamCopy(1000)
    for i in range(10_000):
        copy.append(f"line {i}\n")
        if len(copy) > 50:
            copy.compact()
    text = copy.finish()
    assert copy.truncated
    assert text.startswith("line 0\nline 1\n")
    assert text.rstrip().endswith("line 9999")
    head, marker, tail = re.split(r"\n(\[\.\.\. [\d,]+ characters not logged \.\.\.\])\n", text)
    # whole lines on both sides of the marker, and the marker counts exactly what is missing
    assert head.split("\n") == [f"line {i}" for i in range(len(head.split("\n")))]
    tail_lines = tail.rstrip("\n").split("\n")
    assert tail_lines == [f"line {i}" for i in range(10_000 - len(tail_lines), 10_000)]
    omitted = int(marker.split()[1].replace(",", ""))
    assert omitted == copy.total - len(head) - 1 - len(tail)
    assert len(text) < 1100
    assert copy.total == sum(len(f"line {i}\n") for i in range(10_000))


def test_carriage_returns_leave_the_final_state():
    copy = capture.StreamCopy(1000)
    for i in range(101):
        copy.append(f"\rprogress {i}%")
        if i % 7 == 0:
            copy.compact()  # across compactions too
    copy.append("\n")
    copy.append("done\r\n")
    assert copy.finish() == "progress 100%\ndone\n"
    assert capture.collapse_carriage_returns("a\rb\nc") == "b\nc"


def test_unfinished_long_line_is_kept():
    copy = capture.StreamCopy(10**6)
    copy.append("x" * (capture._PENDING_MAX + 10))
    copy.compact()
    assert copy.pending == "" and len(copy.finish()) == capture._PENDING_MAX + 10


def test_bytes_chunks_do_not_break_the_copy():
    copy = capture.StreamCopy(100)
    copy.extend(["a", b"b", 3])
    assert copy.finish() == "ab3"


def test_formatting_helpers():
    assert capture.format_duration(0.0004) == "0.4 ms"
    assert capture.format_duration(0.25) == "250 ms"
    assert capture.format_duration(3.5) == "3.50 s"
    assert capture.format_duration(125) == "2 min 5 s"
    assert capture.format_duration(7300) == "2 h 1 min"
    assert capture.first_line("\n\n  x = 1\ny = 2") == "x = 1"
    message = capture.format_log_message(3, "ok", 0.01, "print(1)", "1\n", "", "")
    assert message == "cell [3] ok in 10 ms: print(1)\n--- stdout ---\n1"


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"])
def test_a_cells_start_time_reads_as_datetimes_isoformat(zone, monkeypatch):
    import datetime
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        for seconds in (1_764_590_000.25, 1_751_000_000.0625, 1_700_000_000.5):  # winter, summer, a half second
            expected = datetime.datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="milliseconds")
            assert capture.local_time_iso(seconds) == expected
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


# -- the tees -----------------------------------------------------------------------------------
def test_tee_forwards_everything_unchanged():
    target = io.StringIO()
    tee = capture.StdoutTee(target, owner=None)
    assert tee.write("abc") == 3
    tee.writelines(["d", "e"])
    tee.flush()
    assert target.getvalue() == "abcde"
    assert tee.getvalue() == "abcde"  # other attributes come from the stream
    tee.custom_attribute = 5
    assert target.custom_attribute == 5
    assert "tee of" in repr(tee)


def test_tee_records_only_while_current(monkeypatch):
    target = io.StringIO()
    tee = capture.StdoutTee(target, owner=None)
    tee._oc_copy = capture.StreamCopy()
    tee.write("not current ")
    monkeypatch.setattr(sys, "stdout", tee)
    tee.write("current")
    tee.write_untracked(" untracked")
    monkeypatch.undo()
    assert tee._oc_copy.finish() == "current"
    assert target.getvalue() == "not current current untracked"


# -- capture in a shell ---------------------------------------------------------------------------
def test_cells_go_to_the_log_in_order(crate):
    run(crate, "print('one')")
    run(crate, "import sys\nprint('to err', file=sys.stderr)\nprint('two')")
    run(crate, "x = 1")
    text = log_text()
    first = text.index("cell [")
    assert text.index("print('one')", first) < text.index("to err") < text.index("x = 1")
    assert "--- stdout ---\none\n" in text
    assert "--- stdout ---\ntwo\n--- stderr ---\nto err" in text
    assert " ok in " in text


def test_setup_cell_itself_is_recorded(crate):
    entry = _entry("%crate setup nbtest")
    assert entry["status"] == "ok" and entry["outputs"] == []  # its "✓ snapshot ..." is opencrate's own: not logged


def test_cells_before_setup_are_not_recorded(ip):
    run(ip, "print('before any snapshot')")
    run(ip, "%crate setup later")
    assert "before any snapshot" not in log_text()
    assert [e["source"] for e in cell_entries()] == ["%crate setup later"]


def test_a_version_reset_and_made_again_gets_the_next_cells(crate):
    """The cell log stays open between cells; a reset and a new setup of the same folder must not leave
    the next cells in the removed file."""
    run(crate, "x = 'before the reset'")
    run(crate, "import opencrate as oc\noc.snapshot.reset(confirm=True)\noc.snapshot.setup(name='nbtest')")
    run(crate, "x = 'after the reset'")
    assert [e["source"] for e in cell_entries()][-1] == "x = 'after the reset'"
    assert "x = 'after the reset'" in log_text() and "before the reset" not in log_text()


def test_cells_jsonl_fields(crate):
    result = run(crate, "from IPython.display import HTML, display\ndisplay(HTML('<b>x</b>'))\nprint('p')\n42")
    entry = _entry("from IPython.display import HTML, display\ndisplay(HTML('<b>x</b>'))\nprint('p')\n42")
    assert entry["execution_count"] == result.execution_count
    assert entry["status"] == "ok" and entry["error"] is None
    assert entry["outputs"][0] == "stdout"
    assert "text/html" in entry["outputs"] and "text/plain" in entry["outputs"]
    assert entry["stdout_chars"] > 0 and entry["stderr_chars"] == 0
    assert entry["duration"] >= 0 and entry["time"]
    assert set(entry) >= {"cell_id", "truncated"}


def test_failing_cell_logs_the_traceback(crate):
    run(crate, "def f():\n    raise ValueError('bad value')\nprint('before')\nf()")
    text = log_text()
    assert "ERROR    cell [" in text and "error in" in text
    assert "--- stdout ---\nbefore\n--- traceback ---\nTraceback (most recent call last):" in text
    assert "ValueError: bad value" in text
    assert "interactiveshell.py" not in text  # IPython's own frames are left out
    entry = _entry("def f():\n    raise ValueError('bad value')\nprint('before')\nf()")
    assert entry["status"] == "error"
    assert entry["error"] == {"ename": "ValueError", "evalue": "bad value"}
    assert entry["outputs"][-1] == "error"


def test_terminal_traceback_is_not_copied_twice(crate):
    run(crate, "1 / 0")
    text = log_text()
    assert text.count("ZeroDivisionError: division by zero") == 1
    assert "--- stdout ---" not in text.split("1 / 0")[-1]


def test_syntax_error_and_usage_error(crate):
    run(crate, "x = (")
    entry = _entry("x = (")
    assert entry["status"] == "error" and entry["error"]["ename"] == "SyntaxError"
    assert "SyntaxError" in log_text()
    run(crate, "%crate rm nothing.json")
    entry = _entry("%crate rm nothing.json")
    assert entry["error"]["ename"] == "UsageError"
    assert "--- traceback ---\nUsageError: No artifact named 'nothing.json'" in log_text()


def test_keyboard_interrupt_is_recorded(crate):
    result = run(crate, "print('working')\nraise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    entry = _entry("print('working')\nraise KeyboardInterrupt")
    assert entry["status"] == "interrupted"
    assert "WARNING  cell [" in log_text() and "interrupted in" in log_text()
    run(crate, "print('next cell works')")
    assert _entry("print('next cell works')")["status"] == "ok"


def test_empty_cells_are_ignored(crate):
    before = len(cell_entries())
    for code in ("", "   \n  ", "# only a comment"):
        assert run(crate, code).success
    sources = [e["source"] for e in cell_entries()[before:]]
    assert sources == ["# only a comment"]
    run(crate, "print('after empties')")
    assert _entry("print('after empties')")["stdout_chars"] == len("after empties\n")


def test_output_beyond_the_cap_is_truncated_in_the_log_only(crate):
    state = _extension.state_of(crate)
    state.capture.max_chars = 2000
    result, out, _, _ = run_captured(crate, "for i in range(20000):\n    print(i)")
    assert result.success
    assert out.splitlines() == [str(i) for i in range(20000)]  # the notebook keeps everything
    text = log_text()
    assert "characters not logged ...]" in text
    assert "\n0\n1\n2\n" in text and "\n19999\n" in text
    entry = _entry("for i in range(20000):\n    print(i)")
    assert entry["truncated"] is True and entry["stdout_chars"] == len(out)


def test_progress_bar_leaves_one_line(crate):
    code = (
        "import sys\nfor i in range(500):\n    sys.stderr.write(f'\\r{i / 4.99:.0f}%|' + '#' * (i // 50))\n"
        "sys.stderr.write('\\n')"
    )
    result, _, err, _ = run_captured(crate, code)
    assert result.success and err.count("\r") == 500
    section = log_text().split("--- stderr ---\n")[-1]
    assert section.splitlines()[0] == "100%|#########"


def test_percent_percent_capture_is_recorded_once(crate):
    code = "%%capture captured\nprint('quiet please')"
    result, out, _, _ = run_captured(crate, code)
    assert result.success and out == ""
    assert crate.user_ns["captured"].stdout == "quiet please\n"
    assert log_text().count("quiet please") == 1
    run(crate, "print('streams restored')")
    assert _entry("print('streams restored')")["stdout_chars"] == len("streams restored\n")


def test_output_is_unchanged_by_the_extension(shell):
    cells = [
        "print('a'); import sys; print('b', file=sys.stderr)",
        "for i in range(3): print(i, end='\\r')",
        "from IPython.display import display\ndisplay({'x': 1})\n'last'",
        "import logging\nlogging.getLogger('t').warning('warned')",
        "1/0",
    ]

    def outputs():
        seen = []
        for code in cells:
            _, out, err, shown = run_captured(shell, code)
            seen.append((re.sub(r"(In|Out) ?\[\d+\]", r"\1[N]", out), err, [o.data for o in shown]))
        return seen

    without = outputs()
    shell.run_line_magic("load_ext", "opencrate")
    run(shell, "%crate setup same")
    with_extension = outputs()
    assert with_extension == without


def test_lineage_links_saves_to_cells(crate):
    result = run(crate, "import opencrate as oc\noc.snapshot.json('linked.json').save({'a': 1})")
    entry = oc.snapshot.json("linked.json").last_record()
    assert entry["cell"] == {"execution_count": result.execution_count, "cell_id": None}
    oc.snapshot.json("outside.json").save({"a": 1})  # not inside a cell
    assert oc.snapshot.json("outside.json").last_record()["cell"] is None


def test_saved_artifact_leads_back_to_the_source_of_its_cell(crate):
    import datetime

    from opencrate_nb.notebook import _core

    source = "import opencrate as oc\nvalue = {'a': 1}\noc.snapshot.json('traced.json').save(value)"
    result = run(crate, source)
    run(crate, "print('a later cell')")
    entry = oc.snapshot.json("traced.json").last_record()
    found = _core.saving_cell(oc.snapshot.dir_path, entry["cell"], entry["time"])
    assert found["source"] == source and found["execution_count"] == result.execution_count
    # a kernel that resumes this version later counts from 1 again: its cells do not match the save
    later = (datetime.datetime.now().astimezone() + datetime.timedelta(seconds=5)).isoformat()
    _core.append_cells_line(
        {
            "execution_count": result.execution_count,
            "cell_id": None,
            "time": later,
            "source": "print('same count, later kernel')",
        }
    )
    assert _core.saving_cell(oc.snapshot.dir_path, entry["cell"], entry["time"])["source"] == source
    assert _core.saving_cell(oc.snapshot.dir_path, None, entry["time"]) is None


def test_lineage_stays_on_when_capture_is_off(crate):
    run(crate, "%crate capture off")
    result = run(crate, "oc.snapshot.json('off.json').save([])")
    assert oc.snapshot.json("off.json").last_record()["cell"]["execution_count"] == result.execution_count


def test_cell_id_is_passed_on(crate):
    result = crate.run_cell("oc.snapshot.json('with_id.json').save([])", store_history=True, cell_id="cell-42")
    assert result.success
    assert oc.snapshot.json("with_id.json").last_record()["cell"]["cell_id"] == "cell-42"
    assert _entry("oc.snapshot.json('with_id.json').save([])")["cell_id"] == "cell-42"


def test_tee_is_reinstalled_when_streams_are_swapped(crate):
    run(crate, "print('first')")
    replacement = io.StringIO()
    original = sys.stdout
    sys.stdout = replacement
    try:
        run(crate, "print('into the replacement')")
    finally:
        sys.stdout = original
    assert replacement.getvalue() == "into the replacement\n"
    assert "into the replacement" in log_text()


def test_wrapped_tee_is_not_recorded_twice(crate):
    run(crate, "print('installs the tee')")

    class Wrapper:
        def __init__(self, inner):
            self.inner = inner

        def write(self, text):
            return self.inner.write(text)

        def flush(self):
            self.inner.flush()

    original = sys.stdout
    sys.stdout = Wrapper(sys.stdout)
    try:
        run(crate, "print('once only')")
    finally:
        sys.stdout = original
    assert log_text().count("--- stdout ---\nonce only\n") == 1


def test_a_write_patched_on_the_stream_stays_on_the_tee(crate):
    """IPython 9 patches ``sys.stdout.write`` around each cell (for its output history) and
    restores it afterwards; the patch must land on our tee, never on the stream below it."""
    run(crate, "print('installs the tee')")
    stream = sys.stdout
    below = stream._oc_stream
    seen = []
    original_write = stream.write

    def write(data, *args, **kwargs):
        seen.append(data)
        return original_write(data, *args, **kwargs)

    stream.write = write
    try:
        result = run(crate, "print('patched')")
    finally:
        stream.write = original_write
    assert result.success, result.error_in_exec
    assert "".join(seen) == "patched\n"
    assert getattr(below.write, "__self__", None) is below  # the stream below still writes itself
    after = run(crate, "print('after the restore')")
    assert after.success, after.error_in_exec
    assert "patched" in log_text() and "after the restore" in log_text()


def test_capture_off_removes_the_tees(crate):
    run(crate, "print('x')")
    assert isinstance(sys.stdout, capture._Tee)
    run(crate, "%crate capture off")
    assert not isinstance(sys.stdout, capture._Tee)
    run(crate, "%crate capture on")
    run(crate, "print('y')")
    assert isinstance(sys.stdout, capture._Tee)


def test_internal_problems_never_reach_the_cell(crate, monkeypatch):
    from opencrate_nb.notebook import _core

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_core, "write_to_files", broken)
    result = run(crate, "print('still fine')")
    assert result.success
    problems = _extension.state_of(crate).capture.problems
    assert problems and "disk full" in problems[-1]


def test_lost_post_run_cell_does_not_stop_capture(crate):
    state = _extension.state_of(crate)
    state.capture.pre_run_cell(type("Info", (), {"store_history": True, "raw_cell": "lost", "cell_id": None})())
    run(crate, "print('recorded anyway')")
    assert _entry("print('recorded anyway')")["status"] == "ok"


def test_nested_failure_in_cell_save_is_logged(crate):
    run(crate, "%%crate save never.json\ndef fail():\n    raise RuntimeError('inner problem')\nfail()")
    text = log_text()
    assert "RuntimeError: inner problem" in text
    assert "UsageError: The cell raised RuntimeError: never.json was not saved." in text


@pytest.mark.parametrize("level", ["warning"])
def test_log_level_of_the_snapshot_applies(ip, level):
    run(ip, f"%crate setup quiet --log-level {level}")
    run(ip, "print('an ok cell')")
    run(ip, "1/0")
    text = log_text()
    assert "an ok cell" not in text  # ok cells are INFO
    assert "ZeroDivisionError" in text


# -- no feedback, no loss ----------------------------------------------------------------------------
def _log_entries():
    from opencrate_nb.core import log

    return log.read_entries(oc.snapshot.log_path)


def test_crate_magics_output_is_never_logged(crate):
    run(crate, "print('a line in the log')")
    _, shown, _, _ = run_captured(crate, "%crate log")
    assert "a line in the log" in shown  # the notebook shows it...
    _, again, _, _ = run_captured(crate, "%crate log")
    assert again.count("--- stdout ---\na line in the log") == 1  # looking again copies nothing into the log
    run(crate, "import opencrate as oc\noc.snapshot.json('m.json').save({'a': 1})")
    run(crate, "%crate ls")  # a terminal prints these tables on stdout
    run(crate, "%crate show m.json")
    entries = {e.text.splitlines()[0].split(": ", 1)[-1]: e.text for e in _log_entries()}
    for source in ("%crate log", "%crate ls", "%crate show m.json"):
        assert "--- stdout ---" not in entries[source]
    assert _entry("%crate ls")["outputs"] == []


def test_a_failing_cell_is_one_error_entry(crate):
    run(crate, "1 / 0")
    errors = [e for e in _log_entries() if e.level == "ERROR"]
    assert len(errors) == 1 and "ZeroDivisionError: division by zero" in errors[0].text
    assert sum("ERROR" in line for line in log_text().splitlines()) == 1


def test_undecodable_file_names_and_control_characters_are_logged_escaped(crate):
    cell = "import os\nprint(os.fsdecode(b'caf\\xe9.txt'))\nprint('\\x1b[31mred\\x1b[0m bell\\x07')"
    result, shown, err, _ = run_captured(crate, cell)
    assert result.success and "Logging error" not in err
    assert shown == "caf\udce9.txt\n\x1b[31mred\x1b[0m bell\x07\n"  # the notebook shows what was printed
    text = log_text()
    assert "--- stdout ---\ncaf\\udce9.txt\nred bell\\x07\n" in text
    assert _entry(cell)["status"] == "ok"


def test_an_exception_whose_str_raises_is_recorded(crate):
    cell = "class Odd(Exception):\n    def __str__(self):\n        raise RuntimeError('no str')\nraise Odd()"
    run(crate, cell)
    entry = _entry(cell)
    assert entry["status"] == "error" and entry["error"]["ename"]
    assert re.search(r"ERROR +cell \[\d+\] error in [^:]+: class Odd\(Exception\):\n--- traceback ---", log_text())
    assert run(crate, "print('next')").success and _entry("print('next')")["status"] == "ok"
