import collections

import tfllm  # noqa: F401
import numpy as np
import tensorflow as tf

from tfllm.data.pipeline import bucket_boundaries, classification_dataset, drop_tokens
from tfllm.data.sample import sentiment_examples
from tfllm.data.tokenizers import train_tokenizer
from tfllm.preprocessors import ClassificationPreprocessor, Preprocessor

EXAMPLES = sentiment_examples(300, seed=2)
TEXTS = [t for t, _ in EXAMPLES]
LABELS = [int(label == "positive") for _, label in EXAMPLES]


class PipelineTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tokenizer = train_tokenizer("wordpiece", TEXTS, 200)

    def test_encoder_starts_cleans_and_truncates(self):
        encoder = ClassificationPreprocessor(self.tokenizer, sequence_length=5)
        ids = encoder(tf.constant(["", "THE <i>plot</i>", "the plot was not good at all"]))
        rows = ids.to_list()
        self.assertEqual(rows[0], [encoder.start_id])
        # Eager keras-hub tokenizers answer with Python lists.
        self.assertEqual(rows[1], [encoder.start_id] + self.tokenizer(["the plot"])[0])
        self.assertLen(rows[2], 5)

    def test_saved_and_loaded_it_encodes_alike(self):
        encoder = ClassificationPreprocessor(self.tokenizer, sequence_length=7, lowercase=False)
        folder = self.get_temp_dir() + "/preprocessor"
        encoder.save(folder)
        loaded = Preprocessor.load(folder)
        self.assertIsInstance(loaded, ClassificationPreprocessor)
        self.assertEqual((loaded.sequence_length, loaded.lowercase), (7, False))
        texts = tf.constant(["The plot was NOT good at all, not at all", ""])
        self.assertEqual(loaded(texts).to_list(), encoder(texts).to_list())

    def test_trained_from_texts_as_cleaning_leaves_them(self):
        encoder = ClassificationPreprocessor.train(["<b>GOOD</b> film"] * 20, "wordpiece", 100,
                                                   16)
        self.assertIn("good", encoder.tokenizer.get_vocabulary())
        self.assertNotIn("<b>", encoder.tokenizer.get_vocabulary())

    def test_bucket_boundaries(self):
        self.assertEqual(bucket_boundaries(128), [9, 17, 33, 65, 129])
        self.assertEqual(bucket_boundaries(8), [9])

    def test_bucketed_batches_keep_every_example(self):
        encoder = ClassificationPreprocessor(self.tokenizer, sequence_length=16)
        data = classification_dataset(TEXTS, LABELS, encoder, 32, shuffle=True, seed=0)
        shapes, labels, rows = set(), [], []
        for ids, y in data:
            shapes.add(ids.shape[1])
            labels += y.numpy().tolist()
            rows += [tuple(r[r > 0]) for r in ids.numpy()]
        self.assertEqual(collections.Counter(labels), collections.Counter(LABELS))
        self.assertTrue(shapes <= {8, 16})  # padded to bucket bounds, not to the max
        expected = [tuple(r) for r in encoder(tf.constant(TEXTS)).to_list()]
        self.assertEqual(collections.Counter(rows), collections.Counter(expected))

    def test_padded_batches_and_order_without_shuffle(self):
        encoder = ClassificationPreprocessor(self.tokenizer, sequence_length=16)
        data = classification_dataset(TEXTS, LABELS, encoder, 32, bucket=False)
        first_ids, first_labels = next(iter(data))
        self.assertEqual(first_ids.shape, (32, 16))
        self.assertAllEqual(first_labels, LABELS[:32])
        self.assertEqual(sum(int(y.shape[0]) for _, y in data), len(TEXTS))
        self.assertTrue(np.all(first_ids.numpy()[:, 0] == encoder.start_id))

    def test_word_dropout_rate_keeps_start_token(self):
        ids = tf.constant([2] + [7] * 4000)
        dropped = drop_tokens(ids, 0.25, unknown_id=1, seed=[0, 1]).numpy()
        self.assertEqual(dropped[0], 2)
        self.assertNear((dropped[1:] == 1).mean(), 0.25, 0.03)
        self.assertTrue(set(dropped[1:]) <= {1, 7})
        self.assertAllEqual(drop_tokens(ids, 0.0, unknown_id=1, seed=[0, 1]), ids)

    def test_word_dropout_only_where_asked(self):
        encoder = ClassificationPreprocessor(self.tokenizer, sequence_length=16)
        data = classification_dataset(TEXTS, LABELS, encoder, 300, bucket=False,
                                      token_dropout=0.5, seed=1)
        ids = next(iter(data))[0].numpy()
        self.assertGreater((ids == encoder.unknown_id).mean(), 0.1)
        clean = next(iter(classification_dataset(TEXTS, LABELS, encoder, 300, bucket=False)))[0]
        self.assertEqual((clean.numpy() == encoder.unknown_id).mean(), 0.0)

    def test_word_dropout_repeats_with_the_seed_and_changes_each_epoch(self):
        encoder = ClassificationPreprocessor(self.tokenizer, sequence_length=16)

        def two_epochs():  # unshuffled, so only word dropout can differ between epochs
            data = classification_dataset(TEXTS, LABELS, encoder, 64, bucket=False,
                                          token_dropout=0.3, seed=5)
            return [np.concatenate([ids.numpy() for ids, _ in data]) for _ in range(2)]

        first, second = two_epochs(), two_epochs()
        self.assertAllEqual(first[0], second[0])
        self.assertAllEqual(first[1], second[1])
        self.assertNotAllEqual(first[0], first[1])
