"""``crate notebook NAME VERSION [-o FILE]``: a version's run notebook, written out."""

import json
import os
import stat
import threading

from _notebook_fixtures import run

from opencrate_nb.cli import main


def test_writes_the_run_notebook_to_a_file_or_stdout(crate, workdir, capsys):
    run(crate, "print('trained')")
    assert main(["notebook", "nbtest", "0", "-o", "out.ipynb"]) == 0
    notebook = json.loads((workdir / "out.ipynb").read_text(encoding="utf-8"))
    assert [c["source"] for c in notebook["cells"]] == ["%crate setup nbtest", "print('trained')"]
    capsys.readouterr()
    assert main(["notebook", "nbtest", "v0"]) == 0
    assert json.loads(capsys.readouterr().out) == notebook


def test_a_version_without_captured_cells_is_an_error(workdir, capsys):
    import opencrate as oc

    oc.snapshot.setup(name="plain")
    assert main(["notebook", "plain", "0", "-o", "out.ipynb"]) == 2
    assert "has no run notebook: no cell was captured there" in capsys.readouterr().err
    assert not (workdir / "out.ipynb").exists()


def test_a_version_it_cannot_write_into_is_written_out_all_the_same(crate, workdir, capsys):
    run(crate, "print('archived')")
    (workdir / "snapshots" / "nbtest" / "v0" / "run.ipynb").mkdir()  # run.ipynb cannot be (re)written there
    capsys.readouterr()
    assert main(["notebook", "nbtest", "0"]) == 0
    assert "archived" in capsys.readouterr().out


def test_an_output_that_is_not_a_regular_file_is_written_into_not_replaced(crate, workdir):
    """``-o /dev/stdout`` or a pipe: replacing it (as a file is replaced) would break it for everyone."""
    run(crate, "print('piped')")
    pipe = workdir / "pipe"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    assert main(["notebook", "nbtest", "0", "-o", str(pipe)]) == 0
    reader.join(10)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert "piped" in json.loads(received[0])["cells"][1]["outputs"][0]["text"]
