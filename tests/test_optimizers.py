import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.training.optimizers import adamw


class AdamWTest(tf.test.TestCase):

    def test_warmup_then_cosine_decay(self):
        optimizer = adamw(1e-3, total_steps=1000, warmup_steps=100)
        rate = optimizer._learning_rate  # the schedule (the public one is its value now)
        self.assertAllClose(float(rate(0)), 0.0)
        self.assertAllClose(float(rate(50)), 5e-4)
        self.assertAllClose(float(rate(100)), 1e-3)
        self.assertAllClose(float(rate(1000)), 1e-4)
        self.assertLess(float(rate(600)), float(rate(300)))

    def test_no_warmup_clipping_and_decay_exclusions(self):
        optimizer = adamw(1e-3, total_steps=10, warmup_steps=0, clipnorm=0.5, beta_2=0.99)
        self.assertEqual(optimizer.beta_2, 0.99)
        self.assertFalse(optimizer.use_ema)
        self.assertTrue(adamw(1e-3, total_steps=10, ema_momentum=0.99).use_ema)
        self.assertAllClose(float(optimizer._learning_rate(0)), 1e-3)
        self.assertEqual(optimizer.global_clipnorm, 0.5)
        bias = tf.Variable([1.0], name="bias")
        kernel = tf.Variable([1.0], name="kernel")
        self.assertFalse(optimizer._use_weight_decay(bias))
        self.assertTrue(optimizer._use_weight_decay(kernel))
