"""Files that appear whole or not at all, for state a killed run reads back.

Example:

>>> write_json_atomically("runs/sentiment/flags.json", {"epochs": 3})
"""

import contextlib
import json
import os
import tempfile


def current_umask():
    """The process's umask (reading it means setting it, so it is set back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def staged_file(path, mode="w"):
    """Yields a file open on a temporary name beside `path`, and renames it
    into place (atomic on one file system) once the block ends without an
    error, so a reader never sees half a file; on an error the staging file is
    removed and `path` is untouched. The temporary name is unique, so
    processes writing the same `path` at once (the workers of a multi-worker
    run) do not collide."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    handle, staging = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(handle, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
        # mkstemp makes the file 0600; give it what the umask gives new files.
        os.chmod(staging, 0o666 & ~current_umask())
        os.replace(staging, path)
    except BaseException:
        os.remove(staging)
        raise


def write_json_atomically(path, value):
    """Writes `value` as JSON to `path` through `staged_file`."""
    with staged_file(path) as f:
        json.dump(value, f, indent=2)
