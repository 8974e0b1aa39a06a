"""The ``crate`` command (opencrate_nb/cli/): every sub-command in-process, and the installed
entry point in real subprocesses (exit statuses, --json, --root, --help, progress on stderr)."""

import json
import os
import re
import subprocess
import sys
import unicodedata

import pytest
from _notebook_fixtures import forget_snapshot

import opencrate as oc
from opencrate_nb.cli import main
from opencrate_nb.core import _objects

COMMANDS = (
    "ls",
    "log",
    "show",
    "diff",
    "compare",
    "verify",
    "gc",
    "stats",
    "notebook",
    "reproduce",
    "push",
    "pull",
    "remote",
)


@pytest.fixture
def store(workdir):
    """Two versions of 'exp' (v1 tagged) and one of 'other'; no snapshot left set up."""
    oc.snapshot.setup(name="exp")
    oc.info("first run")
    oc.snapshot.json("metrics.json").save({"loss": 0.5})
    oc.snapshot.text("notes.txt").save("a\nb\n")
    oc.snapshot.setup(name="exp", start="new", tag="tuned")
    oc.info("second run")
    metrics = oc.snapshot.json("metrics.json")
    metrics.save({"loss": 0.4})
    metrics.save({"loss": 0.3})
    oc.snapshot.csv("table.csv").save([[1, 2]])
    oc.snapshot.setup(name="other")
    oc.snapshot.text("x.txt").save("x")
    forget_snapshot()
    return workdir


def crate(capsys, *argv):
    """Run ``crate argv`` in this process: (exit status, stdout, stderr)."""
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def test_ls(store, capsys):
    status, out, _ = crate(capsys, "ls")
    assert status == 0
    assert [line.split() for line in out.splitlines()] == [
        ["name", "versions", "newest"],
        ["exp", "2", "v1:tuned"],
        ["other", "1", "v0"],
    ]
    status, out, _ = crate(capsys, "ls", "exp", "--json")
    rows = json.loads(out)
    assert [(r["version"], r["artifacts"]) for r in rows] == [("v0", 2), ("v1:tuned", 2)]
    assert rows[1]["tag"] == "tuned" and rows[0]["start"]
    status, out, _ = crate(capsys, "ls", "--root", "elsewhere")
    assert status == 0 and out.strip() == "no snapshots under elsewhere"


def test_log(store, capsys):
    status, out, _ = crate(capsys, "log", "exp")
    assert status == 0 and out.strip().endswith("INFO     second run")
    status, out, _ = crate(capsys, "log", "exp", "--version", "0", "--json")
    data = json.loads(out)
    assert data["version"]["version"] == "v0" and data["entries"][-1]["message"] == "first run"
    assert data["entries"][-1]["level"] == "INFO"
    status, _, err = crate(capsys, "log", "exp", "--history")
    assert status == 2 and "no exp.history.log (it starts when a version is run a second time)" in err


def test_log_counts_entries_and_takes_the_version_as_a_word(store, capsys):
    folder = os.path.join("snapshots", "exp", "v0")
    with open(os.path.join(folder, "exp.log"), "a", encoding="utf-8") as f:
        f.write("2026-12-01 08:22:22 - INFO     cell [3] ok in 10 ms: print(1)\n--- stdout ---\n1\n")
        f.write("2026-12-01 08:22:23 - ERROR    boom\nTraceback (most recent call last):\n  x\n")
    status, out, _ = crate(capsys, "log", "exp", "v0", "-n", "2")
    assert status == 0
    assert out.splitlines() == [
        "2026-12-01 08:22:22 - INFO     cell [3] ok in 10 ms: print(1)",
        "--- stdout ---",
        "1",
        "2026-12-01 08:22:23 - ERROR    boom",
        "Traceback (most recent call last):",
        "  x",
    ]
    _, out, _ = crate(capsys, "log", "exp", "0", "--level", "error")
    assert out.startswith("2026-12-01 08:22:23 - ERROR    boom\n")
    status, _, err = crate(capsys, "log", "exp", "0", "--level", "loud")
    assert status == 2 and "invalid choice: 'loud'" in err
    status, _, err = crate(capsys, "log", "exp", "0", "-n", "-1")
    assert status == 2 and "must be 0 (all) or more" in err
    status, _, err = crate(capsys, "log", "exp", "0", "--version", "1")
    assert status == 2 and "Two versions given" in err


