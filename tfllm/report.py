"""What a run prints for people: stage headers, the closing summary and
where the run's time went."""

import contextlib
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


class PhaseClock:
    """Wall-clock seconds of a run's phases, in the order they ran.

    Example:

    >>> clock = PhaseClock(started=runtime.start_up_began())  # imports, flags
    >>> with clock("data"):
    ...     data = load()
    >>> clock.add("compile", 6.2)                    # a phase measured elsewhere
    >>> clock.line()
    'start-up 3.1, data 1.2, compile 6.2 (10.5 s)'
    """

    def __init__(self, started=None):
        self.seconds = {}
        if started is not None:
            self.add("start-up", time.perf_counter() - started)

    def add(self, name, seconds):
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    @contextlib.contextmanager
    def __call__(self, name):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def line(self):
        parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.seconds.items())
        return f"{parts} ({sum(self.seconds.values()):.1f} s)"
