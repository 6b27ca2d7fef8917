"""Test session set-up: split the CPU into two logical devices.

This must run before TensorFlow initializes its devices, so that
MirroredStrategy tests can mirror over two replicas on a CPU-only machine.
Single-device code keeps using /cpu:0 as before.
"""

import os

os.environ.setdefault("TFLLM_TF_LOGS", "0")

import tfllm  # noqa: E402,F401  (imports TensorFlow quietly)
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: trains a task end to end or starts processes "
                   "(deselect with -m 'not slow')")
