"""README.md and docs/: every example that is a program runs, in a fresh interpreter and an empty folder.

What counts as runnable: a ```python block that imports opencrate (a program; any other python
block is a fragment that continues the page's prose or needs a notebook around it), a block of
magic lines that starts with ``%load_ext opencrate`` (run in a real IPython shell) and a block of
``crate`` command lines (run as the command does). README.md's blocks run one after the other in one folder, as a reader pastes them; the
install commands are what tests/test_install.py runs.
"""

import os
import re
import shlex
import shutil
import sys

import pytest
from _notebook_fixtures import REPO

DOCS = os.path.join(REPO, "docs")
PAGES = sorted(name for name in os.listdir(DOCS) if name.endswith(".md"))
#: the pages whose examples are the documentation: each must keep at least one program
CORE_PAGES = {"snapshots.md", "logging.md", "artifacts.md", "custom-handlers.md", "safety.md", "history.md"}
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
PROGRAM = re.compile(r"^import opencrate\b", re.M)


def blocks(path):
    """The fenced blocks of a Markdown file as (language, code)."""
    with open(path, encoding="utf-8") as f:
        return BLOCK.findall(f.read())


def _lines(code):
    return [line for line in code.splitlines() if line.strip()]


def kind_of(language, code):
    """'python', 'magics', 'crate', or None for a block that is not runnable on its own."""
    if language == "python":
        return "python" if PROGRAM.search(code) else None
    lines = _lines(code)
    if language == "" and lines and lines[0] == "%load_ext opencrate" and all(line.startswith("%") for line in lines):
        return "magics"
    if language == "" and lines and all(line.startswith("crate ") for line in lines):
        return "crate"
    return None


def runnable(path):
    return [(kind, code) for language, code in blocks(path) if (kind := kind_of(language, code))]


MAGICS_RUNNER = """
import sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
for line in sys.argv[1:]:
    result = shell.run_cell(line)
    if not result.success:
        sys.exit(f"{line!r} failed: {result.error_before_exec or result.error_in_exec!r}")
"""


def run_block(kind, code, folder, run_python):
    """Run one runnable block in ``folder``; the subprocess result (stdout/stderr, returncode)."""
    if kind == "python":
        return [run_python(code, cwd=folder, check=False)]
    if kind == "magics":
        argv = ", ".join(repr(line) for line in _lines(code))
        runner = f"import sys\nsys.argv = ['magics', {argv}]\n" + MAGICS_RUNNER
        return [run_python(runner, cwd=folder, check=False)]
    results = []
    for line in _lines(code):
        argv = shlex.split(line.split("  #", 1)[0])[1:]  # the comment after two spaces is prose
        command = f"import sys\nfrom opencrate_nb.cli import main\nsys.exit(main({argv!r}))"
        results.append(run_python(command, cwd=folder, check=False))
    return results


def test_every_core_page_keeps_a_program():
    assert {page for page in PAGES if runnable(os.path.join(DOCS, page))} >= CORE_PAGES


@pytest.mark.parametrize("page", [page for page in PAGES if runnable(os.path.join(DOCS, page))])
def test_page_examples_run(page, tmp_path, run_python):
    for number, (kind, code) in enumerate(runnable(os.path.join(DOCS, page)), 1):
        folder = tmp_path / f"example{number}"
        folder.mkdir()
        for result in run_block(kind, code, folder, run_python):
            assert result.returncode == 0, f"docs/{page} example {number} failed:\n{code}\n{result.stderr}"


def test_the_readme_runs_as_pasted(tmp_path, run_python):
    found = runnable(os.path.join(REPO, "README.md"))
    assert [kind for kind, _ in found] == ["python", "magics", "crate"], "the quickstart, the notebook, the terminal"
    outputs = []
    for kind, code in found:
        for result in run_block(kind, code, tmp_path, run_python):
            assert result.returncode == 0, f"README.md {kind} block failed:\n{code}\n{result.stdout}\n{result.stderr}"
            outputs.append(result.stdout)
    shown_magics, crate_ls, crate_log, crate_show, crate_compare, crate_verify = outputs[1:]
    assert "loss.png" in shown_magics
    assert crate_ls.splitlines()[1].split() == ["mnist", "1", "v0:baseline"]
    assert "%crate setup mnist --last --tag baseline" in crate_log  # the notebook run, its cells logged
    assert "mnist/v0:baseline/checkpoints/model.pt" in crate_show and "784" in crate_show
    assert "v0:baseline" in crate_compare
    assert crate_verify.startswith("verify mnist/v0:baseline: ") and crate_verify.rstrip().endswith("ok")
    assert sys.executable  # the blocks ran in this interpreter's environment (run_python)


CLI_LINE = re.compile(r"^    (crate [^\n]*?)(?: {2,}[^\n]*)?$", re.M)

CLI_STORE = """
import opencrate as oc

oc.snapshot.setup(name="mnist", tag="baseline")
oc.snapshot.json("metrics.json").save({"loss": 0.5})
oc.snapshot.setup(name="mnist")
oc.snapshot.json("metrics.json").save({"loss": 0.4})
oc.snapshot.setup(name="mnist", tag="tuned")
oc.warning("lr is high")
oc.snapshot.json("metrics.json").save({"loss": 0.3})
oc.snapshot.json("m.json").save({"acc": 0.9})
oc.snapshot.setup(name="mnist")
oc.snapshot.json("metrics.json").save({"loss": 0.2})
# a second run of v3, from a notebook (its history log starts, and it has a run notebook to reproduce)
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
for cell in [
    "%load_ext opencrate",
    "%crate setup mnist --last",
    "import opencrate as oc\\nimport torch",
    "oc.info('resumed')",
    "torch.manual_seed(0)\\nweights = {'w': torch.randn(3, 2)}",
    "oc.snapshot.checkpoint('model.pt').save(weights)",
    "oc.snapshot.json('metrics.json').save({'loss': 0.2})",  # every artifact of v3 saved by a captured cell
]:
    assert shell.run_cell(cell, store_history=True).success, cell
oc.snapshot.setup(name="other_run")
oc.snapshot.text("notes.txt").save("x")
"""


def test_the_cli_pages_commands_run_as_written(tmp_path, run_python):
    with open(os.path.join(DOCS, "cli.md"), encoding="utf-8") as f:
        commands = [line for line in CLI_LINE.findall(f.read()) if "COMMAND" not in line]
    assert len(commands) >= 20, commands
    run_python(CLI_STORE, cwd=tmp_path)
    # the remote's lines run on a copy of the store (pulls add versions the other examples do not
    # expect); the page's remote is a bucket, here it is a folder, through the same fsspec code
    shared = tmp_path / "shared"
    shutil.copytree(tmp_path / "snapshots", shared / "snapshots")
    remote_url = (tmp_path / "remote").as_uri()
    pushed = f"import sys\nfrom opencrate_nb.cli import main\nsys.exit(main(['push', 'mnist', {remote_url!r}]))"
    run_python(pushed, cwd=shared)  # the page lists a remote before it shows the push
    for line in commands:
        words = shlex.split(line.split(" > ", 1)[0])[1:]  # a redirection is the shell's, not an argument
        remote_line = "s3://bucket/crates" in words or words[0] == "remote"
        argv = [remote_url if word == "s3://bucket/crates" else word for word in words]
        code = f"import sys\nfrom opencrate_nb.cli import main\nsys.exit(main({argv!r}))"
        result = run_python(code, cwd=shared if remote_line else tmp_path, check=False)
        assert result.returncode == 0, f"docs/cli.md: {line!r} failed:\n{result.stdout}\n{result.stderr}"
