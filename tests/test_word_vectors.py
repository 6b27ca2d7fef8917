"""Word vectors: the word2vec text format and the evaluation protocol
(hand-worked cases, and gensim's figures on the same vectors)."""

import dataclasses
import gzip
import os

import numpy as np
import tensorflow as tf

from temp_files import write_temp_file

from tfllm.data.errors import DataError
from tfllm.data.word_vectors import WordVectors
from tfllm.metrics.embeddings import (analogy_accuracy, nearest_neighbours, read_analogies,
                                      read_word_pairs, word_similarity)

try:
    import gensim
except ImportError:  # a test dependency (setup.py's [test] extra)
    gensim = None

WORDS = ["king", "queen", "man", "woman", "paris", "france", "rome", "italy", "King", "apple"]


def planted_vectors(seed=0, dimension=16):
    """Vectors with a gender and a capital-of direction built in, plus noise."""
    rng = np.random.default_rng(seed)
    base = {w: rng.normal(size=dimension)
            for w in ["royal", "person", "paris", "rome", "apple"]}
    female, country = rng.normal(size=dimension), rng.normal(size=dimension)
    table = {"king": base["royal"], "queen": base["royal"] + female,
             "man": base["person"], "woman": base["person"] + female,
             "paris": base["paris"], "france": base["paris"] + country,
             "rome": base["rome"], "italy": base["rome"] + country,
             "King": -base["royal"], "apple": base["apple"]}
    rows = [table[w] + 0.05 * rng.normal(size=dimension) for w in WORDS]
    return WordVectors(WORDS, np.stack(rows))


class WordVectorFileTest(tf.test.TestCase):

    def test_round_trip_and_gensim_reads_it(self):
        vectors = planted_vectors()
        path = os.path.join(self.get_temp_dir(), "vectors.txt")
        vectors.save(path)
        back = WordVectors.load(path)
        self.assertEqual(back.words, WORDS)
        self.assertAllClose(back.vectors, vectors.vectors, atol=1e-5)
        if gensim is not None:
            keyed = gensim.models.KeyedVectors.load_word2vec_format(path)
            self.assertEqual(keyed.index_to_key, WORDS)
            self.assertAllClose(keyed["queen"], vectors.vectors[1], atol=1e-5)

    def test_glove_format_without_header_and_gzip(self):
        path = os.path.join(self.get_temp_dir(), "glove.txt.gz")
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write("the 0.5 -1\nÉcole 2 3e-1\n")
        vectors = WordVectors.load(path)
        self.assertEqual(vectors.words, ["the", "École"])
        self.assertAllClose(vectors.vectors, [[0.5, -1], [2, 0.3]])
        self.assertEqual(WordVectors.load(path, limit=1).words, ["the"])

    def test_projector_files(self):
        folder = self.get_temp_dir()
        planted_vectors().save_projector(folder)
        with open(os.path.join(folder, "metadata.tsv")) as f:
            self.assertEqual(f.read().split("\n")[:-1], WORDS)
        self.assertEqual(np.loadtxt(os.path.join(folder, "vectors.tsv")).shape, (10, 16))

    def test_bad_files_name_the_line(self):
        folder = self.get_temp_dir()
        cases = {"2 2\na 1 2\nb 1\n": r"bad\.txt:3: 1 numbers after 'b', expected 2",
                 "2 2\na 1 x\n": r"bad\.txt:2: a value after 'a' is not a number",
                 "3 2\na 1 2\nb 1 2\n": "the header promises 3 words, the file has 2",
                 "1 2\n": "no word vectors",
                 "2 1\na 1\na 2\n": "'a' appears twice"}
        for text, message in cases.items():
            path = os.path.join(folder, "bad.txt")
            with open(path, "w") as f:
                f.write(text)
            with self.assertRaisesRegex(DataError, message):
                WordVectors.load(path)

    def test_lookup_marks_unknown_words(self):
        indices, known = planted_vectors().lookup(["queen", "zebra"])
        self.assertAllEqual(indices, [1, -1])
        self.assertAllEqual(known, [True, False])


