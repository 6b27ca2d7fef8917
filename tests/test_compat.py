"""The private-API workarounds: version check, and the patch that is undone after a run."""

import warnings
from unittest import mock

import keras
import tfllm  # noqa: F401
import tensorflow as tf
from keras.src.backend.tensorflow import trainer

from tfllm import compat


class CompatTest(tf.test.TestCase):

    def test_warns_outside_the_tested_versions(self):
        with mock.patch.object(keras, "__version__", "3.99.0"):
            with self.assertWarnsRegex(RuntimeWarning, "tested with keras 3.15.x, found 3.99.0"):
                compat.check_versions()

    def test_the_installed_versions_are_the_tested_ones(self):
        # setup.py pins these minor versions; a warning means the pins moved.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compat.check_versions()

    def test_multi_worker_patch_lasts_only_for_the_run(self):
        original = trainer.reduce_per_replica
        worker = mock.MagicMock(spec=tf.distribute.MultiWorkerMirroredStrategy)
        with compat.multi_worker_logs(worker):
            self.assertIsNot(trainer.reduce_per_replica, original)
        self.assertIs(trainer.reduce_per_replica, original)
        with compat.multi_worker_logs(tf.distribute.get_strategy()):
            self.assertIs(trainer.reduce_per_replica, original)  # not patched for one device
