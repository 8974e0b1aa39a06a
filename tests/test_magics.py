"""The %crate and %%crate magics (opencrate_nb/notebook/magics.py), in a real IPython shell."""

import json
import os
import re

import pytest
from _notebook_fixtures import forget_snapshot, require, run, run_captured
from IPython.core.error import UsageError

import opencrate as oc
from opencrate_nb.notebook import magics


def usage_error(result):
    """The UsageError a cell ended with (IPython shows it as one line, without a traceback)."""
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    return str(result.error_in_exec)


def shown(line_or_result):
    """Everything a cell showed as text: stdout plus the text/plain of displayed objects."""
    _, out, _, outputs = line_or_result
    return out + "".join(o.data.get("text/plain", "") + "\n" for o in outputs)


def ok(result):
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


# -- help -------------------------------------------------------------------------------------
def test_help_lists_every_subcommand(ip):
    for line in ("%crate", "%crate help", "%crate --help"):
        _, out, _, _ = run_captured(ip, line)
        for sub in magics.COMMANDS:
            assert f"%crate {sub}" in out
        assert "%%crate save NAME" in out


def test_question_mark_help_is_the_docstring(ip):
    doc = ip.find_line_magic("crate").__doc__
    for sub in (
        "setup",
        "status",
        "versions",
        "ls",
        "show",
        "load",
        "save",
        "backup",
        "backups",
        "rm",
        "log",
        "diff",
        "browse",
        "capture",
    ):
        assert f"%crate {sub}" in doc
    _, out, _, _ = run_captured(ip, "%crate?")
    assert "%crate setup NAME [--new | --last | --version N]" in out and "%%crate save NAME" in out


def test_help_of_one_subcommand(ip):
    _, out, _, _ = run_captured(ip, "%crate help setup")
    assert "usage: %crate setup NAME [--new | --last | --version N]" in out
    assert "--log-level LEVEL" in out
    _, out2, _, _ = run_captured(ip, "%crate setup --help")
    assert out2 == out
    _, out3, _, _ = run_captured(ip, "%%crate save --help\nx")
    assert "usage: %%crate save NAME [--kind KIND] [--raw]" in out3


def test_unknown_subcommand_suggests(ip):
    message = usage_error(run(ip, "%crate shwo x"))
    assert "Did you mean 'show'" in message
    assert "setup" in message


def test_bad_options_are_usage_errors(crate):
    assert "unrecognized arguments" in usage_error(run(crate, "%crate ls --frobnicate"))
    assert "required" in usage_error(run(crate, "%crate show"))
    assert "invalid int value" in usage_error(run(crate, "%crate log -n many"))


def test_cell_magic_other_than_save(ip):
    message = usage_error(run(ip, "%%crate ls\nx = 1"))
    assert "%%crate save NAME" in message


def test_commands_need_a_snapshot(ip):
    for line in (
        "%crate ls",
        "%crate show a.json",
        "%crate load a.json",
        "%crate versions",
        "%crate log",
        "%crate diff",
        "%crate save a.json x",
        "%crate backup a.json",
        "%crate rm a.json --confirm",
    ):
        assert "%crate setup NAME" in usage_error(run(ip, line)), line


# -- setup, status, versions ----------------------------------------------------------------------
def test_setup_new_last_version_tag(ip):
    _, out, _, _ = run_captured(ip, "%crate setup exp")
    assert out.startswith("\u2713 snapshot exp v0 at ")
    assert oc.snapshot.version == 0
    ok(run(ip, "%crate setup exp --new"))
    assert oc.snapshot.version == 1
    ok(run(ip, "%crate setup exp --version 0"))
    assert oc.snapshot.version == 0
    ok(run(ip, "%crate setup exp --last"))
    assert oc.snapshot.version == 1
    ok(run(ip, "%crate setup exp --new --tag baseline --log-level debug"))
    assert oc.snapshot.version_name == "v2:baseline"
    assert oc.snapshot.dir_path == os.path.join("snapshots", "exp", "v2:baseline")


