"""The widget browser (opencrate_nb/notebook/browser.py and its _browser_* modules), driven as a user
would: a real IPython shell with the extension loaded, real ipywidgets objects, buttons clicked."""

import os
import time

import ipywidgets as widgets
import pytest
from _notebook_fixtures import run, run_captured

from opencrate_nb.notebook import _browser_nodes, preview
from opencrate_nb.notebook.browser import _live, browse

XSS_NAME = '<img src=x onerror="window.__xss=1">.txt'


def cell(shell, code):
    result = run(shell, code)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


@pytest.fixture
def nb(ip):
    """Two versions of snapshot 'mnist' saved from notebook cells, and a browser of them (no polling)."""
    cell(ip, "import opencrate as oc\noc.snapshot.setup(name='mnist', tag='baseline')")
    cell(ip, "oc.snapshot.json('metrics.json').save({'accuracy': 0.91})")
    cell(ip, "oc.snapshot.json('metrics.json').backup(tag='best')\noc.snapshot.text('notes.txt').save('first run')")
    cell(
        ip,
        "import pandas as pd\n"
        "oc.snapshot.csv('history.csv').save(pd.DataFrame({'epoch': [1, 2], 'loss': [0.5, 0.25]}), index=False)",
    )
    cell(ip, "for i in range(60):\n    oc.info(f'epoch {i} done')")
    cell(ip, "oc.snapshot.setup(name='mnist')\noc.snapshot.text('notes.txt').save('second run')")
    cell(ip, "browser = oc.browse(poll=None)")
    browser = ip.user_ns["browser"]
    yield browser
    browser.close()


def _view(browser, node_id):
    return browser._rows[node_id]


def _click(browser, node_id):
    _view(browser, node_id).node.click()


def _html_values(widget):
    stack, values = [widget], []
    while stack:
        w = stack.pop()
        if isinstance(w, widgets.HTML):
            values.append(w.value)
        stack.extend(getattr(w, "children", ()))
    return values


def test_the_tree_opens_lazily_level_by_level(nb):
    assert "opencrate-browser" in nb._dom_classes
    assert nb.visible_names == ["mnist", "v0:baseline", "v1"]  # snapshots open, versions closed
    v0 = _view(nb, "mnist/v0:baseline")
    assert "opencrate-browser-node" in v0.node._dom_classes and v0.node.tooltip == "mnist/v0:baseline"
    assert v0.info.value.startswith("3 artifacts \u00b7 ") and v0.toggle.description.startswith("\u25b8")
    assert len(nb._tree.children) == 3  # rows of closed folders are not widgets yet
    assert v0.toggle.tooltip == "Expand v0:baseline" and _view(nb, "mnist").toggle.tooltip == "Collapse mnist"

    _click(nb, "mnist/v0:baseline")
    assert v0.toggle.tooltip == "Collapse v0:baseline"
    assert _view(nb, "mnist/v0:baseline/mnist.log").toggle.tooltip == ""  # nothing to open
    assert nb.visible_names == ["mnist", "v0:baseline", "csvs", "jsons", "texts", "mnist.log", "v1"]
    _view(nb, "mnist/v0:baseline/jsons").toggle.click()
    _view(nb, "mnist/v0:baseline/jsons/metrics.json").toggle.click()
    names = nb.visible_names
    assert names[names.index("jsons") : names.index("texts")] == ["jsons", "metrics.json", "metrics.backup_best.json"]
    assert _view(nb, "mnist/v0:baseline/jsons/metrics.json").info.value.endswith("1 backup")
    _view(nb, "mnist/v0:baseline").toggle.click()  # close again
    assert nb.visible_names == ["mnist", "v0:baseline", "v1"]
    assert {f"opencrate-browser-action-{a}" for a in ("snippet", "backup", "delete", "log")} <= {
        c for b in nb._buttons.values() for c in b._dom_classes
    }
    assert "opencrate-browser-preview" in nb._preview._dom_classes


