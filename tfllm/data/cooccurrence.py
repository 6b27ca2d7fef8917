"""GloVe's co-occurrence counts, built streaming over a corpus into a sparse matrix.

GloVe (Pennington et al. 2014) counts, for every pair of vocabulary words,
how often they occur within `window` words of each other, each occurrence
weighted 1/distance, symmetrically (`i` near `j` counts for (i, j) and
(j, i)). No Keras or keras-hub component does this, so it is written here
with vectorised TF ops: each batch of word ids (`tfllm.data.word_corpus.
id_chunks`) gives its pairs with one op per offset; pairs are keyed
`i * vocabulary + j` and summed per key, and the partial sums are merged
whenever they outgrow `merge_every` entries, so memory follows the number of
distinct pairs, not the corpus length.

Example:

>>> matrix = count_cooccurrences(id_chunks(stream, vocabulary), len(vocabulary.words), 5)
>>> matrix.entries, matrix.nbytes
(18391022, 220692264)
"""

import dataclasses

import numpy as np
import tensorflow as tf

MERGE_EVERY = 20_000_000


@dataclasses.dataclass
class Cooccurrences:
    """A sparse symmetric matrix: `values[n]` at (`rows[n]`, `cols[n]`)."""
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray

    @property
    def entries(self):
        return len(self.values)

    @property
    def nbytes(self):
        return self.rows.nbytes + self.cols.nbytes + self.values.nbytes

    def dense(self, size):
        """The matrix as a dense [size, size] array (for small vocabularies)."""
        matrix = np.zeros([size, size], np.float64)
        np.add.at(matrix, (self.rows, self.cols), self.values)
        return matrix


def _summed(keys, values):
    unique, position = tf.unique(keys)
    return unique, tf.math.unsorted_segment_sum(values, position, tf.size(unique))


def _pair_counter(window, vocabulary_size):
    """A function of a batch's (ids, rows): the keys and 1/distance weights
    of its pairs within `window`, both directions, within a row, summed per key."""
    spec = tf.TensorSpec([None], tf.int64)

    @tf.function(input_signature=[spec, spec])
    def count(ids, rows):
        keys, weights = [], []
        for offset in range(1, window + 1):
            same = tf.equal(rows[:-offset], rows[offset:])
            left = tf.boolean_mask(ids[:-offset], same)
            right = tf.boolean_mask(ids[offset:], same)
            weight = tf.fill(tf.shape(left), 1.0 / offset)
            keys += [left * vocabulary_size + right, right * vocabulary_size + left]
            weights += [weight, weight]
        return _summed(tf.concat(keys, 0), tf.concat(weights, 0))

    return count


def count_cooccurrences(chunks, vocabulary_size, window, merge_every=MERGE_EVERY):
    """The co-occurrence matrix of `chunks` ((ids, rows) batches)."""
    pairs = _pair_counter(window, vocabulary_size)
    merged_keys, merged_values = tf.zeros([0], tf.int64), tf.zeros([0], tf.float32)
    pending_keys, pending_values, pending = [], [], 0
    for ids, rows in chunks:
        keys, values = pairs(ids, rows)
        pending_keys.append(keys)
        pending_values.append(values)
        pending += int(tf.size(keys))
        if pending > merge_every:
            merged_keys, merged_values = _summed(tf.concat([merged_keys, *pending_keys], 0),
                                                 tf.concat([merged_values, *pending_values], 0))
            pending_keys, pending_values, pending = [], [], 0
    keys, values = _summed(tf.concat([merged_keys, *pending_keys], 0),
                           tf.concat([merged_values, *pending_values], 0))
    keys = keys.numpy()
    return Cooccurrences((keys // vocabulary_size).astype(np.int32),
                         (keys % vocabulary_size).astype(np.int32), values.numpy())


def cooccurrence_batches(matrix, batch_size, seed):
    """Batches of `{"rows", "cols", "counts"}` over every entry of `matrix`,
    shuffled once (as glove.c's `shuffle` does) and visited in a new batch
    order each epoch."""
    order = np.random.default_rng(seed).permutation(matrix.entries)
    columns = {"rows": matrix.rows[order], "cols": matrix.cols[order],
               "counts": matrix.values[order]}
    batches = -(-matrix.entries // batch_size)

    def batch(index):
        start = index * batch_size
        return {name: values[start:start + batch_size] for name, values in tensors.items()}

    tensors = {name: tf.constant(values) for name, values in columns.items()}
    return (tf.data.Dataset.range(batches)
            .shuffle(batches, seed=seed, reshuffle_each_iteration=True)
            .map(batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))
