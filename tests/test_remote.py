"""core/remote.py: push and pull through fsspec, against a real S3 API (moto's server on 127.0.0.1,
through s3fs) and a local-folder remote (``file://``)."""

import json
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import unicodedata

import pytest
from _notebook_fixtures import REPO, require

from opencrate_nb.core import remote
from opencrate_nb.core.errors import InvalidNameError
from opencrate_nb.core.remote import CorruptRemoteError, RemoteError, VersionConflictError

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint():
    """A real S3 API server (moto) on 127.0.0.1 for this module's tests."""
    require("s3fs", "pushing to S3")
    server_module = require("moto.server", "pushing to an S3 API server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_url(s3_endpoint, monkeypatch, tmp_path):
    """A fresh bucket on the local S3 server, reached as users do: credentials and endpoint from the environment."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    import fsspec

    bucket = f"b{tmp_path.name.lower().replace('_', '-')[-40:].strip('-')}"
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir(bucket)
    return f"s3://{bucket}/crates"


@pytest.fixture
def file_url(tmp_path):
    return (tmp_path / "remote").as_uri()


@pytest.fixture(params=["file", "s3"])
def url(request):
    return request.getfixturevalue(f"{request.param}_url")


def make_runs(oc, root="snapshots", count=2, name="exp", label="a"):
    """``count`` versions of ``name`` under ``root``: metrics, a config, a text with an earlier content, a backup."""
    for number in range(count):
        oc.snapshot.setup(name=name, root=root)
        oc.snapshot.json("metrics").save({"run": number, "from": label})
        oc.snapshot.yaml("config").save({"lr": 0.1 * (number + 1)})
        oc.snapshot.text("notes.txt").save(f"first {label}")
        oc.snapshot.text("notes.txt").save(f"second {label} {number}")
        oc.snapshot.text("notes.txt").backup("kept")
        oc.info(f"run {number} of {label}")
    finish_run()


def finish_run():
    """End the run as the interpreter's exit does: log closed, env.json final (no background write to come)."""
    from _notebook_fixtures import forget_snapshot

    from opencrate_nb.core import environment

    environment.wait()
    environment.finish()
    forget_snapshot()


def tree(folder):
    """Every file below ``folder`` with its bytes; locks and the intent journal (this machine's
    bookkeeping of unfinished writes, never pushed) left out."""
    found = {}
    for dirpath, _, files in os.walk(folder):
        for leaf in files:
            full = os.path.join(dirpath, leaf)
            rel = os.path.relpath(full, folder)
            if leaf.endswith(".lock") or leaf == "journal.jsonl":
                continue
            with open(full, "rb") as f:
                found[rel] = f.read()
    return found


def test_a_pushed_snapshot_pulls_back_identical_and_usable(oc, url, tmp_path):
    make_runs(oc)
    report = remote.push(url, "exp")
    assert report.pushed == ["v0", "v1"] and report.objects_sent > 0
    pulled = remote.pull(url, "exp", root="elsewhere")
    assert pulled.pulled == ["v0", "v1"]
    for version in ("v0", "v1"):
        assert tree(f"elsewhere/exp/{version}") == tree(f"snapshots/exp/{version}")
    assert remote.pull(url, "exp", root="elsewhere").unchanged == ["v0", "v1"]  # nothing to do twice
    oc.snapshot.setup(name="exp", start=1, root="elsewhere")
    assert oc.snapshot.json("metrics").load() == {"run": 1, "from": "a"}
    assert oc.snapshot.text("notes.txt").load(version=0) == "first a"  # the history came along
    assert oc.snapshot.verify().ok


def test_the_remote_layout_is_content_addressed_and_a_manifest_names_every_role(oc, file_url, tmp_path):
    make_runs(oc, count=1)
    remote.push(file_url, "exp")
    base = tmp_path / "remote"
    manifest = json.loads((base / "exp" / "v0" / "manifest.json").read_text())
    assert manifest["format"] == "opencrate-remote/1" and manifest["version"] == "v0"
    assert manifest["artifacts"]["jsons/metrics.json"]["kind"] == "json"
    assert manifest["backups"]["texts/notes.backup_kept.txt"]["of"] == "notes.txt"
    assert set(manifest["logs"]) == {"exp.log"}
    assert set(manifest["record"]) == {".crate/record.jsonl"} and set(manifest["environment"]) == {".crate/env.json"}
    assert len(manifest["history"]) == 1  # the earlier content of notes.txt
    for entry in remote.manifest_files(manifest).values():
        stored = base / "objects" / entry["sha256"][:2] / entry["sha256"]
        assert stored.stat().st_size == entry["size"]
    # the backup and the text hold one content: stored once
    shas = [e["sha256"] for e in remote.manifest_files(manifest).values()]
    assert len(list((base / "objects").glob("*/*"))) == len(set(shas)) < len(shas)


def test_a_second_push_of_an_unchanged_snapshot_sends_nothing(oc, url, tmp_path):
    make_runs(oc, count=3)
    first = remote.push(url, "exp")
    assert first.objects_sent > 0
    second = remote.push(url, "exp")
    assert second.pushed == [] and second.unchanged == ["v0", "v1", "v2"]
    assert second.objects_sent == 0 and second.bytes_sent == 0
    oc.snapshot.setup(name="exp", start=2)
    oc.snapshot.json("metrics").save({"run": 2, "changed": True})
    oc.snapshot.setup(name="exp", start="new")
    oc.snapshot.yaml("config").save({"lr": 0.1})  # the same content as v0's config
    finish_run()
    with pytest.raises(VersionConflictError, match=r"already holds exp/v2 with other content .*--as v4"):
        remote.push(url, "exp")  # v2 was resumed after its push: it is not overwritten remotely
    third = remote.push(url, "exp", ["v3"])
    assert third.pushed == ["v3"] and third.objects_present > 0  # shared contents were not sent again


PUSHER = """
import sys
from opencrate_nb.core import remote
remote.push(sys.argv[1], "many", progress=False)
"""

#: a push that SIGKILLs itself right after the N-th object it stores (argv[2]) arrived under its name
KILLED_PUSHER = """
import os, signal, sys
from opencrate_nb.core import remote
stop_after, stored, real_replace = int(sys.argv[2]), [0], os.replace
def replace(source, target, *args, **kwargs):
    real_replace(source, target, *args, **kwargs)
    if len(os.path.basename(target)) == 64:
        stored[0] += 1
        if stored[0] == stop_after:
            os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
remote.push(sys.argv[1], "many", progress=False)
"""


def _many_small_artifacts(oc, count):
    oc.snapshot.setup(name="many")
    for number in range(count):
        oc.snapshot.text(f"part{number:03d}.txt").save(f"content {number} " * 20)
    finish_run()


def _objects(base):
    folder = os.path.join(base, "objects")
    if not os.path.isdir(folder):
        return set()
    return {leaf for shard in os.listdir(folder) for leaf in os.listdir(os.path.join(folder, shard)) if len(leaf) == 64}


def test_a_push_killed_at_random_points_resumes_without_resending(oc, file_url, tmp_path):
    _many_small_artifacts(oc, 300)
    base = tmp_path / "remote"
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    chooser = random.Random(11)
    killed_at = []
    for _ in range(3):
        stop_after = chooser.randint(1, 60)
        child = subprocess.run(
            [sys.executable, "-c", KILLED_PUSHER, file_url, str(stop_after)], env=env, capture_output=True, timeout=120
        )
        assert child.returncode == -signal.SIGKILL, child.stderr.decode()
        killed_at.append(len(_objects(base)))
        assert not (base / "many" / "v0" / "manifest.json").exists()  # never a half-pushed version
        assert remote.list_remote(file_url) == []
    assert killed_at == sorted(killed_at) and killed_at[-1] < 300
    arrived = _objects(base)
    report = remote.push(file_url, "many")
    manifest = json.loads((base / "many" / "v0" / "manifest.json").read_text())
    needed = {e["sha256"] for e in remote.manifest_files(manifest).values()}
    assert report.objects_sent == len(needed - arrived)  # what arrived was not sent again
    assert _objects(base) == needed  # and nothing is stored twice or left over under an object name
    assert remote.pull(file_url, "many", root="fresh").pulled == ["v0"]


def test_a_push_to_s3_killed_mid_way_resumes(oc, s3_url, tmp_path):
    _many_small_artifacts(oc, 80)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen([sys.executable, "-c", PUSHER, s3_url], env=env, stderr=subprocess.PIPE)
    import fsspec

    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    objects = s3_url[len("s3://") :] + "/objects"
    deadline = time.monotonic() + 60
    while child.poll() is None and time.monotonic() < deadline:
        fs.invalidate_cache()
        if fs.exists(objects) and len(fs.find(objects)) >= 5:
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    fs.invalidate_cache()
    arrived = len(fs.find(objects)) if fs.exists(objects) else 0
    report = remote.push(s3_url, "many")
    fs.invalidate_cache()
    assert report.pushed == ["v0"]
    assert report.objects_sent + arrived == len(fs.find(objects))  # each content once, none re-sent
    pulled = remote.pull(s3_url, "many", root="fresh")
    assert pulled.pulled == ["v0"] and len(os.listdir("fresh/many/v0/texts")) == 80


def test_a_corrupt_remote_object_is_detected_and_nothing_is_written(oc, file_url, tmp_path):
    make_runs(oc, count=1)
    remote.push(file_url, "exp")
    manifest = json.loads((tmp_path / "remote" / "exp" / "v0" / "manifest.json").read_text())
    sha = manifest["artifacts"]["jsons/metrics.json"]["sha256"]
    (tmp_path / "remote" / "objects" / sha[:2] / sha).write_bytes(b'{"run": 99}')
    with pytest.raises(CorruptRemoteError, match=r"jsons/metrics.json .* is corrupt: object " + sha):
        remote.pull(file_url, "exp", root="elsewhere")
    assert os.listdir("elsewhere/exp") == []  # no version, no leftovers of the attempt


def test_a_corrupt_object_on_s3_is_detected(oc, s3_url):
    make_runs(oc, count=1)
    remote.push(s3_url, "exp")
    import fsspec

    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    manifest = json.loads(fs.cat_file(s3_url[5:] + "/exp/v0/manifest.json"))
    sha = manifest["artifacts"]["yamls/config.yaml"]["sha256"]
    fs.pipe_file(f"{s3_url[5:]}/objects/{sha[:2]}/{sha}", b"lr: 5\n")
    with pytest.raises(CorruptRemoteError, match="yamls/config.yaml"):
        remote.pull(s3_url, "exp", root="elsewhere")
    assert not os.path.exists("elsewhere/exp/v0")


def test_two_roots_push_different_versions_of_one_name(oc, url, tmp_path):
    make_runs(oc, root="laptop", count=2, label="laptop")  # v0, v1
    for number in (0, 1):  # the cluster made v0 and v1 too (other runs), then v2 and v3
        os.makedirs(f"cluster/exp/v{number}:cluster")
    make_runs(oc, root="cluster", count=2, label="cluster")
    remote.push(url, "exp", root="laptop")
    assert remote.push(url, "exp", ["v2", "v3"], root="cluster").pushed == ["v2", "v3"]
    assert remote.list_remote(url) == [{"name": "exp", "versions": ["v0", "v1", "v2", "v3"]}]
    pulled = remote.pull(url, "exp", root="office")
    assert pulled.pulled == ["v0", "v1", "v2", "v3"]
    with open("office/exp/v3/jsons/metrics.json") as f:
        assert json.load(f)["from"] == "cluster"
    with open("office/exp/v1/jsons/metrics.json") as f:
        assert json.load(f)["from"] == "laptop"


def test_pull_never_overwrites_a_local_version_with_other_content(oc, url, tmp_path):
    make_runs(oc, root="laptop", count=1, label="laptop")
    remote.push(url, "exp", root="laptop")
    make_runs(oc, root="mine", count=1, label="mine")
    before = tree("mine/exp/v0")
    with pytest.raises(VersionConflictError, match=r"exp/v0 here holds other content .*--as v1 \(or --as v0:theirs\)"):
        remote.pull(url, "exp", root="mine")
    assert tree("mine/exp/v0") == before and sorted(os.listdir("mine/exp")) == [".crate.lock", "v0"]
    assert remote.pull(url, "exp", ["v0"], root="mine", as_version="v0:theirs").pulled == ["v0:theirs"]
    with open("mine/exp/v0:theirs/jsons/metrics.json") as f:
        assert json.load(f)["from"] == "laptop"
    assert tree("mine/exp/v0") == before


def test_versions_are_named_as_everywhere_else(oc, file_url):
    make_runs(oc, count=3)
    assert remote.push(file_url, "exp", [0, "v2"]).pushed == ["v0", "v2"]
    assert remote.pull(file_url, "exp", ["2"], root="other").pulled == ["v2"]
    with pytest.raises(LookupError, match=r"has no version 'v7' of 'exp'. Versions there: v0, v2"):
        remote.pull(file_url, "exp", ["v7"], root="other")
    with pytest.raises(LookupError, match=r"holds no snapshot named 'nope'. It holds: exp"):
        remote.pull(file_url, "nope")
    with pytest.raises(InvalidNameError, match="as_version names one version"):
        remote.push(file_url, "exp", as_version="v9")


def test_a_remote_version_written_in_another_spelling_is_pulled_as_setup_names_it(oc, file_url, tmp_path):
    make_runs(oc, count=1)
    tag = "\u00e9t\u00e9"
    decomposed = unicodedata.normalize("NFD", tag)
    assert remote.push(file_url, "exp", ["v0"], as_version=f"v3:{decomposed}").pushed == [f"v3:{tag}"]
    there = tmp_path / "remote" / "exp"
    os.rename(there / f"v3:{tag}", there / f"v3:{decomposed}")  # as a push that did not normalise wrote it
    assert remote.pull(file_url, "exp", [tag], root="a").pulled == [f"v3:{tag}"]
    assert remote.pull(file_url, "exp", [f"v3:{decomposed}"], root="b").pulled == [f"v3:{tag}"]
    assert remote.pull(file_url, "exp", root="c").pulled == [f"v3:{tag}"]
    for root in ("a", "b", "c"):
        assert [f for f in os.listdir(f"{root}/exp") if not f.startswith(".")] == [f"v3:{tag}"]
    oc.snapshot.setup(name="exp", start=3, tag=decomposed, root="c")
    assert oc.snapshot.list_versions() == [f"v3:{tag}"]
    assert oc.snapshot.json("metrics").load() == {"run": 0, "from": "a"}


def test_two_spellings_of_one_version_at_the_remote_pull_as_one_or_not_at_all(oc, file_url, tmp_path):
    make_runs(oc, count=2)
    tag = "\u00e9t\u00e9"
    decomposed = unicodedata.normalize("NFD", tag)
    there = tmp_path / "remote" / "exp"
    remote.push(file_url, "exp", ["v0"], as_version=f"v3:{tag}")
    remote.push(file_url, "exp", ["v0"], as_version="v3:same")
    os.rename(there / "v3:same", there / f"v3:{decomposed}")  # the same content, as an earlier push spelled it
    assert remote.pull(file_url, "exp", root="a").pulled == [f"v3:{tag}"]
    assert [f for f in os.listdir("a/exp") if not f.startswith(".")] == [f"v3:{tag}"]
    remote.push(file_url, "exp", ["v1"], as_version="v3:other")
    os.rename(there / f"v3:{decomposed}", there / "v3:gone")
    os.rename(there / "v3:other", there / f"v3:{decomposed}")  # now with other content
    with pytest.raises(VersionConflictError, match=r"two spellings of v3:.*Nothing was written"):
        remote.pull(file_url, "exp", root="b")
    assert not os.path.exists("b")
    assert remote.pull(file_url, "exp", [f"v3:{tag}"], root="b").pulled == [f"v3:{tag}"]
    with open(f"b/exp/v3:{tag}/jsons/metrics.json") as f:
        assert json.load(f)["run"] == 0


def test_a_remote_version_no_setup_could_name_is_refused_before_anything_is_written(oc, file_url, tmp_path):
    make_runs(oc, count=1)
    remote.push(file_url, "exp", ["v0"], as_version="v3:gpj")
    there = tmp_path / "remote" / "exp"
    os.rename(there / "v3:gpj", there / "v3:gpj\u202eexe")  # shows as v3:gpjexe... reversed
    with pytest.raises(InvalidNameError, match=r"'v3:gpj\\u202eexe'.*U\+202E \(RIGHT-TO-LEFT OVERRIDE\).*--as"):
        remote.pull(file_url, "exp", root="elsewhere")
    assert not os.path.exists("elsewhere")
    assert remote.pull(file_url, "exp", ["v3"], root="elsewhere", as_version="v3:safe").pulled == ["v3:safe"]


def test_a_manifest_naming_files_outside_its_version_is_refused(oc, file_url, tmp_path):
    make_runs(oc, count=1)
    remote.push(file_url, "exp")
    path = tmp_path / "remote" / "exp" / "v0" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["other"] = {"../../escaped.txt": next(iter(manifest["artifacts"].values()))}
    path.write_text(json.dumps(manifest))
    with pytest.raises(RemoteError, match="outside its version folder"):
        remote.pull(file_url, "exp", root="elsewhere")
    assert not (tmp_path / "elsewhere" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()


def test_passwords_in_urls_are_never_shown_or_stored(oc, tmp_path):
    secret = "ftp://user:hunter2@example.invalid/crates"
    assert remote.redact(secret) == "ftp://user:***@example.invalid/crates"
    os.makedirs("snapshots")
    with pytest.raises(InvalidNameError) as caught:
        remote.set_default("snapshots", secret)
    assert "hunter2" not in str(caught.value) and not os.path.exists("snapshots/.crate/remote.json")
    with pytest.raises(InvalidNameError, match="give an fsspec URL") as caught:
        remote.push("user:hunter2@bucket", "exp")
    assert "hunter2" not in str(caught.value)


def test_the_default_remote_lives_in_the_roots_hidden_folder(oc, file_url):
    make_runs(oc, count=2)
    assert remote.default_remote("snapshots") is None
    remote.set_default("snapshots", file_url)
    with open("snapshots/.crate/remote.json") as f:
        assert json.load(f) == {"url": file_url}
    assert remote.push_marks("snapshots", "exp", file_url) == {"v0": "", "v1": ""}
    remote.push(file_url, "exp", ["v1"])
    assert remote.push_marks("snapshots", "exp", file_url) == {"v0": "", "v1": "pushed"}
    assert remote.unset_default("snapshots") and remote.default_remote("snapshots") is None


def test_pushing_the_running_snapshot_through_oc_snapshot(oc, file_url, capsys):
    oc.snapshot.setup(name="live")
    oc.snapshot.json("m").save({"a": 1})
    report = oc.snapshot.push(file_url)
    assert report.pushed == ["v0"] and "pushed 1 version of 'live'" in str(report)
    oc.snapshot.setup(name="other")
    assert oc.snapshot.pull(file_url, "live", ["v0"], as_version="v3").pulled == ["v3"]
    assert os.path.exists("snapshots/live/v3/jsons/m.json")


def test_large_files_show_progress_on_stderr_and_arrive_whole(oc, url, capsys, tmp_path):
    require("tqdm", "the progress bar")
    oc.snapshot.setup(name="big")
    payload = os.urandom(9 << 19).hex()  # 9 MB, above SMALL: sent from the file, checked unchanged around the upload
    oc.snapshot.text("weights.txt").save(payload)
    finish_run()
    capsys.readouterr()
    remote.push(url, "big", progress=True)
    err = capsys.readouterr().err
    assert "push big" in err and "9.00M" in err
    remote.pull(url, "big", root="back", progress=False)
    assert (tmp_path / "back" / "big" / "v0" / "texts" / "weights.txt").read_text() == payload


def test_the_cloud_filesystem_missing_names_the_extra(oc):
    code = textwrap.dedent(
        """
        import sys
        sys.modules["gcsfs"] = None  # as if not installed
        from opencrate_nb.core import remote
        try:
            remote.Remote("gs://bucket/crates")
        except Exception as exc:
            print(type(exc).__name__, exc)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert "MissingDependencyError" in result.stdout and "opencrate-nb[gcs]" in result.stdout


def test_what_a_killed_pull_left_is_removed_by_the_next_pull(oc, file_url):
    make_runs(oc, count=1)
    remote.push(file_url, "exp")
    os.makedirs("elsewhere/exp/.pull-v0-dead0001/jsons")  # a pull killed mid-way, an hour ago
    os.utime("elsewhere/exp/.pull-v0-dead0001", (time.time() - 7200, time.time() - 7200))
    os.makedirs("elsewhere/exp/.pull-v0-live0002")  # a pull running now: left alone
    assert remote.pull(file_url, "exp", root="elsewhere").pulled == ["v0"]
    assert sorted(os.listdir("elsewhere/exp")) == [".crate.lock", ".pull-v0-live0002", "v0"]
