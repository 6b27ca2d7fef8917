"""Shared pieces of the benchmark scripts: where data is, what to record."""

import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(REPO, "..", "shared", "data")
RESULTS = os.path.join(REPO, "benchmarks", "results")


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_results(name, rows, started, path=None, **extra):
    """Writes `benchmarks/results/<name>.json` (or `path`) with the protocol's fields."""
    from tfllm.export.run_card import library_versions

    record = {
        "command": " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]),
        "git_commit": git_commit(),
        "versions": library_versions(),
        "machine": {"cpu_count": os.cpu_count()},
        "wall_seconds": round(time.perf_counter() - started, 1),
        **extra,
        "runs": rows,
    }
    path = path or os.path.join(RESULTS, f"{name}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(record, f, indent=2, default=float)
    return path


def print_table(rows, columns):
    """Prints `rows` (dicts) as an aligned table of `columns`."""
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(w) for c, w in zip(columns, widths)))
