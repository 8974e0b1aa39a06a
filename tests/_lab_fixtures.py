"""A real ``jupyter lab`` and Debian's Chromium for the sidebar, widget and HTTP tests.

Registered as a pytest plugin (tests/conftest.py), it gives the fixtures ``lab`` (one
server for the whole session, on 127.0.0.1 with a free port and a token, in a temporary
root) and ``page`` (a Chromium page logged in to it that fails the test if it requests
anything but that server). Outside CI a missing Chromium or Playwright skips the browser
tests, saying why; with CI=true they fail instead. Every wait has a timeout and waits for
a condition, never for a fixed time.

The server runs this checkout: its Python first on PYTHONPATH, and the labextension
built from this checkout (``opencrate_nb/labextension``, made by ``pip install -e .`` or
``jlpm build:prod``) linked into an ``extra_labextensions_path``, which JupyterLab reads
before the installed extensions. Nothing installed is changed.
"""

import atexit
import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.parse

import pytest
from _notebook_fixtures import IN_CI, REPO, forget_snapshot, skip_or_fail

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_S = 90
UI_TIMEOUT_MS = 30_000
SIDEBAR = "#opencrate-snapshots"
IMAGES = os.path.join(REPO, "docs", "images")
LABEXTENSION_NAME = "opencrate-nb-labextension"
BUILT_LABEXTENSION = os.path.join(REPO, "opencrate_nb", "labextension")

_shared = {}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """One ``jupyter lab`` process: ``url`` (with trailing /), ``token``, ``root`` (its server root)."""

    def __init__(self, root, extra_args=()):
        self.root = str(root)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/"
        state = os.path.join(os.path.dirname(self.root), os.path.basename(self.root) + "-state")
        self.state = state
        settings = os.path.join(state, "settings")
        notification = os.path.join(settings, "@jupyterlab", "apputils-extension")
        os.makedirs(notification, exist_ok=True)
        with open(os.path.join(notification, "notification.jupyterlab-settings"), "w") as f:
            json.dump({"fetchNews": "false", "checkForUpdates": False}, f)
        extension_args = self._link_built_extension(state)
        env = dict(os.environ)
        env.update(
            {
                "JUPYTERLAB_SETTINGS_DIR": settings,
                "JUPYTERLAB_WORKSPACES_DIR": os.path.join(state, "workspaces"),
                "JUPYTER_RUNTIME_DIR": os.path.join(state, "runtime"),
                "JUPYTER_CONFIG_DIR": os.path.join(state, "config"),
                "PYTHONPATH": REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
            }
        )
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.allow_root=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            "--LabApp.expose_app_in_browser=True",
            *extension_args,
            *extra_args,
        ]
        self.log_path = os.path.join(state, "server.log")
        self._log = open(self.log_path, "wb")  # open while the server runs, closed by stop()
        self.process = subprocess.Popen(command, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready()

    @staticmethod
    def _link_built_extension(state):
        """``--LabApp.extra_labextensions_path`` pointing at this checkout's build, or nothing without one."""
        if not os.path.isfile(os.path.join(BUILT_LABEXTENSION, "package.json")):
            return []
        folder = os.path.join(state, "labextensions")
        os.makedirs(folder, exist_ok=True)
        link = os.path.join(folder, LABEXTENSION_NAME)
        if not os.path.lexists(link):
            os.symlink(BUILT_LABEXTENSION, link, target_is_directory=True)
        return [f"--LabApp.extra_labextensions_path={folder}"]

    def _wait_ready(self):
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, _ = self.get("api/status")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_S} s:\n{self.log_tail()}")

    def log_tail(self, chars=4000):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-chars:]

    def fetch(self, path, token=True, headers=None, timeout=30, method="GET"):
        """GET (or ``method``) ``path`` (relative to the server URL, sent as is); returns (status, headers, body)."""
        import http.client

        if token:
            path += ("&" if "?" in path else "?") + "token=" + self.token
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, "/" + path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def get(self, path, token=True, headers=None, timeout=30):
        """GET ``path``; returns (status, body bytes)."""
        status, _, body = self.fetch(path, token, headers, timeout)
        return status, body

    def api(self, route, token=True, **params):
        """GET ``opencrate/api/<route>?<params>``; returns (status, parsed JSON or raw bytes)."""
        query = urllib.parse.urlencode(params)
        status, body = self.get(f"opencrate/api/{route}" + (f"?{query}" if query else ""), token=token)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    @property
    def snapshots(self):
        return os.path.join(self.root, "snapshots")

    def stop(self):
        """Terminate the server (its kernels go with it); safe to call more than once."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()


def require_jupyterlab():
    if importlib.util.find_spec("jupyterlab") is None:
        skip_or_fail('jupyterlab is not installed (pip install -e ".[test]"), so the server cannot be tested here')


@contextlib.contextmanager
def lab_server(root, extra_args=()):
    """A ``LabServer`` of its own (for tests that need another root or other flags), stopped afterwards."""
    require_jupyterlab()
    server = LabServer(root, extra_args)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """The session's JupyterLab server (shared by every test module that imports this file)."""
    server = _shared.get("lab")
    if server is None:
        require_jupyterlab()
        root = tmp_path_factory.mktemp("lab") / "root"
        root.mkdir()
        server = _shared["lab"] = LabServer(root)
        atexit.register(server.stop)
    yield server
    server.stop()  # at the end of the session (stop() may run twice: it is idempotent)


