"""`--precision`: float32, or Keras' mixed bfloat16 policy for one run.

On CPUs with AMX (and on TPUs and recent GPUs), bfloat16 matrix products run
several times faster than float32 ones. Under `mixed_bfloat16` layers
compute in bfloat16 and keep float32 weights; tfllm's models cast their
logits to float32, so losses and softmaxes stay float32.

Example:

>>> with precision_policy("mixed_bfloat16"):
...     model = build_model()
"""

import contextlib

import keras

PRECISIONS = ("float32", "mixed_bfloat16")


@contextlib.contextmanager
def precision_policy(name):
    """Keras' global dtype policy set to `name` inside, restored after: the
    policy is process-wide, and the next run in the process may want another."""
    if name not in PRECISIONS:
        raise ValueError(f"--precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)
