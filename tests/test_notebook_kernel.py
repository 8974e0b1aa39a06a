"""The extension inside a real ipykernel, where stream behaviour matters.

A notebook is executed with nbclient twice, without and with ``%load_ext opencrate``;
what the notebook shows must be identical, and the run log must hold every cell.
"""

import glob
import json
import os
import re
import time

import pytest
from _notebook_fixtures import kernel_env, require

pytestmark = pytest.mark.slow

SETUP_CELLS = ["%load_ext opencrate", "%crate setup kern"]

CELLS = [
    "import sys, logging, time\nfrom IPython.display import display, HTML",
    "print('hello')\nprint('to stderr', file=sys.stderr)\nprint('back to stdout')",
    "logging.basicConfig(level=logging.INFO, force=True)\nlogging.getLogger('demo').info('logged line')",
    "for i in range(5):\n    sys.stdout.write(f'\\r{i * 25}%|' + '#' * i)\n    sys.stdout.flush()\n"
    "    time.sleep(0.01)\nprint()",
    "from tqdm import tqdm\nfor _ in tqdm(range(3), bar_format='{n}/{total} steps'):\n    time.sleep(0.01)",
    "from tqdm.notebook import tqdm as tqdm_widget\nfor _ in tqdm_widget(range(3), bar_format='{n}/{total}'):\n"
    "    time.sleep(0.01)",
    "display(HTML('<b>shown</b>'))\nprint('after display')\n42",
    "import ipywidgets as widgets\nwidgets.IntSlider(value=3)",
    "out = widgets.Output()\ndisplay(out)\nwith out:\n    print('inside the output widget')",
    "%%capture captured\nprint('hidden by capture')",
    "captured.show()",
    "",
    "x = (",
    "print('partial', end='')\nprint(' line')\nraise ValueError('boom')",
    "print('the end')",
]


def _notebook(cells):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def _execute(nb, folder):
    from nbclient import NotebookClient

    NotebookClient(
        nb, timeout=120, allow_errors=True, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return nb


def _shown(cell):
    """What the notebook shows for a cell, with ids and counters that differ per run removed."""
    shown = []
    for output in cell.outputs:
        kind = output["output_type"]
        if kind == "stream":
            if shown and shown[-1][0] == "stream" and shown[-1][1] == output["name"]:
                shown[-1] = ("stream", output["name"], shown[-1][2] + output["text"])  # front ends merge these
            else:
                shown.append(("stream", output["name"], output["text"]))
        elif kind in ("display_data", "execute_result"):
            data = {k: v for k, v in output["data"].items() if k != "application/vnd.jupyter.widget-view+json"}
            shown.append((kind, json.dumps(data, sort_keys=True)))
        elif kind == "error":
            shown.append((kind, output["ename"], output["evalue"]))
    return shown


@pytest.fixture
def kernel_tools(workdir, monkeypatch):
    require("nbclient", "notebooks in a real kernel")
    require("ipykernel", "notebooks in a real kernel")
    require("ipywidgets", "widgets in a real kernel")
    require("tqdm", "progress bars in a real kernel")
    kernel_env(monkeypatch)
    return workdir


def test_notebook_shows_the_same_with_and_without_capture(kernel_tools):
    folder = kernel_tools
    plain = _execute(_notebook(CELLS), folder)
    captured = _execute(_notebook(SETUP_CELLS + CELLS), folder)
    assert [_shown(c) for c in captured.cells[len(SETUP_CELLS) :]] == [_shown(c) for c in plain.cells]
    # nothing is shown twice, and the setup cells show only the confirmation
    assert _shown(captured.cells[0]) == []
    assert _shown(captured.cells[1]) == [("stream", "stdout", "\u2713 snapshot kern v0 at snapshots/kern/v0\n")]

    [log] = glob.glob(str(folder / "snapshots" / "kern" / "v0" / "kern.log"))
    with open(log, encoding="utf-8") as f:
        text = f.read()
    order = [
        "%crate setup kern",
        "print('hello')",
        "logging.basicConfig",
        "for i in range(5)",
        "from tqdm import",
        "from tqdm.notebook",
        "display(HTML",
        "import ipywidgets",
        "out = widgets.Output()",
        "%%capture captured",
        "captured.show()",
        "x = (",
        "print('partial'",
        "print('the end')",
    ]
    positions = [text.index(f": {marker}") for marker in order]
    assert positions == sorted(positions)
    assert "--- stdout ---\nhello\nback to stdout\n--- stderr ---\nto stderr\n" in text
    assert "--- stderr ---\nINFO:demo:logged line\n" in text
    assert "--- stdout ---\n100%|####\n" in text  # the progress bar's final state, once
    assert re.search(r"from tqdm import tqdm\n--- stderr ---\n3/3 steps\n\d{4}-", text)  # tqdm: its final state
    assert "--- stdout ---\ninside the output widget\n" in text
    assert "--- stdout ---\npartial line\n--- traceback ---\nTraceback (most recent call last):" in text
    assert "ValueError: boom" in text
    assert re.search(r"ERROR +cell \[\d+\] error in [^:]+: x = \(\n--- traceback ---\n.*SyntaxError", text, re.S)

    with open(os.path.join(os.path.dirname(log), ".crate", "cells.jsonl"), encoding="utf-8") as f:
        entries = [json.loads(line) for line in f]
    sources = [e["source"] for e in entries]
    assert sources == SETUP_CELLS[1:] + [c for c in CELLS if c.strip()]  # the empty cell is not a cell run
    by_source = dict(zip(sources, entries))
    assert "application/vnd.jupyter.widget-view+json" in by_source[CELLS[5]]["outputs"]  # tqdm's widget
    assert "application/vnd.jupyter.widget-view+json" in by_source[CELLS[7]]["outputs"]
    assert set(by_source[CELLS[6]]["outputs"]) == {"stdout", "text/plain", "text/html"}
    assert by_source[CELLS[-2]]["status"] == "error"
    counts = [e["execution_count"] for e in entries]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)


