import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.data.classification import holdout_indices, load_classification_data
from tfllm.data.errors import DataError
from tfllm.data.labels import LabelVocabulary


class LabelVocabularyTest(tf.test.TestCase):

    def test_integer_labels_take_given_names(self):
        labels = LabelVocabulary.fit(["0", "1", "1"], ["negative", "positive"])
        self.assertEqual(labels.names, ["negative", "positive"])
        self.assertEqual(labels.encode(["1", 0]), [1, 0])

    def test_integer_labels_default_names(self):
        self.assertEqual(LabelVocabulary.fit([0, 2]).names, ["0", "1", "2"])

    def test_string_labels_sorted_or_in_given_order(self):
        self.assertEqual(LabelVocabulary.fit(["pos", "neg"]).names, ["neg", "pos"])
        labels = LabelVocabulary.fit(["pos", "neg"], ["pos", "neg"])
        self.assertEqual(labels.encode(["neg"]), [1])

    def test_errors(self):
        with self.assertRaisesRegex(DataError, "2 names for 3 classes"):
            LabelVocabulary.fit(["0", "2"], ["a", "b"])
        with self.assertRaisesRegex(DataError, r"labels \['meh'\] are not among"):
            LabelVocabulary.fit(["pos", "meh"], ["pos", "neg"])
        labels = LabelVocabulary.fit(["pos", "neg"])
        with self.assertRaisesRegex(DataError, r"dev.tsv:9: field 'label': label 'meh' is not"):
            labels.encode(["pos", "meh"], ["dev.tsv:8", "dev.tsv:9"])


class SplitTest(tf.test.TestCase):

    def test_holdout_is_seeded_disjoint_and_complete(self):
        kept, held = holdout_indices(100, 0.1, seed=3)
        self.assertLen(held, 10)
        self.assertEqual(sorted(kept + held), list(range(100)))
        self.assertEqual(holdout_indices(100, 0.1, seed=3), (kept, held))
        with self.assertRaisesRegex(ValueError, "eval_fraction"):
            holdout_indices(10, 1.5, 0)

    def test_sample_splits(self):
        data = load_classification_data("sample", eval_fraction=0.25, seed=1)
        self.assertEqual(len(data.train) + len(data.eval), 2000)
        self.assertLen(data.eval_ids, 500)
        self.assertEqual(data.labels.names, ["negative", "positive"])
        self.assertEqual(set(data.train_ids), {0, 1})
