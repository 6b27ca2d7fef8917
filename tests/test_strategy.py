import os
import types
from unittest import mock

import keras
import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.data.sample import sentiment_examples
from tfllm.data.tokenizers import train_tokenizer
from tfllm.models.classifier import TransformerClassifier
from tfllm.preprocessors import ClassificationPreprocessor
from tfllm.runtime import set_seed
from tfllm.training.optimizers import adamw
from tfllm.training.strategy import (get_strategy, is_chief, jit_supported, resolve_jit,
                                     resolve_steps_per_execution, worker_shard)

EXAMPLES = sentiment_examples(128, seed=5)


def _resolver(task_type, task_id, cluster):
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id)


class StrategyTest(tf.test.TestCase):

    def test_names(self):
        self.assertEqual(get_strategy("default").num_replicas_in_sync, 1)
        mirrored = get_strategy("mirrored")
        self.assertEqual(mirrored.num_replicas_in_sync, 2)  # conftest: two logical CPUs
        self.assertIs(get_strategy("mirrored"), mirrored)  # one per process
        self.assertFalse(jit_supported(mirrored))
        self.assertTrue(jit_supported(get_strategy("default")))
        for name in ("default", "mirrored"):  # one worker: it reads every file
            self.assertIsNone(worker_shard(get_strategy(name)))
        with self.assertRaisesRegex(ValueError, "--strategy must be one of"):
            get_strategy("horovod")
        with mock.patch.dict(os.environ, clear=True):
            with self.assertRaisesRegex(ValueError, "needs the TF_CONFIG"):
                get_strategy("multi_worker")

    def test_jit_resolution(self):
        default, mirrored = get_strategy("default"), get_strategy("mirrored")
        self.assertTrue(resolve_jit("auto", default, fixed_shapes=True))
        self.assertFalse(resolve_jit("auto", default, fixed_shapes=False))
        self.assertFalse(resolve_jit("auto", mirrored, fixed_shapes=True))
        self.assertTrue(resolve_jit("true", default, fixed_shapes=False))
        self.assertFalse(resolve_jit("false", default, fixed_shapes=True))

    def test_steps_per_execution(self):
        default, mirrored = get_strategy("default"), get_strategy("mirrored")
        self.assertEqual(resolve_steps_per_execution(25, default), 25)
        self.assertEqual(resolve_steps_per_execution(25, default, steps_per_epoch=40), 20)
        self.assertEqual(resolve_steps_per_execution(25, default, steps_per_epoch=7), 7)
        self.assertEqual(resolve_steps_per_execution(25, mirrored), 1)
        self.assertEqual(resolve_steps_per_execution(0, default), 1)

    def test_chief(self):
        workers = {"worker": ["localhost:1", "localhost:2"]}
        fake = lambda r: types.SimpleNamespace(cluster_resolver=r)  # noqa: E731
        self.assertTrue(is_chief(get_strategy("default")))
        self.assertTrue(is_chief(fake(_resolver("worker", 0, workers))))
        self.assertFalse(is_chief(fake(_resolver("worker", 1, workers))))
        with_chief = {"chief": ["localhost:3"], **workers}
        self.assertFalse(is_chief(fake(_resolver("worker", 0, with_chief))))
        self.assertTrue(is_chief(fake(_resolver("chief", 0, with_chief))))


class MirroredMatchesDefaultTest(tf.test.TestCase):
    """The same tiny training, on one device and mirrored over two, ends alike."""

    def train(self, strategy, adversarial_epsilon):
        texts = [t for t, _ in EXAMPLES]
        labels = [int(label == "positive") for _, label in EXAMPLES]
        set_seed(0)
        encoder = ClassificationPreprocessor(train_tokenizer("wordpiece", texts, 100),
                                             sequence_length=16)
        data = encoder.dataset(texts, labels, 16, bucket=False)
        set_seed(0)
        with strategy.scope():
            model = TransformerClassifier(100, 2, 16, hidden_dim=16, num_layers=1,
                                          num_heads=2, intermediate_dim=32, dropout=0.0,
                                          adversarial_epsilon=adversarial_epsilon)
            model.compile(adamw(3e-3, total_steps=24, warmup_steps=2),
                          keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          jit_compile=False)
        return model.fit(data, epochs=3, verbose=0).history["loss"]

    def test_losses_match(self):
        for epsilon in (0.0, 0.1):  # plain and adversarial training steps
            single = self.train(get_strategy("default"), epsilon)
            mirrored = self.train(get_strategy("mirrored"), epsilon)
            self.assertLess(single[-1], single[0])  # it learned something
            self.assertAllClose(single, mirrored, rtol=1e-3, atol=1e-4, msg=f"epsilon {epsilon}")
