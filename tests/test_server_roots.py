"""opencrate_nb/server/roots.py: every snapshot root below the server root, in the API and on a real server."""

import json
import os
import shutil

import pytest
from _lab_fixtures import save_artifacts

from opencrate_nb.core import roots as core_roots
from opencrate_nb.server import api, roots


@pytest.fixture
def server_root(tmp_path):
    core_roots.clear_cache()
    top = tmp_path / "lab"
    save_artifacts(top / "snapshots", "mnist", [("json", "metrics.json", {"loss": 0.5})])
    save_artifacts(top / "experiments" / "snapshots", "mnist", [("text", "notes.txt", "from experiments")])
    save_artifacts(top / "runs", "cifar", [("text", "a.txt", "configured")])
    return str(top)


def test_the_configured_root_comes_first_then_settings_and_discovered_roots_by_path(server_root):
    real = os.path.realpath(server_root)
    found = roots.snapshot_roots(server_root, "snapshots", ["runs"], discover=True)
    assert found == [os.path.join(real, p) for p in ("snapshots", "experiments/snapshots", "runs")]
    assert roots.snapshot_roots(server_root, "snapshots", [], discover=False) == [os.path.join(real, "snapshots")]
    # the configured root is listed while it does not exist yet (the sidebar says where snapshots will appear)
    assert roots.snapshot_roots(server_root, "later", [], discover=False) == [os.path.join(real, "later")]


def test_a_settings_root_outside_the_server_root_is_refused(server_root):
    with pytest.raises(api.ApiError, match="not inside the server root"):
        roots.snapshot_roots(server_root, "snapshots", ["../elsewhere"])


def test_a_request_names_its_root_by_base_and_only_a_listed_one(server_root):
    found = roots.snapshot_roots(server_root, "snapshots")
    assert roots.pick(found, server_root, "") == found[0]
    assert roots.pick(found, server_root, "experiments/snapshots") == found[1]
    for base in ("runs", "..", "experiments", "/etc"):
        with pytest.raises(api.ApiError, match="No snapshot root") as raised:
            roots.pick(found, server_root, base)
        assert raised.value.status == 404


def test_the_tree_is_the_configured_roots_with_the_others_in_roots(server_root):
    found = roots.snapshot_roots(server_root, "snapshots")
    stamp, stamps = roots.fingerprints(found)
    tree = json.loads(roots.tree_json(found, stamps, server_root, stamp))
    assert tree["base"] == "snapshots" and tree["fingerprint"] == stamp
    assert [s["name"] for s in tree["snapshots"]] == ["mnist"]
    [other] = tree["roots"]
    assert other["base"] == "experiments/snapshots" and other["fingerprint"] == stamps[1]
    [version] = other["snapshots"][0]["versions"]
    assert version["path"] == "mnist/v0" and version["kinds"][0]["artifacts"][0]["path"] == "mnist/v0/texts/notes.txt"
    # one root: its own stamp and the tree as it always was, with an empty roots list
    one = found[:1]
    single_stamp, single = roots.fingerprints(one)
    assert single_stamp == single[0] == api.fingerprint(one[0])
    assert json.loads(roots.tree_json(one, single, server_root, single_stamp))["roots"] == []


def test_a_new_root_changes_the_stamp(server_root):
    before, _ = roots.fingerprints(roots.snapshot_roots(server_root, "snapshots"))
    save_artifacts(os.path.join(server_root, "b", "snapshots"), "late", [("text", "x.txt", "x")])
    after, _ = roots.fingerprints(roots.snapshot_roots(server_root, "snapshots"))
    assert after != before


@pytest.fixture
def experiments(lab):
    """A notebook's snapshots in ``experiments/snapshots`` of the shared server; removed afterwards."""
    folder = os.path.join(lab.root, "experiments")
    version = save_artifacts(os.path.join(folder, "snapshots"), "exp_run", [("text", "notes.txt", "hello roots")])
    yield version
    shutil.rmtree(folder, ignore_errors=True)


