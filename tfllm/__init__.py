"""tfllm: train, evaluate and export language-model tasks with Keras and TF."""

from tfllm import runtime as _runtime

_runtime.import_tensorflow()

__version__ = "0.1.0"
