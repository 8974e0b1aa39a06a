"""Comparing 1000 versions, each with a 50-key config and a 20-value metrics JSON (issue 13).

    python bench/bench_compare.py [--quick]

Targets: ``oc.snapshot.compare`` (the DataFrame) takes at most 1 s cold (a fresh interpreter,
pandas already imported, files in the OS cache) and 0.1 s when asked again with nothing changed.
Baseline, in the same run: a plain loop that opens and ``json.load``s every config and metrics
file (what a compare that re-parses every file costs before it has built anything). Also shown:
the same compare after one new version (a row read, the others from the caches).

The versions are written as saves write them (the files, a record line each with its sha256,
an env.json), directly, so that making them takes seconds.
"""

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

COLD_TARGET_S = 1.0
WARM_TARGET_S = 0.1
NAME = "bench_compare"


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def make_versions(root, count):
    """``count`` versions of NAME: jsons/config.json (50 keys, 3 of which vary) and jsons/metrics.json (20 numbers)."""
    from opencrate_nb.core import record

    now = record.now_iso()
    for number in range(count):
        folder = os.path.join(root, NAME, f"v{number}")
        config = {f"key_{k:02d}": (number % 7 if k < 3 else f"fixed-{k}") for k in range(46)}
        config.update({"optimizer": {"name": "adam", "lr": 10 ** -(1 + number % 4), "betas": [0.9, 0.999]}})
        config.update({"seed": number, "epochs": 10})
        metrics = {f"metric_{m:02d}": round((number * 31 + m) % 97 / 97, 6) for m in range(20)}
        lines = []
        for name, value in (("config.json", config), ("metrics.json", metrics)):
            data = json.dumps(value, indent=2).encode()
            _write(os.path.join(folder, "jsons", name), data)
            entry = {"op": "save", "name": name, "kind": "json", "path": f"jsons/{name}", "size": len(data)}
            entry.update({"sha256": hashlib.sha256(data).hexdigest(), "time": now, "cell": None})
            lines.append(json.dumps(entry, separators=(",", ":")))
        _write(os.path.join(folder, record.RECORD_DIR, record.RECORD_FILE), ("\n".join(lines) + "\n").encode())
        run = {"id": f"{number:016x}", "start": now, "end": now, "finished": True, "python": "3", "git": None}
        _write(os.path.join(folder, record.RECORD_DIR, "env.json"), json.dumps({"runs": [run]}).encode())


def baseline(root):
    """Open and parse every config and metrics file once."""
    started = time.perf_counter()
    values = 0
    for folder in sorted(os.listdir(os.path.join(root, NAME))):
        for name in ("config.json", "metrics.json"):
            with open(os.path.join(root, NAME, folder, "jsons", name), "rb") as f:
                values += len(json.load(f))
    return time.perf_counter() - started


_MEASURE = r"""
import json, os, sys, time
import pandas  # a notebook comparing runs has pandas loaded already
sys.path.insert(0, sys.argv[1])
import opencrate
from opencrate_nb.core import compare
root, name = sys.argv[2], sys.argv[3]
started = time.perf_counter()
frame = compare.compare(name, root=root)
cold = time.perf_counter() - started
warm = []
for _ in range(5):
    started = time.perf_counter()
    again = compare.compare(name, root=root)
    warm.append(time.perf_counter() - started)
shape = list(frame.shape)
# one new version: its row is read, every other row comes from the cache
source = os.path.join(root, name, "v0")
target = os.path.join(root, name, f"v{shape[0]}")
import shutil
shutil.copytree(source, target)
started = time.perf_counter()
grown = compare.compare(name, root=root)
one_new = time.perf_counter() - started
shutil.rmtree(target)
print(json.dumps({"cold": cold, "warm": sorted(warm)[len(warm) // 2], "one_new": one_new, "shape": shape,
                  "grown": list(grown.shape)}))
"""


def measure(root):
    output = subprocess.run(
        [sys.executable, "-c", _MEASURE, REPO, root, NAME], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    count = 200 if quick else 1000
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="bench_compare_") as tmp:
        root = os.path.join(tmp, "snapshots")
        started = time.perf_counter()
        make_versions(root, count)
        print(f"made {count} versions (50-key config, 20-value metrics each) in {time.perf_counter() - started:.1f} s")
        results, bases = [], []
        for _ in range(rounds):  # alternate baseline and opencrate, as the other benches do
            bases.append(baseline(root))
            results.append(measure(root))
        base = statistics.median(bases)
        cold = statistics.median(r["cold"] for r in results)
        warm = statistics.median(r["warm"] for r in results)
        one_new = statistics.median(r["one_new"] for r in results)
        rows, columns = results[0]["shape"]
        print(f"compare of {count} versions -> DataFrame {rows} x {columns} (only the differing columns)")
        print(f"  baseline: parse every config and metrics file  {base * 1000:7.1f} ms")
        print(
            f"  cold (fresh interpreter)                       {cold * 1000:7.1f} ms  "
            f"x{cold / base:.1f} baseline  target <= {COLD_TARGET_S:.1f} s: {'ok' if cold <= COLD_TARGET_S else 'MISSED'}"
        )
        print(
            f"  again, nothing changed                         {warm * 1000:7.1f} ms  "
            f"x{warm / base:.2f} baseline  target <= {WARM_TARGET_S:.1f} s: {'ok' if warm <= WARM_TARGET_S else 'MISSED'}"
        )
        print(
            f"  again, after one new version                   {one_new * 1000:7.1f} ms  x{one_new / base:.2f} baseline"
        )
        if quick:
            print("(--quick: 200 versions; the targets are for 1000)")
        return 0 if quick or (cold <= COLD_TARGET_S and warm <= WARM_TARGET_S) else 1


if __name__ == "__main__":
    sys.exit(main())