class EvaluationTest(tf.test.TestCase):

    def write(self, name, data, compress=False):
        return write_temp_file(self, name, data, compress)

    def test_similarity_by_hand(self):
        vectors = WordVectors(["a", "b", "c", "d"],
                              [[1, 0], [2, 0], [0, 3], [0.6, 0.8]])
        pairs = read_word_pairs(self.write("pairs.tsv", "# comment\nA\tb\t9\na\tc\t1\n"
                                           "c\td\t2\na\tzebra\t5\nd\ta\t6\n"))
        result = word_similarity(vectors, pairs)
        # model: 1, 0, 0.8, 0.6 against gold 9, 1, 2, 6: ranks 4,1,3,2 vs 4,1,2,3.
        self.assertAllClose(result["spearman"], 1 - 6 * 2 / (4 * 15))
        self.assertEqual((result["pairs"], result["covered"]), (5, 4))

    def test_analogies_by_hand(self):
        vectors = planted_vectors()
        questions = read_analogies(self.write("q.txt", ": family\nman woman king queen\n"
                                              "man woman King queen\n: capitals\n"
                                              "paris france rome italy\n"
                                              "paris france rome zebra\n"))
        result = analogy_accuracy(vectors, questions)
        # "King" folds to "king", whose vector (the more frequent casing) is
        # used, and neither casing may be the answer: both are right.
        self.assertEqual((result["correct"], result["answered"], result["questions"]),
                         (3, 3, 4))
        self.assertEqual(result["sections"]["family"], {"questions": 2, "answered": 2,
                                                        "correct": 2})
        self.assertAllClose(result["coverage"], 0.75)
        # Restricted to the first four words, only the family questions count.
        self.assertEqual(analogy_accuracy(vectors, questions, restrict_vocab=4)["answered"], 2)
        # unit(b) - unit(a) + unit(c) points at (-0.22, 0.98): "C" (c in
        # another casing) is nearest, then d; a question's words in any casing
        # are excluded, so d is the answer.
        vectors = WordVectors(["a", "b", "c", "d", "C"],
                              [[1, 0], [0, 1], [0.6, 0.8], [-0.3, 1], [-0.2, 1]])
        for d, correct in (("d", 1), ("C", 0)):
            question = [read_analogies(self.write("q.txt", f": s\na b c {d}\n"))[0]]
            self.assertEqual(analogy_accuracy(vectors, question)["correct"], correct)

    def test_nearest_neighbours(self):
        vectors = WordVectors(["a", "b", "c"], [[1, 0], [0.8, 0.6], [-1, 0]])
        neighbours = nearest_neighbours(vectors, ["a", "zebra"], k=2)
        self.assertEqual([w for w, _ in neighbours[0]], ["b", "c"])
        self.assertAllClose([s for _, s in neighbours[0]], [0.8, -1.0])
        self.assertIsNone(neighbours[1])

    def test_bad_evaluation_files(self):
        with self.assertRaisesRegex(DataError, r"p\.tsv:2: expected 'word\tword\tscore'"):
            read_word_pairs(self.write("p.tsv", "a\tb\t1\na b 2\n"))
        with self.assertRaisesRegex(DataError, r"q\.txt:1: a question before"):
            read_analogies(self.write("q.txt", "a b c d\n"))
        with self.assertRaisesRegex(DataError, r"q\.txt:2: expected four words"):
            read_analogies(self.write("q.txt", ": s\na b c\n"))

    def test_equals_gensim_on_the_shared_files(self):
        if gensim is None:
            self.skipTest("gensim is not installed")
        folder = os.path.join(os.path.dirname(gensim.__file__), "test", "test_data")
        rng = np.random.default_rng(1)
        # Random vectors for the evaluation files' own words, so that every
        # pair and most questions are answerable and the scores are not trivial.
        pairs_file = os.path.join(folder, "wordsim353.tsv")
        questions_file = os.path.join(folder, "questions-words.txt")
        words = sorted({w.lower() for p in read_word_pairs(pairs_file)
                        for w in (p.first, p.second)}
                       | {w.lower() for q in read_analogies(questions_file)[::40]
                          for w in (q.a, q.b, q.c, q.d)})
        vectors = WordVectors(words, rng.normal(size=(len(words), 8)))
        keyed = gensim.models.KeyedVectors(8)
        keyed.add_vectors(vectors.words, vectors.vectors)
        _, spearman, oov = keyed.evaluate_word_pairs(pairs_file)
        ours = word_similarity(vectors, read_word_pairs(pairs_file))
        self.assertAllClose(ours["spearman"], spearman.statistic)
        self.assertAllClose(100 * (1 - ours["coverage"]), oov)
        for restrict in (300, 30_000):
            score, sections = keyed.evaluate_word_analogies(questions_file,
                                                            restrict_vocab=restrict)
            ours = analogy_accuracy(vectors, read_analogies(questions_file),
                                    restrict_vocab=restrict)
            total = sections[-1]
            self.assertEqual(ours["correct"], len(total["correct"]))
            self.assertEqual(ours["answered"], len(total["correct"]) + len(total["incorrect"]))
            self.assertAllClose(ours["accuracy"], score)
        # Random vectors get almost every analogy wrong, so also ask ours to
        # find exactly gensim's answers: each question's d set to gensim's.
        answered = [q for q in read_analogies(questions_file)
                    if all(w.lower() in vectors.index for w in (q.a, q.b, q.c, q.d))]
        self.assertGreater(len(answered), 300)
        as_gensim = []
        for q in answered[:300]:
            a, b, c = q.a.lower(), q.b.lower(), q.c.lower()
            guesses = keyed.most_similar(positive=[b, c], negative=[a], topn=5)
            d = next(word for word, _ in guesses if word not in (a, b, c))
            as_gensim.append(dataclasses.replace(q, d=d))
        self.assertEqual(analogy_accuracy(vectors, as_gensim)["correct"], 300)


if __name__ == "__main__":
    tf.test.main()