def _crate_on_a_terminal(*argv, env=None):
    """Run ``python -m opencrate_nb.cli argv`` with its stdout on a real pseudo-terminal; what it wrote."""
    import pty
    import sys

    leader, follower = pty.openpty()
    env = {**_crate_env(), **(env or {})}
    env = {k: v for k, v in env.items() if v is not None}  # None: unset it
    try:
        done = subprocess.run(
            [sys.executable, "-m", "opencrate_nb.cli", *argv],
            stdout=follower,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal is closed once everything is read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    assert done.returncode == 0, done.stderr
    return b"".join(chunks).decode("utf-8", "replace")


def test_log_neutralises_control_sequences_on_a_terminal_only(workdir, capsys):
    oc.snapshot.setup(name="esc")
    oc.info("printed \x1b]52;c;aGk=\x07 and \x1b[31mred\x1b[0m")  # a clipboard write, a colour
    forget_snapshot()
    shown = _crate_on_a_terminal("log", "esc", env={"NO_COLOR": "1"})
    assert "\x1b" not in shown and "\x07" not in shown
    assert "printed ^[]52;c;aGk=^G and ^[[31mred^[[0m" in shown
    _, piped, _ = crate(capsys, "log", "esc")  # not a terminal: the log's bytes as they are
    assert "printed \x1b]52;c;aGk=\x07 and \x1b[31mred\x1b[0m" in piped


def test_show(store, capsys):
    status, out, _ = crate(capsys, "show", "exp", "tuned", "metrics.json")
    assert status == 0
    assert out.startswith("exp/v1:tuned/jsons/metrics.json\n  kind     json\n")
    assert "metrics.json: 2 contents" in out and "\n  keys     loss\n" in out  # no Python reprs
    assert re.search(r"\n  size     \d+ B\n", out) and re.search(r"\n  saved    \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n", out)
    assert "\n  cell     -\n" in out  # saved outside a notebook
    oc.snapshot.setup(name="tables")
    oc.snapshot.csv("scores.csv").save([["epoch", "loss"], [1, 0.5], [2, 0.25]])
    forget_snapshot()
    _, out, _ = crate(capsys, "show", "tables", "0", "scores.csv")
    assert (
        "\n  rows     2\n  columns  epoch, loss\n  first rows\n    epoch  loss\n    1      0.5\n    2      0.25\n"
        in out
    )
    status, out, _ = crate(capsys, "show", "exp", "1", "jsons/metrics.json", "--json")
    data = json.loads(out)
    assert data["summary"]["keys"] == ["loss"] and len(data["history"]) == 2
    assert data["history"][0]["available"] is True
    status, _, err = crate(capsys, "show", "exp", "1", "metric.json")
    assert status == 2 and "No artifact 'metric.json' in exp/v1:tuned. Did you mean 'metrics.json'?" in err
    status, _, err = crate(capsys, "show", "exp", "v9", "metrics.json")
    assert status == 2 and "'exp' has no version 'v9'. Versions: v0, v1:tuned" in err


def test_diff(store, capsys):
    status, out, _ = crate(capsys, "diff", "exp", "0", "tuned")
    assert status == 0
    assert out.startswith("diff exp/v0 -> exp/v1:tuned: 1 added, 1 removed, 1 changed, 0 unchanged")
    assert "loss: 0.5 -> 0.3" in out
    status, out, _ = crate(capsys, "diff", "exp", "v0", "other/v0", "--json")
    data = json.loads(out)
    assert data["b"]["name"] == "other" and [a["path"] for a in data["added"]] == ["texts/x.txt"]


def test_verify_exit_status(store, capsys):
    status, out, _ = crate(capsys, "verify")
    assert status == 0 and out.startswith("verify 3 versions: 6 files checked, ok")  # 5 artifacts, 1 kept content
    with open(os.path.join("snapshots", "exp", "v0", "texts", "notes.txt"), "a") as f:
        f.write("tampered")
    status, out, _ = crate(capsys, "verify", "exp", "--json")
    data = json.loads(out)
    assert status == 1 and data["ok"] is False
    assert data["problems"] == [
        {"kind": "corrupted", "where": "exp/v0/texts/notes.txt", "message": data["problems"][0]["message"]}
    ]
    status, _, _ = crate(capsys, "verify", "exp", "--version", "tuned")
    assert status == 0
    status, _, err = crate(capsys, "verify", "nope")
    assert status == 2 and "No snapshot named 'nope'" in err


def test_gc_is_a_dry_run_unless_yes(store, capsys):
    objects = _objects.objects_dir(os.path.join("snapshots", "exp", "v1:tuned"))
    status, out, _ = crate(capsys, "gc", "--keep", "0")
    assert status == 0 and out.startswith("gc would remove 1 item") and "run again with --yes" in out
    assert os.listdir(objects)
    status, out, _ = crate(capsys, "gc", "exp", "--keep", "0", "--dry-run", "--json")
    assert json.loads(out)["dry_run"] is True and os.listdir(objects)
    status, out, _ = crate(capsys, "gc", "--keep", "0", "--yes")
    assert status == 0 and out.startswith("gc removed 1 item")
    assert not any(files for _, _, files in os.walk(objects))
    status, _, err = crate(capsys, "gc", "--dry-run", "--yes")
    assert status == 2 and "not allowed with argument" in err
    status, _, err = crate(capsys, "gc", "--keep", "-1")
    assert status == 2 and "--keep must be 0 or more" in err


def test_stats(store, capsys):
    status, out, _ = crate(capsys, "stats", "exp", "--json")
    data = json.loads(out)
    assert status == 0 and [v["version"] for v in data["versions"]] == ["v0", "v1:tuned"]
    assert data["snapshots"]["exp"]["files"] == 4 and data["total"]["history_contents"] == 1
    status, out, _ = crate(capsys, "stats")
    assert out.split("\n")[-2].split()[:2] == ["total", "5"]


def test_help_for_every_command(capsys):
    status, out, _ = crate(capsys, "--help")
    assert status == 0 and all(command in out for command in COMMANDS)
    for command in COMMANDS:
        status, out, _ = crate(capsys, command, "--help")
        assert status == 0 and f"usage: crate {command}" in out and "--root" in out and "--json" in out
    status, _, err = crate(capsys)
    assert status == 2 and "required: COMMAND" in err


def _crate_command():
    """The crate command as a subprocess runs it: this checkout's cli module (the console script
    ``crate`` is the same function: tests/test_packaging.py checks the declaration, and
    tests/test_install.py runs the installed script)."""
    return [sys.executable, "-m", "opencrate_nb.cli"]


def _crate_env():
    """The environment of a crate subprocess: this checkout first on the import path."""
    from _notebook_fixtures import REPO

    return dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_the_installed_command(store):
    exe = _crate_command()

    def run(*argv):
        return subprocess.run([*exe, *argv], capture_output=True, text=True, timeout=120, env=_crate_env())

    done = run("ls", "--json")
    assert done.returncode == 0 and [r["name"] for r in json.loads(done.stdout)] == ["exp", "other"]
    os.rename("snapshots", "runs")
    assert run("verify").returncode == 0  # nothing under snapshots/: nothing wrong
    assert run("--root", "runs", "verify", "exp").returncode == 0
    os.remove(os.path.join("runs", "exp", "v0", "jsons", "metrics.json"))
    failed = run("verify", "--root", "runs")
    assert failed.returncode == 1 and "missing   exp/v0/jsons/metrics.json" in failed.stdout
    assert run("diff", "exp", "0", "1").returncode == 2


def test_progress_goes_to_stderr(workdir):
    exe = _crate_command()
    oc.snapshot.setup(name="many")
    for n in range(600):
        oc.snapshot.text(f"t{n}.txt").save(str(n))
    forget_snapshot()
    done = subprocess.run([*exe, "verify", "--json"], capture_output=True, text=True, timeout=120, env=_crate_env())
    assert done.returncode == 0 and json.loads(done.stdout)["checked"] == 600
    assert done.stderr.splitlines()[-1] == "verify: 600/600"


def test_file_names_that_are_not_utf8_are_shown_escaped(store):
    from _notebook_fixtures import REPO

    bad = os.path.join(b"snapshots", b"exp", b"v0", b"jsons", b"odd\xff.json")
    with open(bad, "wb") as f:
        f.write(b"{}")
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONIOENCODING="utf-8:strict")

    def run(*argv):
        return subprocess.run(
            [sys.executable, "-m", "opencrate_nb.cli", *argv], capture_output=True, env=env, timeout=120
        )

    done = run("verify", "exp")
    assert done.returncode == 1, done.stderr.decode()
    assert "untracked exp/v0/jsons/odd\\xff.json" in done.stdout.decode("utf-8")
    done = run("verify", "exp", "--json")
    wheres = [p["where"] for p in json.loads(done.stdout)["problems"]]
    assert wheres == ["exp/v0/jsons/odd\\xff.json"]
    for argv in (("ls", "exp"), ("show", "exp", "0", "metrics.json")):
        done = run(*argv)
        assert done.returncode == 0, done.stderr.decode()
    os.makedirs(os.path.join(b"snapshots", b"odd\xfe", b"v0"))
    os.makedirs(os.path.join(b"snapshots", b"exp", b"v7:t\xfe"))
    done = run("ls")
    assert done.returncode == 0 and "odd\\xfe" in done.stdout.decode("utf-8") and "v7:t\\xfe" in done.stdout.decode()
    rows = json.loads(run("ls", "--json").stdout)  # valid JSON in UTF-8, the names escaped
    assert {r["name"] for r in rows} == {"exp", "odd\\xfe", "other"} and "v7:t\\xfe" in rows[0]["versions"]
    assert run("stats").returncode == 0


