"""Run every benchmark in bench/ and print their figures: ``python bench/run.py [--quick]``.

Each bench_*.py measures its own baseline in the same run and prints ratios; this
script only runs them one after another, each in a fresh interpreter.
"""

import glob
import os
import subprocess
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    here = os.path.dirname(os.path.abspath(__file__))
    failures = 0
    for path in sorted(glob.glob(os.path.join(here, "bench_*.py"))):
        print(f"== {os.path.basename(path)}", flush=True)
        result = subprocess.run([sys.executable, path, *argv])
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
