"""Core speed, as ratios against plain Python measured in the same run.

    python bench/bench_core.py [--quick] [--dir FOLDER]

``--dir`` puts the files in FOLDER (default: the temporary folder); on a tmpfs such as
/dev/shm the figures show what our code adds, without the disk's noise.

Targets (issues 2 and 9): import adds <= 0.15 s and loads no heavy library; 1000 new small
json artifacts, and 1000 overwrites of one json with history on (how metrics are saved every
epoch), each <= 1.3x a plain json.dump loop on the same disk, and 1000 loads <= 1.5x json.load;
a 256 MB state dict overwritten with history and its content hash <= 1.10x raw torch.save
(both followed by os.sync()) and loaded in <= 1.02x raw torch.load. Every save goes through
the full write protocol (intent, swap, record line: docs/architecture.md).

Contents that retention prunes, and a large replaced file, are freed by a background thread
of ours (core/_retention.py). Before each baseline section that thread is let finish
(``_settle``): left running, our deferred work would be timed as the baseline's.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HEAVY = ("numpy", "pandas", "torch", "matplotlib", "PIL", "soundfile", "IPython")


def _settle():
    """Let our background reaper finish what earlier saves handed it, so a baseline is not timed with it,
    and flush what earlier rounds left dirty (``os.sync()``): a file system journal still writing out
    the last round (ext4 with online discard takes seconds) makes every file creation wait."""
    from opencrate_nb.core import _retention

    _retention.drain()
    os.sync()


def _median_run(code, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_import(repeat):
    """``import opencrate`` itself, and with the core loaded (what the first ``oc.snapshot`` use costs)."""
    bare = _median_run("pass", repeat)
    ours = _median_run("import opencrate", repeat)
    core = _median_run("import opencrate; opencrate.snapshot; opencrate.info", repeat)
    probe = (
        "import sys, opencrate; opencrate.snapshot; opencrate.info; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    return {
        "bare_s": bare,
        "import_s": ours,
        "added_s": ours - bare,
        "core_s": core,
        "core_added_s": core - bare,
        "heavy_loaded": loaded or "none",
    }


def bench_json(count, work, rounds, history_keep=None):
    """Rounds of plain Python and opencrate (this disk is shared and noisy): ratios of the best rounds.

    ``history_keep=0`` switches artifact history off, to show what it adds to each save.
    """
    import opencrate as oc
    from opencrate_nb.core import history

    kept = history.KEEP
    if history_keep is not None:
        history.KEEP = history_keep
    try:
        return _json_rounds(oc, count, work, rounds, history_keep)
    finally:
        history.KEEP = kept


def _json_rounds(oc, count, work, rounds, history_keep):
    """Each round saves ``count`` new files, loads them, and overwrites one file ``count`` times.

    The ratios are of each side's best round (as ``timeit`` advises: on a shared machine noise
    only ever adds time, and this disk's file creation swings by 2-20x from one second to the
    next); the median of the rounds' ratios is given too.

    Each side starts from a settled disk: ``os.sync()`` first, so that neither is timed while
    the file system writes out what the other left dirty (with ext4's online discard a commit
    after many files takes seconds, and every file creation waits for it). What a side leaves
    dirty is then written out untimed, for both alike. Who goes first rotates.
    """
    payload = {"loss": 0.123, "accuracy": 0.98, "epoch": 7, "tags": ["a", "b"], "lr": 3e-4}
    plain_dir = os.path.join(work, f"plain{history_keep}")
    os.makedirs(plain_dir)
    floor_dir = os.path.join(work, f"floor{history_keep}")  # one folder for every round, as plain and ours have
    os.makedirs(floor_dir)
    floor = _protocol_floor(floor_dir, payload)
    oc.snapshot.setup(name="bench", start="new", root=os.path.join(work, "snapshots"))
    rounds_seen = []  # per round: plain, ours, floor save; plain, ours load; plain, ours overwrite
    for r in range(rounds):
        names = [f"m{r}_{i}.json" for i in range(count)]
        artifacts = [oc.snapshot.json(name) for name in names]
        paths = [os.path.join(plain_dir, name) for name in names]

        def plain_save(turn, paths=paths):
            for path in paths[turn]:
                with open(path, "w") as f:
                    json.dump(payload, f, indent=4)

        def ours_save(turn, artifacts=artifacts):
            for artifact in artifacts[turn]:
                artifact.save(payload)

        def plain_load(turn, paths=paths):
            for path in paths[turn]:
                with open(path) as f:
                    json.load(f)

        def ours_load(turn, artifacts=artifacts):
            for artifact in artifacts[turn]:
                artifact.load()

        def floor_save(turn, names=names):
            floor(names[turn])

        saves = _each_in_turn(count, plain_save, ours_save, floor_save, first=r % 3)
        loads = _each_in_turn(count, plain_load, ours_load, first=r % 2)
        overwrites = _overwrites(oc, plain_dir, payload, count, r)
        rounds_seen.append((*saves, *loads, *overwrites))
    best = [min(column) for column in zip(*rounds_seen)]
    return {
        "plain_save_s": best[0],
        "ours_save_s": best[1],
        "save_ratio": best[1] / best[0],
        "floor_ratio": best[2] / best[0],
        "save_ratio_median": statistics.median(r[1] / r[0] for r in rounds_seen),
        "plain_load_s": best[3],
        "ours_load_s": best[4],
        "load_ratio": best[4] / best[3],
        "plain_overwrite_s": best[5],
        "ours_overwrite_s": best[6],
        "overwrite_ratio": best[6] / best[5],
        "overwrite_ratio_median": statistics.median(r[6] / r[5] for r in rounds_seen),
    }


def _each_in_turn(count, *sides, first=0):
    """Run each ``side(items)`` over all ``count`` items, one side after the other from a settled
    disk (``_settle``), the order rotating from ``first``; each side's seconds, in the order given."""
    totals = [0.0] * len(sides)
    everything = slice(0, count)
    for k in range(len(sides)):
        side = (first + k) % len(sides)
        _settle()
        start = time.perf_counter()
        sides[side](everything)
        totals[side] = time.perf_counter() - start
    return tuple(totals)


