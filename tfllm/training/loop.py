"""The fit loop: Keras `fit` with the callbacks every long run needs."""

import glob
import json
import os
import shutil
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfllm import report
from tfllm.atomic_files import write_json_atomically
from tfllm.compat import build_training_state


def count_batches(data):
    """Batches in one pass over `data` (a cached pipeline fills its cache doing so)."""
    return int(data.reduce(0, lambda count, _: count + 1))


def worker_local(data):
    """`data` marked as this worker's own part (its own files, say): tf.distribute
    does not shard it again, and each worker feeds its replicas from it."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return data.with_options(options)


def _is_worker_local(data):
    return (data.options().experimental_distribute.auto_shard_policy
            == tf.data.experimental.AutoShardPolicy.OFF)


def count_steps(data, strategy):
    """Steps of one pass over `data` under `strategy`: its batches; for
    `worker_local` data, the batches of every worker's part together (a
    worker feeds a step 1/workers of a batch, so that many steps read its
    part once when the parts are even, and the workers agree on it)."""
    count = count_batches(data)
    if not (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and _is_worker_local(data)):
        return count
    local_replicas = len(strategy.extended.worker_devices)
    shares = strategy.experimental_distribute_values_from_function(
        lambda _: tf.constant(count / local_replicas, tf.float64))
    return int(round(float(strategy.reduce(tf.distribute.ReduceOp.SUM, shares, axis=None))))


def evaluate_scores(model, data):
    """`model.evaluate(data)` as a dict of scores. Under `multi_worker` every
    worker runs the same number of steps (`count_steps`), repeating its data
    where its part is shorter: a worker that stopped first would leave the
    others waiting in a collective."""
    steps = None
    if isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
        steps, data = count_steps(data, model.distribute_strategy), data.repeat()
    return model.evaluate(data, steps=steps, return_dict=True, verbose=0)


def _prepare_multi_worker(model, train_data, eval_data):
    """Readies a multi-worker run.

    Collectives need every worker to run the same number of steps, but
    length bucketing (or a worker's own files) gives each worker's part its
    own batch count. Each worker therefore repeats its data and runs as
    many steps as the whole data set has batches (`count_steps`). See
    `tfllm.compat` for what Keras itself needs. Returns `(train_data,
    steps_per_epoch, eval_data, validation_steps)`.
    """
    strategy = model.distribute_strategy
    eval_steps = count_steps(eval_data, strategy) if eval_data is not None else None
    eval_data = eval_data.repeat() if eval_data is not None else None
    return train_data.repeat(), count_steps(train_data, strategy), eval_data, eval_steps


class _EarlyStoppingFrom(keras.callbacks.EarlyStopping):
    """Early stopping in which `start_weights`, scored `start_score`, compete
    with every epoch's weights for the best; they stay if no epoch beats them.

    Keras' own `baseline` argument only stops training early; the best
    weights it restores are always some epoch's, never the starting ones.
    The weights are taken before `fit`, because BackupAndRestore may replace
    the model's weights when training begins.
    """

    def __init__(self, start_score, start_weights, **kwargs):
        super().__init__(**kwargs)
        self.start_score = start_score
        self.start_weights = start_weights

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.best, self.best_weights, self.best_epoch = self.start_score, self.start_weights, -1

    def on_train_end(self, logs=None):
        if self.best_epoch >= 0:
            return super().on_train_end(logs)
        self.model.set_weights(self.best_weights)
        if self.verbose:
            print(f"No epoch beat the starting weights' {self.monitor} of "
                  f"{self.start_score:.4f}; keeping them.")


class ProgressLines(keras.callbacks.Callback):
    """Within an epoch, a line every `seconds` with the step and the loss so
    far: what a log file gets instead of a progress bar, so a long epoch is
    not silent until its end."""

    def __init__(self, seconds=30.0, clock=time.monotonic):
        super().__init__()
        self.seconds, self.clock = seconds, clock

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.last = epoch, self.clock()

    def on_train_batch_end(self, batch, logs=None):
        now = self.clock()
        if now - self.last >= self.seconds:
            self.last = now
            total = self.params.get("steps")
            loss = (logs or {}).get("loss")
            print(f"  epoch {self.epoch + 1} step {batch + 1}{f'/{total}' if total else ''}"
                  + (f" - loss: {float(loss):.4f}" if loss is not None else ""), flush=True)


def _finished_dir(model_dir):
    return os.path.join(model_dir, "finished")


def _load_finished(model, model_dir):
    """`(history, seconds)` of a stage a killed run already finished, with its
    weights loaded into `model`; None if there is none."""
    folder = _finished_dir(model_dir)
    if not os.path.isfile(os.path.join(folder, "history.json")):
        return None
    with open(os.path.join(folder, "history.json")) as f:
        saved = json.load(f)
    with np.load(os.path.join(folder, "weights.npz")) as weights:
        model.set_weights([weights[f"arr_{i}"] for i in range(len(weights.files))])
    history = keras.callbacks.History()
    history.epoch, history.history = saved["epoch"], saved["history"]
    return history, saved["seconds"]


def _save_finished(model, model_dir, history, seconds):
    folder = _finished_dir(model_dir)
    os.makedirs(folder, exist_ok=True)
    # The model's weights only: the next stage compiles its own optimizer.
    np.savez(os.path.join(folder, "weights.npz"), *model.get_weights())
    # Written last and whole: its presence means the weights beside it are complete.
    write_json_atomically(os.path.join(folder, "history.json"),
                          {"epoch": history.epoch, "history": history.history, "seconds": seconds})


def saved_progress(model_dir):
    """The folders `fit` would resume from in `model_dir`: what a killed run
    left behind (backups, also of a later stage in a subfolder, and finished
    stages). Empty for a new or a completed run."""
    return sorted(glob.glob(os.path.join(model_dir, "backup"))
                  + glob.glob(os.path.join(model_dir, "*", "backup"))
                  + glob.glob(_finished_dir(model_dir)))


def epochs_trained(history):
    """Epochs a stage has trained, counting those of a killed run it resumed."""
    return history.epoch[-1] + 1 if history.epoch else 0


def clear_finished(model_dir):
    """Forgets a stage saved by `fit(..., more_stages_follow=True)`; call it
    once the last stage is done, so the next run trains afresh."""
    shutil.rmtree(_finished_dir(model_dir), ignore_errors=True)


def fit(model, train_data, eval_data, *, epochs, model_dir, patience=0,
        monitor="val_loss", callbacks=(), verbose=None, start_competes=False,
        more_stages_follow=False, profile_steps=None):
    """Trains `model` and returns `(history, seconds)`.

    Writes to `model_dir`:
      * `backup/`: BackupAndRestore state, so a killed run started again with
        the same command resumes at the epoch after the last finished one;
      * `logs/`: TensorBoard scalars, and with `profile_steps` (first, last)
        a TensorFlow profile of those training steps.
    With `patience > 0` and `eval_data`, training stops when `monitor` stops
    improving and the best epoch's weights are kept (model selection).

    For a run in stages (say, training and then fine-tuning):
      * `start_competes=True` scores the weights `model` starts from on
        `eval_data` first, and keeps them if no epoch beats them;
      * `more_stages_follow=True` saves the stage's result under
        `model_dir/finished/`, so a run killed in a later stage and started
        again loads it instead of training this stage again. Call
        `clear_finished(model_dir)` after the last stage.

    On multi-worker runs pass a `model_dir` from `strategy.worker_dir`.
    """
    if more_stages_follow:
        finished = _load_finished(model, model_dir)
        if finished is not None:
            report.stage(f"A killed run finished this stage: loaded it from "
                         f"{_finished_dir(model_dir)}")
            return finished
    backup = os.path.join(model_dir, "backup")
    if os.path.isdir(backup):
        report.stage(f"Resuming a killed run from {backup}")
    cbs = [
        keras.callbacks.BackupAndRestore(backup),
        keras.callbacks.TensorBoard(os.path.join(model_dir, "logs"),
                                    profile_batch=profile_steps or 0),
    ]
    if model.optimizer.use_ema:
        # Swapped in at each epoch's end, before early stopping looks, so the
        # averaged weights are the ones evaluated, kept as best and returned.
        cbs.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    select = bool(patience) and eval_data is not None
    if verbose is None:
        # A live progress bar on a terminal; in a log file, a line an epoch
        # and, within long epochs, a line every 30 seconds.
        verbose = 1 if sys.stdout.isatty() else 2
    if verbose == 2:
        cbs.append(ProgressLines())
    build_training_state(model, train_data.element_spec)
    steps, eval_steps = None, None
    if isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
        train_data, steps, eval_data, eval_steps = _prepare_multi_worker(
            model, train_data, eval_data)
    if select:
        stopping = dict(monitor=monitor, patience=patience, restore_best_weights=True, verbose=1)
        if start_competes:
            if not monitor.startswith("val_"):
                raise ValueError(f"start_competes needs a validation monitor, got {monitor!r}")
            scores = model.evaluate(eval_data, steps=eval_steps, return_dict=True, verbose=0)
            cbs.append(_EarlyStoppingFrom(scores[monitor.removeprefix("val_")],
                                          model.get_weights(), **stopping))
        else:
            cbs.append(keras.callbacks.EarlyStopping(**stopping))
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
    seconds = time.perf_counter() - start
    if more_stages_follow:
        _save_finished(model, model_dir, history, seconds)
    return history, seconds
