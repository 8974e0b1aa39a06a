"""Reproduce: re-run a version's notebook in a fresh kernel and compare what it saved.

The comparison on its own first (real files, real versions), then real runs: a session in
an IPython shell makes the original version, ``crate reproduce`` / ``%crate reproduce``
re-run its ``run.ipynb`` in a new kernel with nbclient.
"""

import json
import os
import re

import pytest
from _notebook_fixtures import kernel_env, require, run

from opencrate_nb import reproduce
from opencrate_nb.cli import main


def test_numbers_compare_within_a_relative_tolerance():
    assert reproduce._close({"a": [1.0, 2.0]}, {"a": [1.0 + 1e-9, 2.0]}, 1e-6)
    assert not reproduce._close({"a": 1.0}, {"a": 1.1}, 1e-6)
    assert not reproduce._close({"a": 1}, {"b": 1}, 1.0)
    assert not reproduce._close(True, 1, 1.0)  # a flag is not a number
    assert reproduce._close(float("nan"), float("nan"), 0.0)


def test_interrupted_cells_and_reproductions_are_not_re_run():
    def cell(source, status="ok"):
        return {"cell_type": "code", "id": source[:5], "source": source, "metadata": {"opencrate": {"status": status}}}

    notebook = {
        "cells": [
            cell("x = 1"),
            cell("train_forever()", "interrupted"),
            {"cell_type": "markdown", "source": "*run 2*"},
            cell("%crate reproduce v0"),
            cell("y = x", "error"),
        ]
    }
    assert [c["source"] for c in reproduce._cells_to_run(notebook)] == ["x = 1", "y = x"]


