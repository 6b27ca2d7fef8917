"""The fit loop: Keras `fit` with the callbacks every long run needs."""

import os
import sys
import time

import keras
import tensorflow as tf

from tfllm.training.keras_fixes import prepare_multi_worker_model


def _count_batches(data):
    return int(data.reduce(0, lambda count, _: count + 1))


def _prepare_multi_worker(model, train_data, eval_data):
    """Readies a multi-worker run.

    Collectives need every worker to run the same number of steps, but
    length bucketing gives each worker's shard its own batch count. Each
    worker therefore repeats its data and runs as many steps as the whole
    data set has batches. See `keras_fixes` for what Keras itself needs.
    Returns `(train_data, steps_per_epoch, eval_data, validation_steps)`.
    """
    prepare_multi_worker_model(model, next(iter(train_data)))
    eval_steps = _count_batches(eval_data) if eval_data is not None else None
    eval_data = eval_data.repeat() if eval_data is not None else None
    return train_data.repeat(), _count_batches(train_data), eval_data, eval_steps


def fit(model, train_data, eval_data, *, epochs, model_dir, patience=0,
        monitor="val_loss", callbacks=(), verbose=None):
    """Trains `model` and returns `(history, seconds)`.

    Writes to `model_dir`:
      * `backup/`: BackupAndRestore state, so a killed run started again with
        the same command resumes at the epoch after the last finished one;
      * `logs/`: TensorBoard scalars.
    With `patience > 0` and `eval_data`, training stops when `monitor` stops
    improving and the best epoch's weights are kept (model selection).

    On multi-worker runs pass a `model_dir` from `strategy.worker_dir`.
    """
    cbs = [
        keras.callbacks.BackupAndRestore(os.path.join(model_dir, "backup")),
        keras.callbacks.TensorBoard(os.path.join(model_dir, "logs")),
    ]
    if model.optimizer.use_ema:
        # Swapped in at each epoch's end, before early stopping looks, so the
        # averaged weights are the ones evaluated, kept as best and returned.
        cbs.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if patience and eval_data is not None:
        cbs.append(keras.callbacks.EarlyStopping(
            monitor=monitor, patience=patience, restore_best_weights=True, verbose=1))
    if verbose is None:
        # A live progress bar on a terminal, one line an epoch in a log file.
        verbose = 1 if sys.stdout.isatty() else 2
    steps, eval_steps = None, None
    if isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
        train_data, steps, eval_data, eval_steps = _prepare_multi_worker(
            model, train_data, eval_data)
    start = time.perf_counter()
    history = model.fit(
        train_data,
        validation_data=eval_data,
        epochs=epochs,
        steps_per_epoch=steps,
        validation_steps=eval_steps,
        callbacks=cbs + list(callbacks),
        verbose=verbose,
    )
    return history, time.perf_counter() - start
