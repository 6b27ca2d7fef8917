"""Process set-up shared by every task: quiet TensorFlow, seeds.

TensorFlow 2.21 prints its import-time C++ messages (oneDNN, CUDA probing,
CPU features) through absl before `TF_CPP_MIN_LOG_LEVEL` is read, so the
only way to keep a run's output readable is to point file descriptor 2 at
/dev/null while TensorFlow loads and probes its devices. `--tf_logs` (or
`TFLLM_TF_LOGS=1`) turns all of this off.
"""

import contextlib
import logging
import os
import sys
import time
import warnings

# When tfllm began to load (it is a task's first import): the start of the
# "start-up" phase in the first run's time breakdown.
_STARTED = [time.perf_counter()]


def start_up_began():
    """When this process began loading tfllm, the first time it is asked;
    None after that: a later run in the same process (a benchmark calling
    one task's `main` after another's) had no start-up of its own."""
    return _STARTED.pop() if _STARTED else None


TF_LOGS_FLAG = "--tf_logs"


def tf_logs_wanted(argv=None):
    """True when the user asked to see TensorFlow's own log output."""
    argv = sys.argv if argv is None else argv
    return os.environ.get("TFLLM_TF_LOGS") == "1" or any(
        arg == TF_LOGS_FLAG or arg.startswith(TF_LOGS_FLAG + "=true") for arg in argv
    )


@contextlib.contextmanager
def quiet_stderr():
    """Silences C++ libraries writing to stderr (TF, SentencePiece) unless --tf_logs."""
    if tf_logs_wanted():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Imports TensorFlow (and TF Text), silencing its C++ chatter unless asked."""
    if tf_logs_wanted():
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the ops tokenizers use)

        return tf
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_stderr():
        import tensorflow as tf
        import tensorflow_text  # noqa: F401,F811

        tf.config.list_physical_devices()  # device probing logs CUDA errors
    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")
    return tf


def set_seed(seed):
    """Seeds Python, NumPy and TensorFlow so a run can be repeated."""
    import keras

    keras.utils.set_random_seed(seed)
