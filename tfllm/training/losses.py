"""Token-level losses that Keras lacks.

Keras' `SparseCategoricalCrossentropy` takes no `label_smoothing` (only
the one-hot `CategoricalCrossentropy` does, which would materialise a
`[tokens, vocabulary]` one-hot target per batch), and its means are taken
per replica, so a batch split over devices whose halves hold different
numbers of real tokens would be weighted otherwise than on one device.

Example:

>>> model.compile(optimizer, loss=SmoothedSparseCrossentropy(label_smoothing=0.1))
"""

import keras
import tensorflow as tf
from keras import ops


class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Mean cross-entropy over the real tokens of a batch (labels > 0; 0 is
    padding), from logits, with label smoothing (Szegedy et al., 2016):
    `(1 - e) * NLL(label) + e * the mean NLL over the vocabulary`.

    The mean is over the tokens of the whole batch, across replicas: each
    replica returns its tokens' summed loss over the batch's total token
    count (all-reduced), and the replicas' gradients add up to the
    gradient of that mean, as on one device.

    Example:

    >>> loss = SmoothedSparseCrossentropy(0.1)
    >>> float(loss(tf.constant([[1, 0]]), tf.constant([[[0.0, 2.0], [1.0, 1.0]]])))
    """

    def __init__(self, label_smoothing=0.0, name="smoothed_sparse_crossentropy", **kwargs):
        super().__init__(name=name, reduction="sum", **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        log_probabilities = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        labels = ops.cast(y_true, "int32")
        nll = -ops.squeeze(ops.take_along_axis(log_probabilities, labels[..., None], axis=-1),
                           -1)
        uniform = -ops.mean(log_probabilities, axis=-1)
        per_token = (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform
        real = ops.cast(labels > 0, "float32")
        tokens = ops.sum(real)
        context = tf.distribute.get_replica_context()
        if context is not None:  # None in cross-replica code (Keras' symbolic build)
            tokens = context.all_reduce("sum", tokens)
        return per_token * real / ops.maximum(tokens, 1.0)

    def get_config(self):
        return {"name": self.name, "label_smoothing": self.label_smoothing}