def test_setup_root(ip, workdir):
    ok(run(ip, "%crate setup exp --root runs"))
    assert os.path.isdir(workdir / "runs" / "exp" / "v0")


def test_setup_mistakes(ip):
    assert "only one of" in usage_error(run(ip, "%crate setup exp --last --version 2"))
    assert "Unknown log level" in usage_error(run(ip, "%crate setup exp --log-level loud"))
    assert "Invalid snapshot name" in usage_error(run(ip, "%crate setup a:b/c"))
    assert "Invalid tag" in usage_error(run(ip, "%crate setup exp --tag a:b"))
    assert not oc.snapshot.is_set_up


def test_status(ip):
    out = shown(run_captured(ip, "%crate status"))
    assert "no snapshot set up" in out and "capture: on" in out
    ok(run(ip, "%crate setup stat"))
    oc.snapshot.json("a.json").save({"a": 1})
    captured = run_captured(ip, "%crate status")
    out, outputs = shown(captured), captured[3]
    assert "snapshot:    stat" in out
    assert "version:     v0" in out
    assert "artifacts:   1" in out
    assert "capture:     on" in out
    html = outputs[0].data["text/html"]
    assert "<th" not in html and "<td" in html and "stat" in html  # rows of name and value, no empty heading
    ok(run(ip, "%crate capture off"))
    assert "capture:     off" in shown(run_captured(ip, "%crate status"))


def _status_lines(shell):
    """The lines of %crate status, with runs of spaces made one (the column width varies)."""
    return [" ".join(line.split()) for line in shown(run_captured(shell, "%crate status")).splitlines()]


def test_status_compares_the_environment_with_the_previous_run(ip):
    import platform

    from opencrate_nb.core import environment

    ok(run(ip, "%crate setup envs"))
    assert "environment: first run of this snapshot" in _status_lines(ip)
    ok(run(ip, "%crate setup envs"))
    assert "environment: same as v0" in _status_lines(ip)
    # v0 ran on another Python, on another machine (its env.json says so)
    path = environment.env_path(os.path.join("snapshots", "envs", "v0"))
    with open(path) as f:
        data = json.load(f)
    data["runs"][-1].update(python="3.0.1", host="elsewhere")
    data["runs"][-1]["packages"].update({"loguru": "0.0.1", "only-then": "1.0"})  # the second: not used now
    with open(path, "w") as f:
        json.dump(data, f)
    lines = _status_lines(ip)
    assert "environment: differs from v0:" in lines
    assert f"python: 3.0.1 -> {platform.python_version()}" in lines
    assert any(line.startswith("host: elsewhere -> ") for line in lines), lines
    assert any(line.startswith("packages.loguru: 0.0.1 -> ") for line in lines), lines
    assert not any("only-then" in line for line in lines)  # a package this run has not used is no change
    # resuming v1 compares with v1's own previous run
    ok(run(ip, "%crate setup envs --last"))
    assert "environment: same as the previous run of v1" in _status_lines(ip)


def test_status_survives_a_broken_env_file(ip):
    from opencrate_nb.core import environment

    ok(run(ip, "%crate setup broken"))
    ok(run(ip, "%crate setup broken"))
    with open(environment.env_path(os.path.join("snapshots", "broken", "v0")), "w") as f:
        f.write("{not json")
    lines = _status_lines(ip)
    assert "version: v1" in lines
    assert "environment: not recorded for v0, nothing to compare with" in lines


