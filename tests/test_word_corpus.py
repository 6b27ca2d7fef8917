"""The streamed word corpus, its vocabulary and bad input; GloVe's counts,
weighting and a model that learns planted structure."""

import os

import keras
import numpy as np
import tensorflow as tf

from temp_files import write_temp_file

from tfllm.data.cooccurrence import cooccurrence_batches, count_cooccurrences
from tfllm.data.errors import DataError
from tfllm.data.word_corpus import (check_window, count_vocabulary, id_chunks, line_dataset,
                                    word_stream, words_of)
from tfllm.models.glove import GloVe, glove_weight
from tfllm.training.optimizers import SparseAdagrad


class WordCorpusTest(tf.test.TestCase):

    def write(self, name, data, compress=False):
        return write_temp_file(self, name, data, compress)

    def test_words_are_lowercased_and_split_at_punctuation(self):
        words = words_of(tf.constant(["Don't stop, Ève's 'quoted' café-bar 42!"]))
        self.assertAllEqual(words.to_list(),
                            [[b"don't", b"stop", "ève's".encode(), b"quoted",
                              "café".encode(), b"bar", b"42"]])

    def test_files_globs_and_gzip_stream_in_order(self):
        self.write("a.txt", "one two\nthree\n")
        self.write("b.txt.gz", "four five\n", compress=True)
        spec = os.path.join(self.get_temp_dir(), "*.txt*")
        words = np.concatenate([w.numpy() for w, _ in word_stream(line_dataset(spec), 1)])
        self.assertAllEqual(words, [b"one", b"two", b"three", b"four", b"five"])

    def test_vocabulary_counts_min_count_and_cap(self):
        path = self.write("c.txt", "b a b c b a\nd\n")
        stream = word_stream(line_dataset(path))
        vocabulary = count_vocabulary(stream, min_count=2)
        self.assertEqual(vocabulary.words, ["b", "a"])
        self.assertAllEqual(vocabulary.counts, [3, 2])
        self.assertEqual(vocabulary.corpus_words, 7)
        self.assertEqual(count_vocabulary(stream, min_count=1, max_vocab=1).words, ["b"])

    def test_out_of_vocabulary_words_are_dropped_and_chunks_numbered(self):
        path = self.write("d.txt", "a x a a y a\n")
        stream = word_stream(line_dataset(path))
        vocabulary = count_vocabulary(stream, min_count=2)
        ids, rows = next(iter(id_chunks(stream, vocabulary, chunk_words=3)))
        self.assertAllEqual(ids, [0, 0, 0, 0])
        self.assertAllEqual(rows, [0, 0, 0, 1])

    def test_invalid_utf8_is_replaced_and_counted(self):
        path = self.write("e.txt", b"good words\nbad \xff\xfe bytes\n")
        vocabulary = count_vocabulary(word_stream(line_dataset(path)), min_count=1)
        self.assertEqual(vocabulary.bad_lines, 1)
        self.assertEqual(sorted(vocabulary.words), ["bad", "bytes", "good", "words"])

    def test_empty_corpus_is_an_error(self):
        path = self.write("empty.txt", "\n\n")
        with self.assertRaisesRegex(DataError, "empty.txt: has no words"):
            count_vocabulary(word_stream(line_dataset(path)), source=path)

    def test_no_word_above_min_count_is_an_error(self):
        path = self.write("rare.txt", "every word differs here\n")
        with self.assertRaisesRegex(DataError, r"no word occurs --min_count=5 times .*occurs 1"):
            count_vocabulary(word_stream(line_dataset(path)), min_count=5, source=path)

    def test_corpus_smaller_than_the_window_is_an_error(self):
        path = self.write("short.txt", "a a b b\n")
        vocabulary = count_vocabulary(word_stream(line_dataset(path)), min_count=1)
        with self.assertRaisesRegex(DataError, r"has 4 words .* 2 \* --window \+ 1 = 11"):
            check_window(vocabulary, 5, path)

    def test_interleaving_takes_turns_and_keeps_every_line(self):
        first = self.write("f1.txt", "".join(f"a{i}\n" for i in range(5)))
        second = self.write("f2.txt.gz", "b0\nb1\nb2\n", compress=True)
        lines = [t.decode() for t in line_dataset(f"{first},{second}", interleave=2)
                 .as_numpy_iterator()]
        self.assertEqual(lines, ["a0", "a1", "b0", "b1", "a2", "a3", "b2", "a4"])

    def test_a_shard_reads_every_count_th_file(self):
        paths = [self.write(f"f{i}.txt", f"line of file {i}\n") for i in range(3)]
        spec = ",".join(paths)
        parts = [[t.decode() for t in line_dataset(spec, shard=(2, index)).as_numpy_iterator()]
                 for index in (0, 1)]
        self.assertEqual(parts, [["line of file 0", "line of file 2"], ["line of file 1"]])
        with self.assertRaisesRegex(DataError, "names 3 file\\(s\\), fewer than the 4 parts"):
            line_dataset(spec, shard=(4, 0))

    def test_table_files_give_their_text_column(self):
        # TSV keeps quote characters as text (as SST-2 writes them); CSV unquotes.
        tsv = self.write("t.tsv", 'sentence\tlabel\nit \'s "fine"\t1\nbad , dull\t0\n')
        csv_file = self.write("t.csv.gz", 'label,text\n1,"one, two"\n0,three\n', compress=True)
        self.assertEqual([t.decode() for t in line_dataset(tsv, "sentence").as_numpy_iterator()],
                         ['it \'s "fine"', "bad , dull"])
        self.assertEqual([t.decode() for t in line_dataset(csv_file).as_numpy_iterator()],
                         ["one, two", "three"])
        with self.assertRaisesRegex(DataError, r"t.tsv: no column 'text' in the header "
                                               r"\['sentence', 'label'\]"):
            line_dataset(tsv)

    def test_missing_file_is_named(self):
        with self.assertRaisesRegex(DataError, "nowhere.txt: no such file"):
            line_dataset(os.path.join(self.get_temp_dir(), "nowhere.txt"))


