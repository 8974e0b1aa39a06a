"""core/handlers/_checkpoint_keras.py: ``.keras`` and ``.h5`` checkpoints (Keras 3 models through
``keras`` with the torch backend here; ``.h5`` also a dict of arrays through h5py), loaded safely."""

import importlib.util
import os
import sys

import numpy as np
import pytest
from _notebook_fixtures import require

from opencrate_nb.core.errors import CorruptArtifactError, MissingDependencyError, UntrustedContentError

os.environ.setdefault("KERAS_BACKEND", "torch")  # before the first `import keras` of this process


@pytest.fixture(scope="module")
def keras():
    return require("keras", "Keras checkpoints")


def small_model(keras, with_lambda=False):
    layers = [keras.Input((4,)), keras.layers.Dense(3, name="hidden"), keras.layers.Dense(1, name="out")]
    if with_lambda:
        layers.append(keras.layers.Lambda(lambda x: x * 2))  # Python code in the file
    return keras.Sequential(layers)


@pytest.mark.parametrize("name", ["model.keras", "model.h5"])
def test_a_keras_model_round_trips_with_its_weights(snap, keras, name):
    model = small_model(keras)
    artifact = snap.checkpoint(name)  # no InvalidNameError at creation: the guide's formats
    artifact.save(model)
    loaded = artifact.load()
    x = np.ones((2, 4), dtype="float32")
    assert np.allclose(np.asarray(loaded.predict(x, verbose=0)), np.asarray(model.predict(x, verbose=0)))
    assert [layer.name for layer in loaded.layers] == ["hidden", "out"]
    assert [a.name for a in snap.list_artifacts()] == [name]


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_python_code_in_a_keras_file_loads_only_when_trusted(snap, keras, name):
    snap.checkpoint(name).save(small_model(keras, with_lambda=True))
    with pytest.raises(UntrustedContentError, match=r"Lambda layer.*load\(trusted=True\)"):
        snap.checkpoint(name).load()
    assert len(snap.checkpoint(name).load(trusted=True).layers) == 3


def test_describe_reads_the_config_and_weights_without_loading(snap, keras):
    snap.checkpoint("model.keras").save(small_model(keras))
    info = snap.checkpoint("model.keras").describe()
    assert info["format"] == "keras" and info["model"] == "Sequential"
    assert info["parameters"] == 4 * 3 + 3 + 3 * 1 + 1 and info["tensor_count"] == 4
    assert sorted(t["shape"] for t in info["tensors"]) == [[1], [3], [3, 1], [4, 3]]
    snap.checkpoint("model.h5").save(small_model(keras))
    h5 = snap.checkpoint("model.h5").describe()
    assert h5["model"] == "Sequential" and h5["parameters"] == info["parameters"]


def test_a_dict_of_arrays_in_h5_needs_no_keras(snap):
    require("h5py", ".h5 checkpoints")
    weights = {"w1": np.arange(6.0).reshape(2, 3), "block": {"b": np.zeros(3, dtype="float32")}, "step": 7}
    artifact = snap.checkpoint("weights.h5")
    artifact.save(weights)
    loaded = artifact.load()
    assert np.array_equal(loaded["w1"], weights["w1"]) and loaded["block"]["b"].dtype == np.float32
    assert int(loaded["step"]) == 7
    info = artifact.describe()
    assert info["parameters"] == 6 + 3 + 1 and info["keys"] == ["block", "step", "w1"]
    assert "model" not in info


def test_what_a_format_cannot_hold_is_refused_before_writing(snap):
    with pytest.raises(TypeError, match=r"\.keras checkpoint holds a Keras model.*\.h5 or \.npz"):
        snap.checkpoint("x.keras").save({"w": np.ones(2)})
    with pytest.raises(TypeError, match=r"\.h5 checkpoint holds a Keras model or a dict of arrays"):
        snap.checkpoint("x.h5").save([1, 2])
    assert not os.path.exists(os.path.join(snap.dir_path, "checkpoints", "x.keras"))


@pytest.mark.parametrize("name", ["garbage.keras", "garbage.h5"])
def test_a_corrupt_file_is_called_corrupt(snap, name):
    path = os.path.join(snap.dir_path, "checkpoints", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"not a model\n" * 20)
    with pytest.raises(CorruptArtifactError, match=f"{name!r} is corrupt"):
        snap.checkpoint(name).load()
    assert "note" in snap.checkpoint(name).describe()


def test_a_missing_library_says_which_extra_to_install(snap, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "opencrate-nb\[h5\]"'):
        snap.checkpoint("w.h5").save({"w": np.ones(2)})
    monkeypatch.setitem(sys.modules, "keras", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "opencrate-nb\[keras\]"'):
        snap.checkpoint("m.keras").save(type("Model", (), {"__module__": "keras.src.models"})())


def test_keras_without_its_backend_names_the_backend(run_python, tmp_path):
    require("keras", "Keras checkpoints")
    absent = [b for b in ("jax", "tensorflow", "openvino") if importlib.util.find_spec(b) is None]
    assert absent, "every Keras backend is installed: no missing one to show"
    code = """
        from opencrate_nb.core.errors import MissingDependencyError
        from opencrate_nb.core.handlers._checkpoint_keras import _keras
        try:
            _keras("Loading .keras checkpoints")
        except MissingDependencyError as exc:
            print(exc)
    """
    out = run_python(code, cwd=tmp_path, env={"KERAS_BACKEND": absent[0]}).stdout
    assert f"its backend {absent[0]!r} is not" in out and "KERAS_BACKEND=torch" in out