def _pin_mmap_threshold():
    """Make every large allocation a fresh ``mmap`` (glibc): by default glibc raises its mmap threshold
    when a large block is freed, so a 256 MB load lands either in memory the last load left (no page
    faults: 25 ms) or in fresh pages (150 ms), at random; pinned, each load is what a kernel's first
    load of a checkpoint is, on both sides."""
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD: 1 MB, fixed
    except (OSError, AttributeError):
        pass  # not glibc: its allocator's own ways, on both sides alike


def _timed_pair(raw, ours, ours_first, then=None):
    """Seconds of ``raw()`` and of ``ours()`` (each followed by ``then()``, timed with it), each from a
    settled disk; ``ours_first`` says who goes first (alternate it: whoever runs second finds the
    page cache and the allocator as the first left them)."""
    seconds = {}
    for side in (ours, raw) if ours_first else (raw, ours):
        _settle()
        start = time.perf_counter()
        side()
        if then is not None:
            then()
        seconds[side] = time.perf_counter() - start
    return seconds[raw], seconds[ours]


def _protocol_floor(folder, payload):
    """A first save's system calls and nothing else, in a straight loop: what the write protocol
    (docs/architecture.md) costs before any of our Python runs. Returns ``side(turn)`` over names.

    The calls are those a small first save makes (strace shows them): an unnamed file of the
    folder (O_TMPFILE), the intent, a linkat() naming it, the record line; the save lock is leased
    across saves, the intent marked done when the lease ends. Where unnamed files cannot be had,
    a temporary name and a no-replace rename, as the writer falls back to.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    record_dir = os.path.join(folder, ".crate")
    os.makedirs(record_dir)
    journal = os.open(os.path.join(record_dir, "journal.jsonl"), os.O_RDWR | os.O_CREAT, 0o644)
    record = os.open(os.path.join(record_dir, "record.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    data = json.dumps(payload, indent=4).encode()
    line = json.dumps({"op": "save", "path": "x" * 20, "sha256": "0" * 64, "time": "0" * 32}).encode() + b"\n"
    unnamed = getattr(os, "O_TMPFILE", 0) | os.O_WRONLY | os.O_CLOEXEC
    named = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC

    def link(fd, final):
        if libc.linkat(fd, b"", -100, final, 0x1000) == 0:  # AT_EMPTY_PATH
            return True
        return libc.linkat(-100, f"/proc/self/fd/{fd}".encode(), -100, final, 0x400) == 0  # AT_SYMLINK_FOLLOW

    def unnamed_side(names):
        for name in names:
            final = os.path.join(folder, name).encode()
            fd = os.open(folder, unnamed, 0o666)  # stage
            os.write(fd, data)
            os.pwrite(journal, line, 0)  # intent
            if not link(fd, final):  # swap
                raise OSError(ctypes.get_errno(), "linkat", name)
            os.close(fd)
            os.fstat(record)  # record
            os.write(record, line)

    def named_side(names):
        for name in names:
            final = os.path.join(folder, name)
            temporary = os.path.join(folder, f".{name}.00000000.tmp.json")
            fd = os.open(temporary, named, 0o666)  # stage
            os.write(fd, data)
            os.close(fd)
            os.pwrite(journal, line, 0)  # intent
            os.rename(temporary, final)  # swap
            os.fstat(record)  # record
            os.write(record, line)

    try:
        os.close(os.open(folder, unnamed, 0o666))
        probe = os.open(folder, unnamed, 0o666)
        try:
            works = link(probe, os.path.join(folder, ".probe").encode())
        finally:
            os.close(probe)
        os.unlink(os.path.join(folder, ".probe"))
    except OSError:
        works = False
    return unnamed_side if works else named_side


def _overwrites(oc, plain_dir, payload, count, round_number):
    """``count`` overwrites of one json file: plain json.dump vs one artifact (history keeps each)."""
    values = [dict(payload, epoch=n) for n in range(count)]
    plain_path = os.path.join(plain_dir, f"epoch{round_number}.json")
    artifact = oc.snapshot.json(f"epoch{round_number}.json")

    def plain(turn):
        for value in values[turn]:
            with open(plain_path, "w") as f:
                json.dump(value, f, indent=4)

    def ours(turn):
        for value in values[turn]:
            artifact.save(value)

    return _each_in_turn(count, plain, ours, first=round_number % 2)


def bench_checkpoint(megabytes, work, rounds):
    """Overwrites of one state dict, as training does each epoch: raw torch.save over the same file
    vs the artifact (history on: the old content is kept; content hash included); both end with
    os.sync(). Every save holds new weights (each round changes them, untimed), as epochs do.

    History first fills (``history.KEEP`` earlier contents plus the current one), and only then are
    rounds timed: from there on each save pushes its oldest content out, as in any run longer than
    ``KEEP`` epochs. While it fills, each save needs space nothing ever held, and on a
    thin-provisioned virtual disk (these machines') a first write to a block costs about 2.5x a
    rewrite; those saves are timed against torch.save into a new file each time, which needs the
    same fresh space, and reported apart.
    """
    import torch

    import opencrate as oc
    from opencrate_nb.core import history

    _pin_mmap_threshold()
    per_tensor = 16 << 20
    state = {f"layer{i}.weight": torch.randn(per_tensor // 4) for i in range((megabytes << 20) // per_tensor)}

    def next_epoch():
        for tensor in state.values():
            tensor.add_(1.0)

    raw_path = os.path.join(work, "raw.pt")
    oc.snapshot.setup(name="bench_ckpt", start="new", root=os.path.join(work, "snapshots"))
    artifact = oc.snapshot.checkpoint("state.pt")
    with open(raw_path, "wb") as f:
        torch.save(state, f)
    artifact.save(state)
    os.sync()

    def epoch_round(raw_target, ours_first):
        """New weights, then (each from a settled disk, who goes first alternating) raw torch.save into
        ``raw_target`` and the artifact's save, each with os.sync(): their seconds."""
        next_epoch()

        def raw():
            with open(raw_target, "wb") as f:
                torch.save(state, f)

        return _timed_pair(raw, lambda: artifact.save(state), ours_first, then=os.sync)

    # every earlier content kept: each save needs fresh space; so does raw into new files, kept as ours are
    fresh_files = [os.path.join(work, f"raw-new-{n}.pt") for n in range(history.KEEP + 1)]
    filling_raw, filling_ours = zip(*(epoch_round(fresh, n % 2) for n, fresh in enumerate(fresh_files)))
    for fresh in fresh_files:
        os.unlink(fresh)
    raw_save, ours_save = zip(*(epoch_round(raw_path, n % 2) for n in range(rounds)))
    # a load from the page cache is mostly page faults, whose cost swings with the host: more pairs
    raw_load, ours_load = zip(
        *(_timed_pair(lambda: torch.load(raw_path, weights_only=True), artifact.load, n % 2) for n in range(3 * rounds))
    )
    rs, os_ = statistics.median(raw_save), statistics.median(ours_save)
    rl, ol = min(raw_load), min(ours_load)  # a load writes nothing: noise only adds time, as in the json rounds
    save_ratio = statistics.median(o / r for o, r in zip(ours_save, raw_save))
    load_ratio = ol / rl
    return {
        "size_mb": megabytes,
        "raw_save_s": rs,
        "ours_save_s": os_,
        "save_ratio": save_ratio,
        "filling_raw_new_s": statistics.median(filling_raw),
        "filling_ours_s": statistics.median(filling_ours),
        "filling_ratio": statistics.median(o / r for o, r in zip(filling_ours, filling_raw)),
        "filling_count": len(filling_ours),
        "raw_load_s": rl,
        "ours_load_s": ol,
        "load_ratio": load_ratio,
        "load_pairs": len(ours_load),
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    where = argv[argv.index("--dir") + 1] if "--dir" in argv else None  # e.g. /dev/shm: no disk noise
    work = tempfile.mkdtemp(prefix="opencrate-bench-", dir=where)
    try:
        imp = bench_import(3 if quick else 10)
        print(
            f"import opencrate: {imp['added_s']:+.3f} s over a bare interpreter ({imp['bare_s']:.3f} s -> "
            f"{imp['import_s']:.3f} s; target <= 0.150 s); with the core loaded (oc.snapshot, oc.info): "
            f"{imp['core_added_s']:+.3f} s; heavy modules loaded: {imp['heavy_loaded']}"
        )
        js = bench_json(1000, work, 3 if quick else 7)
        print(
            f"1000 new json artifacts: {js['save_ratio']:.2f}x a plain json.dump loop (best rounds: "
            f"{js['ours_save_s']:.3f} s vs {js['plain_save_s']:.3f} s; median of the rounds' ratios "
            f"{js['save_ratio_median']:.2f}x; target <= 1.3x); the write protocol's system calls alone, "
            f"in a bare loop: {js['floor_ratio']:.2f}x"
        )
        print(
            f"1000 overwrites of one json, history on: {js['overwrite_ratio']:.2f}x a plain json.dump loop "
            f"(best rounds: {js['ours_overwrite_s']:.3f} s vs {js['plain_overwrite_s']:.3f} s; median of the "
            f"rounds' ratios {js['overwrite_ratio_median']:.2f}x; target <= 1.3x)"
        )
        print(
            f"1000 json loads: {js['load_ratio']:.2f}x a plain json.load loop (best rounds: "
            f"{js['ours_load_s']:.3f} s vs {js['plain_load_s']:.3f} s; target <= 1.5x)"
        )
        bare = bench_json(1000, work, 3 if quick else 7, history_keep=0)
        print(f"1000 json saves with artifact history off (OPENCRATE_HISTORY_KEEP=0): {bare['save_ratio']:.2f}x")
        ck = bench_checkpoint(64 if quick else 256, work, 3 if quick else 5)  # a median needs more than one round
        print(
            f"{ck['size_mb']} MB state dict overwritten with history, new weights each time (hash, then os.sync): {ck['ours_save_s']:.3f} s "
            f"vs raw torch.save+os.sync {ck['raw_save_s']:.3f} s -> ratio {ck['save_ratio']:.2f}x (target <= 1.10x)"
        )
        print(
            f"  while history fills (the first {ck['filling_count']} saves): {ck['filling_ours_s']:.3f} s vs torch.save into "
            f"a new file+os.sync {ck['filling_raw_new_s']:.3f} s -> ratio {ck['filling_ratio']:.2f}x (fresh space on both sides)"
        )
        print(
            f"{ck['size_mb']} MB checkpoint load (best of {ck['load_pairs']} alternating pairs): {ck['ours_load_s']:.3f} s "
            f"vs raw torch.load {ck['raw_load_s']:.3f} s -> ratio {ck['load_ratio']:.2f}x (target <= 1.02x)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
