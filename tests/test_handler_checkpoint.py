"""core/handlers/_checkpoint.py: model checkpoints by suffix, loaded safely by default."""

import hashlib
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

from opencrate_nb.core import record
from opencrate_nb.core.errors import CorruptArtifactError, InvalidNameError, UntrustedContentError


class Opaque:
    """A Python object that weights-only loading refuses (it is not a tensor or container)."""

    def __init__(self, value=1):
        self.value = value


def guide_checkpoint():
    model = torch.nn.Sequential(torch.nn.Linear(20, 10), torch.nn.ReLU(), torch.nn.Linear(10, 1))
    optimizer = torch.optim.Adam(lr=0.001, params=model.parameters())
    return model, {
        "epoch": 5,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": 0.015,
        "description": "A sample PyTorch model checkpoint after 5 epochs.",
    }


def test_guide_torch_checkpoint_loads_safely(snap):
    model, state = guide_checkpoint()
    artifact = snap.checkpoint("custom_model_checkpoint.pth")
    artifact.save(state)
    loaded = artifact.load()
    assert list(loaded.keys()) == ["epoch", "model_state_dict", "optimizer_state_dict", "loss", "description"]
    assert torch.equal(loaded["model_state_dict"]["0.weight"], model.state_dict()["0.weight"])
    assert loaded["description"] == "A sample PyTorch model checkpoint after 5 epochs."


def test_recorded_hash_is_the_file_hash(snap):
    _, state = guide_checkpoint()
    artifact = snap.checkpoint("m.pt")
    artifact.save(state)
    entry = record.read_lines(snap.dir_path)[-1]
    with open(artifact.path, "rb") as f:
        data = f.read()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)


def test_python_objects_need_an_explicit_opt_out(snap):
    artifact = snap.checkpoint("obj.pt")
    artifact.save({"thing": Opaque(3)})
    with pytest.raises(UntrustedContentError, match=r"load\(weights_only=False\)"):
        artifact.load()
    assert artifact.load(weights_only=False)["thing"].value == 3
    assert artifact.load(trusted=True)["thing"].value == 3


def test_map_location(snap):
    snap.checkpoint("w.pt").save({"w": torch.ones(2)})
    loaded = snap.checkpoint("w.pt").load(map_location="cpu")
    assert loaded["w"].device.type == "cpu"
    assert snap.checkpoint("w.pt").load(map_location=torch.device("cpu"))["w"].sum() == 2


def test_safetensors_from_a_state_dict_or_a_model(snap):
    model, _ = guide_checkpoint()
    snap.checkpoint("model.safetensors").save(model)  # a module: its state_dict is stored
    loaded = snap.checkpoint("model.safetensors").load()
    assert set(loaded) == set(model.state_dict())
    snap.checkpoint("meta.safetensors").save({"w": torch.zeros(3)}, metadata={"epoch": "5"})
    info = snap.checkpoint("meta.safetensors").describe()
    assert info["metadata"] == {"epoch": "5"} and info["tensors"] == [{"name": "w", "shape": [3], "dtype": "F32"}]
    with pytest.raises(TypeError, match="flat dict of tensors"):
        snap.checkpoint("bad.safetensors").save([torch.zeros(1)])


def test_numpy_npz_and_npy(snap):
    snap.checkpoint("w.npz").save({"a": np.arange(3), "b": np.ones((2, 2))})
    loaded = snap.checkpoint("w.npz").load()
    assert loaded["a"].tolist() == [0, 1, 2] and loaded["b"].shape == (2, 2)
    snap.checkpoint("c.npz").save({"a": np.zeros(100)}, compress=True)
    assert snap.checkpoint("c.npz").load()["a"].shape == (100,)
    snap.checkpoint("single.npz").save(np.arange(4))
    assert snap.checkpoint("single.npz").load()["arr_0"].tolist() == [0, 1, 2, 3]
    snap.checkpoint("w.npy").save(np.eye(2))
    assert snap.checkpoint("w.npy").load().tolist() == [[1.0, 0.0], [0.0, 1.0]]
    info = snap.checkpoint("w.npz").describe()
    assert info["keys"] == ["a", "b"] and info["parameters"] == 7


def test_pickled_numpy_needs_trusted(snap):
    folder = os.path.join(snap.dir_path, "checkpoints")
    os.makedirs(folder)
    np.save(os.path.join(folder, "objs.npy"), np.array([Opaque()], dtype=object), allow_pickle=True)
    with pytest.raises(UntrustedContentError, match=r"load\(trusted=True\)"):
        snap.checkpoint("objs.npy").load()
    assert snap.checkpoint("objs.npy").load(trusted=True)[0].value == 1


@pytest.mark.parametrize("name", ["model.pkl", "model.pickle", "model.joblib"])
def test_pickle_based_files_load_only_when_trusted(snap, name):
    artifact = snap.checkpoint(name)
    artifact.save({"coef": [1, 2], "obj": Opaque(5)})
    with pytest.raises(UntrustedContentError, match=r"can run any code.*load\(trusted=True\)"):
        artifact.load()
    assert artifact.load(trusted=True)["obj"].value == 5
    assert "pickle-based" in artifact.describe()["note"]