def test_diff_two_versions(ip):
    ok(run(ip, "%crate setup cmp"))
    assert "first version" in usage_error(run(ip, "%crate diff"))
    ok(run(ip, "%%crate save m.json\n{'lr': 1}"))
    ok(run(ip, "%%crate save gone.json\n{'x': 1}"))
    ok(run(ip, "%crate setup cmp --tag next"))
    ok(run(ip, "%%crate save m.json\n{'lr': 2}"))
    ok(run(ip, "%%crate save notes.txt --raw\nhello"))
    for line in ("%crate diff", "%crate diff 0", "%crate diff v0 1", "%crate diff 0 v1:next"):
        result, out, _, outputs = run_captured(ip, line)
        ok(result)
        [shown_diff] = outputs
        text, html = shown_diff.data["text/plain"], shown_diff.data["text/html"]
        assert text.startswith("diff cmp/v0 -> cmp/v1:next: 1 added, 1 removed, 1 changed"), (line, text)
        assert "lr: 1 -> 2" in text
        assert "+ texts/notes.txt" in text and "jsons/gone.json" in html and "opencrate-diff" in html
    assert "has no version 7" in usage_error(run(ip, "%crate diff 7"))
    assert "No snapshot named 'elsewhere'" in usage_error(run(ip, "%crate diff elsewhere/v0"))
    forget_snapshot()  # a new kernel: two versions named in full need no setup
    result, _, _, outputs = run_captured(ip, "%crate diff cmp/v0 cmp/v1:next")
    ok(result)
    assert outputs[0].data["text/plain"].startswith("diff cmp/v0 -> cmp/v1:next: 1 added, 1 removed, 1 changed")


def test_diff_by_a_number_shared_by_two_folders_names_both(ip):
    ok(run(ip, "%crate setup demo --tag try"))
    ok(run(ip, "%%crate save m.json\n{'lr': 1}"))
    ok(run(ip, "%crate setup demo --version 0"))
    message = usage_error(run(ip, "%crate diff 0 v0:try"))
    assert "Version 0 of 'demo' is ambiguous" in message and "'v0' or 'v0:try'" in message
    result, _, _, outputs = run_captured(ip, "%crate diff v0:try v0")
    ok(result)
    assert outputs[0].data["text/plain"].startswith("diff demo/v0:try -> demo/v0: 0 added, 1 removed")


def _browser_shown(shell, line):
    """Run a %crate browse line; returns the browser it displayed (closed again by the caller)."""
    from opencrate_nb.notebook import browser

    result, _, _, outputs = run_captured(shell, line)
    ok(result)
    [output] = outputs
    assert "application/vnd.jupyter.widget-view+json" in output.data
    shown_now = [ref() for ref in browser._live.values()]
    [widget] = [w for w in shown_now if w is not None and not w.closed]
    return widget


def test_browse_shows_the_widget_of_the_right_root(ip, workdir):
    require("ipywidgets", "the browser widget")
    widget = _browser_shown(ip, "%crate browse")  # nothing set up: the default root
    assert widget.root == "snapshots"
    widget.close()
    os.makedirs("elsewhere")
    ok(run(ip, "%crate setup br --root elsewhere"))
    widget = _browser_shown(ip, "%crate browse")  # the current snapshot's root
    assert widget.root == "elsewhere"
    widget.close()
    os.makedirs("snapshots")
    widget = _browser_shown(ip, "%crate browse --root snapshots")
    assert widget.root == "snapshots"
    widget.close()
    assert "'nowhere' does not exist" in usage_error(run(ip, "%crate browse --root nowhere"))
    with open("a_file", "w"):
        pass
    assert "'a_file' is a file, not a folder" in usage_error(run(ip, "%crate browse --root a_file"))


def test_versions(ip):
    ok(run(ip, "%crate setup ver --tag first"))
    ok(run(ip, "%crate setup ver"))
    _, out, _, _ = run_captured(ip, "%crate versions")
    assert out.splitlines() == ["ver in snapshots:", "  v0:first", "* v1"]


# -- save, load, show, ls -----------------------------------------------------------------------
def test_save_and_load_variable(crate):
    ok(run(crate, "metrics = {'loss': 0.25, 'acc': [0.5, 0.75]}"))
    _, out, _, _ = run_captured(crate, "%crate save metrics.json metrics")
    assert out.startswith("\u2713 saved metrics.json (json, ")
    assert oc.snapshot.json("metrics.json").load() == {"loss": 0.25, "acc": [0.5, 0.75]}
    result = ok(run(crate, "%crate load metrics.json"))
    assert result.result == {"loss": 0.25, "acc": [0.5, 0.75]}
    _, out, _, _ = run_captured(crate, "%crate load metrics.json -o loaded")
    assert crate.user_ns["loaded"] == {"loss": 0.25, "acc": [0.5, 0.75]}
    assert "loaded metrics.json into loaded (dict)" in out
    ok(run(crate, "again = %crate load metrics.json"))
    assert crate.user_ns["again"]["loss"] == 0.25