class CooccurrenceTest(tf.test.TestCase):

    def test_counts_by_hand(self):
        # Row 0: words 0 1 2; row 1: words 2 0. Window 2: (0,1) at 1, (1,2)
        # at 1, (0,2) at 2 -> 1/2; the row break keeps 2|2 apart; (2,0) at 1.
        chunks = tf.data.Dataset.from_tensors(
            (tf.constant([0, 1, 2, 2, 0], tf.int64), tf.constant([0, 0, 0, 1, 1], tf.int64)))
        dense = count_cooccurrences(chunks, 3, window=2, merge_every=1).dense(3)
        expected = np.array([[0, 1, 1.5], [1, 0, 1], [1.5, 1, 0]])
        self.assertAllClose(dense, expected)

    def test_merging_partial_sums_gives_the_same_matrix(self):
        rng = np.random.default_rng(0)
        ids = tf.constant(rng.integers(0, 30, 3000), tf.int64)
        chunks = tf.data.Dataset.from_tensor_slices(
            (tf.reshape(ids, [10, 300]), tf.zeros([10, 300], tf.int64)))
        once = count_cooccurrences(chunks, 30, 3).dense(30)
        often = count_cooccurrences(chunks, 30, 3, merge_every=100).dense(30)
        self.assertAllClose(once, often)
        self.assertAllClose(once, once.T)

    def test_glove_weighting_function(self):
        weights = glove_weight(tf.constant([1.0, 50.0, 100.0, 500.0]), x_max=100, alpha=0.75)
        self.assertAllClose(weights, [0.01 ** 0.75, 0.5 ** 0.75, 1.0, 1.0])

    def test_glove_loss_by_hand(self):
        model = GloVe(2, dimension=1, x_max=4, alpha=1.0)
        model.words.embeddings.assign([[1.0], [2.0]])
        model.contexts.embeddings.assign([[3.0], [0.5]])
        for layer in (model.word_biases, model.context_biases):
            layer.embeddings.assign([[0.0], [0.1]])
        # Half of (w0 . c1 + b0 + c~1 - log 2)^2 * f(2) = 2 / 4, as glove.c's cost.
        loss = model({"rows": tf.constant([0]), "cols": tf.constant([1]),
                      "counts": tf.constant([2.0])})
        self.assertAllClose(loss, 0.5 * 0.5 * (0.5 + 0.1 - np.log(2)) ** 2)

    def test_glove_learns_planted_topics(self):
        rng = np.random.default_rng(0)
        topics = rng.integers(0, 2, size=300)
        ids = np.concatenate([rng.integers(0, 10, size=30) + 10 * t for t in topics])
        chunks = tf.data.Dataset.from_tensors(
            (tf.constant(ids, tf.int64), tf.constant(np.repeat(np.arange(300), 30), tf.int64)))
        matrix = count_cooccurrences(chunks, 20, window=3)
        model = GloVe(20, dimension=8, seed=0, x_max=10)
        model.compile(optimizer=SparseAdagrad(0.05))
        model.fit(cooccurrence_batches(matrix, 16, seed=0), epochs=30, verbose=0)
        vectors = model.word_vectors()
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        similarity = unit @ unit.T
        same = np.kron(np.eye(2), np.ones((10, 10))).astype(bool) & ~np.eye(20, dtype=bool)
        self.assertGreater(similarity[same].mean(), similarity[~np.kron(
            np.eye(2), np.ones((10, 10))).astype(bool)].mean() + 0.5)

    def test_sparse_adagrad_steps_as_glove_c(self):
        variable = keras.Variable(np.ones([4, 2], np.float32))
        optimizer = SparseAdagrad(0.5, initial_accumulator_value=1.0)
        gradient = tf.IndexedSlices(tf.constant([[1.0, 0.0], [1.0, 0.0]]), tf.constant([1, 1]),
                                    tf.constant([4, 2]))
        expected = np.ones([4, 2])
        # Row 1 is touched twice: it moves by the two steps 0.5 * 1 over
        # sqrt(accumulator), then accumulates each step's square, as glove.c's
        # one-by-one updates would: 1, then 1 + 0.25 + 0.25. Other rows stay.
        for accumulator in (1.0, 1.5):
            optimizer.apply_gradients([(gradient, variable)])
            expected[1, 0] -= 2 * 0.5 / np.sqrt(accumulator)
            self.assertAllClose(variable.numpy(), expected)


if __name__ == "__main__":
    tf.test.main()
