"""The word-vector task end to end: each method learns the demo's topics,
the export serves embed and nearest and holds gensim-readable vectors, bad
corpora stop with a message, a killed run resumes, and sentiment starts
from the vectors through a word tokenizer."""

import json
import os
import tempfile

import numpy as np
import tensorflow as tf

import task_harness
from tfllm.data import sample
from tfllm.data.word_corpus import words_of
from tfllm.data.word_tokenizer import WordTokenizer
from tfllm.data.word_vectors import WordVectors
from tfllm.models.pretrained_embeddings import initialize_token_embedding

TINY = ["--dimension=16", "--epochs=3", "--seed=1"]


def topic_share(metrics):
    """Of the demo words' 7 nearest neighbours, the share from their own topic."""
    hits = total = 0
    for word, found in metrics["neighbours"].items():
        topic = next(words for words in sample.TOPICS.values() if word in words)
        hits += sum(other in topic for other, _ in found[:7])
        total += 7
    return hits / total


class WordVectorTaskTest(task_harness.TaskTestCase):
    task_module = "tasks.word2vec"
    tiny = TINY
    _skipgram = None

    def skipgram_run(self):
        """One skip-gram run on the demo text, shared by the tests that read it."""
        if WordVectorTaskTest._skipgram is None:
            WordVectorTaskTest._skipgram = self.run_task(root=tempfile.mkdtemp())
        return WordVectorTaskTest._skipgram

    def test_every_method_learns_the_demo_topics(self):
        for method in ("skipgram", "cbow", "glove"):
            with self.subTest(method):
                if method == "skipgram":
                    result, _ = self.skipgram_run()
                else:
                    epochs = ["--epochs=20"] if method == "glove" else []
                    result, _ = self.run_task(f"--method={method}", *epochs)
                self.assertGreater(topic_share(result.metrics), 0.9)

    def test_export_serves_embed_and_nearest_and_holds_vector_files(self):
        from gensim.models import KeyedVectors

        result, root = self.skipgram_run()
        path = result.export_path
        self.assert_fits_tf_serving(path)
        vectors_file = os.path.join(path, "assets.extra", "vectors.txt")
        keyed = KeyedVectors.load_word2vec_format(vectors_file, binary=False)
        self.assertEqual(len(keyed), 38)  # the demo's words
        expected = result.model.word_vectors()[[keyed.key_to_index["cat"]]]

        served = self.serve_fresh(path, "embed", {"words": ["CAT", "no-such-word"]})
        self.assertEqual(served["outputs"]["known"], [True, False])
        vectors = np.array(served["outputs"]["vectors"])
        self.assertAllClose(vectors[:1], keyed[["cat"]], atol=1e-5)
        self.assertAllClose(vectors[:1], expected, atol=1e-5)
        self.assertAllEqual(vectors[1], np.zeros(16))

        nearest = self.serve_fresh(path, "nearest", {"words": ["cat", "", "zzz"], "k": 3})
        outputs = nearest["outputs"]
        self.assertEqual(outputs["known"], [True, False, False])
        self.assertEqual(outputs["neighbours"][0],
                         [word for word, _ in keyed.most_similar("cat", topn=3)])
        self.assertAllClose(outputs["scores"][0],
                            [score for _, score in keyed.most_similar("cat", topn=3)], atol=1e-4)
        self.assertEqual(outputs["neighbours"][1], ["", "", ""])
        over_http = self.serve_over_http(path, "nearest", {"words": ["cat", "", "zzz"], "k": 3})
        self.assertEqual(over_http["neighbours"], outputs["neighbours"])
        self.assertAllClose(over_http["scores"], outputs["scores"], atol=1e-6)
        self.assertEqual(sorted(nearest["signatures"]), ["embed", "nearest", "serving_default"])

        extra = os.path.join(path, "assets.extra")
        with open(os.path.join(extra, "metadata.tsv")) as f:
            self.assertEqual(f.read().split(), result.preprocessor.vocabulary.words)
        self.assertEqual(np.loadtxt(os.path.join(extra, "vectors.tsv")).shape, (38, 16))

    def test_bad_corpora_stop_with_a_message(self):
        root = self.fresh_root()
        cases = {"empty.txt": ("\n", "has no words"),
                 "rare.txt": ("each word once\n", "no word occurs --min_count=5 times"),
                 "short.txt": ("a a a a a b b b b b\n", "fewer than one window"),
                 "pairs.tsv": (None, "no such file")}
        for name, (text, message) in cases.items():
            with self.subTest(name):
                path = os.path.join(root, name)
                if text is None:  # a missing evaluation file, named before training
                    flag = f"--similarity_data={path}"
                else:
                    with open(path, "w") as f:
                        f.write(text)
                    flag = f"--data={path}"
                with self.assertRaises(SystemExit) as stopped:
                    self.run_task(flag, root=root)
                self.assertIn(f"error: {path}", str(stopped.exception.code))
                self.assertIn(message, str(stopped.exception.code))
                self.assertFalse(os.path.exists(os.path.join(root, "export")))

    def test_reads_a_tfds_text_field_and_names_a_missing_one(self):
        import tensorflow_datasets as tfds

        with tfds.testing.mock_data(num_examples=30):
            result, _ = self.run_task("--data=tfds:tiny_shakespeare", "--min_count=1",
                                      "--window=2", "--epochs=1")
            # The whole split was read: every mock example's words were counted.
            texts = [ex["text"] for ex in tfds.as_numpy(tfds.load("tiny_shakespeare",
                                                                  split="train"))]
            self.assertLen(texts, 30)
            expected = int(tf.size(words_of(tf.constant(texts)).flat_values))
            self.assertGreater(expected, 0)
            self.assertEqual(result.data["corpus_words"], expected)
            with self.assertRaises(SystemExit) as stopped:
                self.run_task("--data=tfds:tiny_shakespeare", "--text_field=body")
        self.assertIn("no field 'body'; fields are ['text']", str(stopped.exception.code))

    def test_a_killed_run_resumes(self):
        self.assert_resumes(epochs=3, patience=False)

    def test_sentiment_starts_from_the_vectors_with_a_word_tokenizer(self):
        import importlib

        result, root = self.skipgram_run()
        vectors_file = os.path.join(result.export_path, "assets.extra", "vectors.txt")
        # Texts of the demo's topics, labelled by topic: animals and fruit
        # are "positive", so every word of the vectors' vocabulary appears.
        liked = set(sample.TOPICS["animals"] + sample.TOPICS["fruit"])
        data = os.path.join(root, "topics.tsv")
        with open(data, "w") as f:
            f.write("sentence\tlabel\n")
            for line in sample.topic_corpus(600, seed=3):
                f.write(f"{line}\t{int(bool(liked & set(line.split())))}\n")
        sentiment = importlib.import_module("tasks.sentiment")
        tuned = sentiment.main([
            "sentiment", f"--data={data}", f"--model_dir={root}/s-run",
            f"--export_dir={root}/s-export", "--label_names=other,liked",
            "--tokenizer=word", "--vocab_size=100", "--model=lstm", "--hidden_dim=16",
            "--epochs=1", "--batch_size=64", "--jit=false", "--freeze_embeddings",
            f"--pretrained_embeddings={vectors_file}"])
        vocabulary = tuned.preprocessor.tokenizer.get_vocabulary()
        vectors = WordVectors.load(vectors_file)
        embedding = tuned.model.token_embedding.embeddings.numpy()
        self.assertEqual(len(vocabulary), 41)  # 38 words and 3 specials
        with open(os.path.join(tuned.export_path, "run_card.json")) as f:
            coverage = json.load(f)["pretrained_embeddings"]
        self.assertEqual((coverage["covered"], coverage["vocabulary"]), (38, 41))
        # The frozen rows are the file's vectors, bit for bit after training.
        for token_id, token in enumerate(vocabulary):
            if token in vectors.index:
                self.assertAllEqual(embedding[token_id], vectors.vectors[vectors.index[token]])


