"""Word2vec's training examples, made inside tf.data with vectorised ops.

Keras 3 dropped `skipgrams` and `make_sampling_table` from its public API and
keras-hub has nothing for word vectors, so this follows the original
word2vec (Mikolov et al. 2013, and its C code) by hand:

* frequent-word subsampling: a word of corpus frequency f is kept with
  probability (sqrt(f / t) + 1) * t / f (t = `sample`), before windows are
  taken, so windows reach past the dropped words;
* a dynamic window: each centre word draws its reach uniformly from
  1..`window`, which weights near context more;
* negatives drawn from the unigram distribution raised to 3/4.

Every function works on a whole chunk of tokens at once (one op per window
offset, never one per word), so a batch of chunks costs a handful of ops.

Example:

>>> ids = tf.constant([3, 1, 4, 1, 5])
>>> centres, contexts, mask = windows(ids, tf.zeros_like(ids), 2, seed=[0, 0])
"""

import numpy as np
import tensorflow as tf


def keep_probabilities(counts, sample):
    """Word2vec's subsampling: the chance each word (by its `counts`) is
    kept; 1 everywhere when `sample` is 0."""
    counts = np.asarray(counts, dtype=np.float64)
    if not sample:
        return np.ones_like(counts, dtype=np.float32)
    threshold = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / threshold) + 1) * threshold / counts).astype(
        np.float32)


def subsample(ids, rows, keep, seed):
    """`ids` (and their `rows`) with each word kept with probability
    `keep[id]`."""
    draws = tf.random.stateless_uniform(tf.shape(ids), seed)
    kept = draws < tf.gather(keep, ids)
    return tf.boolean_mask(ids, kept), tf.boolean_mask(rows, kept)


def _offsets(window):
    return [*range(-window, 0), *range(1, window + 1)]


def _neighbours(ids, rows, window, seed):
    """For each position and each offset in -window..window (0 left out),
    the neighbour's id and whether it counts: inside the same row and within
    the position's dynamic reach. Both [positions, 2 * window]."""
    size = tf.shape(ids)[0]
    reach = tf.random.stateless_uniform([size], seed, minval=1, maxval=window + 1,
                                        dtype=tf.int32)
    positions = tf.range(size)
    neighbour_ids, valid = [], []
    for offset in _offsets(window):
        other = positions + offset
        inside = (other >= 0) & (other < size)
        other = tf.clip_by_value(other, 0, tf.maximum(size - 1, 0))
        neighbour_ids.append(tf.gather(ids, other))
        valid.append(inside & (tf.gather(rows, other) == rows) & (abs(offset) <= reach))
    return tf.stack(neighbour_ids, axis=1), tf.stack(valid, axis=1)


def windows(ids, rows, window, seed):
    """(centres, contexts, mask): each word with its neighbours
    [words, 2 * window] and which of them count (inside its dynamic window
    and its row; rows are the chunks the stream was cut into). Words with
    no neighbour (a one-word row) are left out. Skip-gram's pairs are the
    centres with each counted context; CBOW averages them."""
    neighbour_ids, valid = _neighbours(ids, rows, window, seed)
    some = tf.reduce_any(valid, axis=1)
    return (tf.boolean_mask(ids, some), tf.boolean_mask(neighbour_ids, some),
            tf.boolean_mask(valid, some))


class NegativeSampler:
    """Draws word ids from the unigram distribution raised to `power`
    (word2vec: 3/4), by binary search in its cumulative table, so a draw
    costs log(vocabulary) whatever the vocabulary's size.

    Example:

    >>> sampler = NegativeSampler([90, 9, 1])
    >>> sampler([4, 5], seed=[0, 1]).shape
    TensorShape([4, 5])
    """

    def __init__(self, counts, power=0.75):
        weights = np.asarray(counts, dtype=np.float64) ** power
        cumulative = np.cumsum(weights / weights.sum())
        cumulative[-1] = 1.0  # no draw may fall past the last word
        self.cumulative = tf.constant(cumulative, dtype=tf.float32)

    def __call__(self, shape, seed):
        draws = tf.random.stateless_uniform(shape, seed)
        flat = tf.searchsorted(self.cumulative, tf.reshape(draws, [-1]), side="right")
        vocabulary = tf.shape(self.cumulative, out_type=flat.dtype)[0]
        return tf.reshape(tf.minimum(flat, vocabulary - 1), shape)