def test_save_kind_from_value_and_expression(crate):
    ok(run(crate, "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2], 'b': [3, 4]})\nnote = 'hello'"))
    ok(run(crate, "%crate save table df"))
    assert oc.snapshot.csv("table.csv").exists
    ok(run(crate, "%crate save note note"))
    assert oc.snapshot.text("note.txt").load() == "hello"
    ok(run(crate, "%crate save first_row.json df.iloc[0].to_dict()"))
    assert oc.snapshot.json("first_row.json").load() == {"a": 1, "b": 3}
    ok(run(crate, "%crate save notes.yaml note --kind yaml"))
    assert oc.snapshot.yaml("notes.yaml").load() == "hello"


def test_save_mistakes(crate):
    assert "No variable named 'nothing'" in usage_error(run(crate, "%crate save a.json nothing"))
    ok(run(crate, "thing = object()"))
    message = usage_error(run(crate, "%crate save mystery thing"))
    assert "Cannot tell which kind" in message and "--kind" in message
    ok(run(crate, "samples = [0.0, 0.1]"))
    assert "sample rate" in usage_error(run(crate, "%crate save a.wav samples"))
    assert "does not write" in usage_error(run(crate, "%crate save a.bin samples --kind json"))


def test_load_missing_suggests(crate):
    oc.snapshot.json("metrics.json").save({})
    message = usage_error(run(crate, "%crate load metric.json"))
    assert "No artifact named 'metric.json'" in message
    assert "Did you mean 'metrics.json'" in message
    assert "-o needs a variable name" in usage_error(run(crate, "%crate load metrics.json -o 1x"))


