"""Keras and HDF5 checkpoints: ``.keras`` (a Keras 3 model) and ``.h5`` (a Keras model, or a dict of arrays).

Loading is safe by default: Keras models load with ``safe_mode=True`` (no Python lambdas
deserialised); ``trusted=True`` lifts that for files you trust. A dict-of-arrays ``.h5``
is read by h5py as plain arrays, nothing executed. ``describe`` reads the archive's
config and the weights' shapes with h5py only, so listing never imports Keras.
"""

import json
import os
import zipfile
from typing import Any

from ._base import corrupt, require

#: an HDF5 file starts with this signature (at offset 0 for every file h5py and Keras write)
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"
MAX_DESCRIBED_TENSORS = 200


def _keras(purpose: str) -> Any:
    """Keras 3, or an error that says what is missing: Keras itself, or the backend it is set to use."""
    try:
        import keras
    except ImportError as exc:
        missing = getattr(exc, "name", None) or ""
        if missing and missing.split(".")[0] != "keras":
            from ..errors import MissingDependencyError

            backend = os.environ.get("KERAS_BACKEND", "tensorflow")
            raise MissingDependencyError(
                f"{purpose} needs Keras with a backend; Keras is installed but its backend {backend!r} is not "
                f"(no module {missing!r}). Install it, or choose one that is: KERAS_BACKEND=torch or jax."
            ) from exc
        return require("keras", "keras", purpose)
    return keras


def _is_keras_model(obj: Any) -> bool:
    """Whether ``obj`` is a Keras model, without importing Keras for objects that are not."""
    return any(
        cls.__module__.split(".")[0] == "keras" and cls.__name__ in ("Model", "Sequential", "Functional")
        for cls in type(obj).__mro__
    )


