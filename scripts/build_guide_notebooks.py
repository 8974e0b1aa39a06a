"""Write notebooks/guide/*.ipynb from the OpenCrate guide's code cells and execute them.

The guide restarts its kernel twice; each restart starts a new notebook here, so nbval
runs every part in a fresh kernel, in order (notebooks/guide/conftest.py runs them in a
temporary folder). Outputs are stored for nbval to compare; times, sizes and kernel file
names are masked by notebooks/nbval-sanitize.cfg. Run from the repository root:

    python scripts/build_guide_notebooks.py
"""

import configparser
import os
import re
import shutil
import sys
import tempfile

import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, os.pardir, "notebooks", "guide")
SANITIZE = os.path.join(HERE, os.pardir, "notebooks", "nbval-sanitize.cfg")
IGNORE = "# NBVAL_IGNORE_OUTPUT\n"

PART1 = [
    "import opencrate as oc",
    """oc.snapshot.setup(name="snapshot_guide", start="new", tag="initial-run")
oc.snapshot.reset(confirm=True)
oc.snapshot.setup(name="snapshot_guide", start="new", tag="initial-run")

oc.info(
    f"Snapshot with version `{oc.snapshot.version}` and name `{oc.snapshot.version_name}` has been set up at: `{oc.snapshot.dir_path}`"
)
oc.io.show_files_in_dir("snapshots", depth=4)""",
]

PART2 = [
    """# Notebook is restarted here to simulate a fresh run.

import opencrate as oc""",
    """oc.snapshot.setup(name="snapshot_guide", start="last", tag="initial-run")
# in our case we can pass start="last" as we are resuming from the last snapshot
# otherwise we can pass start="0" as we are resuming from the version v0

oc.info(
    f"Resumed Snapshot with version `{oc.snapshot.version}` and name `{oc.snapshot.version_name}` located at: `{oc.snapshot.dir_path}`"
)
oc.io.show_files_in_dir("snapshots", depth=4)""",
]

