"""core/handlers/_audio.py: audio from sample arrays and a sample rate."""

import numpy as np
import pytest
import soundfile


def guide_tone():
    sr, duration, frequency = 44100, 3, 220.0
    t = np.linspace(0.0, duration, int(sr * duration), endpoint=False)
    amplitude = 0.3 * np.iinfo(np.int16).max
    return (amplitude * np.sin(2.0 * np.pi * frequency * t)).astype(np.int16), sr


def test_guide_example(snap):
    audio_data, sr = guide_tone()
    artifact = snap.audio("high_pitch_sine.wav")
    artifact.save(audio_data, sr, lib="soundfile")
    loaded = artifact.load(lib="soundfile")
    assert loaded["sample_rate"] == 44100 and loaded["channels"] == 1
    assert loaded["duration"] == pytest.approx(3.0)
    assert loaded["data"].shape == (132300,)
    assert np.allclose(loaded["data"] * 32768, audio_data, atol=1)
    assert soundfile.info(artifact.path).subtype == "PCM_16"  # a plain wav any player reads


def test_stereo_channels_first_is_transposed(snap):
    stereo = np.zeros((2, 1000), dtype=np.float32)
    stereo[1] = 0.5
    snap.audio("st.flac").save(stereo, sample_rate=8000)
    loaded = snap.audio("st.flac").load()
    assert loaded["channels"] == 2 and loaded["data"].shape == (1000, 2)
    assert loaded["data"][:, 1] == pytest.approx(0.5, abs=1e-3)


def test_torch_tensor_and_dtype(snap):
    import torch

    snap.audio("t.wav").save(torch.zeros(800), 16000, subtype="FLOAT")
    loaded = snap.audio("t.wav").load(dtype="float32")
    assert loaded["data"].dtype == np.float32 and loaded["duration"] == pytest.approx(0.05)


def test_bad_inputs(snap):
    with pytest.raises(TypeError, match=r"needs the sample rate: artifact.save\(data, sample_rate\)"):
        snap.audio("a.wav").save(np.zeros(10))
    with pytest.raises(ValueError, match="1-D .* or 2-D"):
        snap.audio("a.wav").save(np.zeros((2, 2, 2)), 8000)
    with pytest.raises(ValueError, match="Unknown lib"):
        snap.audio("a.wav").save(np.zeros(10), 8000, lib="pydub")
    assert not snap.audio("a.wav").exists
    snap.audio("a.wav").save(np.zeros(10), 8000)
    with pytest.raises(ValueError, match="Unknown lib"):
        snap.audio("a.wav").load(lib="pydub")


def test_describe(snap):
    snap.audio("d.wav").save(np.zeros(16000), 16000)
    info = snap.audio("d.wav").describe()
    assert info["sample_rate"] == 16000 and info["channels"] == 1 and info["frames"] == 16000
    assert info["duration"] == pytest.approx(1.0) and info["format"] == "WAV"


@pytest.mark.parametrize("content", [b"garbage" * 40, b"RIFF\x00\x00\x00\x00WAVEfmt "])
def test_a_damaged_audio_file_is_called_corrupt(snap, content):
    from opencrate_nb.core.errors import CorruptArtifactError

    artifact = snap.audio("tone.wav")
    artifact.save(np.zeros(800), 8000)
    with open(artifact.path, "wb") as f:
        f.write(content)
    with pytest.raises(CorruptArtifactError, match="'tone.wav' is corrupt: libsndfile cannot read it"):
        artifact.load()
