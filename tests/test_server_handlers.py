"""The HTTP API (opencrate_nb/server/handlers.py) on a real JupyterLab server, with and without a token."""

import json
import os
import urllib.parse

import numpy as np
import pytest
from _lab_fixtures import save_artifacts
from _notebook_fixtures import run, skip_or_fail

ROUTES = ["tree", "file?path=x", "snippet?path=x"]


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


def test_tree_answers_304_while_its_etag_holds(lab, version):
    status, headers, body = lab.fetch("opencrate/api/tree")
    etag = headers["ETag"]
    assert status == 200 and etag == f'"{json.loads(body)["fingerprint"]}"'
    status, headers, body = lab.fetch("opencrate/api/tree", headers={"If-None-Match": etag})
    assert status == 304 and body == b"" and headers["ETag"] == etag
    save_artifacts(lab.snapshots, version.split("/")[0], [("json", "later.json", [1])])
    status, headers, body = lab.fetch("opencrate/api/tree", headers={"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag and json.loads(body)["fingerprint"] != etag.strip('"')


@pytest.mark.parametrize("route", ["fingerprint", "log?path=x"])
def test_the_routes_the_tree_and_file_replace_are_gone(lab, route):
    status, _ = lab.get(f"opencrate/api/{route}")
    assert status == 404


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


@pytest.mark.parametrize("route", ["file", "snippet"])
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


def test_notebook_route_builds_run_ipynb_and_needs_the_token_and_a_post(lab, version, ip):
    import opencrate as oc

    def post(path, token=True):
        status, _, body = lab.fetch(f"opencrate/api/notebook?path={path}", token=token, method="POST")
        return status, json.loads(body)

    assert post(version, token=False)[0] == 403
    assert lab.get(f"opencrate/api/notebook?path={version}")[0] == 405  # it may write: POST only
    status, body = post(version)
    assert status == 404 and "no cell was captured" in body["message"]
    run(ip, f"import opencrate as oc\noc.snapshot.setup(name='h_notebook', root={lab.snapshots!r})")
    run(ip, "print('from the kernel')")
    captured = os.path.relpath(oc.snapshot.dir_path, lab.snapshots).replace(os.sep, "/")
    status, body = post(urllib.parse.quote(captured))
    assert status == 200 and body == {"path": f"{captured}/run.ipynb"}
    with open(os.path.join(lab.snapshots, captured, "run.ipynb")) as f:
        assert "from the kernel" in f.read()
    status, body = post("..%2fsecret")
    assert status == 403 and body["message"]


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


# ------------------------------------------------------------------------------------------------
# bad input never gets a 500
# ------------------------------------------------------------------------------------------------
def _raw(version, name):
    return "opencrate/api/file?" + urllib.parse.urlencode({"path": f"{version}/texts/{name}", "raw": 1})


@pytest.mark.parametrize(
    "header, status",
    [("bytes=" + "9" * 5000 + "-", 416), ("bytes=-" + "9" * 5000, 200), ("bytes=0-" + "9" * 5000, 206)],
)
def test_a_range_of_five_thousand_digits(lab, version, header, status):
    got, headers, body = lab.fetch(_raw(version, "notes.txt"), headers={"Range": header})
    assert got == (206 if status == 200 else status)
    if got == 416:
        assert "100 bytes" in json.loads(body)["message"] and "Content-Range" not in headers
    else:
        assert body == b"0123456789" * 10


def test_a_json_nested_thirty_thousand_deep(lab, version):
    with open(os.path.join(lab.snapshots, version, "jsons", "deep.json"), "w") as f:
        f.write("[" * 30_000 + "]" * 30_000)
    status, body = lab.api("file", path=f"{version}/jsons/deep.json")
    assert status == 200 and body["preview"]["text"].startswith("[[[")
    # a request body nested as deep: the API reads none, so it is refused by method, as JSON
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", lab.port, timeout=30)
    try:
        deep = b"[" * 30_000 + b"]" * 30_000
        connection.request(
            "POST", f"/opencrate/api/tree?token={lab.token}", body=deep, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        assert response.status in (403, 405) and json.loads(response.read())["message"]
    finally:
        connection.close()


def test_a_symlink_to_a_hidden_file_is_refused(lab, version):
    os.symlink(
        os.path.join(lab.snapshots, version, ".crate", "record.jsonl"),
        os.path.join(lab.snapshots, version, "texts", "record.txt"),
    )
    for extra in ({}, {"raw": 1}):
        status, body = lab.api("file", path=f"{version}/texts/record.txt", **extra)
        assert status == 403 and "hidden" in body["message"]


def test_a_file_name_that_is_not_utf8_leaves_the_tree_readable(lab, version):
    with open(os.path.join(os.fsencode(lab.snapshots), os.fsencode(version), b"texts", b"caf\xe9.txt"), "w") as f:
        f.write("latin-1 name")
    status, tree = lab.api("tree")
    assert status == 200
    name, folder = version.split("/")
    (listed,) = next(s for s in tree["snapshots"] if s["name"] == name)["versions"]
    assert "caf\\xe9.txt" in [a["name"] for k in listed["kinds"] for a in k["artifacts"]]


def test_a_record_line_nested_thirty_thousand_deep_leaves_the_tree_readable(lab, version):
    record = os.path.join(lab.snapshots, version, ".crate", "record.jsonl")
    with open(record, "rb") as f:
        before = f.read()
    try:
        with open(record, "ab") as f:
            f.write(b'{"a":' * 30000 + b"1" + b"}" * 30000 + b"\n")
        status, tree = lab.api("tree")
        assert status == 200
        name = version.split("/")[0]
        (listed,) = next(s for s in tree["snapshots"] if s["name"] == name)["versions"]
        assert "metrics.json" in [a["name"] for k in listed["kinds"] for a in k["artifacts"]]
    finally:  # the server is shared by the module's tests: leave the record as it was
        with open(record, "wb") as f:
            f.write(before)


def _peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def test_a_one_line_114_mb_csv_previews_in_little_server_memory(lab, version):
    if not os.path.exists(f"/proc/{lab.process.pid}/status"):
        skip_or_fail("no /proc here to read the server's peak memory from")
    path = os.path.join(lab.snapshots, version, "csvs")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "wide.csv"), "w") as f:
        chunk = "123456," * (1 << 17)
        for _ in range(114 * (1 << 20) // len(chunk) + 1):
            f.write(chunk)
    try:
        before = _peak_rss_kib(lab.process.pid)
        status, body = lab.api("file", path=f"{version}/csvs/wide.csv", rows=500)
        grown = _peak_rss_kib(lab.process.pid) - before
    finally:
        os.remove(os.path.join(path, "wide.csv"))
    assert status == 200 and body["preview"]["type"] == "table" and body["preview"]["truncated"] is True
    assert len(body["preview"]["columns"]) <= 100
    assert grown < 100 * 1024, f"the server's peak memory grew by {grown / 1024:.0f} MB"


def test_the_token_in_an_address_is_never_written_to_the_server_log(lab, version):
    """Downloads carry ``?token=`` (an <img> cannot send a header): an error logged for one shows
    the address with the token scrubbed."""
    status, _ = lab.get(f"opencrate/api/file?path={version}/jsons/missing.json&raw=1&token={lab.token}", token=False)
    assert status == 404
    with open(lab.log_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    assert "missing.json&raw=1&token=[secret]" in text
    assert lab.token not in text


@pytest.mark.parametrize(
    "uri, logged",
    [
        ("/a?token=abc", "/a?token=[secret]"),
        ("/a?path=x&Token=abc&_xsrf=1", "/a?path=x&Token=[secret]&_xsrf=[secret]"),
        ("/a?path=monkey", "/a?path=monkey"),  # a value is not a key
        ("/a", "/a"),
    ],
)
def test_credentials_are_scrubbed_from_logged_addresses(uri, logged):
    from opencrate_nb.server import api

    assert api.scrub_credentials(uri) == logged