def test_diff_by_a_number_shared_by_two_folders_is_an_error_naming_both(store, capsys):
    os.makedirs(os.path.join("snapshots", "exp", "v1"))  # an empty untagged v1 next to v1:tuned
    status, _, err = crate(capsys, "diff", "exp", "0", "1")
    assert status == 2
    assert "Version 1 of 'exp' is ambiguous" in err and "'v1' or 'v1:tuned'" in err
    status, out, _ = crate(capsys, "diff", "exp", "0", "v1:tuned")
    assert status == 0 and out.startswith("diff exp/v0 -> exp/v1:tuned")


@pytest.mark.parametrize("form", ["1", "v1", "v1:tuned", "tuned", "-1", "last"])
def test_a_version_is_positional_in_every_command_that_takes_one(store, capsys, form):
    status, out, err = crate(capsys, "log", "exp", form, "--json")
    assert status == 0, err
    assert json.loads(out)["version"]["version"] == "v1:tuned"
    status, out, _ = crate(capsys, "show", "exp", form, "table.csv", "--json")
    assert status == 0 and json.loads(out)["version"]["version"] == "v1:tuned"
    status, out, _ = crate(capsys, "verify", "exp", form, "--json")
    assert status == 0 and json.loads(out)["versions"] == ["exp/v1:tuned"]
    status, out, _ = crate(capsys, "stats", "exp", form, "--json")
    assert status == 0 and [v["version"] for v in json.loads(out)["versions"]] == ["v1:tuned"]
    status, out, _ = crate(capsys, "diff", "exp", "0", form, "--json")
    assert status == 0 and json.loads(out)["b"]["version"] == "v1:tuned"


