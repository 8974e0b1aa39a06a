"""The sidebar's tree API and the sidebar itself on 100 versions x 100 artifacts.

    python bench/bench_tree.py [--quick]

Targets (issue 4): ``GET opencrate/api/tree`` answers in <= 0.1 s and the sidebar shows
the tree <= 1 s after its tab is clicked. The read from scratch is printed too: the
server does it once in a thread at start (``OpenCrate.warm_up``), and after that a
request re-reads only the versions that changed. Baselines measured in the same run: a plain
``os.walk`` + ``stat`` of the same root (what a UI without the record would do at
least), the server's cheapest route (``/api/status``: the HTTP floor), and the page's
own fetch of the two routes the sidebar calls (the network floor of the sidebar).
Needs a JupyterLab install; the sidebar figure also needs Debian's Chromium and Playwright.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from _lab_fixtures import CHROMIUM, CHROMIUM_ARGS, SIDEBAR, LabServer, save_artifacts  # noqa: E402 - tests/ is put on the path just above

SETTLE_S = 3


def make_root(snapshots, versions, artifacts):
    start = time.perf_counter()
    for _ in range(versions):
        save_artifacts(snapshots, "bench", [("json", f"metric_{i:03d}.json", {"i": i}) for i in range(artifacts)])
    return time.perf_counter() - start


def _timed(call, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _walk(root):
    count = 0
    for base, _, files in os.walk(root):
        for name in files:
            os.stat(os.path.join(base, name))
            count += 1
    return count


_COLD_READ = """
import sys, time
from opencrate_nb.server import api
root = api.snapshot_root(sys.argv[1])
start = time.perf_counter()
api.tree_json(root, sys.argv[1], api.fingerprint(root))
print(time.perf_counter() - start)
"""


def cold_read(server_root, rounds):
    """Fingerprint + tree + JSON in a fresh interpreter: the work the server's warm-up does once."""
    times = []
    for _ in range(rounds):
        out = subprocess.run(
            [sys.executable, "-c", _COLD_READ, server_root], capture_output=True, text=True, check=True
        ).stdout
        times.append(float(out))
    return statistics.median(times)


def bench_api(server, rounds, artifacts):
    def get(route, headers=None, expect=200):
        status, body = server.get(route, headers=headers)
        assert status == expect, (route, status, body[:200])
        return body

    # jupyter_lsp and friends finish starting in threads just after the server answers;
    # measuring then would time them, not us
    time.sleep(SETTLE_S)
    start = time.perf_counter()
    size = len(get("opencrate/api/tree"))
    cold = time.perf_counter() - start
    make_root(server.snapshots, 1, artifacts)
    start = time.perf_counter()
    get("opencrate/api/tree")
    after_run = time.perf_counter() - start
    return {
        "cold_s": cold,
        "after_run_s": after_run,
        "warm_s": _timed(lambda: get("opencrate/api/tree"), rounds),
        "poll_s": _poll_seconds(server, rounds),
        "noisy_s": _noisy_root(server, rounds),
        "status_s": _timed(lambda: get("api/status"), rounds),
        "walk_s": _timed(lambda: _walk(server.snapshots), rounds),
        "bytes": size,
    }


def _poll_seconds(server, rounds):
    """What the sidebar polls: GET tree with the ETag it holds, answered 304 (every root stamped)."""
    _, headers, _ = server.fetch("opencrate/api/tree")

    def poll():
        status, _, _ = server.fetch("opencrate/api/tree", headers={"If-None-Match": headers["ETag"]})
        assert status == 304, status

    return _timed(poll, rounds)


def _noisy_root(server, rounds):
    """GET tree once 2,000 folders that hold no snapshots sit next to the root (the roots walk
    reads them once, then serves its cache while their mtimes hold)."""
    for i in range(2000):
        os.makedirs(os.path.join(server.root, "data", f"part{i // 100:02}", f"shard{i:04}"), exist_ok=True)
    server.get("opencrate/api/tree")
    return _timed(lambda: server.get("opencrate/api/tree"), rounds)


def bench_sidebar(server, rounds):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not os.path.exists(CHROMIUM):
        return None
    shown, fetched = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        for _ in range(rounds):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(60_000)
            page.goto(f"{server.url}lab?reset&token={server.token}", wait_until="domcontentloaded")
            tab = page.locator('.jp-SideBar [data-id="opencrate-snapshots"]')
            tab.wait_for()
            page.wait_for_selector(".jp-DirListing-item")  # JupyterLab has settled
            start = time.perf_counter()
            tab.click()
            page.wait_for_selector(f"{SIDEBAR} .opencrate-node")
            shown.append(time.perf_counter() - start)
            fetched.append(
                page.evaluate("""async () => {
                const started = performance.now();
                const response = await fetch('/opencrate/api/tree', {cache: 'no-store'});
                await response.json();
                return (performance.now() - started) / 1000;
            }""")
            )
            page.close()
        browser.close()
    return {"shown_s": statistics.median(shown), "fetch_s": statistics.median(fetched)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    versions, artifacts = (20, 100) if quick else (100, 100)
    rounds = 3 if quick else 10
    work = tempfile.mkdtemp(prefix="opencrate-bench-tree-")
    server = None
    try:
        root = os.path.join(work, "root")
        made = make_root(os.path.join(root, "snapshots"), versions, artifacts)
        print(f"root of {versions} versions x {artifacts} artifacts made with the library in {made:.1f} s")
        cold = cold_read(root, 3)
        server = LabServer(root)
        api = bench_api(server, rounds, artifacts)
        print(f"tree read from scratch (fresh interpreter, no cache; the server does it once at start): {cold:.3f} s")
        print(
            f"GET tree ({api['bytes'] // 1024} KB of JSON): first {api['cold_s']:.3f} s, after a new run of "
            f"{artifacts} artifacts {api['after_run_s']:.3f} s, unchanged {api['warm_s']:.3f} s (target <= 0.100 s)"
        )
        print(
            f"  baselines: os.walk+stat of the root {api['walk_s']:.3f} s -> GET tree after a new run / walk "
            f"ratio {api['after_run_s'] / api['walk_s']:.2f}x; GET /api/status {api['status_s'] * 1000:.1f} ms; "
            f"GET tree with its ETag (what the sidebar polls: 304) {api['poll_s'] * 1000:.1f} ms"
        )
        print(
            f"GET tree unchanged with 2,000 other folders below the server root (roots walk cached) "
            f"{api['noisy_s']:.3f} s -> ratio to the plain root {api['noisy_s'] / api['warm_s']:.2f}x"
        )
        side = bench_sidebar(server, 2 if quick else 5)
        if side is None:
            print("sidebar: skipped (Debian's Chromium or Playwright is missing)")
        else:
            print(
                f"sidebar shows the tree {side['shown_s']:.3f} s after its tab is clicked (target <= 1 s); "
                f"the page's own fetch of the tree {side['fetch_s']:.3f} s -> ratio "
                f"{side['shown_s'] / side['fetch_s']:.2f}x"
            )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
