"""A small end-to-end run: ``python -m opencrate_nb.demo [--root DIR]``.

Creates a new version of the snapshot ``demo`` with several kinds of artifacts
(config, metrics, a table, a plot, a gif, audio, a checkpoint, notes, and a video
when the ``[video]`` extra is installed), backs one up, and prints the tree.
"""

import argparse
import importlib.util
import math
import os


def run(root="snapshots", quiet=False):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    import opencrate_nb as oc

    oc.snapshot.setup(name="demo", start="new", tag="quickstart", root=root)
    oc.info(f"Demo run {oc.snapshot.version_name} in {oc.snapshot.dir_path}")

    config = {"model": "tiny-mlp", "lr": 3e-3, "epochs": 20, "seed": 0}
    oc.snapshot.yaml("config.yaml").save(config)

    rng = np.random.default_rng(config["seed"])
    epochs = np.arange(1, config["epochs"] + 1)
    loss = np.exp(-epochs / 6.0) + rng.normal(0, 0.01, len(epochs))
    history = pd.DataFrame({"epoch": epochs, "loss": loss.round(4), "accuracy": (1 - loss / 2).round(4)})
    oc.snapshot.csv("history.csv").save(history, index=False)
    oc.snapshot.json("metrics.json").save({"final_loss": float(loss[-1]), "best_epoch": int(loss.argmin()) + 1})

    figure = plt.figure(figsize=(5, 3))
    plt.plot(history["epoch"], history["loss"], label="loss")
    plt.xlabel("epoch")
    plt.legend()
    oc.snapshot.image("loss_curve.png").save(figure)
    plt.close(figure)

    frames = []
    for step in range(12):
        frame = np.zeros((64, 64, 3), dtype=np.uint8)
        x = int(32 + 24 * math.cos(step / 12 * 2 * math.pi))
        y = int(32 + 24 * math.sin(step / 12 * 2 * math.pi))
        frame[max(y - 4, 0) : y + 4, max(x - 4, 0) : x + 4] = (255, 180, 0)
        frames.append(frame)
    oc.snapshot.gif("orbit.gif").save(frames, fps=12)
    if importlib.util.find_spec("imageio_ffmpeg") is not None:
        oc.snapshot.video("orbit.mp4").save(frames, fps=12)

    rate = 16000
    t = np.linspace(0, 1.0, rate, endpoint=False)
    oc.snapshot.audio("tone.wav").save((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)

    if importlib.util.find_spec("torch") is not None:
        import torch

        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
        checkpoint = oc.snapshot.checkpoint("model.pt")
        checkpoint.save({"epoch": config["epochs"], "model_state_dict": model.state_dict()})
    else:
        checkpoint = oc.snapshot.checkpoint("model.npz")
        checkpoint.save({"w1": rng.normal(size=(8, 16)), "w2": rng.normal(size=(16, 1))})
    checkpoint.backup(tag="final")

    oc.snapshot.text("notes.txt").save("Demo run: loss goes down, accuracy goes up.\n")
    oc.success(f"Saved {len(oc.snapshot.list_artifacts())} artifacts")
    if not quiet:
        oc.io.show_files_in_dir(oc.snapshot.dir_path, verbose=True)
        print(next_steps(root))
    return oc.snapshot.dir_path


def next_steps(root: str = "snapshots") -> str:
    """The three things to try after the demo: the sidebar, the magics, the CLI (over ``root``)."""
    lab_root = "" if root == "snapshots" else f" --OpenCrate.snapshot_root={root}"
    cli_root = "" if root == "snapshots" else f" --root {root}"
    return "\n".join(
        [
            "",
            "Next, try:",
            f"  1. the sidebar:   jupyter lab{lab_root}   then the crate icon in the left bar (OpenCrate snapshots)",
            "  2. in a notebook: %load_ext opencrate   then %crate setup demo --last --tag quickstart and %crate ls",
            f"  3. a terminal:    crate ls{cli_root}   then crate show{cli_root} demo -1 metrics.json",
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m opencrate_nb.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="snapshots", help="folder that holds snapshots (default: snapshots)")
    args = parser.parse_args(argv)
    run(root=os.fspath(args.root))


if __name__ == "__main__":
    main()
