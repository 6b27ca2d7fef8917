"""Word2vec's pieces: subsampling, dynamic windows, negatives, the loss, and
a model that learns planted structure."""

import keras
import numpy as np
import tensorflow as tf

from tfllm.data.word_windows import (NegativeSampler, cbow_windows, keep_probabilities,
                                     skipgram_pairs, subsample)
from tfllm.models.word2vec import Word2Vec, negative_sampling_loss


class WordWindowsTest(tf.test.TestCase):

    def test_keep_probabilities_by_hand(self):
        # t = 0.01 of 10,000 words = 100: a word seen 100 times has f = t and
        # keeps (1 + 1) * 1 -> 1; one seen 9,700 times keeps
        # (sqrt(97) + 1) / 97 = 0.1118.
        keep = keep_probabilities([9_700, 100, 200], sample=0.01)
        self.assertAllClose(keep, [(np.sqrt(97) + 1) / 97, 1.0, 1.0])
        self.assertAllEqual(keep_probabilities([5, 1], sample=0), [1, 1])

    def test_subsampling_keeps_the_expected_share(self):
        ids = tf.constant([0, 1] * 50_000)
        kept, rows = subsample(ids, tf.zeros_like(ids), tf.constant([0.3, 1.0]), seed=[1, 2])
        counts = np.bincount(kept.numpy(), minlength=2)
        self.assertAllClose(counts / 50_000, [0.3, 1.0], atol=0.01)
        self.assertEqual(rows.shape, kept.shape)

    def test_dynamic_window_weights_near_words_more(self):
        # Each position draws its reach from 1..5, so a neighbour at distance
        # d counts with probability (5 - d + 1) / 5: 5 : 4 : 3 : 2 : 1.
        ids = tf.range(20_000)
        centres, contexts = skipgram_pairs(ids, tf.zeros_like(ids), 5, seed=[3, 4])
        distance = np.abs(centres.numpy() - contexts.numpy())
        shares = np.bincount(distance, minlength=6)[1:] / (2 * 20_000)
        self.assertAllClose(shares, [1.0, 0.8, 0.6, 0.4, 0.2], atol=0.015)

    def test_windows_stay_inside_their_row(self):
        ids = tf.range(12)
        rows = tf.constant([0] * 5 + [1] * 6 + [2])
        centres, contexts = skipgram_pairs(ids, rows, 3, seed=[0, 0])
        row = rows.numpy()
        self.assertAllEqual(row[centres.numpy()], row[contexts.numpy()])
        self.assertNotIn(11, centres.numpy())  # a one-word row has no pairs

    def test_cbow_sees_the_skipgram_neighbours(self):
        ids, rows = tf.range(40), tf.constant([0] * 25 + [1] * 15)
        centres, contexts = skipgram_pairs(ids, rows, 4, seed=[5, 6])
        pairs = sorted(zip(centres.numpy(), contexts.numpy()))
        words, windows, mask = cbow_windows(ids, rows, 4, seed=[5, 6])
        from_cbow = sorted((w, c) for w, window, m in zip(words.numpy(), windows.numpy(),
                                                          mask.numpy()) for c in window[m])
        self.assertEqual(pairs, from_cbow)

    def test_negatives_follow_the_three_quarter_power(self):
        counts = np.array([1000, 100, 10, 1])
        draws = NegativeSampler(counts)([200_000], seed=[7, 8]).numpy()
        expected = counts ** 0.75 / (counts ** 0.75).sum()
        self.assertAllClose(np.bincount(draws, minlength=4) / 200_000, expected, atol=0.005)


class Word2VecTest(tf.test.TestCase):

    def test_loss_by_hand(self):
        # w.c = 2; w.n = 0 and -1: softplus(-2) + softplus(0) + softplus(-1).
        loss = negative_sampling_loss(tf.constant([[1.0, 0.0]]), tf.constant([[2.0, 0.0]]),
                                      tf.constant([[[0.0, 1.0], [-1.0, 0.0]]]))
        self.assertAllClose(loss, np.log1p(np.exp(-2)) + np.log(2) + np.log1p(np.exp(-1)))

    def planted_corpus(self, seed=0):
        """Two topics of 10 words each; a row uses one topic only."""
        rng = np.random.default_rng(seed)
        topics = rng.integers(0, 2, size=400)
        return np.concatenate([rng.integers(0, 10, size=30) + 10 * t for t in topics]), \
            np.repeat(np.arange(400), 30)

    def assert_topics_learned(self, method):
        ids, rows = self.planted_corpus()
        ids, rows = tf.constant(ids), tf.constant(rows)
        if method == "skipgram":
            inputs = dict(zip(["centres", "contexts"], skipgram_pairs(ids, rows, 3, [0, 1])))
        else:
            inputs = dict(zip(["centres", "contexts", "mask"],
                              cbow_windows(ids, rows, 3, seed=[0, 1])))
        dataset = tf.data.Dataset.from_tensor_slices(inputs).shuffle(100_000, seed=0).batch(256)
        model = Word2Vec(20, dimension=16, method=method, negative_counts=[1] * 20, seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.02))
        model.fit(dataset.repeat(3), verbose=0)
        vectors = model.word_vectors()
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        similarity = unit @ unit.T
        same = np.kron(np.eye(2), np.ones((10, 10))).astype(bool) & ~np.eye(20, dtype=bool)
        across = ~np.kron(np.eye(2), np.ones((10, 10))).astype(bool)
        self.assertGreater(similarity[same].mean(), similarity[across].mean() + 0.5)

    def test_skipgram_learns_planted_topics(self):
        self.assert_topics_learned("skipgram")

    def test_cbow_learns_planted_topics(self):
        self.assert_topics_learned("cbow")

    def test_sgd_updates_only_the_rows_of_the_batch(self):
        model = Word2Vec(50, dimension=4, negatives=2, negative_counts=[1] * 50, seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        batch = {"centres": tf.constant([1, 3]), "contexts": tf.constant([2, 4])}
        # Context vectors start at zero, so the first step moves only them.
        model.train_on_batch(batch)
        before = model.word_vectors()
        model.train_on_batch(batch)
        changed = np.flatnonzero(np.abs(model.word_vectors() - before).sum(axis=1))
        self.assertAllEqual(changed, [2, 4])  # the context words' vectors moved


if __name__ == "__main__":
    tf.test.main()
