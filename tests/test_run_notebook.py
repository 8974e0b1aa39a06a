"""The run's notebook: every version holds ``run.ipynb``, the cells as they were executed.

Built from a real IPython shell's cells (source, count, streams, rich outputs, errors, the
artifacts each cell saved), valid nbformat 4, rebuilt only when cells were added; also
produced by ``ipython script.ipy`` and by a notebook executed headless with nbclient.
"""

import json
import os
import subprocess
import sys

import pytest
from _notebook_fixtures import REPO, require, run, skip_or_fail

from opencrate_nb.core import run_notebook


def _notebook():
    import opencrate as oc

    nbformat = require("nbformat", "the run notebook's format")
    path = run_notebook.ensure(oc.snapshot.dir_path)
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    return notebook


def _code(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_cells_in_execution_order_with_their_outputs_and_saves(ip):
    run(ip, "import json")  # before the setup: kept for the notebook of the first version
    run(ip, "%crate setup nbtest")
    run(ip, "from IPython.display import HTML, display\nprint('hello')\ndisplay(HTML('<b>bold</b>'))\n41 + 1")
    run(ip, "import opencrate as oc\noc.snapshot.json('m.json').save({'loss': 0.5})")
    run(ip, "raise ValueError('bad input')")
    cells = _code(_notebook())
    sources = [c.source for c in cells]
    assert sources[:2] == ["import json", "%crate setup nbtest"]
    assert cells[0].metadata.opencrate.before_setup and "before_setup" not in cells[1].metadata.opencrate
    counts = [c.execution_count for c in cells]
    assert counts == sorted(counts)
    shown = cells[2]
    assert [o.output_type for o in shown.outputs] == ["stream", "display_data", "execute_result"]
    assert shown.outputs[0].text == "hello\n"
    assert shown.outputs[1].data["text/html"] == "<b>bold</b>"
    assert shown.outputs[2].data["text/plain"] == "42" and shown.outputs[2].execution_count == shown.execution_count
    assert [s["path"] for s in cells[3].metadata.opencrate.saved] == ["jsons/m.json"]
    assert cells[2].metadata.opencrate.saved == []
    error = cells[4].outputs[-1]
    assert error.output_type == "error" and (error.ename, error.evalue) == ("ValueError", "bad input")
    assert any("raise ValueError('bad input')" in line for line in error.traceback)
    assert cells[4].metadata.opencrate.status == "error" and cells[3].metadata.opencrate.status == "ok"
    assert cells[1].outputs == []  # "✓ snapshot ..." is opencrate's own output: neither logged nor kept


def test_front_end_cell_ids_are_kept_and_made_unique(crate):
    import inspect

    if "cell_id" not in inspect.signature(crate.run_cell).parameters:
        skip_or_fail("this IPython's run_cell takes no cell_id (IPython 8)")
    crate.run_cell("x = 1", store_history=True, cell_id="cell-a")
    crate.run_cell("x = 2", store_history=True, cell_id="cell-a")  # the same cell, edited and re-run
    cells = _code(_notebook())
    assert [c.metadata.opencrate.cell_id for c in cells[-2:]] == ["cell-a", "cell-a"]
    assert [c.id for c in cells[-2:]] == ["cell-a", "cell-a-2"]


def test_large_outputs_are_capped_with_a_marker(crate):
    run(crate, "from IPython.display import HTML, display\ndisplay(HTML('<p>' + 'x' * 800_000 + '</p>'))")
    [output] = _code(_notebook())[-1].outputs
    assert "text/html" not in output.data
    assert "[opencrate: text/html output of 781.3 KB not kept in run.ipynb]" in output.data["text/plain"]


def test_any_text_is_kept_valid(crate):
    run(crate, "import os\nprint(os.fsdecode(b'caf\\xe9.txt'))\nprint('\\x1b[31mred\\x1b[0m')")
    [stream] = _code(_notebook())[-1].outputs
    assert stream.text == "caf\\udce9.txt\n\x1b[31mred\x1b[0m\n"  # colours stay: notebooks render them


def test_built_only_when_cells_were_added(crate):
    import opencrate as oc

    folder = oc.snapshot.dir_path
    path = run_notebook.ensure(folder)
    built = os.stat(path).st_ino  # each build replaces the file (a new inode)
    assert run_notebook.ensure(folder) == path and os.stat(path).st_ino == built
    run(crate, "y = 3")  # shows nothing: only its cells.jsonl line is written
    assert not os.path.exists(run_notebook.lines_path(folder))
    run_notebook.ensure(folder)
    assert os.stat(path).st_ino != built and _code(_notebook())[-1].source == "y = 3"


def test_a_stamp_written_for_another_build_does_not_vouch_for_the_file_there(crate):
    """Two builds at once (a kernel and the server): B's file, then A's file, then B's stamp."""
    import opencrate as oc

    folder = oc.snapshot.dir_path
    path = run_notebook.ensure(folder)
    with open(path, "rb") as f:
        current = f.read()
    run(crate, "z = 4")
    run_notebook.write(folder)  # build B: up to date, with its stamp
    with open(run_notebook._stamp_path(folder), "rb") as f:
        stamp_of_b = f.read()
    with open(path + ".older", "wb") as f:
        f.write(current)  # build A, started before "z = 4", lands its file after B's
    os.replace(path + ".older", path)
    with open(run_notebook._stamp_path(folder), "wb") as f:
        f.write(stamp_of_b)  # and B's stamp lands last
    run_notebook.ensure(folder)
    assert _code(_notebook())[-1].source == "z = 4"


def test_a_torn_last_line_is_skipped(crate):
    import opencrate as oc

    folder = oc.snapshot.dir_path
    run(crate, "print('shown')")
    with open(run_notebook.lines_path(folder), "ab") as f:
        f.write(b'{"type": "cell", "cell": {"sour')  # a kernel killed mid-write
    assert [c.source for c in _code(_notebook())][-1] == "print('shown')"


def test_a_cell_log_that_is_a_fifo_is_never_waited_on(crate):
    """A FIFO under the name of the cell lines (or of the record they join) reads as empty: the
    sidebar's notebook request no longer waits for a writer forever."""
    import opencrate as oc
    from opencrate_nb.core import record

    folder = oc.snapshot.dir_path
    cell = "oc.snapshot.text('t.txt').save('x'); print('shown')"
    run(crate, "import opencrate as oc")
    run(crate, cell)
    lines = run_notebook.lines_path(folder)
    os.replace(lines, lines + ".kept")
    os.mkfifo(lines)
    assert run_notebook.read_lines(folder) == []
    record.close_all()
    record_file = os.path.join(record.record_dir(folder), record.RECORD_FILE)
    os.remove(record_file)
    os.mkfifo(record_file)
    os.replace(lines + ".kept", lines)
    assert [c.source for c in _code(_notebook())][-1] == cell


def test_the_notebook_is_named_in_env_json(crate, monkeypatch):
    import opencrate as oc
    from opencrate_nb.core import environment

    environment.wait()
    [entry] = environment.runs(oc.snapshot.dir_path)
    assert entry["notebook"] == {"as_run": "run.ipynb", "path": None, "from": None, "cwd": os.getcwd()}
    monkeypatch.setenv("JPY_SESSION_NAME", "experiments/train.ipynb")  # what a Jupyter server sets
    run(crate, "%crate setup other")
    environment.wait()
    [entry] = environment.runs(oc.snapshot.dir_path)
    assert entry["notebook"] == {
        "as_run": "run.ipynb",
        "path": "experiments/train.ipynb",
        "from": "JPY_SESSION_NAME",
        "cwd": os.getcwd(),
    }


def test_a_skipped_cell_is_not_captured(crate):
    run(crate, "# opencrate: skip\nprint('not recorded')")
    assert "not recorded" not in json.dumps([c.source for c in _code(_notebook())])


def test_no_notebook_before_any_cell_was_captured(workdir):
    with pytest.raises(FileNotFoundError, match="no cell was captured"):
        run_notebook.load(str(workdir))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.mark.slow
def test_ipython_script_records_its_cell(workdir):
    require("nbformat", "the run notebook's format")
    script = workdir / "train.ipy"
    script.write_text(
        "%load_ext opencrate\n%crate setup scripted\nimport opencrate as oc\nprint('training')\n"
        "oc.snapshot.json('m.json').save({'acc': 0.9})\n"
    )
    subprocess.run(
        [sys.executable, "-m", "IPython", "--HistoryManager.hist_file=:memory:", str(script)],
        cwd=workdir,
        env=_env(),
        check=True,
        capture_output=True,
    )
    version = workdir / "snapshots" / "scripted" / "v0"
    with open(version / ".crate" / "cells.jsonl", encoding="utf-8") as f:
        [entry] = [json.loads(line) for line in f]
    assert entry["status"] == "ok" and "print('training')" in entry["source"]
    assert "--- stdout ---\ntraining\n" in (version / "scripted.log").read_text(encoding="utf-8")
    [cell] = json.loads((version / "run.ipynb").read_text(encoding="utf-8"))["cells"]
    assert cell["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "training\n"}]
    assert [s["path"] for s in cell["metadata"]["opencrate"]["saved"]] == ["jsons/m.json"]
    with open(version / ".crate" / "env.json", encoding="utf-8") as f:
        notebook = json.load(f)["runs"][-1]["notebook"]
    assert notebook == {"as_run": "run.ipynb", "path": str(script), "from": "script", "cwd": str(workdir)}


@pytest.mark.slow
def test_headless_nbclient_run_produces_the_notebook(workdir, monkeypatch):
    nbformat = require("nbformat", "notebooks")
    require("nbclient", "notebooks in a real kernel")
    require("ipykernel", "notebooks in a real kernel")
    from _notebook_fixtures import kernel_env
    from nbclient import NotebookClient

    kernel_env(monkeypatch)
    cells = [
        "%load_ext opencrate",
        "%crate setup headless",
        "import opencrate as oc\nprint('step')",
        "oc.snapshot.json('m.json').save({'a': 1})",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    path = workdir / "snapshots" / "headless" / "v0" / "run.ipynb"
    assert path.exists()  # written at the kernel's exit
    as_run = nbformat.read(str(path), as_version=4)
    nbformat.validate(as_run)
    assert [c.source for c in as_run.cells] == cells
    assert as_run.cells[2].outputs[0].text == "step\n"
    assert as_run.metadata.opencrate.cwd == str(workdir)


@pytest.mark.slow
def test_jupyter_execute_produces_the_notebook(workdir, monkeypatch):
    nbformat = require("nbformat", "notebooks")
    require("nbclient", "notebooks in a real kernel")
    require("ipykernel", "notebooks in a real kernel")
    from _notebook_fixtures import kernel_env

    kernel_env(monkeypatch)
    cells = ["%load_ext opencrate", "%crate setup executed", "print('from jupyter execute')"]
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), "train.ipynb")
    subprocess.run(
        [sys.executable, "-m", "jupyter", "execute", "train.ipynb"], cwd=workdir, check=True, capture_output=True
    )
    as_run = nbformat.read(str(workdir / "snapshots" / "executed" / "v0" / "run.ipynb"), as_version=4)
    nbformat.validate(as_run)
    assert [c.source for c in as_run.cells] == cells
    assert as_run.cells[2].outputs[0].text == "from jupyter execute\n"


def test_a_resumed_version_marks_where_each_run_starts(crate):
    import opencrate as oc
    from opencrate_nb.core import environment

    run(crate, "oc = __import__('opencrate')\noc.snapshot.json('m.json').save({'run': 1})")
    run(crate, "%crate setup nbtest --version 0")  # resumed (a new kernel would do the same)
    run(crate, "oc.snapshot.json('m.json').save({'run': 2})")
    notebook = _notebook()
    kinds = [c.cell_type for c in notebook.cells]
    assert kinds == ["code", "code", "markdown", "code", "code"]
    assert notebook.cells[2].source.startswith("*opencrate: run 2 of this version, started ")
    assert [s["path"] for s in notebook.cells[1].metadata.opencrate.saved] == ["jsons/m.json"]
    assert [s["path"] for s in notebook.cells[4].metadata.opencrate.saved] == ["jsons/m.json"]
    environment.wait()
    assert [r["notebook"]["as_run"] for r in environment.runs(oc.snapshot.dir_path)] == ["run.ipynb"] * 2
    assert len(notebook.metadata.opencrate.runs) == 2


def test_verify_and_the_catalog_accept_the_run_notebook(crate):
    import opencrate as oc
    from opencrate_nb.core import verify

    run(crate, "oc = __import__('opencrate')\noc.snapshot.json('m.json').save({'a': 1})")
    run_notebook.ensure(oc.snapshot.dir_path)
    report = verify.verify("nbtest/v0")
    assert not report.untracked and report.ok


def test_a_later_chdir_does_not_move_the_notebook(crate, workdir):
    (workdir / "elsewhere").mkdir()
    run(crate, "import os\nos.chdir('elsewhere')")
    run(crate, "print('after chdir')")
    version = workdir / "snapshots" / "nbtest" / "v0"
    assert run_notebook.ensure(str(version)) == str(version / "run.ipynb")
    assert "after chdir" in (version / "run.ipynb").read_text(encoding="utf-8")
    assert not (workdir / "elsewhere" / "snapshots").exists()
