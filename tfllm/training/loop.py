"""The fit loop: Keras `fit` with the callbacks every long run needs."""

import os
import sys
import time

import keras


def fit(model, train_data, eval_data, *, epochs, model_dir, patience=0,
        callbacks=(), steps_per_epoch=None, verbose=None):
    """Trains `model` and returns `(history, seconds)`.

    Writes to `model_dir`:
      * `backup/`: BackupAndRestore state, so a killed run started again with
        the same command resumes at the epoch after the last finished one;
      * `logs/`: TensorBoard scalars.
    With `patience > 0` and `eval_data`, training stops when the validation
    loss stops improving and the best epoch's weights are kept.

    On multi-worker runs pass a `model_dir` from `strategy.worker_dir`.
    """
    cbs = [
        keras.callbacks.BackupAndRestore(os.path.join(model_dir, "backup")),
        keras.callbacks.TensorBoard(os.path.join(model_dir, "logs")),
    ]
    if patience and eval_data is not None:
        cbs.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True))
    if verbose is None:
        # A live progress bar on a terminal, one line an epoch in a log file.
        verbose = 1 if sys.stdout.isatty() else 2
    start = time.perf_counter()
    history = model.fit(
        train_data,
        validation_data=eval_data,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=cbs + list(callbacks),
        verbose=verbose,
    )
    return history, time.perf_counter() - start
