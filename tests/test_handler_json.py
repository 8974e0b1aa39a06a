"""core/handlers/_json.py: JSON artifacts."""

import json
import os

import numpy as np
import pytest

from opencrate_nb.core.errors import CorruptArtifactError, InvalidNameError


def test_save_and_load_like_the_guide(snap):
    artifact = snap.json("data.json")
    artifact.save({"array": [10, 20, 30], "message": "Sample JSON data"})
    assert artifact.load() == {"array": [10, 20, 30], "message": "Sample JSON data"}
    with open(artifact.path, encoding="utf-8") as f:
        assert json.load(f) == {"array": [10, 20, 30], "message": "Sample JSON data"}  # plain JSON on disk


def test_written_with_indent_and_unicode_kept(snap):
    artifact = snap.json("u.json")
    artifact.save({"name": "café"})
    assert open(artifact.path, encoding="utf-8").read() == '{\n    "name": "café"\n}'
    artifact.save({"b": 1, "a": 2}, indent=None, sort_keys=True)
    assert open(artifact.path).read() == '{"a": 2, "b": 1}'
    artifact.save({"name": "café"}, ensure_ascii=True)
    assert "\\u00e9" in open(artifact.path).read()


def test_numpy_values_sets_and_paths_are_converted(snap, tmp_path):
    snap.json("np.json").save({"scalar": np.float32(0.5), "array": np.arange(3), "set": {1}, "path": tmp_path})
    assert snap.json("np.json").load() == {"scalar": 0.5, "array": [0, 1, 2], "set": [1], "path": str(tmp_path)}


def test_lists_strings_and_numbers(snap):
    for name, value in (("l.json", [1, "two", None]), ("s.json", "text"), ("n.json", 3.5)):
        snap.json(name).save(value)
        assert snap.json(name).load() == value


def test_unserialisable_values_say_what_to_do_and_write_nothing(snap):
    with pytest.raises(TypeError, match="convert it to dict/list/str/number first"):
        snap.json("bad.json").save({"f": lambda: 1})
    assert not os.path.exists(os.path.join(snap.dir_path, "jsons", "bad.json"))


def test_wrong_suffix_is_refused(snap):
    with pytest.raises(InvalidNameError, match="json kind does not write"):
        snap.json("data.csv")
    assert snap.json("data").name == "data.json"


def test_describe(snap):
    snap.json("d.json").save({"a": 1, "b": [1, 2]})
    assert snap.json("d.json").describe() == {
        "size": os.path.getsize(snap.json("d.json").path),
        "type": "dict",
        "length": 2,
        "keys": ["a", "b"],
    }
    snap.json("l.json").save([1, 2, 3])
    assert snap.json("l.json").describe()["length"] == 3


def test_describe_does_not_parse_huge_files(snap):
    from opencrate_nb.core.handlers import _json

    snap.json("big.json").save(["x" * 1000] * ((_json.DESCRIBE_MAX_BYTES // 1000) + 10))
    info = snap.json("big.json").describe()
    assert info["note"] == "too large to summarise" and "keys" not in info


@pytest.mark.parametrize("content", [b"{not json", b'{"a": 1', b"\xff\xfe garbage"])
def test_corrupt_json_is_called_corrupt(snap, content):
    os.makedirs(os.path.join(snap.dir_path, "jsons"))
    with open(os.path.join(snap.dir_path, "jsons", "broken.json"), "wb") as f:
        f.write(content)
    with pytest.raises(CorruptArtifactError, match="'broken.json' is corrupt: it is not valid JSON") as info:
        snap.json("broken.json").load()
    assert isinstance(info.value, ValueError)  # code catching JSON's ValueError still does


@pytest.mark.parametrize(
    "value, where",
    [
        ({"loss": [0.5, float("nan")]}, "['loss'][1] is NaN"),
        ({"best": float("inf")}, "['best'] is inf"),
        ({"scores": np.array([1.0, -np.inf])}, "['scores'][1] is -inf"),
        ({"metric": np.float32("nan")}, "['metric'] is NaN"),
        (float("nan"), "the value is NaN"),
    ],
)
def test_nan_and_infinity_are_refused_before_anything_is_written(snap, value, where):
    artifact = snap.json("metrics.json")
    artifact.save({"kept": True})
    with pytest.raises(ValueError) as info:
        artifact.save(value)
    message = str(info.value)
    assert where in message and "standard JSON" in message and "None" in message  # what, why, the fix
    assert artifact.load() == {"kept": True}
    assert len(artifact.history()) == 1
    with open(artifact.path, encoding="utf-8") as f:
        json.loads(f.read(), parse_constant=lambda name: pytest.fail(f"non-standard {name} on disk"))


# -- the fast indented encoder (core/handlers/_indented_json.py) --------------------------------------
def _random_plain_value(rng, depth=0):
    pick = rng.randrange(10 if depth < 4 else 6)
    if pick == 0:
        return rng.choice([None, True, False])
    if pick == 1:
        return rng.randint(-(10**20), 10**20)
    if pick == 2:
        return rng.choice([0.0, -0.0, 1e-300, 3e-4, 1e22, rng.random() * 10 ** rng.randint(-8, 8)])
    if pick in (3, 4, 5):
        return "".join(rng.choice('ab"\\\n\té€😀\x00\x1f/') for _ in range(rng.randrange(6)))
    size = rng.randrange(4)
    if pick in (6, 7):
        return {_random_key(rng): _random_plain_value(rng, depth + 1) for _ in range(size)}
    items = [_random_plain_value(rng, depth + 1) for _ in range(size)]
    return tuple(items) if pick == 8 else items


def _random_key(rng):
    return "".join(rng.choice('kz"\\é\n😀') for _ in range(rng.randrange(4)))


def test_plain_values_are_written_exactly_as_json_writes_them():
    import random

    from opencrate_nb.core.handlers import _indented_json

    rng = random.Random(20261201)
    for _ in range(3000):
        value = _random_plain_value(rng)
        for indent, sort_keys, ensure_ascii in (
            (4, False, False),
            (2, True, True),
            (0, False, True),
            ("\t", True, False),
        ):
            expected = json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii, allow_nan=False)
            assert _indented_json.encode(value, indent, sort_keys, ensure_ascii) == expected, value


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key"},
        {"x": float("nan")},
        [float("-inf")],
        {"x": np.float32(0.5)},
        {"x": {1, 2}},
        type("Sub", (dict,), {})(a=1),
        [type("Text", (str,), {})("s")],
        {"x": 10**5000},
        json.loads("[" * 100 + "]" * 100),
    ],
    ids=["int-key", "nan", "inf", "numpy", "set", "dict-subclass", "str-subclass", "huge-int", "deep"],
)
def test_anything_but_plain_values_is_left_to_json(value):
    from opencrate_nb.core.handlers import _indented_json

    assert _indented_json.encode(value, 4) is None


def test_a_circular_value_gets_jsons_error(snap):
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        snap.json("loop.json").save(loop)
    assert not snap.json("loop.json").exists
