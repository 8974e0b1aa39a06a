"""ONNX checkpoints (``.onnx``): an ``onnx.ModelProto`` written and read by the ``onnx`` package.

An ONNX file is a protobuf message: reading it runs no code. Tensors kept in external data
files are not followed (such a file could point outside the version folder); a model whose
weights live outside the file loads with them left external.
"""

from typing import Any

from ._base import corrupt, require

MAX_DESCRIBED_TENSORS = 200


def save(obj: Any, path: str) -> None:
    """Write an ``onnx.ModelProto`` to ``path``."""
    onnx = require("onnx", "onnx", "Saving .onnx checkpoints")
    if not isinstance(obj, onnx.ModelProto):
        raise TypeError(
            f"An .onnx checkpoint holds an onnx.ModelProto (e.g. from onnx.helper.make_model or torch.onnx.export "
            f"then onnx.load); got {type(obj).__name__}."
        )
    onnx.save_model(obj, path)


def load(path: str) -> Any:
    """The ``onnx.ModelProto`` stored at ``path``; a file that is not one is called corrupt."""
    onnx = require("onnx", "onnx", "Loading .onnx checkpoints")
    try:
        model = onnx.load_model(path, load_external_data=False)
    except OSError:
        raise  # a missing or unreadable file: not the content's fault
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and onnx's own errors: the bytes are not a model
        raise corrupt(path, "it is not an ONNX model", exc) from None
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise corrupt(path, "it holds no ONNX model (no IR version or no graph)")
    return model


def describe(path: str) -> dict[str, Any]:
    """Producer, opset, graph inputs and outputs, node count and the initializers' shapes and parameters."""
    onnx = require("onnx", "onnx", "Describing .onnx checkpoints")
    model = load(path)
    graph = model.graph
    tensors: list[dict] = []
    parameters = 0
    for tensor in graph.initializer:
        count = 1
        for dim in tensor.dims:
            count *= int(dim)
        parameters += count
        if len(tensors) < MAX_DESCRIBED_TENSORS:
            dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).name if tensor.data_type else "undefined"
            tensors.append({"name": tensor.name, "shape": [int(d) for d in tensor.dims], "dtype": dtype})
    return {
        "producer": " ".join(p for p in (model.producer_name, model.producer_version) if p) or None,
        "opset": max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=None),
        "inputs": [value.name for value in graph.input][:100],
        "outputs": [value.name for value in graph.output][:100],
        "nodes": len(graph.node),
        "tensors": tensors,
        "tensor_count": len(graph.initializer),
        "parameters": parameters,
    }
