"""History, verify and diff speed, as ratios against baselines measured in the same run.

    python bench/bench_history.py [--quick]

Targets (issue 5): keeping history adds <= 10% to overwriting a 256 MB checkpoint
(history on vs off, rounds alternating); verify of 10,000 small artifacts <= 2 s
(baseline: a plain loop reading and hashing the same files); diff of two versions of
1,000 artifacts each, half of them changed, <= 0.5 s including its text display
(baseline: json-parsing both records).
"""

import hashlib
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time


def bench_checkpoint_history(megabytes, work, rounds):
    import torch

    import opencrate as oc

    per_tensor = 16 << 20
    state = {f"layer{i}.weight": torch.randn(per_tensor // 4) for i in range((megabytes << 20) // per_tensor)}
    oc.snapshot.setup(name="bench_history", start="new", root=os.path.join(work, "snapshots"))
    artifact = oc.snapshot.checkpoint("state.pt")
    artifact.save(state)
    values = itertools.count()

    def save():
        state["layer0.weight"][0] = float(next(values))  # a new content every save
        artifact.save(state)

    result = _history_on_off(save, rounds, keep=1)
    result.update(size_mb=megabytes, kept=sum(item["available"] and not item["current"] for item in artifact.history()))
    return result


def _history_on_off(action, rounds, keep):
    """Median times of ``action`` with history on (``KEEP=keep``) and off, rounds alternating."""
    from opencrate_nb.core import history

    saved_keep = history.KEEP
    times = {"off": [], "on": []}
    try:
        for number in range(rounds):
            for mode in ("off", "on") if number % 2 == 0 else ("on", "off"):
                history.KEEP = keep if mode == "on" else 0
                start = time.perf_counter()
                action()
                times[mode].append(time.perf_counter() - start)
    finally:
        history.KEEP = saved_keep
    return {
        "off_s": statistics.median(times["off"]),
        "on_s": statistics.median(times["on"]),
        "ratio": statistics.median(on / off for on, off in zip(times["on"], times["off"])),
    }


def bench_small_overwrites(count, work, rounds):
    """Not a target, for the record: history's cost per overwrite of a tiny file (link, prune)."""
    import opencrate as oc

    oc.snapshot.setup(name="bench_small", start="new", root=os.path.join(work, "snapshots"))
    artifact = oc.snapshot.json("metrics.json")
    artifact.save({"step": -1})
    batches = itertools.count()

    def save_many():
        batch = next(batches)
        for step in range(count):
            artifact.save({"step": step, "batch": batch})

    return dict(_history_on_off(save_many, rounds, keep=5), count=count)


def bench_verify(count, work, rounds):
    import opencrate as oc

    oc.snapshot.setup(name="bench_verify", start="new", root=os.path.join(work, "snapshots"))
    for n in range(count):
        oc.snapshot.json(f"m{n}.json").save({"n": n, "loss": 1.0 / (n + 1)})
    folder = os.path.join(oc.snapshot.dir_path, "jsons")
    plain, ours = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), "rb") as f:
                hashlib.sha256(f.read()).hexdigest()
        plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = oc.snapshot.verify()
        ours.append(time.perf_counter() - start)
        assert report.ok and report.checked == count
    return {
        "count": count,
        "plain_s": statistics.median(plain),
        "ours_s": statistics.median(ours),
        "ratio": statistics.median(o / p for o, p in zip(ours, plain)),
    }


def bench_diff(count, work, rounds):
    import opencrate as oc
    from opencrate_nb.core.snapshot import snapshot

    root = os.path.join(work, "snapshots")
    for version in range(2):
        oc.snapshot.setup(name="bench_diff", start=version, root=root)
        for n in range(count):
            changed = version if n % 2 == 0 else 0
            oc.snapshot.json(f"m{n}.json").save({"n": n, "run": changed, "loss": 1.0 / (n + 1)})
    records = [os.path.join(root, "bench_diff", f"v{v}", ".crate", "record.jsonl") for v in range(2)]
    plain, ours = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        tables = []
        for path in records:
            with open(path, "rb") as f:
                tables.append({e["path"]: e["sha256"] for e in map(json.loads, f.read().splitlines())})
        sum(tables[0][p] != tables[1].get(p) for p in tables[0])
        plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = snapshot.diff(0, 1)
        text = str(result)
        ours.append(time.perf_counter() - start)
        assert len(result.changed) == count // 2 and text
    return {
        "count": count,
        "plain_s": statistics.median(plain),
        "ours_s": statistics.median(ours),
        "ratio": statistics.median(o / p for o, p in zip(ours, plain)),
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    work = tempfile.mkdtemp(prefix="opencrate-bench-history-")
    try:
        ck = bench_checkpoint_history(64 if quick else 256, work, 2 if quick else 5)
        print(
            f"{ck['size_mb']} MB checkpoint overwrite: history on {ck['on_s']:.3f} s vs off {ck['off_s']:.3f} s "
            f"-> ratio {ck['ratio']:.3f}x (target <= 1.10x; earlier contents kept: {ck['kept']})"
        )
        sm = bench_small_overwrites(200 if quick else 1000, work, 3)
        print(
            f"{sm['count']} overwrites of a small json (for the record, no target): history on {sm['on_s']:.3f} s "
            f"vs off {sm['off_s']:.3f} s -> ratio {sm['ratio']:.2f}x"
        )
        ve = bench_verify(2000 if quick else 10000, work, 3)
        print(
            f"verify {ve['count']} small artifacts: {ve['ours_s']:.3f} s (target <= 2 s) vs a plain read+sha256 "
            f"loop {ve['plain_s']:.3f} s -> ratio {ve['ratio']:.2f}x"
        )
        di = bench_diff(1000, work, 5)
        print(
            f"diff of two {di['count']}-artifact versions ({di['count'] // 2} changed) with its text display: "
            f"{di['ours_s']:.3f} s (target <= 0.5 s) vs json-parsing both records {di['plain_s']:.3f} s "
            f"-> ratio {di['ratio']:.1f}x"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
