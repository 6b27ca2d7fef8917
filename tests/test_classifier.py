import json

import keras
import numpy as np
import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.models.classifier import (MaskedGlobalMaxPooling1D, adversarial_perturbation,
                                     build_classifier)
from tfllm.runtime import set_seed

SIZES = dict(vocabulary_size=50, num_classes=3, sequence_length=12, hidden_dim=16, num_layers=1,
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
        self.assertIsInstance(model.head.get_layer("logits").kernel_initializer,
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

    def test_adversarial_perturbation_is_sized_per_example(self):
        embedded = tf.constant([[[3.0, 4.0], [1.0, 1.0]], [[0.0, 1.0], [7.0, 7.0]]])
        mask = tf.constant([[True, True], [True, False]])
        gradient = tf.constant([[[0.0, 2.0], [0.0, 0.0]], [[1.0, 0.0], [5.0, 5.0]]])
        step = adversarial_perturbation(gradient, embedded, mask, 0.1)
        # Example 0: embedding norm sqrt(27), all along the gradient's one axis.
        self.assertAllClose(step[0], [[0.0, 0.1 * 27 ** 0.5], [0.0, 0.0]])
        # Example 1: its padded position neither sizes nor receives the step.
        self.assertAllClose(step[1], [[0.1, 0.0], [0.0, 0.0]])

    def test_adversarial_step_trains_on_a_harder_loss(self):
        rng = np.random.default_rng(0)
        ids = rng.integers(3, 50, size=(8, 6)).astype("int32")
        ids[:4, 4:] = 0
        labels = rng.integers(0, 3, size=8).astype("int32")
        for name in ("transformer", "lstm"):
            set_seed(0)
            model = build_classifier(name, **SIZES)

            def step():  # a rate of 0 leaves the model as it is
                model.compile(keras.optimizers.SGD(0.0),
                              keras.losses.SparseCategoricalCrossentropy(from_logits=True))
                return model.train_on_batch(ids, labels)

            plain = step()
            clean = model.evaluate(ids, labels, verbose=0)
            self.assertAllClose(plain, clean, rtol=1e-5, msg=name)
            # A later stage turns it on: the step's loss is then the mean of
            # the clean and the attacked loss.
            model.adversarial_epsilon = 0.5
            self.assertGreater(step(), clean * 1.01, msg=name)

    def test_rebuilt_from_its_config(self):
        ids = tf.constant([[2, 7, 9, 0]])
        for name in ("transformer", "lstm"):
            model = build_classifier(name, **SIZES, adversarial_epsilon=0.1)
            config = model.get_config()
            self.assertEqual((config["vocabulary_size"], config["adversarial_epsilon"]),
                             (50, 0.1))
            clone = type(model).from_config(json.loads(json.dumps(config)))
            clone.set_weights(model.get_weights())
            self.assertAllClose(clone(ids), model(ids), msg=name)
            self.assertEqual(clone.name, model.name)

    def test_unknown_model(self):
        with self.assertRaisesRegex(ValueError, "--model must be one of transformer, lstm"):
            build_classifier("cnn", **SIZES)
        with self.assertRaisesRegex(ValueError, "--pooling must be one of mean, max"):
            build_classifier("transformer", **SIZES, pooling="attention")
