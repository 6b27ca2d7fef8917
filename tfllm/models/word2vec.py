"""Word2Vec: skip-gram and CBOW with negative sampling, as a Keras model.

No Keras or keras-hub model learns word vectors, so this is written here,
after word2vec's C code: word vectors start uniform in +-0.5/dimension,
context ("output") vectors at zero; each example's loss is
-log sigma(w . c) - sum over negatives of log sigma(-w . n), summed (not
averaged) over the batch so that a plain SGD step moves each example by the
learning rate, as word2vec's per-example updates do. The gradients of the
two embedding lookups are `tf.IndexedSlices`, and Keras' SGD applies them
as scatter updates, so a step touches only the rows of its batch.

Example:

>>> model = Word2Vec(vocabulary_size=5, dimension=8, negative_counts=[5, 4, 3, 2, 1])
>>> model.compile(optimizer=keras.optimizers.SGD(0.025))
>>> model.train_on_batch({"centres": tf.constant([1, 2]), "contexts": tf.constant([2, 1])})
"""

import keras
import tensorflow as tf

from tfllm.data.word_windows import NegativeSampler

METHODS = ("skipgram", "cbow")


def negative_sampling_loss(words, positives, negatives):
    """Summed negative-sampling loss: `words` [n, d] against their true
    context `positives` [n, d] and `negatives` [n, k, d]."""
    positive = tf.reduce_sum(words * positives, axis=-1)
    negative = tf.einsum("nd,nkd->nk", words, negatives)
    return (tf.reduce_sum(tf.math.softplus(-positive))
            + tf.reduce_sum(tf.math.softplus(negative)))


class Word2Vec(keras.Model):
    """Takes a dict: skip-gram `centres` [n] and `contexts` [n]; CBOW
    `centres` [n], `contexts` [n, 2 * window] and `mask` [n, 2 * window],
    predicting each centre from the mean of its context words' vectors. `negative_counts`
    are the vocabulary's word counts, for the negatives' distribution.

    Example:

    >>> model = Word2Vec(vocabulary_size=1000, dimension=100, negative_counts=counts)
    >>> model.word_vectors().shape
    (1000, 100)
    """

    def __init__(self, vocabulary_size, dimension=100, method="skipgram", negatives=5,
                 negative_counts=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        self.vocabulary_size, self.dimension = vocabulary_size, dimension
        self.method, self.negatives, self.seed = method, negatives, seed
        self.negative_counts = list(negative_counts or [1] * vocabulary_size)
        half = 0.5 / dimension
        self.words = keras.layers.Embedding(
            vocabulary_size, dimension, name="words",
            embeddings_initializer=keras.initializers.RandomUniform(-half, half, seed=seed))
        self.contexts = keras.layers.Embedding(vocabulary_size, dimension, name="contexts",
                                               embeddings_initializer="zeros")
        self.sampler = NegativeSampler(self.negative_counts)
        self.seeds = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        """The batch's summed loss (the model's output is its own loss)."""
        centres, context_ids = inputs["centres"], inputs["contexts"]
        if self.method == "skipgram":
            # Skip-gram learns the centre's context vectors from the word:
            # word2vec.c's loop uses the context word's input vector and the
            # centre's output vector, the same pairs the other way round.
            words = self.words(context_ids)
        else:
            weights = tf.cast(inputs["mask"], self.compute_dtype)[..., None]
            words = (tf.reduce_sum(self.words(context_ids) * weights, axis=1)
                     / tf.reduce_sum(weights, axis=1))
        seed = tf.cast(keras.random.randint([2], 0, 2**31 - 1, seed=self.seeds), tf.int32)
        negative_ids = self.sampler([tf.shape(centres)[0], self.negatives], seed)
        return negative_sampling_loss(words, self.contexts(centres), self.contexts(negative_ids))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return y_pred

    def word_vectors(self):
        return keras.ops.convert_to_numpy(self.words.embeddings)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "dimension": self.dimension, "method": self.method,
                "negatives": self.negatives, "negative_counts": self.negative_counts,
                "seed": self.seed}
