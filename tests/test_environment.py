"""The run environment (opencrate_nb/core/environment.py): .crate/env.json per version."""

import json
import os
import platform
import shutil
import subprocess
import sys
import time

import pytest
from _notebook_fixtures import IN_CI

import opencrate as oc
from opencrate_nb.core import environment


def _git():
    if shutil.which("git") is None:
        if IN_CI:
            raise RuntimeError("git is needed for the run-environment tests")
        pytest.skip("git is not installed, so the git part of the run environment cannot be tested here")


def test_setup_records_a_run(workdir):
    oc.snapshot.setup(name="env")
    oc.snapshot.csv("table.csv").save([[1, 2]])
    oc.snapshot.json("m.json").save({})
    environment.wait()
    run = environment.last_run(oc.snapshot.dir_path)
    assert run["python"] == platform.python_version()
    assert run["host"] and run["platform"] and run["start"] <= run["end"]
    assert run["kinds"] == ["csv", "json"]
    assert "pandas" in run["packages"] and "opencrate-nb" in run["packages"]
    assert run["finished"] is False
    with open(environment.env_path(oc.snapshot.dir_path), encoding="utf-8") as f:
        assert json.load(f)["runs"][0]["id"] == run["id"]


def test_each_setup_is_one_run_and_the_previous_one_finishes(workdir):
    oc.snapshot.setup(name="env", start=0)
    oc.snapshot.setup(name="env", start=0)
    environment.wait()
    runs = environment.runs(oc.snapshot.dir_path)
    assert len(runs) == 2 and runs[0]["finished"] is True and runs[1]["finished"] is False
    environment.finish()
    assert environment.last_run(oc.snapshot.dir_path)["finished"] is True


def test_git_commit_and_dirty_flag(workdir):
    _git()

    def git(*args):
        subprocess.run(["git", *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "start")
    with open("train.py", "w") as f:
        f.write("print(1)\n")
    git("add", "train.py")
    git("-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-q", "-m", "code")
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    clean = environment.git_info(".")
    assert clean == {"commit": head, "branch": clean["branch"], "dirty": False}
    with open("train.py", "a") as f:
        f.write("print(2)\n")
    assert environment.git_info(".")["dirty"] is True
    oc.snapshot.setup(name="env")
    environment.wait()
    assert environment.last_run(oc.snapshot.dir_path)["git"]["commit"] == head


def _hostile_repository(folder, marker):
    """A repository whose config runs ``touch marker`` from every place git can be told to run a program."""

    def git(*args):
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)

    git("init", "-q")
    (folder / ".gitattributes").write_text("*.txt filter=evil diff=evil\n")
    (folder / "data.txt").write_text("same size\n")
    git("add", ".")
    git("-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-q", "-m", "start")
    hooks = folder / "hooks"
    hooks.mkdir()
    for hook in ("post-index-change", "pre-commit", "post-checkout"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch '{marker}'\n")
        (hooks / hook).chmod(0o755)
    touch = f"touch '{marker}'"
    with open(folder / ".git" / "config", "a", encoding="utf-8") as f:
        f.write(
            f"[core]\n\tfsmonitor = {touch}; false\n\thooksPath = {hooks}\n\tsshCommand = {touch}\n"
            f"\tpager = {touch}; cat\n"
            f'[filter "evil"]\n\tclean = {touch}; cat\n\tsmudge = {touch}; cat\n\tprocess = {touch}\n\trequired = true\n'
            f'[diff "evil"]\n\ttextconv = {touch}; cat\n\tcommand = {touch}\n'
            f"[diff]\n\texternal = {touch}\n"
        )
    # same size, newer time: git must re-read the file, which is when a clean filter would run
    os.utime(folder / "data.txt", (time.time() + 5, time.time() + 5))


def test_a_repository_config_never_makes_git_run_a_command(workdir):
    _git()
    marker = workdir / "MARKER"
    repo = workdir / "repo"
    repo.mkdir()
    _hostile_repository(repo, marker)
    check = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True)
    assert marker.exists(), "the crafted config should run a command in a plain git status"
    marker.unlink()

    info = environment.git_info(str(repo))
    assert info["commit"] and info["branch"] and info["dirty"] is False, (info, check)
    (repo / "data.txt").write_text("changed!!\n")
    assert environment.git_info(str(repo))["dirty"] is True
    os.chdir(repo)
    oc.snapshot.setup(name="env", root=str(workdir / "snapshots"))
    environment.wait()
    assert environment.last_run(oc.snapshot.dir_path)["git"]["commit"] == info["commit"]
    assert not marker.exists()


def test_git_gets_a_short_timeout_overall(workdir):
    _git()
    subprocess.run(["git", "init", "-q"], check=True, capture_output=True)
    subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"],
        check=True,
        capture_output=True,
    )
    started = time.monotonic()
    assert environment.git_info(".", timeout=0.0) is None
    assert time.monotonic() - started < 1.0


def _committed_repository(folder):
    def git(*args):
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)

    git("init", "-q")
    (folder / "f.txt").write_text("a\n")
    git("add", ".")
    git("-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-q", "-m", "start")
    return git


