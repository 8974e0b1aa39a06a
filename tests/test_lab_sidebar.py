"""The JupyterLab sidebar (labextension/) in Debian's Chromium, on a real ``jupyter lab``.

Each test loads JupyterLab in a fresh browser context; the ``page`` fixture fails a test
whose page requests anything outside the local server.
"""

import json
import math
import os

import numpy as np
import pytest
from _lab_fixtures import (
    SIDEBAR,
    lab_server,
    new_notebook,
    open_lab,
    open_sidebar,
    run_all_cells,
    run_command,
    save_artifacts,
    screenshot,
    tree_row,
)
from _notebook_fixtures import run

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

XSS_NAME = '<img src=x onerror="window.__xss=1">.txt'
RATE = 8000


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A server of this module's own: the tree shows only what these tests saved."""
    root = tmp_path_factory.mktemp("sidebar") / "root"
    root.mkdir()
    with lab_server(root) as server:
        yield server


@pytest.fixture(scope="module")
def gallery(lab):
    """One version of ``gallery`` with an image, a table, audio, JSON, text and a name full of HTML."""
    import pandas as pd

    y, x = np.mgrid[0:48, 0:64]
    picture = np.stack([x * 4, y * 5, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    tone = (0.2 * np.sin(2 * np.pi * 330 * np.arange(RATE) / RATE)).astype(np.float32)
    table = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.9, 0.5, 0.3]})
    version = save_artifacts(
        lab.snapshots,
        "gallery",
        [
            ("image", "gradient.png", picture),
            ("csv", "history.csv", table, {"index": False}),
            ("audio", "tone.wav", tone, {"sample_rate": RATE}),
            ("json", "metrics.json", {"loss": 0.25, "accuracy": 0.9}),
            ("text", XSS_NAME, "the name is the attack, not the content"),
        ],
        tag="demo",
    )
    return version


def preview(page):
    return page.locator(f"{SIDEBAR} .opencrate-preview")


def show(page, name, preview_type):
    """Click a row and wait until the preview of that file is drawn."""
    tree_row(page, name).click()
    page.wait_for_selector(f'{SIDEBAR} .opencrate-preview[data-preview-type="{preview_type}"]')
    return preview(page)


def test_sidebar_shows_the_tree_the_library_made(lab, page, gallery):
    panel = open_sidebar(page)
    assert page.locator('.jp-SideBar [data-id="opencrate-snapshots"]').get_attribute("title") == "OpenCrate snapshots"
    for name in (
        "gallery",
        gallery.split("/")[1],
        "gallery.log",
        "images",
        "gradient.png",
        "csvs",
        "history.csv",
        "audios",
        "tone.wav",
        "jsons",
        "metrics.json",
        "texts",
    ):
        assert tree_row(page, name).is_visible(), name
    icons = {
        name: tree_row(page, name).locator(".opencrate-icon").get_attribute("data-icon")
        for name in ("gradient.png", "tone.wav", "history.csv", "metrics.json", "images", "gallery.log")
    }
    assert icons == {
        "gradient.png": "ui-components:image",
        "tone.wav": "ui-components:audio",
        "history.csv": "ui-components:spreadsheet",
        "metrics.json": "ui-components:json",
        "images": "ui-components:folder",
        "gallery.log": "ui-components:list",
    }
    assert panel.locator('.opencrate-node[data-type="artifact"] .opencrate-icon svg').count() == 5
    # sizes read as everywhere else (the server formats them with core.format)
    from opencrate_nb.core.format import format_size

    size = os.path.getsize(os.path.join(lab.snapshots, gallery, "jsons", "metrics.json"))
    assert tree_row(page, "metrics.json").locator(".opencrate-node-detail").inner_text() == format_size(size)
    # a filter keeps the files whose path holds every word of it (any case, any order), with their parents
    panel.locator(".opencrate-filter").fill("TONE audios")
    page.wait_for_function(f"""() => [...document.querySelectorAll('{SIDEBAR} .opencrate-node-name')]
        .map(n => n.textContent).join('|') === 'gallery|{gallery.split("/")[1]}|audios|tone.wav'""")


