"""Fixtures of the notebook-layer tests (registered by tests/conftest.py) and helpers (``from _notebook_fixtures import run``).

Every test runs in its own temporary folder (``monkeypatch.chdir``), so nothing is
written into the repository, and the process-wide ``oc.snapshot`` is forgotten after
each test.
"""

import importlib
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason):
    """Outside CI: skip with the reason. With CI=true a missing tool is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: nothing may be skipped)")
    pytest.skip(reason)


def require(module, why):
    """Import an optional tool; outside CI a missing one skips the test (saying why), in CI it fails."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if IN_CI:
            raise
        pytest.skip(f"{module} is not installed, so {why} cannot be tested here")


def forget_snapshot():
    """Undo ``oc.snapshot.setup`` for the next test (close log and record files, let env.json land)."""
    from opencrate_nb.core import environment, lineage, log, record
    from opencrate_nb.core.artifact import Artifact
    from opencrate_nb.core.snapshot import snapshot

    environment.wait()  # the run's git look-up and env.json write, which would otherwise land later, mid-test
    log.detach()
    record.close_all()
    Artifact.forget_folders()
    snapshot._state = None
    lineage.set_current_cell(None)


def run(shell, code):
    """Run ``code`` as a notebook front end would (a new execution count per cell)."""
    return shell.run_cell(code, store_history=True)


def run_captured(shell, code):
    """Run a cell and return (result, stdout, stderr, outputs) as the user would see them."""
    from IPython.utils.capture import capture_output

    with capture_output() as io:
        result = run(shell, code)
    return result, io.stdout, io.stderr, io.outputs


def log_text():
    import opencrate as oc

    with open(oc.snapshot.log_path, encoding="utf-8") as f:
        return f.read()


def cell_entries():
    from opencrate_nb.notebook import _core

    return _core.read_cells()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    forget_snapshot()
    yield tmp_path
    forget_snapshot()


def reset_extension(shell):
    """Unload the extension whatever name it was loaded under."""
    from opencrate_nb.notebook import _extension

    _extension.unload_ipython_extension(shell)
    for name in ("opencrate", "opencrate_nb"):
        shell.extension_manager.loaded.discard(name)


@pytest.fixture
def shell(workdir):
    """The test IPython shell, without the extension."""
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    reset_extension(ip)
    # a terminal shell formats text/plain only; a notebook front end asks for HTML too
    active = list(ip.display_formatter.active_types)
    ip.display_formatter.active_types = active + [t for t in ("text/html", "image/png") if t not in active]
    yield ip
    ip.display_formatter.active_types = active
    reset_extension(ip)


@pytest.fixture
def ip(shell):
    """The test IPython shell with ``%load_ext opencrate``; unloaded afterwards."""
    shell.run_line_magic("load_ext", "opencrate")
    yield shell


@pytest.fixture
def crate(ip):
    """The shell with the extension loaded and a snapshot ``nbtest`` set up."""
    result = run(ip, "%crate setup nbtest")
    assert result.success, result.error_in_exec
    yield ip


def kernel_env(monkeypatch):
    """Let kernels started by a test import this checkout (also when it is not pip-installed)."""
    current = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", REPO + (os.pathsep + current if current else ""))


__all__ = [
    "REPO",
    "skip_or_fail",
    "IN_CI",
    "require",
    "forget_snapshot",
    "run",
    "run_captured",
    "log_text",
    "cell_entries",
    "workdir",
    "shell",
    "ip",
    "crate",
    "kernel_env",
    "reset_extension",
]
