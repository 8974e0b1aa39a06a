"""``crate push``, ``crate pull``, ``crate remote`` and ``crate ls URL`` (cli/_push.py, _pull.py, _remote.py,
_remote_ls.py), in-process against a local-folder remote."""

import json
import os
import unicodedata

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


def test_push_as_a_decomposed_tag_writes_the_composed_one_that_pull_and_setup_find(store, url, capsys):
    tag = "t\u00e9"
    decomposed = unicodedata.normalize("NFD", tag)
    assert decomposed != tag
    status, out, err = crate(capsys, "push", "exp", "0", url, "--as", f"v7:{decomposed}", "--no-progress")
    assert status == 0 and f"(v7:{tag})" in out, err
    assert os.listdir(store / "remote" / "exp") == [f"v7:{tag}"]
    status, out, err = crate(capsys, "pull", url, "exp", "--root", "copy", "--no-progress")
    assert status == 0 and f"(v7:{tag})" in out, err
    assert [f for f in os.listdir("copy/exp") if not f.startswith(".")] == [f"v7:{tag}"]
    status, out, err = crate(capsys, "pull", url, "exp", decomposed, "--root", "copy2", "--no-progress")
    assert status == 0 and f"(v7:{tag})" in out, err
    status, out, err = crate(capsys, "show", "exp", decomposed, "metrics.json", "--root", "copy")
    assert status == 0 and out.startswith(f"exp/v7:{tag}/jsons/metrics.json"), err
    oc.snapshot.setup(name="exp", start=7, tag=tag, root="copy")
    assert oc.snapshot.list_versions() == [f"v7:{tag}"]  # the pulled version resumed, no second folder
    forget_snapshot()


REFUSED = ["\x85", "\u2028", "\u202e", "\udcff"]


@pytest.mark.parametrize("char", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_a_remote_argument_with_a_refused_character_is_a_usage_error_naming_it(store, url, capsys, char):
    assert crate(capsys, "push", "exp", url, "--no-progress")[0] == 0
    for argv in (
        ("push", f"exp{char}", url),
        ("push", "exp", f"0{char}", url),
        ("push", "exp", "0", url, "--as", f"v7:t{char}"),
        ("push", "exp", "0", url, "--as", f"v7{char}"),
        ("pull", url, f"exp{char}"),
        ("pull", url, "exp", f"tuned{char}", "--root", "copy"),
        ("pull", url, "exp", "v0", "--as", f"v7:t{char}", "--root", "copy"),
        ("ls", url, f"exp{char}"),
    ):
        status, out, err = crate(capsys, *argv, "--no-progress") if argv[0] != "ls" else crate(capsys, *argv)
        assert status == 2 and out == "", argv
        assert f"U+{ord(char):04X}" in err and "crate: error: Invalid" in err, (argv, err)
    assert sorted(os.listdir(store / "remote" / "exp")) == ["v0", "v1:tuned"] and not os.path.exists("copy")
