"""Workarounds for Keras 3 `fit` under MultiWorkerMirroredStrategy.

Keras 3 (checked on 3.15 with TF 2.21) cannot run `fit` with
MultiWorkerMirroredStrategy (keras-team/keras#20585, open): it all-reduces
the first (x, y) batch to build variables, which TF refuses for structures,
and it averages each step's scalar logs with `strategy.reduce(..., axis=0)`,
which fails on scalars. Both are fixed here, for multi-worker runs only,
so that every strategy trains through the same Keras `fit`. Delete this
module once Keras fixes the issue (tests/test_sentiment_task.py
MultiWorkerTest fails without it).
"""

import tensorflow as tf
from keras import tree
from keras.src.backend.tensorflow import trainer as _tf_trainer

_keras_reduce_per_replica = _tf_trainer.reduce_per_replica


def _reduce_per_replica(values, strategy, reduction):
    if (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and reduction in ("auto", "mean")):
        return tree.map_structure(
            lambda value: strategy.reduce("MEAN", value, axis=None), values)
    return _keras_reduce_per_replica(values, strategy, reduction)


def prepare_multi_worker_model(model, first_batch):
    """Builds `model`'s training state from this worker's `first_batch` and
    makes its step logs reducible across workers."""
    _tf_trainer.reduce_per_replica = _reduce_per_replica
    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=(*first_batch, None))
    model._maybe_symbolic_build = lambda *args, **kwargs: None
