"""core/handlers/_image.py: images from arrays, PIL images and matplotlib figures."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

RED = (255, 0, 0)


def red_square(size=8):
    array = np.zeros((size, size, 3), dtype=np.uint8)
    array[...] = RED
    return array


def test_numpy_array_saved_and_loaded_as_pil_by_default(snap):
    artifact = snap.image("red.png")
    artifact.save(red_square())
    image = artifact.load()
    assert isinstance(image, Image.Image) and image.size == (8, 8) and image.getpixel((0, 0)) == RED


def test_cv2_gives_a_bgr_uint8_array_without_opencv(snap):
    snap.image("red.png").save(red_square())
    array = snap.image("red.png").load(lib="cv2")
    assert array.dtype == np.uint8 and array.shape == (8, 8, 3)
    assert tuple(array[0, 0]) == (0, 0, 255)  # BGR, as cv2.imread returns it
    assert array.flags["C_CONTIGUOUS"]
    assert tuple(snap.image("red.png").load(lib="numpy")[0, 0]) == RED


def test_guide_numpy_jpeg_size(snap):
    numpy_image = np.random.randint(0, 256, (128, 128, 3), dtype=np.uint8)
    snap.image("random_numpy_image.jpg").save(numpy_image)
    assert snap.image("random_numpy_image.jpg").load(lib="cv2").size == 49152


def test_matplotlib_figure(snap):
    figure = plt.figure(figsize=(6, 4))
    plt.plot(np.sin(np.linspace(0, 2 * np.pi, 50)))
    plt.title("Sine Wave Plot")
    snap.image("sine_wave_plot.png").save(figure)
    plt.close(figure)
    array = snap.image("sine_wave_plot.png").load(lib="cv2")
    assert array.ndim == 3 and array.shape[2] == 3 and 300 < array.shape[1] < 700


def test_pil_image_grey_float_bool_and_rgba(snap):
    snap.image("pil.png").save(Image.new("RGB", (4, 3), RED))
    assert snap.image("pil.png").describe()["width"] == 4
    snap.image("grey.png").save(np.full((5, 5), 7, dtype=np.uint8))
    assert snap.image("grey.png").load().mode == "L"
    assert snap.image("grey.png").load(lib="cv2").shape == (5, 5)
    snap.image("float.png").save(np.full((2, 2, 3), 0.5))
    assert tuple(snap.image("float.png").load(lib="numpy")[0, 0]) == (128, 128, 128)
    snap.image("mask.png").save(np.eye(3, dtype=bool))
    assert snap.image("mask.png").load(lib="cv2")[0, 0] == 255
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    snap.image("rgba.jpg").save(rgba)  # JPEG cannot hold alpha: converted to RGB
    assert snap.image("rgba.jpg").load().mode == "RGB"
    snap.image("rgba.png").save(rgba)
    assert snap.image("rgba.png").load(lib="numpy").shape == (2, 2, 4)


def test_torch_tensor_in_channels_first(snap):
    import torch

    tensor = torch.zeros(3, 6, 5)
    tensor[0] = 1.0
    snap.image("t.png").save(tensor)
    assert snap.image("t.png").load(lib="numpy").shape == (6, 5, 3)
    assert tuple(snap.image("t.png").load(lib="numpy")[0, 0]) == RED


def test_bad_shapes_and_libs(snap):
    with pytest.raises(ValueError, match=r"HxW \(grey\), HxWx3 \(RGB\) or HxWx4"):
        snap.image("bad.png").save(np.zeros((2, 2, 2)))
    assert not snap.image("bad.png").exists
    snap.image("ok.png").save(red_square())
    with pytest.raises(ValueError, match="'pil', 'cv2' or 'numpy'"):
        snap.image("ok.png").load(lib="skimage")


def test_describe_reads_the_header(snap):
    snap.image("r.png").save(red_square(16))
    info = snap.image("r.png").describe()
    assert info["width"] == 16 and info["height"] == 16 and info["mode"] == "RGB" and info["format"] == "PNG"


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
@pytest.mark.parametrize("lib", ["pil", "cv2", "numpy"])
def test_a_damaged_image_is_called_corrupt(snap, damage, lib):
    import os

    from opencrate_nb.core.errors import CorruptArtifactError

    artifact = snap.image("photo.png")
    artifact.save(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    with open(artifact.path, "rb") as f:
        data = f.read()
    with open(artifact.path, "wb") as f:
        f.write(b"garbage" * 40 if damage == "garbage" else data[: len(data) // 2])
    with pytest.raises(CorruptArtifactError, match="'photo.png' is corrupt"):
        artifact.load(lib=lib)
    os.remove(artifact.path)
    with pytest.raises(FileNotFoundError, match="photo.png"):  # a missing file is not called corrupt
        artifact.load(lib=lib)
