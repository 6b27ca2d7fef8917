"""Word2vec's pieces: subsampling, dynamic windows, negatives, the loss, and
a model that learns planted structure."""

import keras
import numpy as np
import tensorflow as tf

from tfllm.data.word_windows import NegativeSampler, keep_probabilities, subsample, windows
from tfllm.models.word2vec import Word2Vec, negative_sampling_loss
from tfllm.training.optimizers import RowCappedSGD


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

    def pairs(self, ids, rows, window, seed):
        """Skip-gram's (centre, context) pairs: each centre with its counted contexts."""
        centres, contexts, mask = windows(ids, rows, window, seed)
        centres = np.broadcast_to(centres.numpy()[:, None], mask.shape)
        return centres[mask.numpy()], contexts.numpy()[mask.numpy()]

    def test_dynamic_window_weights_near_words_more(self):
        # Each word draws its reach from 1..5, so distance d is counted with
        # probability (6 - d) / 5: the counts fall as 5:4:3:2:1.
        ids = tf.range(20_000)
        centres, contexts = self.pairs(ids, tf.zeros_like(ids), 5, seed=[3, 4])
        distance = np.abs(centres - contexts)
        shares = np.bincount(distance, minlength=6)[1:] / np.sum(distance == 1)
        self.assertAllClose(shares, [1.0, 0.8, 0.6, 0.4, 0.2], atol=0.03)

    def test_windows_stay_inside_their_row(self):
        ids = tf.range(12)
        rows = tf.constant([0] * 5 + [1] * 6 + [2])
        row = rows.numpy()
        centres, contexts = self.pairs(ids, rows, 3, seed=[0, 0])
        self.assertAllEqual(row[centres], row[contexts])
        self.assertNotIn(11, centres)  # a one-word row has no window
        self.assertNotIn(11, windows(ids, rows, 3, seed=[0, 0])[0].numpy())

    def test_negatives_follow_the_three_quarter_power(self):
        counts = np.array([1000, 100, 10, 1])
        draws = NegativeSampler(counts)([200_000], seed=[7, 8]).numpy()
        expected = counts ** 0.75 / (counts ** 0.75).sum()
        self.assertAllClose(np.bincount(draws, minlength=4) / 200_000, expected, atol=0.005)


class Word2VecTest(tf.test.TestCase):

    def test_loss_by_hand(self):
        # Logits 2 (positive) and 0, -1 (negatives); the masked-out position
        # adds nothing: softplus(-2) + softplus(0) + softplus(-1).
        loss = negative_sampling_loss(tf.constant([2.0, 9.0]),
                                      tf.constant([[0.0, -1.0], [9.0, 9.0]]),
                                      tf.constant([True, False]))
        self.assertAllClose(loss, np.log1p(np.exp(-2)) + np.log(2) + np.log1p(np.exp(-1)))

    def test_skipgram_scores_each_context_against_its_centre(self):
        # One centre (row 1 of contexts) with contexts 2 and 3 (3 masked
        # out): the loss is that of the pair (2 -> 1) alone.
        model = Word2Vec(4, dimension=2, negatives=1, negative_counts=[0, 0, 0, 1], seed=0)
        model.words.embeddings.assign([[0, 0], [0, 0], [1.0, 0.5], [7, 7]])
        model.contexts.embeddings.assign([[0, 0], [2.0, 1.0], [0, 0], [-1.0, 0.0]])
        loss = model({"centres": tf.constant([1]), "contexts": tf.constant([[2, 3]]),
                      "mask": tf.constant([[True, False]])})
        # w = (1, 0.5): w.c = 2.5; the only negative is word 3: w.n = -1.
        self.assertAllClose(loss, np.log1p(np.exp(-2.5)) + np.log1p(np.exp(-1.0)), atol=1e-5)

    def planted_corpus(self, seed=0):
        """Two topics of 10 words each; a row uses one topic only."""
        rng = np.random.default_rng(seed)
        topics = rng.integers(0, 2, size=400)
        return np.concatenate([rng.integers(0, 10, size=30) + 10 * t for t in topics]), \
            np.repeat(np.arange(400), 30)

    def assert_topics_learned(self, method):
        ids, rows = self.planted_corpus()
        inputs = dict(zip(["centres", "contexts", "mask"],
                          windows(tf.constant(ids), tf.constant(rows), 3, seed=[0, 1])))
        dataset = tf.data.Dataset.from_tensor_slices(inputs).shuffle(100_000, seed=0).batch(256)
        model = Word2Vec(20, dimension=16, method=method, negative_counts=[1] * 20, seed=0)
        model.compile(optimizer=RowCappedSGD(0.02, row_cap=40))
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
        model.compile(optimizer=RowCappedSGD(0.5))
        batch = {"centres": tf.constant([1, 3]), "contexts": tf.constant([[2, 5], [4, 6]]),
                 "mask": tf.constant([[True, False], [True, False]])}
        # Context vectors start at zero, so the first step moves only them.
        model.train_on_batch(batch)
        before = model.word_vectors()
        model.train_on_batch(batch)
        changed = np.flatnonzero(np.abs(model.word_vectors() - before).sum(axis=1))
        self.assertAllEqual(changed, [2, 4])  # the counted context words' vectors moved


class RowCappedSGDTest(tf.test.TestCase):

    def test_a_row_moves_by_at_most_the_cap_of_its_gradients(self):
        variable = keras.Variable(np.zeros([3, 1], np.float32))
        optimizer = RowCappedSGD(1.0, row_cap=2)
        # Row 0 has 4 gradients of 1 (capped to 2 of them), row 2 one of 3.
        gradient = tf.IndexedSlices(tf.constant([[1.0], [1.0], [1.0], [1.0], [3.0]]),
                                    tf.constant([0, 0, 0, 0, 2]), tf.constant([3, 1]))
        optimizer.apply_gradients([(gradient, variable)])
        self.assertAllClose(variable.numpy(), [[-2.0], [0.0], [-3.0]])


if __name__ == "__main__":
    tf.test.main()