def test_a_partial_clone_never_fetches_from_its_promisor_remote(workdir):
    """A missing object would make git run the remote's transport: refused twice over (no lazy
    fetch, and no protocol allowed, whatever ``protocol.<name>.allow`` the repository sets)."""
    _git()
    marker, repo = workdir / "MARKER", workdir / "lazy"
    repo.mkdir()
    git = _committed_repository(repo)
    transport = workdir / "transport.sh"
    transport.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    transport.chmod(0o755)
    for setting in (
        "core.repositoryformatversion=1",
        "extensions.partialClone=origin",
        "remote.origin.promisor=true",
        f"remote.origin.url=ext::{transport} %S",
        "protocol.ext.allow=always",
        "protocol.allow=always",
    ):
        git("config", *setting.split("=", 1))
    tree = subprocess.run(["git", "rev-parse", "HEAD^{tree}"], cwd=repo, capture_output=True, text=True).stdout.strip()
    os.unlink(repo / ".git" / "objects" / tree[:2] / tree[2:])  # status must fetch it to compare
    plain = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, env=dict(os.environ))
    assert marker.exists(), ("the crafted remote should run in a plain git status", plain)
    marker.unlink()

    info = environment.git_info(str(repo))
    assert info["commit"] and not marker.exists()
    without_lazy_fetch_switch = {k: v for k, v in environment._git_env().items() if k != "GIT_NO_LAZY_FETCH"}
    subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, env=without_lazy_fetch_switch)
    assert not marker.exists(), "GIT_ALLOW_PROTOCOL alone must stop it (gits before 2.39.4 ignore the other)"


HANGING_GIT_RUN = """
import sys
import opencrate as oc
oc.snapshot.setup(name="short", start="new", root=sys.argv[1])
oc.snapshot.json("a.json").save({"a": 1})
"""


def test_a_git_that_hangs_does_not_outlive_a_short_script(workdir):
    """A repository whose config is a FIFO makes git wait forever: the script's exit kills it."""
    _git()
    from _notebook_fixtures import REPO

    repo = workdir / "hangs"
    repo.mkdir()
    _committed_repository(repo)
    os.unlink(repo / ".git" / "config")
    os.mkfifo(repo / ".git" / "config")

    def gits_in_repo():
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{pid}/cwd") == str(repo) and b"git" in open(f"/proc/{pid}/cmdline", "rb").read():
                    found.append(int(pid))
            except OSError:
                continue
        return found

    env = dict(os.environ, PYTHONPATH=REPO)
    try:
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-c", HANGING_GIT_RUN, str(workdir / "snapshots")],
            cwd=repo,
            env=env,
            check=True,
            timeout=60,
        )
        assert time.monotonic() - started < 30
        deadline = time.monotonic() + 5
        while gits_in_repo() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gits_in_repo() == []
    finally:
        for pid in gits_in_repo():
            os.kill(pid, 9)


def test_no_git_repository_is_null(workdir):
    _git()
    assert environment.git_info(str(workdir)) is None


def test_compare_and_describe():
    a = {
        "python": "3.11.1",
        "host": "h",
        "git": {"commit": "abc", "dirty": False, "branch": "main"},
        "packages": {"torch": "2.1", "pandas": "2.0"},
    }
    b = {
        "python": "3.11.2",
        "host": "h",
        "git": {"commit": "def", "dirty": True, "branch": "main"},
        "packages": {"torch": "2.2", "numpy": "2.0"},
    }
    assert environment.compare(a, b) == [
        ("python", "3.11.1", "3.11.2"),
        ("git.commit", "abc", "def"),
        ("git.dirty", False, True),
        ("packages.torch", "2.1", "2.2"),
    ]  # numpy and pandas: used by one run only, no difference
    assert environment.compare(a, a) == []
    assert ("git", "yes", None) in environment.compare(a, dict(a, git=None))
    line = environment.describe_run(dict(b, start="2026-01-02T03:04:05.000001+00:00"))
    assert line.startswith("2026-01-02 03:04:05  Python 3.11.2  h  git def (uncommitted changes)")
    assert environment.describe_run(None) == "no run environment recorded"


def test_status_compares_the_last_two_runs(workdir):
    oc.snapshot.setup(name="env", start=0)
    oc.snapshot.setup(name="env", start=0)
    environment.wait()
    path = environment.env_path(oc.snapshot.dir_path)
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    data["runs"][0]["python"] = "2.7.18"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    status = environment.status(oc.snapshot.dir_path)
    assert status["run"]["id"] == data["runs"][1]["id"]
    assert ("python", "2.7.18", platform.python_version()) in status["changes"]
    assert os.path.basename(path) == "env.json"


def test_a_run_stays_in_its_folder_after_chdir(workdir, monkeypatch):
    """Regression: a run kept its relative folder and wrote into the next working directory's snapshot."""
    for sub in ("one", "two"):
        os.mkdir(workdir / sub)
        monkeypatch.chdir(workdir / sub)
        oc.snapshot.setup(name="env", start=0)
    environment.wait()
    first = environment.runs(str(workdir / "one" / "snapshots" / "env" / "v0"))
    second = environment.runs(str(workdir / "two" / "snapshots" / "env" / "v0"))
    assert len(first) == 1 and first[0]["finished"] is True
    assert len(second) == 1 and second[0]["id"] != first[0]["id"]