def test_a_version_without_its_snapshot_or_given_twice_is_refused(store, capsys):
    status, _, err = crate(capsys, "verify", "--version", "1")
    assert status == 2 and "Give the name first: crate verify NAME 1" in err
    status, _, err = crate(capsys, "stats", "exp", "1", "--version", "0")
    assert status == 2 and "Two versions given" in err
    status, _, err = crate(capsys, "show", "exp", "7", "table.csv")
    assert status == 2 and "'exp' has no version '7'. Versions: v0, v1:tuned." in err
    status, out, _ = crate(capsys, "verify", "exp", "--version", "0")  # the old spelling still works
    assert status == 0 and out.startswith("verify exp/v0: ")


def test_gc_lists_what_it_removes_as_a_table_with_human_sizes(store, capsys):
    status, out, _ = crate(capsys, "gc", "exp", "--keep", "0")
    lines = out.splitlines()
    assert status == 0 and re.fullmatch(r"gc would remove 1 item \(\d+ B\)", lines[0])
    assert lines[1].split() == ["reason", "size", "path"]
    assert re.match(r"  \S.*\s+\d+ B  \S", lines[2])
    assert lines[-1] == "nothing was removed (a dry run): run again with --yes to remove them"
    status, out, _ = crate(capsys, "gc", "exp", "--keep", "0", "--json")
    assert json.loads(out)["dry_run"] is True and isinstance(json.loads(out)["items"][0]["size"], int)


