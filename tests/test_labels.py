import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.data.classification import load_classification_data
from tfllm.data.errors import DataError
from tfllm.data.labels import LabelVocabulary, suspect_labels
from tfllm.data.splits import hold_out_tail, holdout_indices


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


class SuspectLabelTest(tf.test.TestCase):

    def test_a_string_among_integers_and_the_reverse(self):
        self.assertEqual([i for i, _ in suspect_labels(["0", "1", "positve", "1"])], [2])
        self.assertEqual([i for i, _ in suspect_labels(["pos", "neg", "1", "neg"])], [2])
        self.assertEqual(suspect_labels(["0", "1", "1"]), [])

    def test_a_class_rarer_than_a_thousandth_is_suspect_unless_named(self):
        labels = ["pos", "neg"] * 1000 + ["psitive"]
        self.assertEqual(suspect_labels(labels)[0][0], 2000)
        self.assertIn("occurs 1 time(s) among 2,001 labels", suspect_labels(labels)[0][1])
        self.assertEqual(suspect_labels(labels, ["pos", "neg", "psitive"]), [])
        self.assertEqual(suspect_labels(["pos", "neg"] * 100 + ["rare"]), [])  # few labels
        self.assertEqual(suspect_labels(["pos"] * 1000 + ["neg"] * 2), [])  # 2 of 1,002: kept

    def test_with_names_a_label_must_be_one_of_them_or_an_index(self):
        self.assertEqual(suspect_labels(["0", "1", "pos", "2"], ["neg", "pos"]),
                         [(3, "label '2' is not one of --label_names ['neg', 'pos'] (nor an "
                              "integer below 2)")])

    def test_rows_with_suspect_labels_are_skipped_and_counted(self):
        path = self.get_temp_dir() + "/typo.tsv"
        with open(path, "w") as f:
            f.write("text\tlabel\n" + "".join(f"film {i}\t{i % 2}\n" for i in range(20))
                    + "a film\tpositve\n")
        with self.assertRaisesRegex(DataError, f"{path}:22: field 'label': label 'positve'"):
            load_classification_data(path)
        data = load_classification_data(path, skip_bad_rows=True)
        self.assertEqual(data.labels.names, ["0", "1"])
        self.assertEqual(data.rows.skipped, 1)
        self.assertEqual(len(data.train) + len(data.eval), 20)


class SplitTest(tf.test.TestCase):

    def test_holdout_is_seeded_disjoint_and_complete(self):
        kept, held = holdout_indices(100, 0.1, seed=3)
        self.assertLen(held, 10)
        self.assertEqual(sorted(kept + held), list(range(100)))
        self.assertEqual(holdout_indices(100, 0.1, seed=3), (kept, held))
        with self.assertRaisesRegex(DataError, "eval_fraction"):
            holdout_indices(10, 1.5, 0)

    def test_language_model_text_holds_out_its_tail(self):
        self.assertEqual(hold_out_tail("abcdefghij", 0.2), ("abcdefgh", "ij"))
        with self.assertRaisesRegex(DataError, "eval_fraction"):
            hold_out_tail("abc", 0.0)

    def test_sample_splits(self):
        data = load_classification_data("sample", eval_fraction=0.25, seed=1)
        self.assertEqual(len(data.train) + len(data.eval), 2000)
        self.assertLen(data.eval_ids, 500)
        self.assertEqual(data.labels.names, ["negative", "positive"])
        self.assertEqual(set(data.train_ids), {0, 1})
