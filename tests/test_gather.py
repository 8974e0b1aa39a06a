"""Lineage: the cells an artifact depended on, from a def-use analysis of the executed cells.

First the analysis on its own (sources in, slices out), then in a real IPython shell:
``oc.snapshot.json(...).lineage()``, ``%crate gather`` and the warnings of the card and
``%crate status`` when a slice ran out of order or used a cell edited later.
"""

import json

import pytest
from _notebook_fixtures import require, run, run_captured, skip_or_fail

from opencrate_nb.core import gather


def _cells(*sources, failed=()):
    return [
        {"source": s, "execution_count": i + 1, "metadata": {"opencrate": {"status": "error" if i in failed else "ok"}}}
        for i, s in enumerate(sources)
    ]


def _slice(cells, target=-1):
    target = target % len(cells)
    return [cells[i]["source"] for i in gather.slice_of(cells, target)]


def test_names_used_defined_and_killed():
    names = gather.cell_names("import numpy as np\nx = np.ones(3)\ny = x + z\nitems.append(y)\ncount += 1")
    assert names.uses == {"z", "items", "count"}  # np and x are bound before they are read
    assert names.kills == {"np", "x", "y"} and names.changes == {"count"} and "items" in names.calls
    assert gather.cell_names("def f(a, b=k):\n    return a * factor").uses == {"k", "factor"}
    assert gather.cell_names("%crate save m.json model").uses >= {gather.EXTENSION, "model"}
    assert gather.cell_names("%load_ext opencrate").kills == {gather.EXTENSION}
    assert gather.cell_names("%%capture out\nprint(1)").kills == {"out"}
    assert gather.cell_names("files = !ls\nprint(files)").kills == {"files"}
    assert gather.cell_names("np.zeros?\nx = 1").kills == {"x"}  # help lines are IPython, not Python
    assert gather.cell_names("x = (").uses == {"x"}  # unreadable: every name in it counts as used


def test_slice_follows_what_the_saving_cell_needs():
    cells = _cells(
        "%load_ext opencrate",
        "import numpy as np\nimport opencrate as oc",
        "%crate setup demo",
        "np.random.seed(0)",
        "data = np.random.rand(10)",
        "unrelated = np.zeros(3)",
        "def scale(x):\n    return x * factor",
        "factor = 3",
        "print(unrelated)",
        "result = scale(data)",
        "oc.snapshot.json('m.json').save({'mean': float(result.mean())})",
    )
    assert _slice(cells) == [
        "%load_ext opencrate",
        "import numpy as np\nimport opencrate as oc",
        "%crate setup demo",  # where the artifact went
        "np.random.seed(0)",  # seeding changes np's state
        "data = np.random.rand(10)",
        "def scale(x):\n    return x * factor",
        "factor = 3",  # defined after scale, read when scale is called
        "result = scale(data)",
        "oc.snapshot.json('m.json').save({'mean': float(result.mean())})",
    ]


def test_reassignment_ends_the_search_and_changes_in_place_do_not():
    cells = _cells("x = [1]", "x = [2]", "x.append(3)", "y = 0", "y += 1", "print(x, y)")
    assert _slice(cells) == ["x = [2]", "x.append(3)", "y = 0", "y += 1", "print(x, y)"]


def test_failed_cells_are_left_out():
    cells = _cells("x = 1", "x = 1 / 0", "print(x)", failed=(1,))
    assert _slice(cells) == ["x = 1", "print(x)"]


def test_a_thousand_cells_are_sliced_through_the_cache(tmp_path):
    cells = _cells(*[f"x{i} = x{i - 1} + 1 if {i} else 0\ny{i} = {i}" for i in range(1000)])
    (tmp_path / ".crate").mkdir()
    names = gather.analyse(cells, str(tmp_path))
    assert (tmp_path / ".crate" / gather.NAMES_FILE).exists()
    gather._memo.clear()
    assert gather.analyse(cells, str(tmp_path)) == names  # read back, not parsed again
    assert len(gather.slice_of(cells, 999, names)) == 1000


# -- in a shell ----------------------------------------------------------------------------------------
def test_artifact_lineage_and_gather(crate, workdir):
    nbformat = require("nbformat", "gathered notebooks")
    import opencrate as oc

    run(crate, "import opencrate as oc")
    run(crate, "data = [3, 1, 2]")
    run(crate, "noise = 'unrelated'")
    run(crate, "data.sort()")
    run(crate, "oc.snapshot.json('m.json').save({'first': data[0]})")
    found = oc.snapshot.json("m.json").lineage()
    sources = [c["source"] for c in found.cells]
    assert sources == [
        "%crate setup nbtest",
        "import opencrate as oc",
        "data = [3, 1, 2]",
        "data.sort()",
        "oc.snapshot.json('m.json').save({'first': data[0]})",
    ]
    assert found.cell["source"] == sources[-1] and found.warnings == []
    assert "m.json: saved by In [" in str(found)

    _, out, _, _ = run_captured(crate, "%crate gather m.json -o slice.ipynb")
    assert "wrote 5 cell(s) to slice.ipynb" in out
    notebook = nbformat.read(str(workdir / "slice.ipynb"), as_version=4)
    nbformat.validate(notebook)
    assert [c.source for c in notebook.cells] == sources
    assert all(c.outputs == [] and c.execution_count is None for c in notebook.cells)
    assert notebook.metadata.opencrate.gathered_for == "jsons/m.json"


def test_an_artifact_saved_outside_a_captured_cell_has_no_lineage(crate):
    import opencrate as oc

    oc.snapshot.json("outside.json").save({"a": 1})  # not from a cell
    with pytest.raises(gather.LineageError, match="not saved by a captured cell"):
        oc.snapshot.json("outside.json").lineage()
    result = run(crate, "%crate gather outside.json")
    assert not result.success and "not saved by a captured cell" in str(result.error_in_exec)


def test_warnings_for_edited_cells_and_cells_run_out_of_order(crate, workdir, monkeypatch):
    import inspect

    if "cell_id" not in inspect.signature(crate.run_cell).parameters:
        skip_or_fail("this IPython's run_cell takes no cell_id (IPython 8)")
    from opencrate_nb.notebook import preview

    # the notebook as the front end has it: "save" sits above "define"
    front = {"cells": [{"id": "save", "cell_type": "code"}, {"id": "define", "cell_type": "code"}]}
    (workdir / "train.ipynb").write_text(json.dumps(front))
    monkeypatch.setenv("JPY_SESSION_NAME", str(workdir / "train.ipynb"))
    run(crate, "%crate setup ordered")
    crate.run_cell("import opencrate as oc\nk = 1", store_history=True, cell_id="define")
    crate.run_cell("oc.snapshot.json('m.json').save({'k': k})", store_history=True, cell_id="save")
    crate.run_cell("import opencrate as oc\nk = 2", store_history=True, cell_id="define")  # edited, re-run
    import opencrate as oc

    warnings = oc.snapshot.json("m.json").lineage().warnings
    assert any("sits above it in the notebook" in w for w in warnings)
    assert any("was edited and re-run later" in w for w in warnings)
    assert "was edited and re-run later" in preview.artifact_card(oc.snapshot.json("m.json"))
    _, _, _, outputs = run_captured(crate, "%crate status")
    text = outputs[0].data["text/plain"]
    assert "lineage of m.json" in text and "edited and re-run later" in text