def test_preview_of_an_image_a_table_and_audio(page, gallery, tmp_path):
    open_sidebar(page)
    shown = show(page, "gradient.png", "image")
    image = shown.locator("img")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [64, 48]
    assert "64" in shown.inner_text() and "48" in shown.inner_text()  # describe(): width, height
    box = page.locator(SIDEBAR).bounding_box()
    width, height = screenshot(page.locator(SIDEBAR), tmp_path, "sidebar.png")
    assert abs(width - box["width"]) < 2 and abs(height - box["height"]) < 2  # whole pixels around the box

    shown = show(page, "history.csv", "table")
    assert shown.locator("th").all_inner_texts() == ["epoch", "loss"]
    assert [row.locator("td").all_inner_texts() for row in shown.locator("tbody tr").all()] == [
        ["1", "0.9"],
        ["2", "0.5"],
        ["3", "0.3"],
    ]

    shown = show(page, "tone.wav", "audio")
    audio = shown.locator("audio")
    page.wait_for_function("(a) => a.readyState >= 1", arg=audio.element_handle())
    assert math.isclose(audio.evaluate("a => a.duration"), 1.0, abs_tol=0.01)

    shown = show(page, "metrics.json", "json")
    assert '"accuracy": 0.9' in shown.locator("pre").inner_text()


def test_insert_a_load_snippet_into_a_notebook_and_run_it(lab, page, gallery):
    notebook = new_notebook(lab, page, "snippet.ipynb", ["first = 1"])
    open_sidebar(page)
    tree_row(page, "metrics.json").click(button="right")
    page.locator(".lm-Menu-item", has_text="Insert Load Snippet into Notebook").click()
    cells = notebook.locator(".jp-Cell")
    page.wait_for_function(
        "(n) => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').length === n", arg=2
    )
    code = f"oc.io.json.load('snapshots/{gallery}/jsons/metrics.json')"
    page.wait_for_function("([cell, code]) => cell.innerText.includes(code)", arg=[cells.nth(1).element_handle(), code])
    run_all_cells(page)
    output = cells.nth(1).locator(".jp-OutputArea-output")
    output.wait_for(timeout=60_000)
    assert "'accuracy': 0.9" in output.inner_text()


def test_keyboard_moves_the_selection_and_previews(page, gallery):
    from playwright.sync_api import (
        expect,  # the page fixture made sure Playwright is there
    )

    panel = open_sidebar(page)
    show(page, "history.csv", "table")
    panel.locator(".opencrate-tree").focus()
    page.keyboard.press("ArrowDown")  # the "images" folder
    page.keyboard.press("ArrowDown")
    expect(panel.locator(".opencrate-node.jp-mod-selected .opencrate-node-name")).to_have_text("gradient.png")
    page.wait_for_selector(f'{SIDEBAR} .opencrate-preview[data-preview-type="image"]')
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowLeft")  # close "images"
    tree_row(page, "gradient.png").wait_for(state="detached")
    page.keyboard.press("ArrowRight")
    tree_row(page, "gradient.png").wait_for()


def main_tab(page, title):
    return page.locator(f'#jp-main-dock-panel .lm-TabBar-tab[title^="Name: {title}"]')


def test_double_click_and_context_menu_open_files(page, gallery):
    open_sidebar(page)
    tree_row(page, "history.csv").dblclick()
    main_tab(page, "history.csv").wait_for()
    tree_row(page, "tone.wav").click(button="right")
    page.locator(".lm-Menu-item", has_text="Open Run Log").click()
    main_tab(page, "gallery.log").wait_for()
    page.wait_for_selector(f'{SIDEBAR} .opencrate-preview[data-preview-type="log"][data-path="{gallery}/gallery.log"]')