PART3 = [
    """# Notebook is restarted here to simulate a fresh run.

import opencrate as oc""",
    """oc.snapshot.setup(name="snapshot_guide", start="new", tag="major-update")

oc.info(
    f"New Snapshot version `{oc.snapshot.version}` with name `{oc.snapshot.version_name}` has been set up at: `{oc.snapshot.dir_path}`"
)
oc.io.show_files_in_dir("snapshots", depth=4)""",
    """oc.info("This is an informational message from the current run.")
oc.debug("Detailed debug information for troubleshooting.")
oc.warning("A potential issue detected, but execution continues.")
oc.error("An error occurred, affecting a part of the pipeline.")
oc.critical("Critical failure: pipeline likely to terminate.")
oc.success("Important step completed successfully!")

try:
    # Simulate an error
    result = 10 / 0
except ZeroDivisionError:
    oc.exception("Caught a division by zero error.")

oc.info("All log messages have been dispatched.")""",
    'oc.io.show_files_in_dir("snapshots", depth=4)',
    "!cat snapshots/snapshot_guide/v0:initial-run/snapshot_guide.log",
    "!cat snapshots/snapshot_guide/v0:initial-run/snapshot_guide.history.log",
    "!cat snapshots/snapshot_guide/v1:major-update/snapshot_guide.log",
    """import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch""",
    """# First we initialize our artifacts based on their handling type

greeting_artifact = oc.snapshot.text("greeting.txt")
data_artifact = oc.snapshot.json("data.json")
config_artifact = oc.snapshot.yaml("config.yaml")
sample_data_artifact = oc.snapshot.csv("sample_data.csv")
sine_artifact = oc.snapshot.image("sine_wave_plot.png")
numpy_image_artifact = oc.snapshot.image("random_numpy_image.jpg")
audio_artifact = oc.snapshot.audio("high_pitch_sine.wav")
custom_model_ckpt_artifact = oc.snapshot.checkpoint("custom_model_checkpoint.pth")

greeting_artifact.save("Hello, OpenCrate Guide!") # saving as plain text
data_artifact.save({"array": [10, 20, 30], "message": "Sample JSON data"}) # saving as JSON
config_artifact.save({"project": "OpenCrate Guide", "version": 1.1, "settings": {"debug_mode": True}}) # saving as YAML
sample_data_artifact.save(pd.DataFrame({"col_a": [100, 200], "col_b": [300, 400]}), index=False) # saving as CSV

figure = plt.figure(figsize=(6, 4))
plt.plot(np.sin(np.linspace(0, 2 * np.pi, 50)))
plt.title("Sine Wave Plot")
plt.xlabel("X-axis")
plt.ylabel("Y-axis")
sine_artifact.save(figure) # saving matplotlib figure image
plt.close(figure)

numpy_image = np.random.randint(0, 256, (128, 128, 3), dtype=np.uint8)
numpy_image_artifact.save(numpy_image) # saving numpy array as image

sr = 44100
duration = 3
frequency = 220.0
t = np.linspace(0., duration, int(sr * duration), endpoint=False)
amplitude = 0.3 * np.iinfo(np.int16).max
audio_data = (amplitude * np.sin(2. * np.pi * frequency * t)).astype(np.int16)
audio_artifact.save(audio_data, sr, lib="soundfile")

model = torch.nn.Sequential(
    torch.nn.Linear(20, 10),
    torch.nn.ReLU(),
    torch.nn.Linear(10, 1)
)
optimizer = torch.optim.Adam(lr=0.001, params=model.parameters())

custom_model_ckpt_artifact.save(
    {
        "epoch": 5,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": 0.015,
        "description": "A sample PyTorch model checkpoint after 5 epochs."
    }
)""",
    """oc.io.show_files_in_dir("snapshots", depth=4, verbose=True)
# neat trick - you can use verbose argument in show_files_in_dir to see file sizes and last modified times""",
    """loaded_greeting = greeting_artifact.load()
oc.info(f"Loaded Text: {loaded_greeting}")

loaded_json_data = data_artifact.load()
oc.info(f"Loaded JSON: {loaded_json_data}")

loaded_config = config_artifact.load()
oc.info(f"Loaded YAML Config: {loaded_config}")

loaded_csv_data = sample_data_artifact.load()
oc.info(f"Loaded CSV Data:\\n{loaded_csv_data}")

loaded_sine_wave_plot = sine_artifact.load(lib="cv2")
oc.info(f"Loaded Sine Wave Plot (shape): {loaded_sine_wave_plot.shape}")

loaded_numpy_image = numpy_image_artifact.load(lib="cv2")
oc.info(f"Loaded NumPy Image (size): {loaded_numpy_image.size}")

# For audio, you might need to specify the library used during saving if not default
# For checkpoint, it typically returns the dictionary it was saved with
loaded_checkpoint = custom_model_ckpt_artifact.load()
oc.info(f"Loaded Checkpoint Keys: {loaded_checkpoint.keys()}")
oc.info(f"Loaded Checkpoint Description: {loaded_checkpoint['description']}")""",
    IGNORE
    + """loaded_audio = audio_artifact.load(lib="soundfile")

def audio_playback_widget(audio_data, sample_rate, volume=0.1):
    import IPython.display as ipd
    import numpy as np

    audio_data = np.array(audio_data) * volume
    ipd.display(
        ipd.Audio(data=audio_data, rate=sample_rate, autoplay=False, normalize=False)
    )

audio_playback_widget(loaded_audio["data"], loaded_audio["sample_rate"])""",
    """oc.info(f"Artifact Name: {custom_model_ckpt_artifact.name}")
oc.info(f"Artifact Type: {custom_model_ckpt_artifact.snapshot_type}")
oc.info(f"Artifact Exists: {custom_model_ckpt_artifact.exists}") # Should be True as we just saved it
oc.info(f"Artifact Path: {custom_model_ckpt_artifact.path}")""",
    """custom_model_ckpt_artifact.backup(tag="initial-version")
oc.info("Created initial backup with tag 'initial-version'.")

# Simulate some changes and then create another backup
loaded_state = custom_model_ckpt_artifact.load()
loaded_state["loss"] = 0.012 # Simulate a better loss
custom_model_ckpt_artifact.save(loaded_state)
oc.info("Modified and re-saved the main artifact.")

custom_model_ckpt_artifact.backup(tag="improved-loss")
oc.info("Created backup with tag 'improved-loss' after modification.")

# Create a backup without a tag (timestamped)
custom_model_ckpt_artifact.backup()
oc.info("Created a timestamped backup without a specific tag.")

oc.io.show_files_in_dir(os.path.dirname(custom_model_ckpt_artifact.path), verbose=True)""",
    """all_backups = "\\n".join(custom_model_ckpt_artifact.list_backups())
oc.info(f"All Backups:\\n{all_backups}")""",
    """initial_checkpoint_artifact = oc.snapshot.checkpoint("custom_model_checkpoint.backup_initial-version.pth")

if initial_checkpoint_artifact.exists:
    initial_checkpoint = initial_checkpoint_artifact.load()
    oc.info(f"Loaded Initial Version Loss: {initial_checkpoint['loss']}")
else:
    oc.warning("Initial version backup not found.")""",
    """if all_backups:
    artifact_to_delete_name = all_backups.split("\\n")[0] # Let's delete the first backup
    artifact_to_delete = oc.snapshot.checkpoint(artifact_to_delete_name)
    artifact_to_delete.delete(confirm=True)
    oc.info(f"Deleted backup: {artifact_to_delete_name}")
    oc.io.show_files_in_dir(
        os.path.dirname(custom_model_ckpt_artifact.path), verbose=True
    )
else:
    oc.warning("No backups to delete.")""",
    """from shutil import rmtree
from typing import Dict, List


class BoundingBoxHandler:
    def save(self, bboxes: List[Dict[str, float]], *args, **kwargs):
        # Ensure the directory exists for storing individual bounding box files
        os.makedirs(self.path, exist_ok=True)

        idx = len(os.listdir(self.path)) # Determine the next index for the file
        file_path = os.path.join(self.path, f"bounding_boxes_{idx}.txt")

        lines = []
        for bbox in bboxes:
            # Format bounding box coordinates into a single line
            line = f"{bbox['x1']} {bbox['y1']} {bbox['x2']} {bbox['y2']}"
            lines.append(line)

        content = '\\n'.join(lines)
        oc.io.text.save(content, file_path) # Use OpenCrate's internal text handler to save the file
        # you can also use your custom serialization logic here as well instead of oc.io.text.save

        if self.verbose:
            oc.success(f"Successfully saved {len(bboxes)} bounding boxes to {file_path}")

    def load(self, *args, **kwargs) -> List[List[Dict[str, float]]]:
        if self.verbose:
            oc.info(f"Loading bounding boxes from {self.path}")

        loaded_boxes_history = [] # To store list of lists of bboxes

        if not os.path.exists(self.path):
            if self.verbose:
                oc.warning(f"Bounding box directory not found at {self.path}. Returning empty list.")
            return []

        # List files and sort them numerically to maintain the order of saving
        files_in_dir = oc.io.list_files_in_dir(self.path)
        sorted_files = sorted(files_in_dir, key=lambda x: int(x.split('_')[-1].split('.')[0]))

        for file_name in sorted_files:
            file_path = os.path.join(self.path, file_name)
            content = oc.io.text.load(file_path) # Load content of each bounding box file

            current_bboxes_list = []
            for line in content.strip().split('\\n'):
                if line.strip():
                    coords = line.strip().split()
                    if len(coords) == 4:
                        bbox = {
                            'x1': float(coords[0]),
                            'y1': float(coords[1]),
                            'x2': float(coords[2]),
                            'y2': float(coords[3])
                        }
                        current_bboxes_list.append(bbox)
            loaded_boxes_history.append(current_bboxes_list)

        if self.verbose:
            oc.info(f"Successfully loaded {len(loaded_boxes_history)} sets of bounding boxes")

        return loaded_boxes_history

    def reset(self, *args, **kwargs):
        # Custom reset logic to delete the directory and recreate it
        if os.path.exists(self.path):
            rmtree(self.path)
        os.makedirs(self.path, exist_ok=True)
        if self.verbose:
            oc.success(f"Reset bounding box handler at {self.path}")

# Instantiate the custom bounding box artifact handler
bounding_box_artifact = oc.snapshot.labels(
    "bounding_boxes", handler=BoundingBoxHandler, verbose=True
)
oc.info(f"Custom Bounding Box Artifact Handler initialized at: {bounding_box_artifact.path}")""",
    """boxes1 = [
    {"x1": 10.0, "y1": 20.0, "x2": 150.0, "y2": 200.0},
    {"x1": 50.0, "y1": 60.0, "x2": 180.0, "y2": 250.0},
]
boxes2 = [
    {"x1": 100.0, "y1": 110.0, "x2": 220.0, "y2": 300.0},
]

# Reset the handler to ensure a clean state before saving
bounding_box_artifact.reset()

# Save multiple sets of bounding boxes, each creating a new file
bounding_box_artifact.save(boxes1)
bounding_box_artifact.save(boxes2)

oc.info("Saved multiple sets of bounding boxes using the custom handler.")
oc.io.show_files_in_dir(bounding_box_artifact.path)""",
    """loaded_bounding_boxes_history = bounding_box_artifact.load()
oc.info(f"Loaded Bounding Boxes History: {loaded_bounding_boxes_history}")

# You can access individual sets of bounding boxes
oc.info(f"First set of boxes: {loaded_bounding_boxes_history[0]}")
oc.info(f"Second set of boxes: {loaded_bounding_boxes_history[1]}")""",
    """import io
import zipfile

from PIL import Image

# The guide encodes with OpenCV (cv2.imencode / cv2.imdecode). OpenCV is not a
# dependency of opencrate-nb, so this copy does the same BGR <-> PNG round trip
# with Pillow; everything else is as the guide writes it.


class ImageZipHandler:
    def save(self, images: List[np.ndarray], *args, **kwargs):
        if self.verbose:
            oc.info(f"Saving {len(images)} images to {self.path}")

        with zipfile.ZipFile(self.path, 'w', zipfile.ZIP_DEFLATED) as zipf:
            for i, img_data in enumerate(images):
                # Encode image to PNG format before adding to zip (BGR like OpenCV)
                buffer = io.BytesIO()
                Image.fromarray(img_data[..., ::-1]).save(buffer, format="PNG")
                zipf.writestr(f"image_{i:04d}.png", buffer.getvalue()) # Use 4-digit padding for sorting

        if self.verbose:
            oc.success(f"Successfully saved {len(images)} images to {self.path}")

    def load(self, *args, **kwargs) -> List[np.ndarray]:
        if self.verbose:
            oc.info(f"Loading images from {self.path}")

        images = []
        if not os.path.exists(self.path):
            if self.verbose:
                oc.warning(f"Image zip file not found at {self.path}. Returning empty list.")
            return []

        with zipfile.ZipFile(self.path, 'r') as zipf:
            # Sort names to ensure consistent loading order
            for file_name in sorted(zipf.namelist()):
                with zipf.open(file_name) as img_file:
                    img = Image.open(io.BytesIO(img_file.read())).convert("RGB")
                    images.append(np.asarray(img)[..., ::-1])

        if self.verbose:
            oc.info(f"Loaded {len(images)} images from {self.path}")

        return images

# Instantiate the custom image dataset artifact handler
image_dataset_artifact = oc.snapshot.image_archive(
    "images_archive.zip", handler=ImageZipHandler, verbose=True
)
oc.info(f"Custom Image Archive Artifact Handler initialized at: {image_dataset_artifact.path}")""",
    """# Generate some random images for demonstration
random_images = [np.random.randint(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(50)]

# Save the images using the custom handler
image_dataset_artifact.save(random_images)
oc.info("Saved a collection of random images into a zip archive.")

# Load the images back from the zip archive
loaded_images = image_dataset_artifact.load()
oc.info(f"Loaded {len(loaded_images)} images from the archive. First image shape: {loaded_images[0].shape}")

oc.io.show_files_in_dir(os.path.dirname(image_dataset_artifact.path), verbose=True)""",
]