def test_selection_shows_each_fact_once_from_the_catalog_node(nb, ip):
    nb.expand("mnist/v0:baseline/jsons/metrics.json")
    _click(nb, "mnist/v0:baseline/jsons/metrics.json")
    assert "opencrate-browser-selected" in _view(nb, "mnist/v0:baseline/jsons/metrics.json").node._dom_classes
    node = nb.selected.data
    assert "accuracy" in nb._preview.value  # the content, as %crate show previews it
    meta = nb._meta.value
    source = preview.esc("oc.snapshot.json('metrics.json').save({'accuracy': 0.91})")
    assert meta.count(source) == 1 and nb._preview.value.count(source) == 0  # the saving cell's source, once
    assert meta.count(node["cell_label"]) == 2 and node["cell_label"].startswith("In [")  # "by" and "source of"
    assert meta.count(node["modified_text"]) == 1 and node["modified"] not in meta  # one time, one format
    assert f"{node['size_text']} ({node['size']:,} bytes)" in meta and meta.count(node["size_text"]) == 1
    assert "metrics.backup_best.json" in meta and node["sha256"] in meta
    assert "1 keys" not in meta
    assert "cell " not in meta  # never a raw cell id
    assert not nb._buttons["backup"].disabled and not nb._buttons["delete"].disabled

    _click(nb, "mnist/v0:baseline/jsons/metrics.backup_best.json")
    assert "backup of</th><td" in nb._meta.value and "metrics.json" in nb._meta.value
    assert nb._buttons["backup"].disabled and not nb._buttons["delete"].disabled
    _click(nb, "mnist/v0:baseline")
    assert "history.csv" not in nb._preview.value and "csvs" in nb._preview.value
    assert "tag</th><td" in nb._meta.value and "baseline" in nb._meta.value
    assert nb._buttons["snippet"].disabled and not nb._buttons["log"].disabled


def test_snippets_load_the_artifact_when_run(nb, ip):
    nb.expand("mnist/v0:baseline/jsons/metrics.json")
    nb.expand("mnist/v0:baseline/csvs/history.csv")
    for node_id, variable, expected in [
        ("mnist/v0:baseline/jsons/metrics.json", "metrics", {"accuracy": 0.91}),
        ("mnist/v0:baseline/jsons/metrics.backup_best.json", "metrics", {"accuracy": 0.91}),
        ("mnist/v1/texts/notes.txt", "notes", "second run"),
    ]:
        nb.expand(node_id)
        _click(nb, node_id)
        nb._buttons["snippet"].click()
        assert nb._snippet_box.layout.display is None and node_id in nb._snippet.value
        ip.user_ns.pop(variable, None)
        cell(ip, nb._snippet.value)
        assert ip.user_ns[variable] == expected
    _click(nb, "mnist/v0:baseline/csvs/history.csv")
    nb._buttons["snippet"].click()
    cell(ip, nb._snippet.value)
    assert ip.user_ns["history"].to_dict("list") == {"epoch": [1, 2], "loss": [0.5, 0.25]}
    copy = [v for v in _html_values(nb) if "opencrate-browser-copy" in v]
    assert len(copy) == 1 and "history" not in copy[0]  # the copy button reads the field, holds no data


def test_backup_and_delete_change_the_files_after_confirmation(nb):
    folder = "snapshots/mnist/v0:baseline/texts"
    nb.expand("mnist/v0:baseline/texts/notes.txt")
    _click(nb, "mnist/v0:baseline/texts/notes.txt")
    nb._backup_tag.value = "kept"
    nb._buttons["backup"].click()
    assert os.path.exists(f"{folder}/notes.backup_kept.txt")
    with open(f"{folder}/notes.backup_kept.txt") as f:
        assert f.read() == "first run"
    assert "notes.backup_kept.txt" in nb.visible_names
    assert "Backed up notes.txt as notes.backup_kept.txt" in nb._status.value

    nb._buttons["delete"].click()
    assert nb._confirm.layout.display is None and "notes.txt" in nb._confirm_text.value
    assert os.path.exists(f"{folder}/notes.txt")  # nothing happens before the confirmation
    nb._cancel_button.click()
    assert nb._confirm.layout.display == "none" and os.path.exists(f"{folder}/notes.txt")
    nb._buttons["delete"].click()
    nb._confirm_button.click()
    assert not os.path.exists(f"{folder}/notes.txt")
    assert "notes.txt" not in nb.visible_names and nb.selected.id == "mnist/v0:baseline/texts"
    assert "notes.backup_kept.txt" in nb.visible_names  # the backup stays, now on its own
    with open("snapshots/mnist/v0:baseline/.crate/record.jsonl") as f:
        assert '"op":"delete","name":"notes.txt"' in f.read()

    _click(nb, "mnist/v0:baseline/texts/notes.backup_kept.txt")
    nb._buttons["delete"].click()
    _click(nb, "mnist/v1")  # changing the selection withdraws the pending delete
    assert nb._confirm.layout.display == "none"
    nb._on_confirm_delete()
    assert os.path.exists(f"{folder}/notes.backup_kept.txt")