def _browser():
    browser = _shared.get("browser")
    if browser is not None:
        return browser
    if not os.path.exists(CHROMIUM):
        skip_or_fail(
            f"Debian's Chromium is not at {CHROMIUM} (apt-get install chromium), "
            "so the JupyterLab UI cannot be tested here"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright (pip install playwright) is not installed, so the JupyterLab UI cannot be tested here")
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=UI_TIMEOUT_MS
    )

    def close():
        with contextlib.suppress(Exception):
            browser.close()
        with contextlib.suppress(Exception):
            playwright.stop()

    atexit.register(close)
    _shared["browser"] = browser
    _shared["close_browser"] = close
    return browser


@pytest.fixture(scope="session")
def browser():
    yield _browser()
    close = _shared.pop("close_browser", None)
    if close is not None:
        _shared.pop("browser", None)
        close()


class OutsideRequests(list):
    """URLs the page asked for that are not the local server (``seen`` counts every request)."""

    def __init__(self, server):
        super().__init__()
        self.origin = ("http", urllib.parse.urlsplit(server.url).netloc)
        self.seen = 0

    def __call__(self, url):
        self.seen += 1
        parts = urllib.parse.urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if (parts.scheme.replace("ws", "http"), parts.netloc) != self.origin:
            self.append(url)


@contextlib.contextmanager
def open_lab(browser, server):
    """A new browser context with JupyterLab of ``server`` loaded; fails on any request outside it."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(UI_TIMEOUT_MS)
    outside = OutsideRequests(server)
    context.on("request", lambda request: outside(request.url))
    tab = context.new_page()
    tab.on("websocket", lambda socket: outside(socket.url))
    tab.outside_requests = outside
    try:
        tab.goto(f"{server.url}lab?reset&token={server.token}", wait_until="domcontentloaded")
        tab.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell")
        tab.wait_for_selector(".jp-LabShell", state="attached")
        yield tab
    finally:
        context.close()
    assert not outside, f"the page requested resources outside the local server: {outside}"


@pytest.fixture
def page(lab, browser):
    """A fresh JupyterLab page on the session's server."""
    with open_lab(browser, lab) as tab:
        yield tab


# ------------------------------------------------------------------------------------------------
# helpers the UI tests share
# ------------------------------------------------------------------------------------------------
def save_artifacts(root, name, items, tag=None):
    """Make a new version of snapshot ``name`` under ``root`` with the library.

    ``items`` are ``(kind, file name, value)`` or ``(kind, file name, value, save kwargs)``.
    Returns the version's path relative to ``root``.
    """
    import opencrate as oc

    forget_snapshot()
    try:
        oc.snapshot.setup(name=name, start="new", tag=tag, root=str(root), log_level="warning")
        for kind, file_name, value, *kwargs in items:
            getattr(oc.snapshot, kind)(file_name).save(value, **(kwargs[0] if kwargs else {}))
        version_dir = oc.snapshot.dir_path
    finally:
        forget_snapshot()
    return os.path.relpath(version_dir, root).replace(os.sep, "/")


def run_command(page, command, args=None):
    """Start a JupyterLab command without awaiting it (awaiting inside evaluate can hang)."""
    page.evaluate(
        "([command, args]) => { window.jupyterapp.commands.execute(command, args || {}); }", [command, args or {}]
    )


def open_sidebar(page):
    """Click the sidebar's tab and wait for its first tree row."""
    tab = page.locator('.jp-SideBar [data-id="opencrate-snapshots"]')
    tab.wait_for()
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    page.wait_for_selector(f"{SIDEBAR} .opencrate-node")
    return page.locator(SIDEBAR)


def tree_row(page, name):
    """The sidebar row showing exactly ``name``."""
    exact = re.compile("^" + re.escape(name) + "$")
    return page.locator(f"{SIDEBAR} .opencrate-node", has=page.locator(".opencrate-node-name", has_text=exact))


def new_notebook(lab, page, name, cells=()):
    """Write a notebook (``cells`` are code sources) into the server root and open it in a tab."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, os.path.join(lab.root, name))
    run_command(page, "docmanager:open", {"path": name, "factory": "Notebook", "kernel": {"name": "python3"}})
    page.wait_for_function(
        """(name) => {
        const w = window.jupyterapp.shell.currentWidget;
        return w && w.context && w.context.path === name;
    }""",
        arg=name,
    )
    page.wait_for_function(
        """() => {
        const w = window.jupyterapp.shell.currentWidget;
        return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel
            && w.sessionContext.session.kernel.status === 'idle';
    }""",
        timeout=90_000,
    )
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")


def run_all_cells(page):
    run_command(page, "notebook:run-all-cells")


def screenshot(locator, folder, name):
    """A PNG of ``locator`` (the element only, so it stays small) in ``folder``; returns its (width, height).

    With OPENCRATE_UPDATE_SCREENSHOTS=1 it is also copied to docs/images/ for the docs;
    otherwise a test run writes nothing into the repository.
    """
    path = os.path.join(str(folder), name)
    locator.screenshot(path=path)
    with open(path, "rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    if os.environ.get("OPENCRATE_UPDATE_SCREENSHOTS") == "1":
        os.makedirs(IMAGES, exist_ok=True)
        shutil.copyfile(path, os.path.join(IMAGES, name))
    return struct.unpack(">II", header[16:24])


__all__ = [
    "IN_CI",
    "REPO",
    "SIDEBAR",
    "UI_TIMEOUT_MS",
    "LabServer",
    "browser",
    "lab",
    "lab_server",
    "new_notebook",
    "open_lab",
    "open_sidebar",
    "page",
    "run_all_cells",
    "run_command",
    "save_artifacts",
    "screenshot",
    "skip_or_fail",
    "tree_row",
]