PARTS = {
    "01_setup.ipynb": PART1,
    "02_resume.ipynb": PART2,
    "03_logging_and_artifacts.ipynb": PART3,
}


def sanitize(text):
    """Mask times, sizes and kernel file paths as nbval does (the same file), so that stored outputs
    hold no machine paths and a rebuild changes nothing."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SANITIZE)
    for section in parser.sections():
        text = re.sub(parser[section]["regex"], parser[section]["replace"], text)
    return text


def build(execute=True):
    """Write the notebooks; with ``execute``, run them in order in one temporary folder and keep their outputs."""
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="opencrate-guide-build-")
    try:
        for file_name, cells in PARTS.items():
            nb = nbformat.v4.new_notebook()
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
            nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
            path = os.path.join(OUT, file_name)
            if execute:
                NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": work}}).execute()
                for cell in nb.cells:
                    if cell.source.startswith(IGNORE.strip()):
                        cell.outputs = []  # not compared (an audio player with the samples inline)
                    cell.metadata.pop("execution", None)
                    for output in cell.outputs:
                        if "text" in output:
                            output["text"] = sanitize(output["text"])
                        for mime in ("text/plain", "text/html"):  # a rich display (the file tree)
                            if mime in output.get("data", {}):
                                output["data"][mime] = sanitize(output["data"][mime])
            nbformat.write(nb, path)
            print("wrote", os.path.relpath(path))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    build(execute="--no-execute" not in sys.argv)