def test_a_row_removed_elsewhere_says_it_is_gone(nb, ip):
    nb.expand("mnist/v1/texts")
    cell(ip, "oc.snapshot.text('notes.txt').delete(confirm=True)")  # v1 is the current version
    _click(nb, "mnist/v1/texts/notes.txt")  # the row drawn before the delete
    assert "mnist/v1/texts/notes.txt is gone." in nb._status.value and nb.selected is None
    assert "notes.txt" not in nb.visible_names[nb.visible_names.index("v1") :]


def test_log_tail_follows_the_log(nb, ip):
    _click(nb, "mnist/v0:baseline")
    nb._buttons["log"].click()
    log = nb._log.value
    assert "mnist/v0:baseline/mnist.log" in log and "epoch 59 done" in log and "epoch 10 done" not in log
    cell(ip, "oc.snapshot.setup(name='mnist', start=0, tag='baseline')\noc.info('late <b>line</b>')")
    assert nb.refresh()
    assert "late &lt;b&gt;line&lt;/b&gt;" in nb._log.value
    nb.expand("mnist/v1/mnist.log")
    _click(nb, "mnist/v1/mnist.log")
    assert nb._preview.value.startswith("<pre") or "(empty log)" in nb._preview.value
    nb._buttons["log"].click()
    assert "mnist/v1/mnist.log" in nb._log.value


def test_the_browser_refreshes_by_itself_and_stops_when_closed(ip):
    cell(ip, "import opencrate as oc\noc.snapshot.setup(name='live')\noc.snapshot.text('a.txt').save('a')")
    cell(ip, "watching = oc.browse(poll=0.05)")
    browser = ip.user_ns["watching"]
    browser.refresh()  # the cell that made it was logged after it was built
    assert not browser.refresh()  # nothing changed since
    browser.expand("live/v0/texts")
    cell(ip, "oc.snapshot.json('later.json').save([1, 2, 3])")
    deadline = time.monotonic() + 30
    while "jsons" not in browser.visible_names and time.monotonic() < deadline:
        time.sleep(0.05)  # the background refresh indexes the new item, then redraws the rows
    assert "live/v0/jsons/later.json" in browser._by_id
    assert "jsons" in browser.visible_names and "a.txt" in browser.visible_names
    thread = browser._thread
    browser.close()
    assert browser.closed and not thread.is_alive()
    assert browser.comm is None and not browser.refresh(force=True)


def test_names_are_escaped_in_every_html_part(ip):
    cell(ip, "import opencrate as oc\noc.snapshot.setup(name='xss')")
    cell(ip, f"art = oc.snapshot.text({XSS_NAME!r})\nart.save('<script>alert(1)</script>')\nart.backup(tag='b')")
    cell(ip, "b = oc.browse(poll=None)")
    browser = ip.user_ns["b"]
    node_id = f"xss/v0/texts/{XSS_NAME}"
    browser.expand(node_id)
    _click(browser, node_id)
    assert browser._rows[node_id].node.description == XSS_NAME  # button text: shown as text, not parsed
    browser._buttons["delete"].click()
    browser._buttons["log"].click()
    browser._buttons["snippet"].click()
    assert XSS_NAME in browser._snippet.value  # a text field: safe
    html = "\n".join(_html_values(browser))
    assert (
        preview.esc("<script>alert(1)</script>") in browser._preview.value
        and preview.esc(XSS_NAME) in browser._meta.value
    )
    assert preview.esc(XSS_NAME) in browser._confirm_text.value
    assert "<img src=x" not in html and "<script>" not in html and 'onerror="window' not in html
    browser.close()


def test_long_folders_show_a_page_at_a_time_and_the_filter_finds_items(ip):
    cell(
        ip,
        "import opencrate as oc\noc.snapshot.setup(name='many')\n"
        "for i in range(450):\n    oc.snapshot.text(f'item{i:03d}.txt').save(str(i))",
    )
    cell(ip, "many = oc.browse(poll=None)")
    browser = ip.user_ns["many"]
    browser.expand("many/v0/texts")
    names = browser.visible_names
    page = _browser_nodes.PAGE
    assert names[3 : 3 + page] == [f"item{i:03d}.txt" for i in range(page)] and names[-2] == "\u2026 250 more"
    assert len(browser._tree.children) == len(names) < 210
    more = browser._rows[("more", "many/v0/texts")]
    assert "opencrate-browser-more" in more.node._dom_classes
    more.node.click()
    assert browser.visible_names[-2] == "\u2026 50 more"
    browser._filter.value = "item44"
    assert browser.visible_names == ["many", "v0", "texts"] + [f"item{i}.txt" for i in range(440, 450)]
    browser._filter.value = "TEXTS item44 v0"  # every term, in any case, somewhere in the path under the root
    assert browser.visible_names == ["many", "v0", "texts"] + [f"item{i}.txt" for i in range(440, 450)]
    browser._filter.value = "item44 csvs"  # no path holds both terms
    assert browser.visible_names == []
    browser._filter.value = "texts"  # a matching folder keeps all of its content reachable
    assert browser.visible_names[:3] == ["many", "v0", "texts"] and len(browser.visible_names) > 3
    browser._filter.value = ""
    browser.close()


