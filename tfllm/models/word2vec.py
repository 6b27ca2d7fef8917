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


def negative_sampling_loss(positive, negative, mask):
    """Summed negative-sampling loss: -log sigma(positive) - sum of
    log sigma(-negative), from logits `positive` [...] and `negative`
    [..., k], counting only where `mask` [...] is set."""
    mask = tf.cast(mask, positive.dtype)
    return (tf.reduce_sum(mask * tf.math.softplus(-positive))
            + tf.reduce_sum(mask[..., None] * tf.math.softplus(negative)))


class Word2Vec(keras.Model):
    """Takes the windows of `tfllm.data.word_windows.windows`, a dict of
    `centres` [n], `contexts` [n, 2 * window] and `mask` [n, 2 * window]
    (which contexts count); `negative_counts` are the vocabulary's word
    counts, for the negatives' distribution.

    Skip-gram scores each (context, centre) pair; CBOW scores each centre
    against the mean of its contexts' vectors. Each centre draws `negatives`
    words, which all its pairs share: that costs a sixth of the row
    gathers and scatter updates of drawing them per pair (they, not the
    arithmetic, bound a step on CPU), and each pair still meets `negatives`
    of them.

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
        # Built now, so the vectors exist (and count) before the first batch.
        self.words.build()
        self.contexts.build()
        self.built = True

    def _context_words(self, contexts, mask):
        """The input vectors of the counted contexts, [n, 2 * window, d]
        with zeros elsewhere: each counted context is looked up once, and
        the rest point at an appended zero row (a gather, where scattering
        into zeros cost this step a third of its time)."""
        counted = self.words(tf.boolean_mask(contexts, mask))
        vectors = tf.concat([counted, tf.zeros([1, self.dimension], counted.dtype)], axis=0)
        flat_mask = tf.cast(tf.reshape(mask, [-1]), tf.int32)
        slots = tf.reshape(tf.cumsum(flat_mask, exclusive=True), tf.shape(mask))
        return tf.gather(vectors, tf.where(mask, slots, tf.shape(counted)[0]))

    def call(self, inputs):
        """The batch's summed loss (the model's output is its own loss)."""
        centres, mask = inputs["centres"], inputs["mask"]
        seed = tf.cast(keras.random.randint([2], 0, 2**31 - 1, seed=self.seeds), tf.int32)
        # Each centre's output vectors: its own (the positive) and its
        # negatives', [n, 1 + negatives, d], scored in one batched matmul (the
        # gradient of two einsums took this step twice as long on CPU).
        negatives = self.sampler([tf.shape(centres)[0], self.negatives], seed)
        outputs = self.contexts(tf.concat([centres[:, None],
                                           tf.cast(negatives, centres.dtype)], axis=1))
        if self.method == "skipgram":
            # word2vec.c's skip-gram feeds the context word's input vector
            # and scores the centre's output vector: the pairs turned round.
            words = self._context_words(inputs["contexts"], mask)
            logits = tf.linalg.matmul(words, outputs, transpose_b=True)
            return negative_sampling_loss(logits[..., 0], logits[..., 1:], mask)
        # CBOW: the mean of the contexts, whose gradient reaches each context
        # word undivided, as in word2vec.c and gensim (cbow_mean=1).
        owner = tf.boolean_mask(tf.broadcast_to(tf.range(tf.shape(mask)[0])[:, None],
                                                tf.shape(mask)), mask)
        total = tf.math.unsorted_segment_sum(self.words(tf.boolean_mask(inputs["contexts"], mask)),
                                             owner, tf.shape(mask)[0])
        counted = tf.reduce_sum(tf.cast(mask, total.dtype), axis=1, keepdims=True)
        hidden = total + tf.stop_gradient(total / counted - total)
        logits = tf.linalg.matmul(outputs, hidden[:, :, None])[..., 0]
        return negative_sampling_loss(logits[:, 0], logits[:, 1:],
                                      tf.ones_like(centres, dtype=tf.bool))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return y_pred

    def word_vectors(self):
        return keras.ops.convert_to_numpy(self.words.embeddings)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "dimension": self.dimension, "method": self.method,
                "negatives": self.negatives, "negative_counts": self.negative_counts,
                "seed": self.seed}
