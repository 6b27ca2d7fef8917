"""Keras callbacks that training stages may add.

Example:

>>> Stage(..., callbacks=[AverageLastEpochs(5)])
"""

import collections
import time

import keras
import numpy as np


class EpochScore(keras.callbacks.Callback):
    """Adds `name: score(model)` to each epoch's logs (and so to the
    history, TensorBoard and the printed line), for metrics a training step
    cannot compute, such as BLEU, which needs decoding.

    Example:

    >>> EpochScore("val_bleu", lambda model: bleu_of(model))
    """

    def __init__(self, name, score):
        super().__init__()
        self.name, self.score = name, score

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[self.name] = float(self.score(self.model))


class AverageLastEpochs(keras.callbacks.Callback):
    """Checkpoint averaging: at the end of training the model takes the mean
    of its weights after each of the last `epochs` epochs, as OpenNMT-tf's
    and fairseq's `average_checkpoints` do with saved checkpoints (kept
    in memory here). A run resumed after a kill averages the epochs it
    trained itself.
    """

    def __init__(self, epochs):
        super().__init__()
        self.kept = collections.deque(maxlen=int(epochs))

    def on_epoch_end(self, epoch, logs=None):
        self.kept.append(self.model.get_weights())

    def on_train_end(self, logs=None):
        if self.kept:
            self.model.set_weights([np.mean(weights, axis=0) for weights in zip(*self.kept)])
            print(f"Averaged the weights of the last {len(self.kept)} epochs.")


class TrainingClock(keras.callbacks.Callback):
    """Adds `elapsed_seconds` (since this `fit` began, validation included)
    and `trained_steps` (since then) to each epoch's logs, so the history
    holds a metric's curve against time and steps.

    Example:

    >>> Stage(..., callbacks=[TrainingClock()])
    """

    def on_train_begin(self, logs=None):
        self._start, self._steps, self._epoch_steps = time.perf_counter(), 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self._epoch_steps = batch + 1  # the call's last step, with several steps a call

    def on_epoch_end(self, epoch, logs=None):
        self._steps += self._epoch_steps
        if logs is not None:
            logs["elapsed_seconds"] = time.perf_counter() - self._start
            logs["trained_steps"] = self._steps