def test_a_malicious_pickle_never_runs_without_trusted(snap, tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    folder = os.path.join(snap.dir_path, "checkpoints")
    os.makedirs(folder)
    with open(os.path.join(folder, "evil.pkl"), "wb") as f:
        pickle.dump(Evil(), f)
    torch.save({"x": Evil()}, os.path.join(folder, "evil.pt"))
    marker.unlink(missing_ok=True)
    for name in ("evil.pkl", "evil.pt"):
        with pytest.raises(UntrustedContentError):
            snap.checkpoint(name).load()
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".ckpt", ".tflite"])
def test_unsupported_formats_say_what_to_use(snap, suffix):
    with pytest.raises(InvalidNameError, match=rf"suffix '\{suffix}', which the checkpoint kind does not write.*\.pt"):
        snap.checkpoint("model" + suffix)
    assert snap.checkpoint("epoch.3").name == "epoch.3.pt"


def test_unsupported_suffix_through_io_is_explained(tmp_path):
    import opencrate as oc

    with pytest.raises(InvalidNameError, match=r"TensorFlow checkpoints \(.ckpt\) are not supported.*custom handler"):
        oc.io.checkpoint.save({"a": 1}, str(tmp_path / "m.ckpt"))
    assert os.listdir(tmp_path) == []


def test_describe_torch_lists_tensors_and_scalars(snap):
    _, state = guide_checkpoint()
    snap.checkpoint("d.pt").save(state)
    info = snap.checkpoint("d.pt").describe()
    assert info["format"] == "pt" and info["keys"][:2] == ["epoch", "model_state_dict"]
    assert info["scalars"]["epoch"] == 5 and info["scalars"]["loss"] == 0.015
    names = {t["name"]: t for t in info["tensors"]}
    assert names["model_state_dict.0.weight"]["shape"] == [10, 20]
    assert info["parameters"] >= 20 * 10 + 10 + 10 + 1
    snap.checkpoint("o.pt").save({"thing": Opaque()})
    assert "not loadable with weights_only=True" in snap.checkpoint("o.pt").describe()["note"]


def test_bare_name_defaults_to_pt(snap):
    artifact = snap.checkpoint("model")
    assert artifact.name == "model.pt"
    artifact.save({"w": torch.zeros(1)})
    assert artifact.load()["w"].shape == (1,)


