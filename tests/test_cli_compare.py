"""``crate compare NAME`` (opencrate_nb/cli/_compare.py): the comparison as a terminal table, CSV,
Markdown or JSON, with the options of oc.snapshot.compare, and errors as one line with status 2."""

import csv
import io
import json
import os

import pytest
from _notebook_fixtures import forget_snapshot

import opencrate as oc
from opencrate_nb.cli import main
from opencrate_nb.core import environment


@pytest.fixture
def sweep(workdir):
    """Three versions of 'sweep' differing in lr and accuracy; one config key the same everywhere."""
    for number, lr in enumerate((0.1, 0.01, 0.001)):
        oc.snapshot.setup(name="sweep", start="new", tag=f"lr{lr}")
        oc.snapshot.json("config.json").save({"lr": lr, "seed": 7})
        oc.snapshot.json("metrics.json").save({"acc": 0.5 + number / 10, "note": "\x1b]0;title\x07"})
    environment.wait()
    forget_snapshot()
    return workdir


def crate(capsys, *argv):
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def test_a_table_of_the_versions_with_only_what_differs(sweep, capsys):
    status, out, _ = crate(capsys, "compare", "sweep")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "compare sweep: 3 versions, 2 differing columns (1 identical in every version hidden)"
    assert lines[1].split()[-2:] == ["config.lr", "metrics.acc"]
    assert [line.split()[0] for line in lines[2:]] == ["v0:lr0.1", "v1:lr0.01", "v2:lr0.001"]
    assert lines[2].split()[-2:] == ["0.1", "0.5"]


def test_all_ignore_sort_and_versions(sweep, capsys):
    _, out, _ = crate(capsys, "compare", "sweep", "--all", "--ignore", "*.lr", "--sort=-acc", "--version", "0")
    lines = out.splitlines()
    assert "config.seed" in lines[1] and "config.lr" not in lines[1]
    assert [line.split()[0] for line in lines[2:]] == ["v0:lr0.1"]
    _, out, _ = crate(capsys, "compare", "sweep", "--sort=-acc")
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["v2:lr0.001", "v1:lr0.01", "v0:lr0.1"]


def test_csv_markdown_and_json(sweep, capsys):
    _, out, _ = crate(capsys, "compare", "sweep", "--csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][-2:] == ["config.lr", "metrics.acc"] and rows[3][-2:] == ["0.001", "0.7"]
    _, out, _ = crate(capsys, "compare", "sweep", "--markdown")
    assert out.splitlines()[0].startswith("| version | number | tag |")
    _, out, _ = crate(capsys, "compare", "sweep", "--json")
    data = json.loads(out)
    assert [c["key"] for c in data["columns"] if c["group"] != "run"] == ["config.lr", "metrics.acc"]
    assert data["rows"][0]["version"] == "v0:lr0.1"
    status, _, err = crate(capsys, "compare", "sweep", "--csv", "--markdown")
    assert status == 2 and "not allowed with argument" in err


def test_errors_say_what_to_do(sweep, capsys):
    status, _, err = crate(capsys, "compare", "nope")
    assert status == 2 and err.startswith("crate: error: No snapshot named 'nope'") and "sweep" in err
    status, _, err = crate(capsys, "compare", "sweep", "--sort", "missing")
    assert status == 2 and "No column 'missing'" in err and "config.lr" in err
    os.makedirs(os.path.join("snapshots", "sweep", "v1"))
    status, _, err = crate(capsys, "compare", "sweep", "--version", "1")
    assert status == 2 and "'v1' or 'v1:lr0.01'" in err


def test_escape_sequences_in_values_are_not_sent_to_a_terminal(sweep, capsys, monkeypatch):
    import sys

    _, out, _ = crate(capsys, "compare", "sweep", "--all", "--json")
    assert "metrics.note" not in out  # a string is no metric
    oc.snapshot.setup(name="sweep", start="new")
    oc.snapshot.json("config.json").save({"lr": "\x1b[31mred", "seed": 7})
    environment.wait()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    status, out, _ = crate(capsys, "compare", "sweep")
    assert status == 0 and "\x1b" not in out and "^[[31mred" in out
