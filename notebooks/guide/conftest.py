"""Run the guide notebooks in a temporary folder, so that nbval writes nothing into the repository.

nbval starts each notebook's kernel in the notebook's own folder. The kernels started
for the notebooks here get a fresh IPython profile whose startup file moves them into
one temporary folder, shared by the three notebooks: the guide restarts its kernel
between them and carries on with the same snapshots.
"""

import os
import shutil
import tempfile

import pytest

_folders = {}


def _profile():
    if not _folders:
        root = tempfile.mkdtemp(prefix="opencrate-guide-")
        work = os.path.join(root, "work")
        startup = os.path.join(root, "ipython", "profile_default", "startup")
        os.makedirs(work)
        os.makedirs(startup)
        with open(os.path.join(startup, "00-guide-workdir.py"), "w", encoding="utf-8") as f:
            f.write(f"import os\nos.chdir({work!r})\n")
        _folders.update(root=root, ipython=os.path.join(root, "ipython"))
    return _folders


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """nbval starts a notebook's kernel while its first cell is set up: give it the profile."""
    previous = os.environ.get("IPYTHONDIR")
    os.environ["IPYTHONDIR"] = _profile()["ipython"]
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("IPYTHONDIR", None)
        else:
            os.environ["IPYTHONDIR"] = previous


def pytest_sessionfinish(session):
    if _folders:
        shutil.rmtree(_folders["root"], ignore_errors=True)
        _folders.clear()
