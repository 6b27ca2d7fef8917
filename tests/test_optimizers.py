import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.training.optimizers import adamw, schedule


class AdamWTest(tf.test.TestCase):

    def test_warmup_then_cosine_decay(self):
        rate = schedule(1e-3, total_steps=1000, warmup_steps=100)
        self.assertAllClose(float(rate(0)), 0.0)
        self.assertAllClose(float(rate(50)), 5e-4)
        self.assertAllClose(float(rate(100)), 1e-3)
        self.assertAllClose(float(rate(1000)), 1e-4)
        self.assertLess(float(rate(600)), float(rate(300)))

    def test_warmup_then_inverse_square_root(self):
        rate = schedule(1e-3, total_steps=10**6, warmup_steps=100, decay="inverse_sqrt")
        self.assertAllClose(float(rate(49)), 5e-4)  # step 50 of the warmup
        self.assertAllClose(float(rate(99)), 1e-3)
        self.assertAllClose(float(rate(399)), 5e-4)  # sqrt(100 / 400)
        self.assertAllClose(float(rate(9999)), 1e-4)
        self.assertAllClose(float(adamw(1e-3, 1000, 100, decay="inverse_sqrt").learning_rate),
                            float(rate(0)))  # the optimizer's rate at its first step
        with self.assertRaisesRegex(ValueError, "--decay must be one of cosine, inverse_sqrt"):
            schedule(1e-3, 100, 10, decay="linear")

    def test_no_warmup_clipping_and_decay_exclusions(self):
        optimizer = adamw(1e-3, total_steps=10, warmup_steps=0, clipnorm=0.5, beta_2=0.99)
        self.assertEqual(optimizer.beta_2, 0.99)
        self.assertFalse(optimizer.use_ema)
        self.assertTrue(adamw(1e-3, total_steps=10, ema_momentum=0.99).use_ema)
        self.assertAllClose(float(schedule(1e-3, total_steps=10, warmup_steps=0)(0)), 1e-3)
        self.assertEqual(optimizer.global_clipnorm, 0.5)
        bias = tf.Variable([1.0], name="bias")
        kernel = tf.Variable([1.0], name="kernel")
        self.assertFalse(optimizer._use_weight_decay(bias))
        self.assertTrue(optimizer._use_weight_decay(kernel))