def test_show_lists_a_checkpoints_tensors_as_a_table(workdir, capsys):
    import numpy as np

    oc.snapshot.setup(name="ck")
    oc.snapshot.checkpoint("w.npz").save({"w": np.zeros((2, 3)), "b": np.zeros(3)})
    forget_snapshot()
    status, out, _ = crate(capsys, "show", "ck", "0", "w.npz")
    assert status == 0
    assert re.search(r"\n  summary +npz · 2 tensors, 9 parameters\n", out)
    table_lines = out.split("\n  tensors\n", 1)[1].splitlines()[:3]
    assert [line.split() for line in table_lines] == [
        ["name", "shape", "dtype"],
        ["w", "2×3", "float64"],
        ["b", "3", "float64"],
    ]
    assert "{" not in out and "'name'" not in out  # no Python reprs


def _without_our_colours(text):
    return re.sub(r"\x1b\[\d+m", "", text)


def test_colour_only_on_a_terminal_and_never_with_no_color(workdir, capsys):
    oc.snapshot.setup(name="esc")
    oc.warning("careful \x1b[2J")  # a stored 'clear screen'
    forget_snapshot()
    shown = _crate_on_a_terminal("log", "esc", env={"NO_COLOR": None, "TERM": "xterm"})
    assert "\x1b[33mWARNING\x1b[0m" in shown  # the level in the console's colour
    assert "\x1b" not in _without_our_colours(shown) and "careful ^[[2J" in shown
    plain = _crate_on_a_terminal("log", "esc", env={"NO_COLOR": "1"})
    assert "\x1b" not in plain and "WARNING  careful ^[[2J" in plain
    _, piped, _ = crate(capsys, "log", "esc")  # not a terminal: no colour, the stored bytes as they are
    assert "WARNING  careful \x1b[2J" in piped and "\x1b[33m" not in piped
    verified = _crate_on_a_terminal("verify", "esc", env={"NO_COLOR": None, "TERM": "xterm"})
    assert verified.startswith("\x1b[32mverify esc/v0: ")


def test_stored_text_cannot_drive_the_terminal_in_any_command(workdir):
    oc.snapshot.setup(name="esc")
    oc.snapshot.text("t.txt").save("one\n")
    oc.snapshot.setup(name="esc", start="new")
    oc.snapshot.text("t.txt").save("one\n\x1b]52;c;aGk=\x07two\n")  # a clipboard write inside a saved text
    forget_snapshot()
    for argv in (("diff", "esc", "0", "1"), ("show", "esc", "1", "t.txt"), ("log", "esc")):
        shown = _crate_on_a_terminal(*argv, env={"NO_COLOR": None, "TERM": "xterm"})
        assert "\x1b" not in _without_our_colours(shown) and "\x07" not in shown, argv
    diffed = _crate_on_a_terminal("diff", "esc", "0", "1", env={"NO_COLOR": None, "TERM": "xterm"})
    assert "^[]52;c;aGk=^Gtwo" in diffed and "\x1b[32m" in diffed  # the added line, green


# -- names as users type them: NFC-normalised, refused characters named (docs/safety.md) -------------
CAFE, ETE, RESUME = "caf\u00e9", "\u00e9t\u00e9", "r\u00e9sum\u00e9.json"


