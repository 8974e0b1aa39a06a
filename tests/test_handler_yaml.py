"""core/handlers/_yaml.py: YAML configuration artifacts."""

import os

import pytest
import yaml


def test_save_and_load_like_the_guide(snap):
    artifact = snap.yaml("config.yaml")
    artifact.save({"project": "OpenCrate Guide", "version": 1.1, "settings": {"debug_mode": True}})
    assert artifact.load() == {"project": "OpenCrate Guide", "settings": {"debug_mode": True}, "version": 1.1}
    assert str(artifact.load()) == "{'project': 'OpenCrate Guide', 'settings': {'debug_mode': True}, 'version': 1.1}"


def test_block_style_sorted_keys_by_default_and_options(snap):
    artifact = snap.yaml("c.yml")
    artifact.save({"b": 1, "a": [1, 2]})
    assert open(artifact.path).read() == "a:\n- 1\n- 2\nb: 1\n"
    artifact.save({"b": 1, "a": 2}, sort_keys=False)
    assert open(artifact.path).read() == "b: 1\na: 2\n"
    artifact.save({"a": [1, 2]}, default_flow_style=True)
    assert open(artifact.path).read() == "{a: [1, 2]}\n"


def test_safe_dump_refuses_python_objects_and_writes_nothing(snap):
    with pytest.raises(yaml.representer.RepresenterError):
        snap.yaml("bad.yaml").save({"obj": object()})
    assert not os.path.exists(os.path.join(snap.dir_path, "yamls", "bad.yaml"))


def test_safe_load_refuses_python_tags(snap):
    os.makedirs(os.path.join(snap.dir_path, "yamls"))
    with open(os.path.join(snap.dir_path, "yamls", "evil.yaml"), "w") as f:
        f.write("!!python/object/apply:os.system ['echo unsafe']\n")
    with pytest.raises(yaml.constructor.ConstructorError):
        snap.yaml("evil.yaml").load()


def test_unicode(snap):
    snap.yaml("u.yaml").save({"name": "café"})
    assert "café" in open(snap.yaml("u.yaml").path, encoding="utf-8").read()
    assert snap.yaml("u.yaml").load() == {"name": "café"}


def test_describe(snap):
    snap.yaml("c.yaml").save({"lr": 0.1, "epochs": 3})
    info = snap.yaml("c.yaml").describe()
    assert info["type"] == "dict" and info["keys"] == ["epochs", "lr"] and info["length"] == 2


def test_corrupt_yaml_is_called_corrupt(snap):
    from opencrate_nb.core.errors import CorruptArtifactError

    os.makedirs(os.path.join(snap.dir_path, "yamls"))
    with open(os.path.join(snap.dir_path, "yamls", "broken.yaml"), "w", encoding="utf-8") as f:
        f.write("a: [1, 2\nb: {")
    with pytest.raises(CorruptArtifactError, match="'broken.yaml' is corrupt: it is not valid YAML"):
        snap.yaml("broken.yaml").load()