class PretrainedEmbeddingTest(tf.test.TestCase):

    def test_covered_rows_are_copied_and_counted(self):
        import keras

        path = os.path.join(self.get_temp_dir(), "v.txt")
        WordVectors(["good", "Film"], [[1.0, 2.0], [3.0, 4.0]]).save(path)
        layer = keras.layers.Embedding(5, 2, embeddings_initializer="zeros")
        layer.build()
        coverage = initialize_token_embedding(layer, ["[PAD]", "[UNK]", "good", "film", "x"],
                                              path)
        self.assertEqual((coverage["covered"], coverage["vocabulary"]), (1, 5))
        self.assertAllEqual(layer.embeddings.numpy()[2], [1.0, 2.0])
        self.assertAllEqual(layer.embeddings.numpy()[3], [0.0, 0.0])  # "Film" is not "film"

    def test_a_dimension_mismatch_names_the_flag(self):
        import keras

        path = os.path.join(self.get_temp_dir(), "v3.txt")
        WordVectors(["good"], [[1.0, 2.0, 3.0]]).save(path)
        layer = keras.layers.Embedding(5, 2)
        layer.build()
        with self.assertRaisesRegex(ValueError, "3-dimensional .* --hidden_dim=3"):
            initialize_token_embedding(layer, ["good"] * 5, path)

    def test_word_tokenizer_round_trips_through_its_files(self):
        from tfllm.data.tokenizers import load_tokenizer, save_tokenizer

        tokenizer = WordTokenizer.train(["A good film.", "a bad film"], vocab_size=6)
        self.assertEqual(tokenizer.get_vocabulary(),
                         ["[PAD]", "[UNK]", "[CLS]", "a", "film", "good"])
        # (keras-hub tokenizers return Python lists when called eagerly.)
        self.assertEqual(tokenizer(tf.constant(["a GOOD plot!"])), [[3, 5, 1]])
        folder = os.path.join(self.get_temp_dir(), "tok")
        save_tokenizer(tokenizer, folder)
        self.assertEqual(load_tokenizer(folder).get_vocabulary(), tokenizer.get_vocabulary())


if __name__ == "__main__":
    tf.test.main()
