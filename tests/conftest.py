"""Shared fixtures of the core tests.

Every test runs in its own temporary folder (nothing is written into the repository)
and the process-wide ``oc.snapshot`` is forgotten after each test, so tests never see
each other's run log, record files or custom handlers.
"""

import os
import subprocess
import sys
import textwrap

import pytest

# fixtures shared by many test files: workdir, shell, ip, crate (IPython) and lab, browser, page (JupyterLab).
# This file imports them only inside functions, so that pytest loads them first, as plugins whose
# asserts it rewrites.
pytest_plugins = ["_notebook_fixtures", "_lab_fixtures"]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    from _notebook_fixtures import forget_snapshot

    from opencrate_nb.core.artifact import Artifact
    from opencrate_nb.core.snapshot import snapshot

    monkeypatch.chdir(tmp_path)
    # a setup exports the job id its child processes join (core/distributed.py): no test inherits another's
    monkeypatch.delenv("OPENCRATE_JOB_ID", raising=False)
    forget_snapshot()
    Artifact.forget_folders()

    custom = dict(snapshot._custom_handlers)
    yield tmp_path
    forget_snapshot()
    snapshot._custom_handlers.clear()
    snapshot._custom_handlers.update(custom)


@pytest.fixture
def version_folder(tmp_path):
    """An empty version folder (``<tmp>/snap/v0``), as a str: for the lock and the journal alone."""
    folder = tmp_path / "snap" / "v0"
    folder.mkdir(parents=True)
    return str(folder)


@pytest.fixture
def oc():
    import opencrate

    return opencrate


@pytest.fixture
def snap(oc):
    """A fresh snapshot ``test`` (v0) in the test's folder."""
    oc.snapshot.setup(name="test", start="new")
    return oc.snapshot


def _run_python(code, cwd=".", env=None, timeout=120, check=True, checkout=True):
    from _notebook_fixtures import REPO

    environment = dict(os.environ)
    environment.update(env or {})
    if checkout:
        environment["PYTHONPATH"] = REPO + os.pathsep + environment.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"subprocess failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def run_python():
    """``run_python(code, cwd=".", env=None, checkout=True)``: run code in a fresh interpreter (a real
    subprocess) that imports this checkout first; fails the test with its output when it exits non-zero."""
    return _run_python