def _garbage(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def _truncated(save, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save(path)
    with open(path, "rb") as f:
        data = f.read()
    _garbage(path, data[: len(data) // 2])


def _cut(save, path, keep):
    """``save(path)``, then keep ``keep(data)`` of its bytes: a file cut short after it was written."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save(path)
    with open(path, "rb") as f:
        data = f.read()
    _garbage(path, keep(data))


def _torch_zip_with_pickle_cut(path):
    """A torch zip archive, whole by its CRCs, whose data.pkl holds only the first half of the pickle."""
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(3)}, buffer)
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive, zipfile.ZipFile(rebuilt, "w") as out:
        for name in archive.namelist():
            data = archive.read(name)
            out.writestr(name, data[: len(data) // 2] if name.endswith("data.pkl") else data)
    _garbage(path, rebuilt.getvalue())


def _npz_with_pickle_cut(path):
    """An .npz archive, whole by its CRCs, whose member of Python objects holds only part of its pickle."""
    buffer = io.BytesIO()
    np.savez(buffer, w=np.arange(4.0), objects=np.array([{"a": 1}, None], dtype=object))
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive, zipfile.ZipFile(rebuilt, "w") as out:
        for name in archive.namelist():
            data = archive.read(name)
            out.writestr(name, data[:-5] if name == "objects.npy" else data)
    _garbage(path, rebuilt.getvalue())


def _npy_header_length_wrong(path):
    """An .npy file whose header-length field says 16 bytes, cutting its header dictionary in the middle."""
    buffer = io.BytesIO()
    np.save(buffer, np.arange(10.0))
    _garbage(path, b"\x93NUMPY\x01\x00\x10\x00" + buffer.getvalue()[10:])


def _objects_npy(path):
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)


def _legacy_pt(path):
    torch.save({"w": torch.ones(64), "obj": Opaque(1)}, path, _use_new_zipfile_serialization=False)


def _joblib(compress=0):
    import joblib

    return lambda path: joblib.dump(
        {"obj": Opaque(1), "a": np.arange(500.0), "o": np.array([None])}, path, compress=compress
    )


CORRUPT_FILES = {
    "garbage.pt": lambda p: _garbage(p, b"not a checkpoint at all\n" * 20),
    "tail-cut.pt": lambda p: _cut(lambda q: torch.save({"w": torch.zeros(1000)}, q), p, lambda d: d[:-7]),
    "objects-cut.pt": lambda p: _cut(
        lambda q: torch.save({"obj": Opaque(), "w": torch.zeros(1000)}, q), p, lambda d: d[:-300]
    ),
    "pickle-cut-in-whole-zip.pt": _torch_zip_with_pickle_cut,
    "legacy-storage-cut.pt": lambda p: _cut(_legacy_pt, p, lambda d: d[:-10]),
    "header-length-wrong.npy": _npy_header_length_wrong,
    "objects-cut.npy": lambda p: _cut(_objects_npy, p, lambda d: d[:-5]),
    "pickle-cut-in-whole-zip.npz": _npz_with_pickle_cut,
    "garbage.joblib": lambda p: _garbage(p, bytes(range(256)) * 2),
    "empty.joblib": lambda p: _garbage(p, b""),
    "truncated.joblib": lambda p: _cut(_joblib(), p, lambda d: d[: len(d) // 2]),
    "array-data-cut.joblib": lambda p: _cut(_joblib(), p, lambda d: d[:-40]),
    "compressed-cut.joblib": lambda p: _cut(_joblib(3), p, lambda d: d[:-30]),
    "zip-like.pt": lambda p: _garbage(p, b"PK\x03\x04" + b"\x00" * 200),
    "truncated.pt": lambda p: _truncated(lambda q: torch.save({"w": torch.ones(64)}, q), p),
    "raw-pickle.pth": lambda p: _garbage(p, pickle.dumps({"w": [1, 2]})),
    "garbage.npy": lambda p: _garbage(p, b"garbage" * 30),
    "truncated.npy": lambda p: _truncated(lambda q: np.save(q, np.ones(100)), p),
    "garbage.npz": lambda p: _garbage(p, b"garbage" * 30),
    "truncated.npz": lambda p: _truncated(lambda q: np.savez(q, a=np.ones(100)), p),
    "garbage.pkl": lambda p: _garbage(p, b"garbage" * 30),
    "garbage.safetensors": lambda p: _garbage(p, b"garbage" * 30),
}


@pytest.mark.parametrize("name", CORRUPT_FILES)
def test_a_corrupt_file_is_called_corrupt_and_no_unsafe_load_is_advised(snap, name):
    path = os.path.join(snap.dir_path, "checkpoints", name)
    CORRUPT_FILES[name](path)
    for options in ({}, {"trusted": True}, {"weights_only": False}):
        with pytest.raises(CorruptArtifactError) as info:
            snap.checkpoint(name).load(**options)
        message = str(info.value)
        assert f"{name!r} is corrupt" in message and "load(version=" in message
        assert "weights_only=False" not in message and "trusted=True" not in message


@pytest.mark.parametrize("compress", [0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3)])
def test_a_joblib_file_gets_the_opt_in_advice_only_while_it_is_whole(snap, compress):
    """Whole (arrays and objects, any compressor): load(trusted=True) is advised; cut anywhere, down to the
    last byte of a compressor's checksum: corrupt. (Trusted, joblib itself reads a zlib or gzip stream
    that lacks only its checksum; what it reads is then all there.)"""
    artifact = snap.checkpoint("model.joblib")
    saved = {"obj": Opaque(4), "a": np.arange(3000.0), "f": np.ones((3, 4), order="F")}
    artifact.save(saved, compress=compress)
    with pytest.raises(UntrustedContentError, match=r"load\(trusted=True\)"):
        artifact.load()
    assert artifact.load(trusted=True)["obj"].value == 4
    with open(artifact.path, "rb") as f:
        data = f.read()
    for keep in (1, 20, len(data) // 3, len(data) // 2, len(data) - 100, len(data) - 1):
        with open(artifact.path, "wb") as f:
            f.write(data[:keep])
        with pytest.raises(CorruptArtifactError, match="'model.joblib' is corrupt") as info:
            artifact.load()
        assert "trusted=True" not in str(info.value), (keep, str(info.value))
        try:
            loaded = artifact.load(trusted=True)
        except CorruptArtifactError as error:
            assert "trusted=True" not in str(error)
        else:
            assert keep > len(data) - 8 and np.array_equal(loaded["a"], saved["a"]), keep


def test_a_valid_file_that_needs_unpickling_still_gets_the_opt_in_advice(snap):
    snap.checkpoint("objects.pt").save({"obj": Opaque(2)})
    with pytest.raises(UntrustedContentError, match=r"Opaque.*load\(weights_only=False\)") as info:
        snap.checkpoint("objects.pt").load()
    assert not isinstance(info.value, CorruptArtifactError)
    legacy = os.path.join(snap.dir_path, "checkpoints", "legacy.pt")
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False, pickle_protocol=4)
    with pytest.raises(UntrustedContentError, match=r"load\(weights_only=False\)") as info:
        snap.checkpoint("legacy.pt").load()  # whole, but weights-only loading cannot read protocol 4
    assert not isinstance(info.value, CorruptArtifactError)
    assert snap.checkpoint("legacy.pt").load(weights_only=False)["w"].tolist() == [1.0, 1.0]
