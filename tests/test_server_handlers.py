"""The HTTP API (opencrate_nb/server/handlers.py) on a real JupyterLab server, with and without a token."""

import json
import os
import urllib.parse

import numpy as np
import pytest
from _lab_fixtures import save_artifacts

ROUTES = ["tree", "fingerprint", "file?path=x", "log?path=x", "snippet?path=x"]


@pytest.fixture
def version(lab, request):
    """A version of a snapshot named after the test, in the server's snapshot root."""
    name = request.node.name.split("[")[0].replace("test_", "h_")
    return save_artifacts(
        lab.snapshots,
        name,
        [
            ("json", "metrics.json", {"loss": 0.5}),
            ("image", "grid.png", np.full((8, 8, 3), 200, dtype=np.uint8)),
            ("text", "notes.txt", "0123456789" * 10),
        ],
    )


def _get(lab, path, **kwargs):
    status, body = lab.get(path, **kwargs)
    return status, json.loads(body)


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_needs_the_token(lab, route):
    status, body = _get(lab, f"opencrate/api/{route}", token=False)
    assert status == 403
    assert set(body) == {"message"} and body["message"]


def test_tree_lists_what_the_library_saved(lab, version):
    status, tree = lab.api("tree")
    assert status == 200
    assert tree["base"] == "snapshots"
    name, folder = version.split("/")
    snapshot = next(s for s in tree["snapshots"] if s["name"] == name)
    (listed,) = snapshot["versions"]
    assert listed["folder"] == folder
    assert sorted(a["name"] for k in listed["kinds"] for a in k["artifacts"]) == [
        "grid.png",
        "metrics.json",
        "notes.txt",
    ]


def test_tree_answers_304_while_the_fingerprint_holds(lab, version):
    status, body = lab.get("opencrate/api/fingerprint")
    stamp = json.loads(body)["fingerprint"]
    status, _ = lab.get("opencrate/api/tree", headers={"If-None-Match": f'"{stamp}"'})
    assert status == 304
    save_artifacts(lab.snapshots, version.split("/")[0], [("json", "later.json", [1])])
    status, body = lab.get("opencrate/api/tree", headers={"If-None-Match": f'"{stamp}"'})
    assert status == 200 and json.loads(body)["fingerprint"] != stamp


def test_file_summary_and_raw_content(lab, version):
    status, summary = lab.api("file", path=f"{version}/images/grid.png")
    assert status == 200
    assert summary["preview"]["type"] == "image" and summary["describe"]["width"] == 8
    raw_path = "opencrate/api/file?" + urllib.parse.urlencode({"path": f"{version}/images/grid.png", "raw": 1})
    status, content = lab.get(raw_path)
    with open(os.path.join(lab.snapshots, version, "images", "grid.png"), "rb") as f:
        assert status == 200 and content == f.read()


def test_raw_headers_and_ranges(lab, version):
    query = urllib.parse.urlencode({"path": f"{version}/texts/notes.txt", "raw": 1})
    status, headers, body = lab.fetch(f"opencrate/api/file?{query}", headers={"Range": "bytes=10-14"})
    assert status == 206
    assert body == b"01234"
    assert headers["Content-Range"] == "bytes 10-14/100"
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_saved_html_file_is_downloaded_not_rendered(lab, version):
    page = os.path.join(lab.snapshots, version, "texts", "page.html")
    with open(page, "w") as f:
        f.write("<script>alert(1)</script>")
    query = urllib.parse.urlencode({"path": f"{version}/texts/page.html", "raw": 1})
    status, headers, _ = lab.fetch(f"opencrate/api/file?{query}")
    assert status == 200
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in headers["Content-Security-Policy"]


def _traversals(version):
    return [
        "path=../secret.txt",
        "path=" + urllib.parse.quote(f"{version}/../../../secret.txt"),
        "path=%2e%2e%2fsecret.txt",
        "path=%252e%252e%252fsecret.txt",
        "path=" + urllib.parse.quote("/etc/passwd"),
        "path=..%5csecret.txt",
        "path=" + urllib.parse.quote(f"{version}/texts/out.txt"),  # a symlink to the file outside
        "path=secret.txt%00.png",
        "path=" + urllib.parse.quote(f"{version}/.crate/record.jsonl"),
    ]


@pytest.mark.parametrize("route", ["file", "log", "snippet"])
def test_traversal_attempts_are_refused(lab, version, route):
    secret = os.path.join(lab.root, "secret.txt")
    with open(secret, "w") as f:
        f.write("TOP SECRET")
    link = os.path.join(lab.snapshots, version, "texts", "out.txt")
    if not os.path.lexists(link):
        os.symlink(secret, link)
    for query in _traversals(version):
        for extra in ("", "&raw=1"):
            status, body = lab.get(f"opencrate/api/{route}?{query}{extra}")
            assert status in (400, 403), (query, status, body)
            assert b"TOP SECRET" not in body
            assert json.loads(body)["message"], query


def test_errors_are_json_with_a_message(lab, version):
    status, body = lab.api("file", path=f"{version}/jsons/missing.json")
    assert status == 404 and "missing.json" in body["message"]
    status, body = lab.api("file", path=f"{version}/jsons/metrics.json", rows="lots")
    assert status == 400 and "rows" in body["message"]
    status, body = lab.api("file")
    assert status == 400 and "?path=" in body["message"]


def test_snippet_route(lab, version):
    status, body = lab.api("snippet", path=f"{version}/jsons/metrics.json", cwd="")
    assert status == 200
    assert body["code"].endswith(f"oc.io.json.load('snapshots/{version}/jsons/metrics.json')\nmetrics")


def test_warm_up_reads_the_tree_before_the_first_request(tmp_path):
    import logging

    from opencrate_nb.server import api, handlers

    save_artifacts(tmp_path / "snapshots", "warm", [("json", "a.json", 1)])
    settings = handlers.OpenCrate()
    handlers._warm_up(str(tmp_path), settings, logging.getLogger("test"))
    root = api.snapshot_root(str(tmp_path))
    stamp, body = api._encoded_trees[(root, str(tmp_path))]
    assert stamp == api.fingerprint(root)
    assert json.loads(body)["snapshots"][0]["name"] == "warm"
