"""``crate push``, ``crate pull``, ``crate remote`` and ``crate ls URL`` (cli/_push.py, _pull.py, _remote.py,
_remote_ls.py), in-process against a local-folder remote."""

import json
import os

import pytest
from _notebook_fixtures import forget_snapshot

import opencrate as oc
from opencrate_nb.cli import main
from opencrate_nb.core import environment


@pytest.fixture
def store(workdir):
    """Two finished versions of 'exp' (v1 tagged)."""
    oc.snapshot.setup(name="exp")
    oc.snapshot.json("metrics.json").save({"loss": 0.5})
    oc.snapshot.setup(name="exp", start="new", tag="tuned")
    oc.snapshot.json("metrics.json").save({"loss": 0.3})
    environment.wait()
    environment.finish()
    forget_snapshot()
    return workdir


@pytest.fixture
def url(store):
    return (store / "remote").as_uri()


def crate(capsys, *argv):
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def test_push_then_pull_by_url(store, url, capsys):
    status, out, _ = crate(capsys, "push", "exp", url)
    assert status == 0 and out.startswith("pushed 2 versions of 'exp' to file://") and "(v0, v1:tuned)" in out
    status, out, _ = crate(capsys, "push", "exp", "v0", url, "--json")
    assert status == 0 and json.loads(out)["unchanged"] == ["v0"] and json.loads(out)["objects_sent"] == 0
    status, out, _ = crate(capsys, "pull", url, "exp", "tuned", "--root", "copy")
    assert status == 0 and "pulled 1 version of 'exp'" in out and "(v1:tuned)" in out
    with open("copy/exp/v1:tuned/jsons/metrics.json") as f:
        assert json.load(f) == {"loss": 0.3}


def test_ls_of_a_url_lists_names_and_versions(store, url, capsys):
    crate(capsys, "push", "exp", url)
    status, out, _ = crate(capsys, "ls", url)
    assert status == 0 and out.split() == ["exp", "2", "version(s)", "latest", "v1:tuned"]
    status, out, _ = crate(capsys, "ls", url, "exp")
    lines = out.splitlines()
    assert lines[0].split() == ["version", "artifacts", "size", "files", "stored"]
    assert [line.split()[0] for line in lines[1:]] == ["v0", "v1:tuned"]
    status, out, _ = crate(capsys, "ls", url, "exp", "--json")
    assert [row["version"] for row in json.loads(out)] == ["v0", "v1:tuned"]


def test_a_default_remote_makes_the_url_optional_and_marks_pushed_versions(store, url, capsys):
    status, _, err = crate(capsys, "push", "exp")
    assert status == 2 and "Which remote? Give a URL" in err and "crate remote set URL" in err
    assert crate(capsys, "remote", "show")[1].strip() == "no default remote for 'snapshots' (crate remote set URL)"
    assert crate(capsys, "remote", "set", url)[0] == 0
    assert crate(capsys, "remote", "show")[1].strip() == url
    assert os.path.isfile("snapshots/.crate/remote.json")
    _, out, _ = crate(capsys, "ls", "exp")
    assert out.splitlines()[0].split()[-1] == "remote" and "pushed" not in out
    crate(capsys, "push", "exp", "v0")
    _, out, _ = crate(capsys, "ls", "exp")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["v0"][-1] == "pushed" and rows["v1:tuned"][-1] != "pushed"
    _, out, _ = crate(capsys, "ls", "exp", "--json")
    assert [row["remote"] for row in json.loads(out)] == ["pushed", ""]
    assert crate(capsys, "pull", "exp", "v0", "--root", "snapshots")[0] == 0  # default remote, already here
    assert crate(capsys, "remote", "unset")[1].strip() == "default remote removed"
    _, out, _ = crate(capsys, "ls", "exp")
    assert "remote" not in out.splitlines()[0]


def test_conflicts_and_bad_input_exit_2_with_the_fix(store, url, capsys):
    crate(capsys, "push", "exp", url)
    oc.snapshot.setup(name="exp", start=0, root="mine")
    oc.snapshot.json("metrics.json").save({"loss": 9.9})
    forget_snapshot()
    status, _, err = crate(capsys, "pull", url, "exp", "v0", "--root", "mine")
    assert status == 2 and "exp/v0 here holds other content" in err and "--as v1" in err
    status, out, _ = crate(capsys, "pull", url, "exp", "v0", "--root", "mine", "--as", "v0:theirs")
    assert status == 0 and "(v0:theirs)" in out
    status, _, err = crate(capsys, "push", "exp", url, "file:///elsewhere")
    assert status == 2 and "takes one URL" in err
    status, _, err = crate(capsys, "remote", "set", "ftp://me:secret@host/x")
    assert status == 2 and "secret" not in err and "carries a password" in err
    status, _, err = crate(capsys, "ls", "exp", "other")
    assert status == 2 and "takes one NAME" in err
