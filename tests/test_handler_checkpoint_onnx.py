"""core/handlers/_checkpoint_onnx.py: ``.onnx`` checkpoints, an onnx ModelProto built with onnx.helper."""

import os
import sys

import numpy as np
import pytest
from _notebook_fixtures import require

from opencrate_nb.core.errors import CorruptArtifactError, MissingDependencyError


@pytest.fixture(scope="module")
def onnx():
    return require("onnx", "ONNX checkpoints")


def linear_model(onnx):
    """y = x @ W + b with W 4x3 and b 3, as an exporter writes it: two initializers, two nodes."""
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    weight = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3), "W")
    bias = numpy_helper.from_array(np.zeros(3, dtype=np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 3])],
        initializer=[weight, bias],
    )
    model = helper.make_model(graph, producer_name="test", opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def test_an_onnx_model_round_trips(snap, onnx):
    model = linear_model(onnx)
    artifact = snap.checkpoint("linear.onnx")  # no InvalidNameError at creation
    artifact.save(model)
    loaded = artifact.load()
    assert isinstance(loaded, onnx.ModelProto)
    assert loaded.SerializeToString() == model.SerializeToString()
    assert [a.name for a in snap.list_artifacts()] == ["linear.onnx"]


def test_describe_lists_the_graph_and_its_weights(snap, onnx):
    snap.checkpoint("linear.onnx").save(linear_model(onnx))
    info = snap.checkpoint("linear.onnx").describe()
    assert info["format"] == "onnx" and info["producer"] == "test" and info["opset"] == 17
    assert info["inputs"] == ["x"] and info["outputs"] == ["y"] and info["nodes"] == 2
    assert info["tensors"] == [
        {"name": "W", "shape": [4, 3], "dtype": "float32"},
        {"name": "b", "shape": [3], "dtype": "float32"},
    ]
    assert info["parameters"] == 15 and info["tensor_count"] == 2


def test_only_a_model_proto_is_saved(snap, onnx):
    with pytest.raises(TypeError, match=r"\.onnx checkpoint holds an onnx.ModelProto"):
        snap.checkpoint("x.onnx").save({"W": np.ones(2)})
    assert not os.path.exists(os.path.join(snap.dir_path, "checkpoints", "x.onnx"))


def test_a_corrupt_file_is_called_corrupt(snap, onnx):
    path = os.path.join(snap.dir_path, "checkpoints", "garbage.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"\xff\xfe not protobuf" * 20)
    with pytest.raises(CorruptArtifactError, match="'garbage.onnx' is corrupt"):
        snap.checkpoint("garbage.onnx").load()
    assert "note" in snap.checkpoint("garbage.onnx").describe()


def test_without_onnx_the_error_names_the_extra(snap, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "opencrate-nb\[onnx\]"'):
        snap.checkpoint("m.onnx").save(object())
