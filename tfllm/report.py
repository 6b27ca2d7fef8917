"""What a run prints for people: stage headers and the closing summary."""

import time


def stage(message):
    """One line announcing a stage of the run, with the wall-clock time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def summary(title, rows, details=""):
    """The closing summary: `rows` of (name, value), then free-form `details`."""
    width = max(len(name) for name, _ in rows)
    lines = ["", f"== {title} =="]
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    if details:
        lines += ["", details]
    print("\n".join(lines), flush=True)
