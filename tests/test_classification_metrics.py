import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.metrics.classification import classification_report, format_report


class ClassificationMetricsTest(tf.test.TestCase):

    def test_values_match_hand_computation(self):
        # true:  a a a b b c ; predicted: a a b b c c
        report = classification_report([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c"])
        self.assertEqual(report["confusion_matrix"], [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
        self.assertAllClose(report["accuracy"], 4 / 6)
        self.assertAllClose(report["per_class"]["a"]["recall"], 2 / 3)
        self.assertAllClose(report["per_class"]["b"]["precision"], 1 / 2)
        self.assertAllClose(report["per_class"]["c"]["f1"], 2 * 0.5 * 1 / 1.5)
        self.assertAllClose(report["macro_precision"], (1 + 0.5 + 0.5) / 3)
        self.assertEqual(report["per_class"]["a"]["support"], 3)

    def test_class_never_predicted_scores_zero(self):
        report = classification_report([0, 1], [0, 0], ["neg", "pos"])
        self.assertEqual(report["per_class"]["pos"]["precision"], 0.0)
        self.assertEqual(report["per_class"]["pos"]["f1"], 0.0)
        self.assertIn("accuracy 0.5000", format_report(report))