class _Labels:
    """A custom handler storing text in a file at self.path."""

    def save(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def load(self):
        with open(self.path) as f:
            return f.read()


def test_load_of_a_damaged_file_is_a_usage_error(crate):
    oc.snapshot.json("damaged.json").save({"a": 1})
    with open(oc.snapshot.json("damaged.json").path, "w") as f:
        f.write("{not json")
    message = usage_error(run(crate, "%crate load damaged.json"))
    assert message.startswith("'damaged.json' is corrupt: it is not valid JSON (JSONDecodeError: ")


def test_name_in_several_kinds_needs_kind(crate):
    oc.snapshot.text("notes.txt").save("plain")
    oc.snapshot.labels("notes.txt", handler=_Labels).save("labelled")
    message = usage_error(run(crate, "%crate load notes.txt"))
    assert "several kinds (labels, text)" in message and "--kind" in message
    assert ok(run(crate, "%crate load notes.txt --kind labels")).result == "labelled"
    assert ok(run(crate, "%crate load notes.txt --kind text")).result == "plain"


def test_show_displays_a_card(crate):
    oc.snapshot.json("metrics.json").save({"loss": 0.5})
    _, out, _, outputs = run_captured(crate, "%crate show metrics.json")
    assert len(outputs) == 1
    html = outputs[0].data["text/html"]
    assert "metrics.json" in html and "opencrate-card" in html and "loss" in html
    assert outputs[0].data["text/plain"].startswith("metrics.json (json): ")
    assert "No artifact" in usage_error(run(crate, "%crate show nothing.json"))


def test_ls(crate):
    _, out, _, _ = run_captured(crate, "%crate ls")
    assert out.strip() == "no artifacts in nbtest v0"
    ok(run(crate, "x = {'a': 1}"))
    ok(run(crate, "%crate save metrics.json x"))
    oc.snapshot.text("notes.txt").save("hi")
    lines = shown(run_captured(crate, "%crate ls")).strip().splitlines()
    assert lines[0].split() == ["name", "kind", "size", "modified", "cell"]  # no empty note column
    ok(run(crate, "%crate backup metrics.json --tag best"))
    captured = run_captured(crate, "%crate ls")
    out, outputs = shown(captured), captured[3]
    lines = out.strip().splitlines()
    assert lines[0].split() == ["name", "kind", "size", "modified", "cell", "note"]
    by_name = {line.split()[0]: line for line in lines[1:]}
    assert set(by_name) == {"metrics.json", "metrics.backup_best.json", "notes.txt"}
    assert "In [" in by_name["metrics.json"]  # saved by a cell
    assert "backup of metrics.json" in by_name["metrics.backup_best.json"]
    assert "<table" in outputs[0].data["text/html"]
    out = shown(run_captured(crate, "%crate ls *.txt"))
    assert "notes.txt" in out and "metrics.json" not in out
    out = shown(run_captured(crate, "%crate ls --kind json"))
    assert "notes.txt" not in out and "metrics.json" in out
    _, out, _, _ = run_captured(crate, "%crate ls *.csv")
    assert "no artifacts matching '*.csv'" in out


# -- backup, backups, rm --------------------------------------------------------------------------
def test_backup_and_backups(crate):
    oc.snapshot.json("m.json").save({"v": 1})
    _, out, _, _ = run_captured(crate, "%crate backups m.json")
    assert out.strip() == "no backups of m.json"
    _, out, _, _ = run_captured(crate, "%crate backup m.json --tag one")
    assert out.strip() == "\u2713 backed up m.json as m.backup_one.json"
    ok(run(crate, "%crate backup m.json"))
    _, out, _, _ = run_captured(crate, "%crate backups m.json")
    names = out.split()
    assert names[0] == "m.backup_one.json" and len(names) == 2 and names[1].startswith("m.backup_")
    oc.snapshot.json("m.json").save({"v": 2})
    assert "already exists with other content" in usage_error(run(crate, "%crate backup m.json --tag one"))


def test_rm_needs_confirm(crate):
    oc.snapshot.json("m.json").save({"v": 1})
    message = usage_error(run(crate, "%crate rm m.json"))
    assert "--confirm" in message and "Nothing was deleted" in message
    assert oc.snapshot.json("m.json").exists
    _, out, _, _ = run_captured(crate, "%crate rm m.json --confirm")
    assert out.strip() == "\u2713 deleted m.json"
    assert not oc.snapshot.json("m.json").exists
    assert "No artifact" in usage_error(run(crate, "%crate rm m.json --confirm"))


# -- log, capture ----------------------------------------------------------------------------------
def test_log_tail_level_and_history(crate):
    import opencrate as oc

    oc.warning("first warning")
    oc.info("an info")
    ok(run(crate, "print('printed by a cell')"))
    _, out, _, _ = run_captured(crate, "%crate log -n 0")
    assert "first warning" in out and "an info" in out and "printed by a cell" in out
    _, out, _, _ = run_captured(crate, "%crate log --level warning -n 0")
    assert "first warning" in out and "an info" not in out
    _, out, _, _ = run_captured(crate, "%crate log -n 1")
    assert out.count(" - INFO ") + out.count(" - WARNING ") == 1
    _, out, _, _ = run_captured(crate, "%crate log --history")
    assert "no history log yet" in out
    ok(run(crate, "%crate setup nbtest --last"))
    ok(run(crate, "print('second run')"))
    _, out, _, _ = run_captured(crate, "%crate log --history -n 0")
    assert "first warning" in out and "second run" in out
    assert "Unknown level" in usage_error(run(crate, "%crate log --level loud"))
    assert "-n needs" in usage_error(run(crate, "%crate log -n -2"))


def _stamped(text):
    """The lines of log text that start an entry."""
    return [line for line in text.splitlines() if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - [A-Z]+ ", line)]


def test_log_counts_entries_as_crate_log_does(crate):
    ok(run(crate, "print('line one')\nprint('line two')"))  # one entry: the cell, its output below it
    ok(run(crate, "%crate capture off"))  # so that the cells below do not add entries
    oc.info("after the cell")
    _, out, _, _ = run_captured(crate, "%crate log -n 4")
    assert len(_stamped(out)) == 4 and "line one\nline two" in out
    assert out.rstrip("\n").endswith("INFO     after the cell")
    _, cli_out, _, _ = run_captured(
        crate, "from opencrate_nb.cli import main\nstatus = main(['log', 'nbtest', '-n', '4'])"
    )
    assert cli_out == out  # the same parser: the same entries


def test_capture_on_off(crate):
    _, out, _, _ = run_captured(crate, "%crate capture")
    assert out.strip() == "capture is on"
    ok(run(crate, "%crate capture off"))
    ok(run(crate, "print('not logged')"))
    ok(run(crate, "%crate capture on"))
    ok(run(crate, "print('logged again')"))
    from _notebook_fixtures import log_text

    text = log_text()
    assert "not logged" not in text and "logged again" in text
    assert "cell capture turned off" in text and "cell capture turned on" in text
    assert "Use %crate capture on" in usage_error(run(crate, "%crate capture maybe"))


# -- %%crate save --------------------------------------------------------------------------------
def test_cell_save_dataframe_output_then_confirmation(crate):
    result, out, _, outputs = run_captured(
        crate, "%%crate save results.csv\nimport pandas as pd\nprint('computing')\npd.DataFrame({'a': [1, 2]})"
    )
    ok(result)
    lines = out.splitlines()
    assert lines[0] == "computing"
    # the cell's own result is still shown (a terminal shell prints it as Out[n]), then the confirmation
    assert lines[1].startswith("Out[") and lines[2].split() == ["a"]
    assert lines[-1].startswith("\u2713 saved results.csv (csv, ")
    frame = oc.snapshot.csv("results.csv").load()
    assert list(frame["a"]) == [1, 2]


def test_cell_save_links_to_its_cell(crate):
    result = ok(run(crate, "%%crate save linked.json\n{'a': 1}"))
    entry = oc.snapshot.json("linked.json").last_record()
    assert entry["cell"]["execution_count"] == result.execution_count


@pytest.mark.parametrize(
    "cell, name, kind",
    [
        ("{'a': 1}", "d", "json"),
        ("[1, 2, 3]", "l", "json"),
        ("'some text'", "t", "text"),
        ("import numpy as np\nnp.zeros((8, 8, 3), dtype=np.uint8)", "img", "image"),
        ("from PIL import Image\nImage.new('RGB', (4, 4))", "pil", "image"),
        (
            "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nfig = plt.figure()\n"
            "plt.plot([1, 2])\nfig",
            "fig",
            "image",
        ),
        ("import torch\ntorch.nn.Linear(2, 1).state_dict()", "sd", "checkpoint"),
        ("import torch\ntorch.nn.Linear(2, 1)", "module", "checkpoint"),
    ],
)
def test_cell_save_kind_from_value(crate, cell, name, kind):
    if "torch" in cell:
        require("torch", "saving torch values")
    ok(run(crate, f"%%crate save {name}\n{cell}"))
    found = [a for a in oc.snapshot.list_artifacts() if os.path.splitext(a.name)[0] == name]
    assert len(found) == 1 and found[0].kind == kind


def test_cell_save_semicolon_hides_output_but_saves(crate):
    result, out, _, outputs = run_captured(crate, "%%crate save quiet.json\n{'a': 1};  # quiet")
    ok(result)
    assert outputs == [] and result.result is None
    assert out.startswith("\u2713 saved quiet.json") and "{'a': 1}" not in out  # no Out[...] line
    assert oc.snapshot.json("quiet.json").load() == {"a": 1}
    result, out, _, _ = run_captured(crate, "%%crate save loud.json\n{'b': 2}")
    assert "{'b': 2}" in out.split("\u2713")[0]  # shown, then the confirmation


def test_cell_save_value_the_handler_refuses(crate):
    require("numpy", "saving arrays")
    message = usage_error(run(crate, "%%crate save flat.png\nimport numpy as np\nnp.zeros(3)"))
    assert message.startswith("Could not save 'flat.png' as image: Cannot save an array of shape (3,)")
    assert not oc.snapshot.image("flat.png").exists
    assert not [n for n in os.listdir(os.path.dirname(oc.snapshot.image("flat.png").path)) if "flat" in n]


def test_cell_save_mistakes(crate):
    message = usage_error(run(crate, "%%crate save a.json\nx_assigned = {'a': 1}"))
    assert "does not end with" in message and "Nothing was run" in message
    assert "x_assigned" not in crate.user_ns
    result, _, _, _ = run_captured(crate, "%%crate save b.json\n1 / 0")
    assert "raised ZeroDivisionError" in usage_error(result)
    assert not oc.snapshot.json("b.json").exists
    assert "is None" in usage_error(run(crate, "%%crate save c.json\nprint('x')"))
    result, _, _, _ = run_captured(crate, "%%crate save d.json\nx = (")
    assert "raised SyntaxError" in usage_error(result)


def test_cell_save_raw_yaml_keeps_text(crate):
    cell = "# learning setup\nlr: 0.001  # small\nlayers: [64, 32]\n"
    ok(run(crate, f"%%crate save config.yaml --raw\n{cell}"))
    artifact = oc.snapshot.yaml("config.yaml")
    with open(artifact.path) as f:
        assert f.read() == cell
    assert artifact.load() == {"lr": 0.001, "layers": [64, 32]}
    result = ok(run(crate, "%crate load config.yaml"))
    assert result.result["layers"] == [64, 32]


def test_cell_save_raw_json_text_and_errors(crate):
    ok(run(crate, '%%crate save params.json --raw\n{"a": 1, "b": [true, null]}'))
    assert oc.snapshot.json("params.json").load() == {"a": 1, "b": [True, None]}
    ok(run(crate, "%%crate save readme --raw\nfree text, not python"))
    assert oc.snapshot.text("readme.txt").load().rstrip("\n") == "free text, not python"
    assert "not valid JSON" in usage_error(run(crate, "%%crate save bad.json --raw\n{nope"))
    assert "not valid YAML" in usage_error(run(crate, "%%crate save bad.yaml --raw\na: [1"))
    assert "works with yaml, json and text" in usage_error(run(crate, "%%crate save t.csv --raw\na,b"))
    assert not oc.snapshot.json("bad.json").exists


def test_cell_save_kind_option(crate):
    ok(run(crate, "%%crate save settings.yml --kind yaml\n{'a': 1}"))
    assert oc.snapshot.yaml("settings.yml").load() == {"a": 1}
    with open(oc.snapshot.yaml("settings.yml").path) as f:
        assert json.dumps(f.read())  # plain YAML text


def test_errors_from_core_are_one_line_usage_errors(crate):
    from opencrate_nb.core.errors import InvalidNameError

    oc.snapshot.json("m.json").save({"v": 1})
    with pytest.raises(InvalidNameError) as raised:
        oc.snapshot.json("m.json").backup(tag="a/b")
    assert usage_error(run(crate, "%crate backup m.json --tag a/b")) == str(raised.value)
    assert usage_error(run(crate, "%%crate save bad/name.json\n{'a': 1}")).startswith("Invalid")


def test_enumerations_are_declared_as_choices(ip):
    def choices(sub, dest):
        [action] = [a for a in magics.SUBCOMMANDS[sub].parser._actions if a.dest == dest]
        return tuple(action.choices)

    assert choices("setup", "log_level") == choices("log", "level") == magics.LOG_LEVELS
    assert choices("capture", "state") == magics.CAPTURE_STATES == ("on", "off")
    ok(run(ip, "%crate setup exp --log-level DEBUG"))  # any case
    oc.debug("a detail")
    from _notebook_fixtures import log_text

    assert "DEBUG    a detail" in log_text()


def test_destructive_subcommands_take_confirm(crate):
    destructive = {name for name, sub in magics.SUBCOMMANDS.items() if sub.destructive}
    assert destructive == {"rm"}
    assert "--confirm    required: this cannot be undone" in shown(run_captured(crate, "%crate rm --help"))
    oc.snapshot.json("kept.json").save({})
    message = usage_error(run(crate, "%crate rm kept.json"))
    assert message == "%crate rm deletes kept.json for good: add --confirm to do it. Nothing was deleted."
    assert oc.snapshot.json("kept.json").exists