def test_problems_and_empty_roots_are_shown(ip, tmp_path):
    cell(ip, "import opencrate as oc\noc.snapshot.setup(name='torn')\noc.snapshot.text('ok.txt').save('ok')")
    with open("snapshots/torn/v0/.crate/record.jsonl", "ab") as f:
        f.write(b'{"op": "save", "na')
    cell(ip, "t = oc.browse(poll=None)")
    browser = ip.user_ns["t"]
    _click(browser, "torn/v0")
    assert ".crate/record.jsonl line 2: skipped (no end of line yet: torn, or being written)" in browser._meta.value
    browser.close()
    empty = browse(str(tmp_path / "nothing yet"), poll=None)
    assert "No snapshots under" in empty._empty.value and empty.visible_names == []
    empty.close()


def test_browse_checks_its_arguments_and_keeps_one_browser_per_root(workdir):
    with open("a_file", "w") as f:
        f.write("x")
    with pytest.raises(NotADirectoryError, match="a file"):
        browse("a_file")
    with pytest.raises(ValueError, match="poll"):
        browse(poll=-1)
    first = browse(poll=30)
    second = browse(poll=30)
    assert first.closed and not first._thread.is_alive() and not second.closed
    second.close()


def test_crate_browse_magic_shows_the_browser(ip):
    cell(ip, "%crate setup magic")
    result, _, _, outputs = run_captured(ip, "%crate browse")
    assert result.success and outputs
    shown = outputs[0].data.get("application/vnd.jupyter.widget-view+json", {})
    browser = _live[os.path.realpath("snapshots")]()
    assert shown["model_id"] == browser.model_id
    assert browser.visible_names == ["magic", "v0"]
    browser.close()


def test_the_widget_and_crate_ls_read_each_fact_the_same(nb, ip):
    node_id = "mnist/v1/texts/notes.txt"  # the version set up last, which %crate ls lists
    nb.expand(node_id)
    _click(nb, node_id)
    data = nb.selected.data
    _, _, _, outputs = run_captured(ip, "%crate ls")
    row = next(line for line in outputs[0].data["text/plain"].splitlines() if line.startswith("notes.txt"))
    assert data["size_text"] in row and data["modified_text"] in row and data["cell_label"] in row
    for fact in (data["size_text"], data["modified_text"], data["cell_label"]):
        assert preview.esc(fact) in nb._meta.value


def test_the_widgets_text_fallback_is_the_tree(nb):
    """What an executed notebook stores next to the widget, and what viewers without widgets show."""
    data = nb._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    text = data["text/plain"]
    assert text.startswith("snapshots  (1 snapshot)\n└── mnist  (2 versions)\n")
    assert "metrics.json" in text and "1 backup" in text and "SnapshotBrowser(" not in text


def _in_a_terminal(code, cwd):
    """Run terminal IPython on a real pseudo-terminal; what it printed."""
    import subprocess
    import sys

    from _notebook_fixtures import REPO

    master, replica = os.openpty()
    env = dict(os.environ, PYTHONPATH=REPO, TERM="dumb")
    process = subprocess.Popen(
        [sys.executable, "-m", "IPython", "--no-banner", "--simple-prompt", "--colors=NoColor", "-c", code],
        stdin=replica,
        stdout=replica,
        stderr=replica,
        cwd=cwd,
        env=env,
    )
    os.close(replica)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def test_browse_in_a_terminal_prints_the_tree_as_text(oc, tmp_path):
    oc.snapshot.setup(name="mnist", tag="baseline")
    oc.snapshot.text("notes.txt").save("first run")
    for code in ("import opencrate as oc; oc.browse()", "%load_ext opencrate\n%crate browse"):
        out = _in_a_terminal(code, tmp_path)
        assert "snapshots  (1 snapshot)\n└── mnist  (1 version)\n    └── v0:baseline  1 artifact · " in out, out
        assert "notes.txt  9 B · " in out
        assert "SnapshotBrowser" not in out and "<style>" not in out
