"""Keras callbacks that training stages may add.

Example:

>>> Stage(..., callbacks=[AverageLastEpochs(5)])
"""

import collections

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
