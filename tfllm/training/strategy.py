"""Picks a tf.distribute strategy from a flag value.

Example:

>>> strategy = get_strategy("default")
>>> with strategy.scope():
...     model = build_model()
"""

import functools
import os
import tempfile

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


@functools.lru_cache(maxsize=None)
def get_strategy(name, tpu_address=""):
    """Returns the strategy called `name` (one of `STRATEGIES`).

    One object per name for the life of the process: multi-worker and TPU
    set-up must happen once, and models trained one after another (tests,
    notebooks, searches) can share a strategy.

    `mirrored` mirrors over every local GPU, or over every logical CPU device
    when there is no GPU (tests split the CPU in two this way).
    `multi_worker` reads the cluster from `TF_CONFIG`, so it runs unchanged on
    Kubernetes, Vertex AI or a set of local processes.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy([d.name for d in gpus])
        # Over CPU devices TF's default all-reduce uses collective ops whose
        # instance keys restart per function, so a second model trained in
        # the same process fails ("shape mismatch in the collective
        # instance"). Reducing on one device needs no keys.
        cpus = tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy(
            [d.name for d in cpus], cross_device_ops=tf.distribute.ReductionToOneDevice())
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "--strategy=multi_worker needs the TF_CONFIG environment variable "
                "describing the cluster and this worker's task."
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu_address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {name!r}.")


def jit_supported(strategy):
    """Whether XLA compilation of the train step works under `strategy`.

    XLA fails under MirroredStrategy over logical CPU devices (variables live
    on another device), and multi-worker collectives are not compiled either,
    so only single-device runs (and TPUs, which always compile) use it.
    """
    return strategy.num_replicas_in_sync == 1 and not isinstance(
        strategy, tf.distribute.MultiWorkerMirroredStrategy
    )


def resolve_jit(flag, strategy, fixed_shapes):
    """Whether to XLA-compile, from `--jit` (`auto`, `true` or `false`).

    `auto` compiles only where the strategy allows it and every batch has the
    same shape: XLA compiles once per input shape, and on the SST-2 benchmark
    (2 CPU cores) compiling each length bucket cost more than XLA saved over
    a few epochs.
    """
    if flag == "auto":
        return fixed_shapes and jit_supported(strategy)
    return flag == "true"


def resolve_steps_per_execution(requested, strategy, steps_per_epoch=None):
    """Training steps per tf.function call that Keras can run under `strategy`.

    Keras 3.15 fails ("You must feed a value for placeholder tensor") with
    more than one step per call under multi-replica strategies, so those get 1.
    With `steps_per_epoch` known, the result divides it: Keras counts a partly
    filled last call as whole steps, which would make epochs run long.
    """
    steps = max(int(requested), 1)
    if strategy.num_replicas_in_sync > 1:
        return 1
    if steps_per_epoch:
        steps = max(d for d in range(1, min(steps, steps_per_epoch) + 1)
                    if steps_per_epoch % d == 0)
    return steps


def worker_shard(strategy):
    """`(workers, this worker's index)` under `multi_worker`, else None: which
    part of a corpus of files this worker reads (`tfllm.data.masked_lm`)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or \
            resolver is None or not resolver.task_type:
        return None
    cluster = resolver.cluster_spec().as_dict()
    tasks = [(kind, index) for kind in ("chief", "worker")
             for index in range(len(cluster.get(kind, [])))]
    return len(tasks), tasks.index((resolver.task_type, resolver.task_id))


def is_chief(strategy):
    """True on the worker that owns checkpoints, logs and exports."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_dir(path, strategy):
    """`path` on the chief; a private temporary folder on other workers.

    Every worker must write its checkpoints (they take part in collective
    saves), but only the chief's copy is kept.
    """
    if is_chief(strategy):
        return path
    resolver = strategy.cluster_resolver
    return tempfile.mkdtemp(prefix=f"tfllm-{resolver.task_type}{resolver.task_id}-")