def test_a_versions_run_notebook_opens_from_the_context_menu(lab, page, gallery, ip):
    run(ip, f"import opencrate as oc\noc.snapshot.setup(name='ran', root={lab.snapshots!r})")
    run(ip, "print('hello from the run')")
    run(ip, "oc.snapshot.json('m.json').save({'a': 1})")
    open_sidebar(page)
    version = page.locator(f'{SIDEBAR} .opencrate-node[data-type="version"][data-path="ran/v0"]')
    version.click(button="right")
    page.locator(".lm-Menu-item:not(.lm-mod-disabled)", has_text="Open Run Notebook").click()
    path = "snapshots/ran/v0/run.ipynb"
    page.wait_for_function(
        """(path) => {
        const w = window.jupyterapp.shell.currentWidget;
        return w && w.context && w.context.path === path && w.context.isReady;
    }""",
        arg=path,
    )
    sources = page.evaluate(
        "() => Array.from(window.jupyterapp.shell.currentWidget.content.model.cells).map(c => c.sharedModel.source)"
    )
    assert sources[-2:] == ["print('hello from the run')", "oc.snapshot.json('m.json').save({'a': 1})"]
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    notebook.locator(".jp-OutputArea-output", has_text="hello from the run").wait_for()
    main_tab(page, "run.ipynb").wait_for()

    page.keyboard.press("Escape")
    gallery_version = page.locator(f'{SIDEBAR} .opencrate-node[data-type="version"][data-path="{gallery}"]')
    gallery_version.click(button="right")  # saved by the library, no cell captured: nothing to open
    page.locator(".lm-Menu-item.lm-mod-disabled", has_text="Open Run Notebook").wait_for()
    page.keyboard.press("Escape")
    tree_row(page, "m.json").click(button="right")  # offered on versions only
    page.locator(".lm-Menu-item", has_text="Copy Path").wait_for()
    assert page.locator(".lm-Menu-item", has_text="Open Run Notebook").is_hidden()


def test_copy_path_puts_the_server_path_on_the_clipboard(page, gallery):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_sidebar(page)
    tree_row(page, "metrics.json").click(button="right")
    page.locator(".lm-Menu-item", has_text="Copy Path").click()
    page.wait_for_function(
        "async (expected) => (await navigator.clipboard.readText()) === expected",
        arg=f"snapshots/{gallery}/jsons/metrics.json",
    )


def test_a_save_from_a_kernel_appears_without_a_reload(lab, page):
    open_sidebar(page)
    page.evaluate("window.__same_page = true")
    new_notebook(
        lab,
        page,
        "live.ipynb",
        [
            "%load_ext opencrate",
            (
                "import opencrate as oc\n"
                "oc.snapshot.setup(name='live', start='new')\n"
                "oc.snapshot.json('from_kernel.json').save({'step': 1})"
            ),
        ],
    )
    run_all_cells(page)
    tree_row(page, "from_kernel.json").wait_for(timeout=60_000)
    assert page.evaluate("window.__same_page") is True
    tree_row(page, "from_kernel.json").click()
    page.wait_for_selector(f'{SIDEBAR} .opencrate-preview[data-preview-type="json"]')
    assert "saved by\nIn [2]" in preview(page).inner_text()  # the cell that saved it, as the notebook labels it


def _set_poll_seconds(lab, seconds):
    """The user's setting, as the Settings Editor writes it (read when the page loads)."""
    folder = os.path.join(lab.state, "settings", "opencrate-nb-labextension")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "plugin.jupyterlab-settings"), "w") as f:
        json.dump({"pollSeconds": seconds}, f)


def _poll_ticks(page):
    return int(page.evaluate(f"document.querySelector('{SIDEBAR}').dataset.pollTicks || '0'"))


