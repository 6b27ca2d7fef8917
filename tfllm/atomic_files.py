"""Files that appear whole or not at all, for state a killed run reads back.

Example:

>>> write_json_atomically("runs/sentiment/flags.json", {"epochs": 3})
"""

import json
import os
import tempfile


def current_umask():
    """The process's umask (reading it means setting it, so it is set back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_atomically(path, value):
    """Writes `value` as JSON to a temporary file beside `path`, then renames
    it into place (atomic on one file system), so a reader never sees half a
    file. The temporary name is unique, so processes writing the same `path`
    at once (the workers of a multi-worker run) do not collide."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    handle, staging = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(handle, "w") as f:
            json.dump(value, f, indent=2)
        # mkstemp makes the file 0600; give it what the umask gives new files.
        os.chmod(staging, 0o666 & ~current_umask())
        os.replace(staging, path)
    except BaseException:
        os.remove(staging)
        raise