def _nfd(text):
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    return decomposed


@pytest.fixture
def accented(workdir):
    """'café' v0:été and v1, each with résumé.json, all stored composed (NFC)."""
    oc.snapshot.setup(name=CAFE, tag=ETE)
    oc.info("first run")
    oc.snapshot.json(RESUME).save({"loss": 0.5})
    oc.snapshot.setup(name=CAFE, start="new")
    oc.snapshot.json(RESUME).save({"loss": 0.25})
    forget_snapshot()
    return workdir


def test_a_decomposed_spelling_names_what_setup_stored_in_every_command(accented, capsys):
    name, tag, artifact = _nfd(CAFE), _nfd(ETE), _nfd(RESUME)
    status, out, err = crate(capsys, "ls", name, "--json")
    assert status == 0, err
    assert [(row["name"], row["version"]) for row in json.loads(out)] == [(CAFE, f"v0:{ETE}"), (CAFE, "v1")]
    status, out, err = crate(capsys, "log", name, tag, "--json")
    assert status == 0 and json.loads(out)["version"]["version"] == f"v0:{ETE}", err
    for where in (artifact, f"jsons/{artifact}"):
        status, out, err = crate(capsys, "show", name, tag, where, "--json")
        assert status == 0, err
        assert json.loads(out)["path"] == f"jsons/{RESUME}" and json.loads(out)["version"]["name"] == CAFE
    status, out, err = crate(capsys, "diff", name, tag, "1")
    assert status == 0 and out.startswith(f"diff {CAFE}/v0:{ETE} -> {CAFE}/v1"), err
    for argv in (("compare", name), ("compare", name, "--version", tag, "--version", "1")):
        status, out, err = crate(capsys, *argv, "--json")
        assert status == 0, (argv, err)
    for argv in (("verify", name), ("verify", name, tag), ("gc", name), ("stats", name), ("stats", name, tag)):
        status, out, err = crate(capsys, *argv)
        assert status == 0, (argv, err)
    _, out, _ = crate(capsys, "verify", name, "--json")
    assert json.loads(out)["checked"] == 2


REFUSED = ["\x85", "\u2028", "\u202e", "\udcff"]


@pytest.mark.parametrize("char", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_an_argument_with_a_refused_character_is_a_usage_error_naming_it(store, capsys, char):
    bad = f"exp{char}"
    for argv in (
        ("ls", bad),
        ("log", bad),
        ("log", "exp", f"v1:tuned{char}"),
        ("show", bad, "0", "metrics.json"),
        ("show", "exp", "0", f"metrics{char}.json"),
        ("show", "exp", "0", f"jsons/metrics{char}.json"),
        ("diff", bad, "0", "1"),
        ("diff", "exp", "0", f"tuned{char}"),
        ("compare", bad),
        ("compare", "exp", "--version", f"1{char}"),
        ("verify", bad),
        ("verify", "exp", f"0{char}"),
        ("gc", bad),
        ("stats", bad),
        ("stats", "exp", f"v1{char}"),
        ("notebook", bad, "0"),
        ("reproduce", bad, "0"),
        ("reproduce", "exp", "0", "--gather", f"metrics{char}.json"),
    ):
        status, out, err = crate(capsys, *argv)
        assert status == 2 and out == "", argv
        assert f"U+{ord(char):04X}" in err and "crate: error: Invalid" in err, (argv, err)


def test_a_non_utf8_byte_in_an_argument_is_named_not_looked_up(store):
    env = dict(_crate_env(), PYTHONIOENCODING="utf-8:strict")
    for argv in ([b"ls", b"exp\xff"], [b"show", b"exp", b"0", b"metrics\xff.json"], [b"verify", b"exp", b"v1:\xff"]):
        done = subprocess.run([*_crate_command(), *argv], capture_output=True, env=env, timeout=120)
        err = done.stderr.decode("utf-8")
        assert done.returncode == 2 and "U+DCFF (SURROGATE)" in err and "Traceback" not in err, (argv, err)
