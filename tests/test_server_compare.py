"""``GET opencrate/api/compare`` (opencrate_nb/server/compare.py): the comparison computed by core as
JSON, on a real JupyterLab server: authenticated, 304 while nothing changed, errors as JSON."""

import json
import os
import urllib.parse

import pytest
from _lab_fixtures import save_artifacts

from opencrate_nb.server import api
from opencrate_nb.server.compare import compare_json


def _sweep(root, name, rates=(0.1, 0.01)):
    for number, lr in enumerate(rates):
        save_artifacts(
            root,
            name,
            [("json", "config.json", {"lr": lr, "seed": 1}), ("json", "metrics.json", {"acc": 0.5 + number / 10})],
            tag=f"lr{lr}",
        )


def test_the_json_is_core_s_comparison_without_the_servers_paths(tmp_path):
    root = str(tmp_path / "snapshots")
    _sweep(root, "sweep")
    data = json.loads(compare_json(root, "sweep"))
    assert "root" not in data and str(tmp_path) not in json.dumps(data)
    assert [c["key"] for c in data["columns"] if c["group"] != "run"] == ["config.lr", "metrics.acc"]
    assert [r["version"] for r in data["rows"]] == ["v0:lr0.1", "v1:lr0.01"]
    assert data["rows"][0]["cells"][-1] == {"value": 0.5, "text": "0.5"} and data["hidden"] == 1
    everything = json.loads(compare_json(root, "sweep", show_all=True, ignore=("*.lr",), sort="-acc"))
    assert [c["key"] for c in everything["columns"] if c["group"] != "run"] == ["config.seed", "metrics.acc"]
    assert [r["version"] for r in everything["rows"]] == ["v1:lr0.01", "v0:lr0.1"]


@pytest.mark.parametrize(
    "name, status, message",
    [
        ("", 400, "Which snapshot?"),
        ("../x", 400, "is not a snapshot name"),
        (".hidden", 400, "is not a snapshot name"),
        ("missing", 404, "No snapshot named 'missing'"),
    ],
)
def test_bad_names_are_refused(tmp_path, name, status, message):
    root = str(tmp_path / "snapshots")
    _sweep(root, "sweep")
    with pytest.raises(api.ApiError) as caught:
        compare_json(root, name)
    assert caught.value.status == status and message in caught.value.message


def test_a_link_out_of_the_root_is_no_snapshot(tmp_path):
    root = tmp_path / "snapshots"
    _sweep(str(tmp_path / "elsewhere"), "secret")
    root.mkdir()
    os.symlink(tmp_path / "elsewhere" / "secret", root / "secret")
    with pytest.raises(api.ApiError, match="No snapshot named 'secret'"):
        compare_json(str(root), "secret")


def test_the_route_needs_the_token_and_answers_304_while_nothing_changed(lab):
    _sweep(lab.snapshots, "route_sweep")
    status, body = lab.api("compare", token=False, name="route_sweep")
    assert status == 403 and set(body) == {"message"}
    status, headers, raw = lab.fetch("opencrate/api/compare?name=route_sweep")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    data = json.loads(raw)
    assert [r["version"] for r in data["rows"]] == ["v0:lr0.1", "v1:lr0.01"]
    etag = headers["ETag"]
    status, _, raw = lab.fetch("opencrate/api/compare?name=route_sweep", headers={"If-None-Match": etag})
    assert status == 304 and raw == b""
    _sweep(lab.snapshots, "route_sweep", rates=(0.5,))  # a new version: a new answer
    status, headers, raw = lab.fetch("opencrate/api/compare?name=route_sweep", headers={"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag and len(json.loads(raw)["rows"]) == 3


def test_options_and_errors_over_http(lab):
    _sweep(lab.snapshots, "route_options")
    query = urllib.parse.urlencode([("name", "route_options"), ("all", "1"), ("ignore", "*.lr"), ("sort", "-acc")])
    status, body = lab.get(f"opencrate/api/compare?{query}")
    data = json.loads(body)
    assert status == 200 and [c["key"] for c in data["columns"]][-2:] == ["config.seed", "metrics.acc"]
    assert data["rows"][0]["version"] == "v1:lr0.01"
    for params, code, message in (
        ({"name": "nope"}, 404, "No snapshot named 'nope'"),
        ({"name": "../etc"}, 400, "is not a snapshot name"),
        ({"name": "route_options", "sort": "nope"}, 400, "No column 'nope'"),
    ):
        status, body = lab.api("compare", **params)
        assert status == code and set(body) == {"message"} and message in body["message"], (params, body)