def test_the_server_answers_every_root_and_serves_their_files(lab, experiments):
    status, tree = lab.api("tree")
    assert status == 200
    [other] = [r for r in tree["roots"] if r["base"] == "experiments/snapshots"]
    assert [s["name"] for s in other["snapshots"]] == ["exp_run"]
    path = f"{experiments}/texts/notes.txt"
    status, summary = lab.api("file", path=path, root="experiments/snapshots")
    assert status == 200 and summary["preview"]["text"] == "hello roots"
    status, raw = lab.api("file", path=path, root="experiments/snapshots", raw="1")
    assert status == 200 and raw == b"hello roots"
    status, _ = lab.api("file", path=path)  # not in the configured root
    assert status == 404
    status, body = lab.api("file", path=path, root="experiments")
    assert status == 404 and "No snapshot root" in body["message"]
    status, snippet = lab.api("snippet", path=path, root="experiments/snapshots", cwd="experiments")
    assert status == 200 and "oc.io.text.load('snapshots/exp_run/v0/texts/notes.txt')" in snippet["code"]


@pytest.fixture
def hidden_behind_a_link(server_root):
    """``.secret/snapshots`` (hidden) with a version, and ``a2/snapshots``, a link into it."""
    save_artifacts(os.path.join(server_root, ".secret", "snapshots"), "hid", [("text", "secret.txt", "hidden")])
    os.makedirs(os.path.join(server_root, "a2"))
    os.symlink("../.secret/snapshots", os.path.join(server_root, "a2", "snapshots"))
    core_roots.clear_cache()
    return server_root


def test_a_root_reached_through_a_link_into_a_hidden_folder_is_refused_like_the_folder(hidden_behind_a_link):
    server_root = hidden_behind_a_link
    found = roots.snapshot_roots(server_root, "snapshots")
    assert [api.base_path(server_root, r) for r in found] == ["snapshots", "experiments/snapshots"]
    for base in (".secret/snapshots", "a2/snapshots"):
        with pytest.raises(api.ApiError, match="No snapshot root") as refused:
            roots.pick(found, server_root, base)
        assert refused.value.status == 404
    with pytest.raises(api.ApiError, match="link into a hidden folder") as refused:
        roots.snapshot_roots(server_root, "a2/snapshots")
    assert refused.value.status == 403
    with pytest.raises(api.ApiError, match="link into a hidden folder"):
        roots.snapshot_roots(server_root, "snapshots", ["a2/snapshots"])
    # a hidden folder named as such in the settings is the setting's choice
    assert roots.snapshot_roots(server_root, ".secret/snapshots", discover=False) == [
        os.path.join(os.path.realpath(server_root), ".secret", "snapshots")
    ]


@pytest.fixture
def lab_hidden_root(lab):
    """In the shared server's root: ``.secret/snapshots`` with a version and ``a2/snapshots`` linking
    into it; removed afterwards."""
    secret, link_folder = os.path.join(lab.root, ".secret"), os.path.join(lab.root, "a2")
    version = save_artifacts(os.path.join(secret, "snapshots"), "hid", [("text", "secret.txt", "hidden content")])
    os.makedirs(link_folder)
    os.symlink("../.secret/snapshots", os.path.join(link_folder, "snapshots"))
    yield version
    shutil.rmtree(link_folder, ignore_errors=True)
    shutil.rmtree(secret, ignore_errors=True)


def test_the_server_neither_lists_nor_serves_a_root_behind_a_link_into_a_hidden_folder(lab, lab_hidden_root):
    status, tree = lab.api("tree")
    assert status == 200
    assert not [r["base"] for r in tree["roots"] if "secret" in r["base"] or r["base"].startswith("a2")]
    path = f"{lab_hidden_root}/texts/secret.txt"
    for base in (".secret/snapshots", "a2/snapshots"):
        for extra in ({}, {"raw": "1"}):
            status, body = lab.api("file", path=path, root=base, **extra)
            assert status == 404 and "No snapshot root" in body["message"], (base, extra)
