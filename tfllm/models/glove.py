"""GloVe: word vectors fitted to log co-occurrence counts, as a Keras model.

No Keras or keras-hub model does this, so it is written here, after
Pennington et al. (2014) and their C code: for each nonzero count x_ij,
half the weighted squared error f(x_ij) (w_i . w~_j + b_i + b~_j - log x_ij)^2,
with f(x) = min(1, (x / x_max)^alpha), summed over the batch and minimised
with AdaGrad (`tfllm.training.optimizers.SparseAdagrad`, which updates only
the rows of the batch). Vectors and biases start uniform in +-0.5/dimension,
as in glove.c. The word vector is W + W~.

Example:

>>> model = GloVe(vocabulary_size=1000, dimension=100)
>>> model.compile(optimizer=SparseAdagrad(0.05))
>>> model.train_on_batch({"rows": rows, "cols": cols, "counts": counts})
>>> model.word_vectors().shape
(1000, 100)
"""

import keras
import tensorflow as tf


def glove_weight(counts, x_max=100.0, alpha=0.75):
    """GloVe's weighting function f(x) = min(1, (x / x_max)^alpha)."""
    return tf.minimum(1.0, tf.pow(counts / x_max, alpha))


class GloVe(keras.Model):
    """Takes a dict of `rows`, `cols` (word ids, [n]) and their co-occurrence
    `counts` ([n], positive); its output is the batch's summed loss.

    Example:

    >>> model = GloVe(vocabulary_size=1000, dimension=50, x_max=100, alpha=0.75)
    """

    def __init__(self, vocabulary_size, dimension=100, x_max=100.0, alpha=0.75, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.dimension = vocabulary_size, dimension
        self.x_max, self.alpha, self.seed = float(x_max), float(alpha), seed
        half = 0.5 / dimension
        uniform = lambda offset: keras.initializers.RandomUniform(  # noqa: E731
            -half, half, seed=None if seed is None else seed + offset)
        self.words = keras.layers.Embedding(vocabulary_size, dimension, name="words",
                                            embeddings_initializer=uniform(0))
        self.contexts = keras.layers.Embedding(vocabulary_size, dimension, name="contexts",
                                               embeddings_initializer=uniform(1))
        self.word_biases = keras.layers.Embedding(vocabulary_size, 1, name="word_biases",
                                                  embeddings_initializer=uniform(2))
        self.context_biases = keras.layers.Embedding(vocabulary_size, 1, name="context_biases",
                                                     embeddings_initializer=uniform(3))
        for layer in (self.words, self.contexts, self.word_biases, self.context_biases):
            layer.build()
        self.built = True

    def call(self, inputs):
        rows, cols, counts = inputs["rows"], inputs["cols"], inputs["counts"]
        prediction = (tf.reduce_sum(self.words(rows) * self.contexts(cols), axis=-1)
                      + self.word_biases(rows)[:, 0] + self.context_biases(cols)[:, 0])
        error = prediction - tf.math.log(counts)
        # Halved, as glove.c's cost is, so a step's gradient is f * error.
        return 0.5 * tf.reduce_sum(glove_weight(counts, self.x_max, self.alpha)
                                   * tf.square(error))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return y_pred

    def word_vectors(self):
        return keras.ops.convert_to_numpy(self.words.embeddings + self.contexts.embeddings)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "dimension": self.dimension, "x_max": self.x_max, "alpha": self.alpha,
                "seed": self.seed}
