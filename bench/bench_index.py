"""Listing a version of 10,000 artifacts through the record index, against parsing its record once.

    python bench/bench_index.py [--quick]

Targets (issue 10): ``%crate ls`` (in a real IPython shell) and ``crate ls NAME`` of a
version holding 10,000 artifacts take at most 0.2 s each, and open the record files no
more often than there are records (one per version). Baseline, in the same run: a plain
loop that reads the record and ``json.loads`` every line. Opens are counted by wrapping
``open`` and ``os.open`` while each command runs.
"""

import builtins
import contextlib
import hashlib
import io
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

TARGET_SECONDS = 0.2
RECORD_FILES = ("record.jsonl", "cells.jsonl")


def make_version(root, count):
    """A version of ``count`` small JSON artifacts, written as saves write them (file, then record line)."""
    import opencrate as oc
    from opencrate_nb.core import record

    oc.snapshot.setup(name="bench_index", start="new", root=root)
    folder = os.path.join(oc.snapshot.dir_path, "jsons")
    os.makedirs(folder, exist_ok=True)
    lines = []
    for number in range(count):
        data = json.dumps({"step": number}).encode()
        name = f"metrics_{number:05d}.json"
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
        lines.append(
            {
                "op": "save",
                "name": name,
                "kind": "json",
                "path": f"jsons/{name}",
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "time": record.now_iso(),
                "cell": {"execution_count": 1 + number % 40, "cell_id": None},
            }
        )
    with open(os.path.join(record.record_dir(oc.snapshot.dir_path), record.RECORD_FILE), "ab") as f:
        f.write("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in lines).encode())
    return oc.snapshot.dir_path


@contextlib.contextmanager
def counting_record_opens():
    """Counts opens of record files (by ``open`` or ``os.open``) inside the block."""
    counts = {"opens": 0}
    real_open, real_os_open = builtins.open, os.open

    def is_record(path):
        return isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path).endswith(RECORD_FILES)

    def counted_open(file, *args, **kwargs):
        counts["opens"] += is_record(file)
        return real_open(file, *args, **kwargs)

    def counted_os_open(path, *args, **kwargs):
        counts["opens"] += is_record(path)
        return real_os_open(path, *args, **kwargs)

    builtins.open, io.open, os.open = counted_open, counted_open, counted_os_open
    try:
        yield counts
    finally:
        builtins.open, io.open, os.open = real_open, real_open, real_os_open


def forget_indexes():
    """A new process's state: nothing of the record or the tree is cached yet, no summary read,
    no size, time or cell rendered."""
    from opencrate_nb.core import _timelines, catalog, format

    _timelines._indexes.clear()
    catalog._version_cache.clear()
    for cache in (catalog._summaries, catalog._size_texts, catalog._time_texts, catalog._cells):
        cache.clear()
    format._is_local_offset.cache_clear()


def timed(action, rounds, cold=True):
    """(median seconds, record opens in the first round) of ``action``; ``cold`` empties the cache first."""
    times, opens = [], None
    for _ in range(rounds):
        if cold:
            forget_indexes()
        with counting_record_opens() as counts:
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
        opens = counts["opens"] if opens is None else opens
    return statistics.median(times), opens


def main(argv):
    quick = "--quick" in argv
    count = 2000 if quick else 10_000
    rounds = 3 if quick else 5
    work = tempfile.mkdtemp(prefix="bench_index_")
    os.chdir(work)
    root = os.path.join(work, "snapshots")
    version_dir = make_version(root, count)
    record_path = os.path.join(version_dir, ".crate", "record.jsonl")

    def baseline():
        with open(record_path, "rb") as f:
            return [json.loads(line) for line in f.read().splitlines() if line.strip()]

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "opencrate")

    def crate_ls_magic():
        with contextlib.redirect_stdout(io.StringIO()) as out:
            shell.run_line_magic("crate", "ls")
        assert f"metrics_{count - 1:05d}.json" in out.getvalue(), out.getvalue()[-300:]

    from opencrate_nb.cli import main as crate

    def crate_ls_cli():
        with contextlib.redirect_stdout(io.StringIO()) as out:
            assert crate(["--root", root, "ls", "bench_index"]) == 0
        row = out.getvalue().splitlines()[1].split()  # the table's row of v0: version, artifacts, ...
        assert row[:2] == ["v0", str(count)], out.getvalue()

    base, _ = timed(baseline, rounds)
    rows = [("parse the record once (baseline)", base, 1)]
    for label, action in (("%crate ls", crate_ls_magic), ("crate ls NAME", crate_ls_cli)):
        cold, cold_opens = timed(action, rounds, cold=True)
        warm, warm_opens = timed(action, rounds, cold=False)
        rows.append((f"{label}, first call", cold, cold_opens))
        rows.append((f"{label}, record cached", warm, warm_opens))
    print(f"listing one version of {count:,} artifacts (median of {rounds})")
    failed = False
    for label, seconds, opens in rows:
        verdict = ""
        if label != rows[0][0]:
            ok = seconds <= TARGET_SECONDS and opens <= 1
            failed |= not ok
            verdict = "ok" if ok else f"OVER TARGET (<= {TARGET_SECONDS} s, <= 1 record open)"
        print(f"  {label:<34} {seconds:7.3f} s  {seconds / base:6.1f}x baseline  {opens} record open(s)  {verdict}")
    return 1 if failed and not quick else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
