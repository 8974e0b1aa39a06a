"""The ipywidgets browser (``oc.browse()``, opencrate_nb/notebook/browser.py) in a JupyterLab notebook in Chromium."""

import re

import numpy as np
import pytest
from _lab_fixtures import new_notebook, run_all_cells, save_artifacts, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def widget_node(page, name):
    return page.locator(".opencrate-browser .opencrate-browser-node").filter(
        has_text=re.compile("^\\s*" + re.escape(name) + "\\s*$")
    )


def test_the_widget_browser_renders_and_answers_clicks(lab, page, tmp_path):
    version = save_artifacts(
        lab.snapshots,
        "widget_demo",
        [
            ("json", "metrics.json", {"accuracy": 0.93, "loss": 0.21}),
            ("image", "sample.png", np.tile(np.arange(0, 256, 8, dtype=np.uint8), (16, 1))),
        ],
        tag="first",
    )
    new_notebook(lab, page, "widget.ipynb", ["import opencrate as oc\noc.browse()"])
    run_all_cells(page)
    browser = page.locator(".opencrate-browser")
    browser.wait_for(timeout=60_000)

    for name in ("widget_demo", version.split("/")[1], "jsons"):
        if not widget_node(page, "metrics.json").is_visible():
            widget_node(page, name).first.click()
    widget_node(page, "metrics.json").click()
    preview = browser.locator(".opencrate-browser-preview")
    page.wait_for_function("(el) => el.innerText.includes('accuracy')", arg=preview.element_handle())

    browser.locator(".opencrate-browser-action-snippet").click()
    snippet = browser.locator(".opencrate-browser-snippet textarea")
    page.wait_for_function("(area) => area.value.includes('oc.io.json.load')", arg=snippet.element_handle())
    assert f"{version}/jsons/metrics.json" in snippet.input_value()

    box = browser.bounding_box()
    width, height = screenshot(browser, tmp_path, "widget.png")
    assert abs(width - box["width"]) < 2 and abs(height - box["height"]) < 2  # whole pixels around the box
