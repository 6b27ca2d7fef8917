"""Writes the small input files the tests read."""

import gzip
import os


def write_temp_file(test_case, name, data, compress=False):
    """Writes `data` (text or bytes; gzipped with `compress`) to `name` in
    `test_case`'s temporary folder and returns its path."""
    path = os.path.join(test_case.get_temp_dir(), name)
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path