def test_tables_and_json_files_within_tolerance(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x,y\n1.0,a\n2.0,b\n")
    b.write_text("x,y\n1.0000000001,a\n2.0,b\n")
    assert reproduce.within_tolerance("csv", str(a), str(b), 1e-6)
    assert not reproduce.within_tolerance("csv", str(a), str(b), 0.0)
    ja, jb = tmp_path / "a.json", tmp_path / "b.json"
    ja.write_text('{"loss": 0.5, "name": "x"}')
    jb.write_text('{"name": "x", "loss": 0.50000001}')
    assert reproduce.within_tolerance("json", str(ja), str(jb), 1e-6)
    assert not reproduce.within_tolerance("text", str(ja), str(jb), 1.0)  # text has no numbers to compare


def test_compare_names_each_artifact(workdir):
    import opencrate as oc

    oc.snapshot.setup(name="cmp")
    oc.snapshot.json("same.json").save({"a": 1})
    oc.snapshot.json("close.json").save({"a": 0.1 + 0.2})
    oc.snapshot.json("far.json").save({"a": 1.0})
    oc.snapshot.json("gone.json").save({"a": 1})
    first = oc.snapshot.dir_path
    oc.snapshot.setup(name="cmp")
    oc.snapshot.json("same.json").save({"a": 1})
    oc.snapshot.json("close.json").save({"a": 0.3})
    oc.snapshot.json("far.json").save({"a": 2.0})
    oc.snapshot.json("extra.json").save({})
    results = {r.path: r for r in reproduce.compare(first, oc.snapshot.dir_path, rtol=1e-9)}
    assert results["jsons/same.json"].status == "identical"
    assert results["jsons/close.json"].status == "within tolerance"
    assert results["jsons/far.json"].status == "different" and results["jsons/far.json"].detail == ["a: 1.0 -> 2.0"]
    assert results["jsons/gone.json"].status == "missing"
    assert results["jsons/extra.json"].status == "new" and results["jsons/extra.json"].ok


def test_clear_errors_before_anything_runs(workdir):
    import opencrate as oc

    oc.snapshot.setup(name="plain")
    oc.snapshot.json("m.json").save({"a": 1})
    with pytest.raises(reproduce.ReproduceError, match="no run notebook"):
        reproduce.reproduce("plain", 0)
    with pytest.raises(reproduce.ReproduceError, match="rtol must be a number"):
        reproduce.reproduce("plain", 0, rtol=-1)
    with pytest.raises(reproduce.ReproduceError, match="No artifact 'nope.json'.*artifacts: m.json"):
        reproduce.reproduce("plain", 0, gather_artifact="nope.json")
    assert main(["reproduce", "plain", "7"]) == 2  # no such version: an error, not "not reproduced"
    assert [v for v in os.listdir(workdir / "snapshots" / "plain") if not v.startswith(".")] == ["v0"]


# -- real runs ----------------------------------------------------------------------------------------
@pytest.fixture
def kernels(ip, monkeypatch):
    require("nbclient", "re-running notebooks")
    require("ipykernel", "re-running notebooks")
    kernel_env(monkeypatch)
    return ip


def _session(shell, name, seeded):
    run(shell, f"%crate setup {name}")
    run(shell, "import random\nimport opencrate as oc")
    if seeded:
        run(shell, "random.seed(7)")
    run(shell, "draws = [random.random() for _ in range(3)]")
    run(shell, "unrelated = 'not needed'")
    run(shell, "oc.snapshot.json('draws.json').save({'draws': draws})")
    run(shell, "oc.snapshot.text('note.txt').save('always the same')")


@pytest.mark.slow
def test_a_seeded_notebook_reproduces(kernels, workdir, capsys):
    _session(kernels, "seeded", seeded=True)
    capsys.readouterr()
    assert main(["reproduce", "seeded", "0"]) == 0
    out = capsys.readouterr().out
    assert "seeded/v0 -> seeded/v1:repro-of-v0: reproduced" in out
    assert re.search(r"jsons/draws.json +identical", out) and re.search(r"texts/note.txt +identical", out)
    repro = workdir / "snapshots" / "seeded" / "v1:repro-of-v0"
    with open(repro / ".crate" / "reproduce.json", encoding="utf-8") as f:
        assert json.load(f)["reproduced"] is True
    original_ids = [c["id"] for c in json.loads((workdir / "snapshots/seeded/v0/run.ipynb").read_text())["cells"]]
    rerun = json.loads((repro / "run.ipynb").read_text())["cells"]
    assert [c["metadata"]["opencrate"]["cell_id"] for c in rerun] == original_ids  # the ids were sent to the kernel
    with open(repro / ".crate" / "env.json", encoding="utf-8") as f:
        assert json.load(f)["runs"][-1]["notebook"]["from"] == "reproduce"

    # only the cells one artifact needed, from the notebook
    run(kernels, "%crate setup seeded --version 0")
    result = run(kernels, "%crate reproduce 0 --gather draws.json")
    assert result.success, result.error_in_exec
    gathered = workdir / "snapshots" / "seeded" / "v2:repro-of-v0"
    sources = [c["source"] for c in json.loads((gathered / "run.ipynb").read_text())["cells"]]
    assert "unrelated = 'not needed'" not in sources and "random.seed(7)" in sources
    with open(gathered / ".crate" / "reproduce.json", encoding="utf-8") as f:
        report = json.load(f)
    assert report["reproduced"] and [a["path"] for a in report["artifacts"]] == ["jsons/draws.json"]


@pytest.mark.slow
def test_unseeded_randomness_is_reported_as_different(kernels, workdir):
    _session(kernels, "unseeded", seeded=False)
    report = reproduce.reproduce("unseeded", 0)
    assert not report.reproduced
    results = {a.path: a for a in report.artifacts}
    assert results["texts/note.txt"].status == "identical"
    draws = results["jsons/draws.json"]
    assert draws.status == "different"
    assert draws.detail[0].startswith("draws: [")
    assert draws.detail[-1].startswith("why: In [") and "no cell it depends on sets a seed" in draws.detail[-1]
    text = str(report)
    assert "NOT reproduced" in text and "jsons/draws.json  different" in text