def test_it_polls_with_the_etag_and_only_while_visible(lab, browser, gallery):
    _set_poll_seconds(lab, 1)
    try:
        with open_lab(browser, lab) as page:
            sent = []  # (If-None-Match sent, status, ETag received) of every GET tree
            page.on(
                "response",
                lambda r: (
                    sent.append((r.request.headers.get("if-none-match"), r.status, r.headers.get("etag")))
                    if "/opencrate/api/tree" in r.url
                    else None
                ),
            )
            open_sidebar(page)
            for _ in range(2):
                with page.expect_response(lambda r: "/opencrate/api/tree" in r.url and r.status == 304):
                    pass
            assert sent[0][:2] == (None, 200)
            held = sent[0][2]
            for if_none_match, status, etag in sent[1:]:
                assert if_none_match == held  # each poll names the tree it holds
                assert status in (200, 304) and etag
                held = etag
            assert page.evaluate(f"document.querySelector('{SIDEBAR}').dataset.etag") == held

            page.locator('.jp-SideBar [data-id="opencrate-snapshots"]').click()  # collapse the sidebar
            page.locator(SIDEBAR).wait_for(state="hidden")
            sent.clear()
            ticks = _poll_ticks(page)
            page.wait_for_function(
                f"(t) => +document.querySelector('{SIDEBAR}').dataset.pollTicks >= t + 3", arg=ticks
            )  # three poll intervals, standing by
            assert page.evaluate(f"document.querySelector('{SIDEBAR}').dataset.pollPhase") == "standby"
            assert sent == []
    finally:
        os.remove(os.path.join(lab.state, "settings", "opencrate-nb-labextension", "plugin.jupyterlab-settings"))


def test_the_command_palette_opens_the_panel(page, gallery):
    page.locator(SIDEBAR).wait_for(state="attached")
    assert not page.locator(SIDEBAR).is_visible()
    page.wait_for_function(
        """() => ['opencrate:show-snapshots', 'apputils:activate-command-palette']
        .every(id => window.jupyterapp.commands.hasCommand(id))"""
    )
    page.locator(".jp-Launcher").click()  # the restored layout is there and has the focus
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".jp-ModalCommandPalette")
    palette.locator(".lm-CommandPalette-input").fill("OpenCrate Snapshots")
    item = palette.locator(".lm-CommandPalette-item", has_text="OpenCrate Snapshots").first
    item.wait_for()
    assert "OPENCRATE" in [h.upper() for h in palette.locator(".lm-CommandPalette-header").all_inner_texts()]
    item.click()
    page.wait_for_selector(f"{SIDEBAR} .opencrate-node")
    assert page.locator(SIDEBAR).is_visible()


def test_a_name_full_of_html_shows_as_text_and_runs_nothing(page, gallery):
    panel = open_sidebar(page)
    row = tree_row(page, XSS_NAME)
    assert row.locator(".opencrate-node-name").inner_text() == XSS_NAME
    shown = show(page, XSS_NAME, "text")
    assert shown.locator(".opencrate-preview-title").inner_text() == XSS_NAME
    row.click(button="right")
    page.keyboard.press("Escape")
    assert panel.locator("img[src='x']").count() == 0
    assert page.evaluate("window.__xss") is None


def test_the_page_requests_nothing_outside_the_server(page, gallery):
    open_sidebar(page)
    show(page, "gradient.png", "image")
    show(page, "tone.wav", "audio")
    show(page, "history.csv", "table")
    assert page.outside_requests.seen > 10
    assert page.outside_requests == []


def test_ten_thousand_artifacts_are_drawn_lazily(browser, tmp_path):
    """100 versions x 100 artifacts, under a snapshot root set with --OpenCrate.snapshot_root."""
    root = tmp_path / "root"
    (root / "runs").mkdir(parents=True)
    for _number in range(100):
        save_artifacts(root / "runs", "big", [("json", f"m{i:03d}.json", i) for i in range(100)])
    with lab_server(root, ["--OpenCrate.snapshot_root=runs"]) as server, open_lab(browser, server) as tab:
        panel = open_sidebar(tab)
        assert tree_row(tab, "v99").is_visible()
        panel.locator(".opencrate-filter").fill(".json")  # every artifact matches: all branches open
        tab.wait_for_function(f"() => document.querySelector('{SIDEBAR}').dataset.rows === '10201'")
        assert panel.locator(".opencrate-node").count() < 150
        panel.locator(".opencrate-tree").evaluate("tree => { tree.scrollTop = tree.scrollHeight; }")
        tree_row(tab, "m099.json").first.wait_for()
        assert panel.locator(".opencrate-node").count() < 150
        run_command(tab, "opencrate:refresh")
        assert tab.evaluate("document.querySelector('#opencrate-snapshots').dataset.loadMs") is not None
