"""Writes an export as `<root>/<version>/` so that it appears all at once.

TF Serving watches `<root>` and loads the highest numeric version. The export
is written to a hidden temporary folder beside it (not numeric, so Serving
ignores it) and renamed into place, which is atomic on one file system: a
half-written version is never visible.

Example:

>>> path = export_version("saved_models/sentiment", archive.write_out)
"""

import os
import shutil
import tempfile

from tfllm.atomic_files import current_umask


def next_version(root):
    """One more than the highest numeric version under `root` (1 if none)."""
    if not os.path.isdir(root):
        return 1
    versions = [int(name) for name in os.listdir(root) if name.isdigit()]
    return max(versions, default=0) + 1


def readable_by_others(folder):
    """Gives `folder` and what it holds the permissions the umask gives new
    files, as `mkdir` would: `tempfile.mkdtemp` makes folders only their
    owner can read (0700), and a TF Serving process running as another user
    could not load the model."""
    mask = current_umask()
    for parent, folders, files in os.walk(folder):
        os.chmod(parent, 0o777 & ~mask)
        for name in files:
            os.chmod(os.path.join(parent, name), 0o666 & ~mask)


def export_version(root, write, version=None):
    """Calls `write(folder)` and publishes the folder as `root/version`.

    Returns the published path. Refuses to overwrite an existing version.
    """
    os.makedirs(root, exist_ok=True)
    version = next_version(root) if version is None else int(version)
    final = os.path.join(root, str(version))
    if os.path.exists(final):
        raise FileExistsError(f"{final} already exists; choose another --export_version.")
    staging = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=root)
    try:
        write(staging)
        readable_by_others(staging)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def export_on_chief(root, write, chief, version=None):
    """`export_version` on the chief worker; returns None on the others.

    Other workers still call `write`, into a scratch folder they then delete:
    saving distributed variables may involve collectives every worker must
    join (the pattern TF's multi-worker tutorial uses).
    """
    if chief:
        return export_version(root, write, version)
    with tempfile.TemporaryDirectory() as scratch:
        write(os.path.join(scratch, "export"))
    return None
