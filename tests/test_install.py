"""What a user gets from ``pip install "opencrate-nb[all]"`` in a fresh virtual environment: the
wheel built from this checkout (its sidebar built inside), installed with torch first, then
JupyterLab with our extension enabled, the server extension, a kernel, and the crate command."""

import os
import shutil
import subprocess
import sys
import venv

import pytest
from _notebook_fixtures import IN_CI, REPO

# building the sidebar and installing JupyterLab and torch take minutes, not the suite's usual seconds
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

TORCH = "torch==2.13.0"  # the pinned CPU build, first, so that no dependency range pulls another torch
LABEXTENSION = "opencrate-nb-labextension"


def _run(argv, cwd=None, env=None, timeout=900):
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _unreachable(done):
    """Whether a failed pip run failed for want of a package index (offline, no registry)."""
    text = (done.stdout + done.stderr).lower()
    signs = ("no matching distribution", "could not find a version", "connection", "network", "temporary failure")
    return done.returncode != 0 and any(sign in text for sign in signs)


def _skip_or_fail(done, what):
    if _unreachable(done) and not IN_CI:
        pytest.skip(f"{what} needs a package index, which is not reachable here: {done.stderr.strip()[-300:]}")
    raise AssertionError(f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv (no system site-packages) with this checkout's wheel and its [all] extra: its bin folder."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    # a copy of the checkout without what git ignores (node_modules, .venv, built bundles): the
    # build writes the bundled sidebar into the copy's tree, not into ours
    listing = ["git", "-c", "core.fsmonitor=false", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    tracked = _run(listing, cwd=REPO)
    assert tracked.returncode == 0, f"git ls-files failed: {tracked.stderr}"
    for rel in filter(None, tracked.stdout.split("\0")):
        full = os.path.join(REPO, rel)
        if os.path.isfile(full):  # the working tree as it is (uncommitted edits too), ignored files left out
            os.makedirs(source / os.path.dirname(rel), exist_ok=True)
            shutil.copy2(full, source / rel)
    dist = work / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source)], timeout=1500)
    if built.returncode != 0:
        _skip_or_fail(built, "building the wheel")
    (wheel,) = [p for p in os.listdir(dist) if p.endswith(".whl")]

    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = str(bin_dir / "python")
    quiet = ["-q", "--disable-pip-version-check"]
    # torch pinned in the same resolution as the wheel: what `pip install torch==2.13.0` then
    # `pip install "opencrate-nb[all]"` gives, in one pass of the resolver
    done = _run([python, "-m", "pip", "install", *quiet, TORCH, f"{dist / wheel}[all]"], timeout=1500)
    if done.returncode != 0:
        _skip_or_fail(done, 'pip install "opencrate-nb[all]"')
    return bin_dir


def _clean_env(bin_dir):
    """The venv's own commands first on PATH, no Jupyter config or data of this machine's user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = str(bin_dir) + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    return env


def _tool(installed, *argv):
    done = _run([str(installed / argv[0]), *argv[1:]], env=_clean_env(installed), timeout=300)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr  # jupyter writes its lists to stderr


def test_the_sidebar_is_installed_and_enabled(installed):
    listed = _tool(installed, "jupyter", "labextension", "list")
    line = next((line for line in listed.splitlines() if LABEXTENSION in line), "")
    assert "enabled" in line and "OK" in line, listed


def test_the_server_extension_is_enabled(installed):
    listed = _tool(installed, "jupyter", "server", "extension", "list")
    assert any("opencrate_nb" in line and "enabled" in line for line in listed.splitlines()), listed
    assert "opencrate_nb" in listed and "OK" in listed.split("opencrate_nb", 1)[1], listed


def test_notebooks_have_a_python_kernel(installed):
    assert "python3" in _tool(installed, "jupyter", "kernelspec", "list")


def test_the_crate_command_and_the_package_import(installed, tmp_path):
    assert "Browse, compare, check and clean up" in _tool(installed, "crate", "--help")
    code = "import opencrate as oc, ipywidgets, ipykernel, jupyterlab, onnx, h5py, torch; print(torch.__version__)"
    done = _run([str(installed / "python"), "-c", code], cwd=tmp_path, env=_clean_env(installed))
    assert done.returncode == 0 and done.stdout.startswith("2.13.0"), done.stderr


def test_a_notebook_runs_in_its_kernel_with_the_magics(installed, tmp_path):
    cells = [
        "%load_ext opencrate",
        "%crate setup first_hour",
        "import opencrate as oc\noc.snapshot.json('metrics.json').save({'loss': 0.5})",
    ]
    make = (
        "import nbformat, sys\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in sys.argv[1:]])\n"
        "nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}\n"
        "nbformat.write(nb, 'first.ipynb')\n"
    )
    env = _clean_env(installed)
    done = _run([str(installed / "python"), "-c", make, *cells], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    done = _run([str(installed / "jupyter"), "execute", "first.ipynb"], cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert (tmp_path / "snapshots" / "first_hour" / "v0" / "jsons" / "metrics.json").is_file()
