"""The newest loadable version of an export, kept current while serving.

TF Serving watches `--model_base_path` and serves its highest numeric
version folder, loading a new one when it appears; `ServedVersions` does the
same in a background thread: every `poll_seconds` it looks for the highest
version, loads it beside the one being served, and swaps only once it has
loaded, so requests never wait and a version that fails to load leaves the
old one serving (the failure is logged once, and that version is not tried
again: publish a fixed export under a new number). A folder without
`saved_model.pb` is one being written (`tf.saved_model.save` writes that file
last), so it is left until the file appears rather than counted as failed.

Example:

>>> served = ServedVersions("saved_models/sentiment", poll_seconds=1.0)
>>> served.start()                 # loads the newest version, then watches
>>> version, signatures = served.current()
"""

import logging
import os
import threading

import tensorflow as tf

from tfllm.export.check import versions as version_folders

log = logging.getLogger("tfllm.serve")


class NoLoadableVersion(RuntimeError):
    pass


class ServedVersions:
    """The served version of the export at `base_path` (see the module docstring)."""

    def __init__(self, base_path, poll_seconds=1.0):
        self.base_path = base_path
        self.poll_seconds = poll_seconds
        self._served = None      # (version number, loaded SavedModel)
        self._failed = set()     # version numbers that did not load
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    def newest(self):
        """The highest complete version number under `base_path` not known to
        fail, or None."""
        found = [int(os.path.basename(path)) for path in version_folders(self.base_path)[0]
                 if os.path.basename(path).isdigit()
                 and os.path.isfile(os.path.join(path, "saved_model.pb"))]
        candidates = [version for version in found if version not in self._failed]
        return max(candidates, default=None)

    def refresh(self):
        """Loads the newest version if it is not the one served; True if it swapped."""
        newest = self.newest()
        served = self._served[0] if self._served else None
        if newest is None or newest == served:
            return False
        path = os.path.join(self.base_path, str(newest))
        try:
            loaded = tf.saved_model.load(path)
        except Exception as error:  # any failure to load keeps the old version serving
            self._failed.add(newest)
            log.error("version %d at %s failed to load (%s: %s); %s", newest, path,
                      type(error).__name__, str(error).splitlines()[0] if str(error) else "",
                      f"still serving version {served}" if served else "nothing to serve")
            return self.refresh()  # the next newest, if the served one vanished
        with self._lock:
            self._served = (newest, loaded)
        log.info("serving version %d from %s", newest, path)
        return True

    def current(self):
        """`(version, {signature name: concrete function})` being served."""
        with self._lock:
            if self._served is None:
                raise NoLoadableVersion(f"no loadable version under {self.base_path}")
            version, loaded = self._served
        return version, loaded.signatures

    def start(self):
        """Loads the newest version (raising `NoLoadableVersion` if none
        loads), then watches for newer ones in a daemon thread."""
        self.refresh()
        self.current()
        self._thread = threading.Thread(target=self._watch, name="version-watcher",
                                        daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()

    def _watch(self):
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except OSError as error:  # the folder vanished for a moment: keep serving
                log.warning("cannot read %s: %s", self.base_path, error)
