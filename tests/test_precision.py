"""--precision: the mixed bfloat16 policy lasts one run; logits stay float32."""

import keras
import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.models.classifier import build_classifier
from tfllm.models.seq2seq import Seq2SeqTransformer
from tfllm.training.precision import precision_policy


class PrecisionTest(tf.test.TestCase):

    def test_policy_is_restored_and_logits_are_float32(self):
        with precision_policy("mixed_bfloat16"):
            self.assertEqual(keras.config.dtype_policy().name, "mixed_bfloat16")
            classifier = build_classifier("transformer", 50, 2, 8, hidden_dim=16, num_heads=2,
                                          intermediate_dim=16, num_layers=1)
            translator = Seq2SeqTransformer(50, 50, 8, hidden_dim=16, num_layers=1,
                                            num_heads=2, intermediate_dim=16)
            self.assertEqual(classifier(tf.constant([[2, 5, 7]])).dtype, tf.float32)
            self.assertEqual(translator((tf.constant([[5, 3]]), tf.constant([[2, 7]]))).dtype,
                             tf.float32)
            self.assertEqual(classifier.head.get_layer("logits").dtype_policy.name, "float32")
        self.assertEqual(keras.config.dtype_policy().name, "float32")
        with self.assertRaisesRegex(ValueError, "--precision must be one of"):
            with precision_policy("float16"):
                pass
