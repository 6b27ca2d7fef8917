import keras
import numpy as np
import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.models.classifier import MaskedGlobalMaxPooling1D, build_classifier
from tfllm.runtime import set_seed

SIZES = dict(vocab_size=50, num_classes=3, sequence_length=12, hidden_dim=16, num_layers=1,
             num_heads=2, intermediate_dim=32, dropout=0.0)


class ClassifierTest(tf.test.TestCase):

    def test_shapes_and_padding_is_ignored(self):
        for name, pooling in (("transformer", "mean"), ("transformer", "max"), ("lstm", "mean")):
            set_seed(0)
            model = build_classifier(name, **SIZES, pooling=pooling)
            short = model(tf.constant([[2, 7, 9]]))
            padded = model(tf.constant([[2, 7, 9, 0, 0, 0]]))
            self.assertEqual(short.shape, (1, 3))
            self.assertAllClose(short, padded, atol=1e-5, msg=f"{name} {pooling}")

    def test_masked_max_pooling(self):
        x = tf.constant([[[1.0, -3.0], [5.0, 9.0], [2.0, -1.0]]])
        mask = tf.constant([[True, False, True]])
        self.assertAllClose(MaskedGlobalMaxPooling1D()(x, mask=mask), [[2.0, -1.0]])
        self.assertAllClose(MaskedGlobalMaxPooling1D()(x), [[5.0, 9.0]])

    def test_initializer_flag_reaches_layers(self):
        model = build_classifier("transformer", **{**SIZES, "initializer": "he_normal"})
        self.assertIsInstance(model.get_layer("logits").kernel_initializer,
                              keras.initializers.HeNormal)

    def test_overfits_a_tiny_batch(self):
        rng = np.random.default_rng(0)
        ids = rng.integers(3, 50, size=(16, 10)).astype("int32")
        labels = rng.integers(0, 3, size=16).astype("int32")
        for name in ("transformer", "lstm"):
            set_seed(0)
            model = build_classifier(name, **SIZES)
            model.compile(keras.optimizers.Adam(1e-2),
                          keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
            history = model.fit(ids, labels, epochs=60, batch_size=16, verbose=0)
            self.assertEqual(history.history["accuracy"][-1], 1.0, msg=name)

    def test_unknown_model(self):
        with self.assertRaisesRegex(ValueError, "--model must be one of transformer, lstm"):
            build_classifier("cnn", **SIZES)
        with self.assertRaisesRegex(ValueError, "--pooling must be one of mean, max"):
            build_classifier("transformer", **SIZES, pooling="attention")