def test_large_output_reaches_the_notebook_whole(kernel_tools):
    folder = kernel_tools
    nb = _execute(_notebook(SETUP_CELLS + ["for i in range(100_000):\n    print(i)"]), folder)
    text = "".join(o["text"] for o in nb.cells[-1].outputs if o["output_type"] == "stream")
    assert text.splitlines() == [str(i) for i in range(100_000)]
    with open(folder / "snapshots" / "kern" / "v0" / "kern.log", encoding="utf-8") as f:
        log = f.read()
    assert "characters not logged ...]" in log and "\n99999\n" in log
    assert len(log) < 200_000


def test_artifacts_and_loaded_media_render_in_the_kernel(kernel_tools):
    folder = kernel_tools
    cells = SETUP_CELLS + [
        "%%crate save metrics.json\n{'loss': 0.5}",
        "import opencrate as oc\noc.snapshot.json('metrics.json')",
        "import numpy as np\noc.snapshot.audio('tone.wav').save(np.zeros(800), 8000)\n"
        "oc.snapshot.audio('tone.wav').load()",
        "%crate show metrics.json",
    ]
    nb = _execute(_notebook(cells), folder)
    save, card, audio, show = nb.cells[2:]
    assert save.outputs[0]["output_type"] == "execute_result"
    assert save.outputs[-1]["text"].startswith("\u2713 saved metrics.json (json, ")
    html = card.outputs[0]["data"]["text/html"]
    assert "opencrate-card" in html and "saved by In [3]" in html
    assert "<audio controls" in audio.outputs[0]["data"]["text/html"]
    assert "opencrate-card" in show.outputs[0]["data"]["text/html"]


def test_interrupt_and_cell_ids(kernel_tools):
    from jupyter_client.manager import KernelManager

    folder = kernel_tools
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(folder))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        for code in SETUP_CELLS:
            assert kc.execute_interactive(code, timeout=60)["content"]["status"] == "ok"

        # a cell that sleeps, interrupted once it has printed
        msg = kc.session.msg(
            "execute_request",
            {
                "code": "print('started', flush=True)\nimport time\ntime.sleep(60)",
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
            },
            metadata={"cellId": "cell-sleep"},
        )
        kc.shell_channel.send(msg)
        deadline = time.time() + 60
        while time.time() < deadline:
            io = kc.get_iopub_msg(timeout=60)
            if io["msg_type"] == "stream" and "started" in io["content"]["text"]:
                break
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=60)
        while reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            reply = kc.get_shell_msg(timeout=60)
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        assert kc.execute_interactive("print('alive')", timeout=60)["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    version = folder / "snapshots" / "kern" / "v0"
    with open(version / ".crate" / "cells.jsonl", encoding="utf-8") as f:
        entries = [json.loads(line) for line in f]
    sleeping = [e for e in entries if "time.sleep(60)" in e["source"]][0]
    assert sleeping["status"] == "interrupted" and sleeping["cell_id"] == "cell-sleep"
    assert entries[-1]["source"] == "print('alive')" and entries[-1]["status"] == "ok"
    with open(version / "kern.log", encoding="utf-8") as f:
        log = f.read()
    assert re.search(
        r"WARNING +cell \[\d+\] interrupted in .*\n--- stdout ---\nstarted\n--- traceback ---\n"
        r"KeyboardInterrupt",
        log,
    )


def test_extension_loaded_from_the_profile_config(kernel_tools, monkeypatch):
    """``c.InteractiveShellApp.extensions = ["opencrate"]`` loads it in every kernel, once."""
    folder = kernel_tools
    profile = folder / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_config.py").write_text('c.InteractiveShellApp.extensions = ["opencrate"]\n')
    monkeypatch.setenv("IPYTHONDIR", str(folder / "ipython"))
    cells = [
        "%crate setup configured",
        "%load_ext opencrate",
        "ip = get_ipython()\nprint(sum(type(getattr(cb, '__self__', None)).__name__ == 'CellCapture'\n"
        "          for cb in ip.events.callbacks['post_run_cell']))",
    ]
    nb = _execute(_notebook(cells), folder)
    assert _shown(nb.cells[0]) == [("stream", "stdout", "\u2713 snapshot configured v0 at snapshots/configured/v0\n")]
    assert _shown(nb.cells[1]) == [
        ("stream", "stdout", "The opencrate extension is already loaded. To reload it, use:\n  %reload_ext opencrate\n")
    ]
    assert _shown(nb.cells[2]) == [("stream", "stdout", "1\n")]
    with open(folder / "snapshots" / "configured" / "v0" / ".crate" / "cells.jsonl", encoding="utf-8") as f:
        sources = [json.loads(line)["source"] for line in f]
    assert sources == cells