def _head(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(8)


def save(obj: Any, path: str, suffix: str) -> Any:
    """Write a Keras model (``.keras``, ``.h5``) or a dict of arrays (``.h5``) to ``path``.

    An ``.h5`` file is built in memory and its bytes written by our own writer (returned, for the hash it
    took): HDF5 closing a file it failed to write (a full disk) can crash the process, so HDF5 never
    writes to the disk itself and a full disk is met by our write, a Python error like any other.
    """
    if _is_keras_model(obj):
        keras = _keras(f"Saving {suffix} checkpoints")
        if suffix == ".keras":
            keras.saving.save_model(obj, path)  # a zip, written by Python's zipfile
            return None
        try:  # what keras.saving.save_model does for a path ending in .h5, given an open file
            from keras.src.legacy.saving.legacy_h5_format import save_model_to_hdf5
        except ImportError:  # another Keras: it writes the file itself
            keras.saving.save_model(obj, path)
            return None
        return _write_hdf5(path, lambda file: save_model_to_hdf5(obj, file))
    if suffix == ".keras":
        raise TypeError(
            f"A .keras checkpoint holds a Keras model (keras.Model); got {type(obj).__name__}. "
            "For a dict of arrays use .h5 or .npz."
        )
    if not isinstance(obj, dict):
        raise TypeError(
            f"An .h5 checkpoint holds a Keras model or a dict of arrays (nested dicts become groups); "
            f"got {type(obj).__name__}."
        )
    np = require("numpy", None, "Saving .h5 checkpoints")
    return _write_hdf5(path, lambda file: _write_group(file, obj, np))


def _write_hdf5(path: str, fill: Any) -> Any:
    """Build an HDF5 file in memory with ``fill(h5py.File)``, then write its bytes to ``path``: the same bytes
    HDF5 writes to a file of its own. Returns the writer (it hashed what it wrote)."""
    h5py = require("h5py", "h5", "Saving .h5 checkpoints")
    from .._atomic import FileWriter

    # named after the (unique) temporary path: HDF5 refuses two open files of one name, even in memory
    file = h5py.File(path, "w", driver="core", backing_store=False)
    try:
        fill(file)
        file.flush()
        image = file.id.get_file_image()
    finally:
        file.close()
    with FileWriter(path) as writer:
        writer.write(image)
    return writer


def _write_group(group: Any, values: dict, np: Any) -> None:
    for key, value in values.items():
        if not isinstance(key, str) or not key or "/" in key:
            raise TypeError(f"An .h5 checkpoint's keys are names without '/'; got {key!r}.")
        if isinstance(value, dict):
            _write_group(group.create_group(key), value, np)
        else:
            group.create_dataset(key, data=np.asarray(value))


def load(path: str, suffix: str, trusted: bool) -> Any:
    """The model (Keras files) or the dict of numpy arrays (a plain ``.h5``) stored at ``path``."""
    head = _head(path)
    if suffix == ".keras":
        if not head.startswith(_ZIP_MAGIC):
            raise corrupt(path, "it is not a zip archive, which every .keras file is")
        return _load_model(path, suffix, trusted)
    if not head.startswith(_HDF5_MAGIC):
        raise corrupt(path, "it does not start with the HDF5 signature")
    h5py = require("h5py", "h5", "Loading .h5 checkpoints")
    try:
        with h5py.File(path, "r") as file:
            if "model_config" in file.attrs:
                holds_model = True
            else:
                holds_model = False
                arrays = _read_group(file)
    except OSError as exc:
        if type(exc) is not OSError:
            raise  # FileNotFoundError, PermissionError: not the file's content
        raise corrupt(path, "h5py cannot read it", exc) from None
    return _load_model(path, suffix, trusted) if holds_model else arrays


def _read_group(group: Any) -> dict:
    out = {}
    for key, item in group.items():
        out[key] = _read_group(item) if hasattr(item, "keys") else item[()]
    return out


def _load_model(path: str, suffix: str, trusted: bool) -> Any:
    keras = _keras(f"Loading {suffix} checkpoints")
    try:
        return keras.saving.load_model(path, safe_mode=not trusted)
    except ValueError as exc:
        if not trusted and "safe_mode" in str(exc):
            from ..errors import UntrustedContentError

            raise UntrustedContentError(
                f"{os.path.basename(path)!r} holds Python code (a Lambda layer) that safe loading refuses. "
                "If you trust this file, load it with load(trusted=True)."
            ) from None
        raise
    except (zipfile.BadZipFile, OSError) as exc:
        if isinstance(exc, OSError) and type(exc) is not OSError:
            raise
        raise corrupt(path, "Keras cannot read it", exc) from None


def describe(path: str, suffix: str) -> dict[str, Any]:
    """Model class and layers (Keras files), weights' names, shapes and dtypes, parameters; nothing loaded."""
    h5py = require("h5py", "h5", f"Describing {suffix} checkpoints")
    info: dict[str, Any] = {}
    if suffix == ".keras":
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" in names:
                info.update(_model_facts(json.loads(archive.read("config.json"))))
            if "metadata.json" in names:
                info["keras_version"] = json.loads(archive.read("metadata.json")).get("keras_version")
            if "model.weights.h5" not in names:
                return info
            with archive.open("model.weights.h5") as weights, h5py.File(weights, "r") as file:
                info.update(_weights(file))
        return info
    with h5py.File(path, "r") as file:
        config = file.attrs.get("model_config")
        if config is not None:
            info.update(_model_facts(json.loads(config if isinstance(config, str) else config.decode())))
        info.update(_weights(file))
        if config is None:
            info["keys"] = list(file.keys())[:100]
    return info


def _model_facts(config: dict) -> dict[str, Any]:
    layers = (config.get("config") or {}).get("layers")
    facts: dict[str, Any] = {"model": config.get("class_name")}
    if isinstance(layers, list):
        facts["layers"] = len(layers)
    return facts


def _weights(file: Any) -> dict[str, Any]:
    tensors: list[dict] = []
    total = [0, 0]

    def visit(name: str, item: Any) -> None:
        if not hasattr(item, "shape") or not hasattr(item, "dtype"):
            return
        total[0] += 1
        total[1] += int(item.size)
        if len(tensors) < MAX_DESCRIBED_TENSORS:
            tensors.append({"name": name, "shape": [int(s) for s in item.shape], "dtype": str(item.dtype)})

    file.visititems(visit)
    return {"tensors": tensors, "tensor_count": total[0], "parameters": total[1]}
