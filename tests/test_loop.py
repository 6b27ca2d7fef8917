import os
import sys

import keras
import numpy as np
import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.runtime import set_seed
from tfllm.training.loop import ProgressLines, clear_finished, fit


def data(seed, flip=False):
    """A separable task; `flip` swaps its labels, so training on it only hurts."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = ((x[:, 0] > 0) != flip).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(16)


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


class SabotageCallback(keras.callbacks.Callback):
    """After epoch 3, flips the model's predictions and stops it from learning,
    so every later epoch is worse than the best one."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 2:
            self.model.set_weights([-w for w in self.model.get_weights()])
            self.model.optimizer.learning_rate.assign(0.0)


class TraceCounter(keras.Model):
    """Counts how often `fit` traces its train step (Python runs it only then)."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)
        self.traces = 0

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        self.traces += 1
        return super().train_step(data)


class FitTest(tf.test.TestCase):

    def train(self, model_dir, ema_momentum=None, model=None, train_data=None, seed=3,
              **kwargs):
        set_seed(seed)
        model = model or keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(keras.optimizers.Adam(0.05, use_ema=bool(ema_momentum),
                                            ema_momentum=ema_momentum or 0.99),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        history, seconds = fit(model, train_data or data(0), data(1), model_dir=model_dir,
                               verbose=0, **kwargs)
        return model, history, seconds

    def test_same_seed_same_training(self):
        root = self.get_temp_dir()
        _, first, seconds = self.train(os.path.join(root, "a"), epochs=2)
        _, second, _ = self.train(os.path.join(root, "b"), epochs=2)
        self.assertEqual(first.history["loss"], second.history["loss"])
        self.assertGreater(seconds, 0)
        self.assertNotEmpty(os.listdir(os.path.join(root, "a", "logs")))  # TensorBoard

    def test_the_train_step_is_traced_once(self):
        # Its optimizer's slots exist before the first trace: a trace that
        # created them would be traced again (see tfllm.compat).
        model, _, _ = self.train(self.get_temp_dir(), model=TraceCounter(), epochs=2)
        self.assertEqual(model.traces, 1)
        self.assertNotEmpty(model.optimizer.variables)

    def test_a_profile_of_the_steps_asked_for_is_written_with_the_logs(self):
        root = self.get_temp_dir()
        self.train(root, epochs=1, profile_steps=(2, 3))
        profiles = tf.io.gfile.glob(os.path.join(root, "logs", "train", "plugins", "profile",
                                                 "*", "*.xplane.pb"))
        self.assertLen(profiles, 1)

    def test_profile_steps_past_the_stage_are_reported(self):
        from types import SimpleNamespace as Namespace

        from tfllm.task import _Runner

        def asked(first, last, epochs=2, steps=6, per_call=2):  # 6 calls in the stage
            runner = Namespace(flags=Namespace(profile_steps=[str(first), str(last)]))
            with self.captureWritesToStream(sys.stdout) as printed:
                steps = _Runner._profile_steps(runner, Namespace(
                    name="train", epochs=epochs, steps_per_epoch=steps),
                    Namespace(steps_per_execution=per_call))
            return steps, printed.contents()

        self.assertEqual(asked(2, 6), ([2, 6], ""))
        steps, said = asked(5, 7)
        self.assertEqual(steps, [5, 7])
        self.assertIn("stage train makes only 6 calls; the profile ends with the last", said)
        self.assertIn("nothing of it is profiled", asked(7, 8)[1])

    def test_progress_lines_within_an_epoch_in_a_log(self):
        ticks = iter(range(0, 1000, 20))  # 20 "seconds" between batches
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        with self.captureWritesToStream(sys.stdout) as printed:
            model.fit(data(0), epochs=1, verbose=0,
                      callbacks=[ProgressLines(seconds=30, clock=lambda: next(ticks))])
        lines = printed.contents().splitlines()
        # Four batches, 20 s apart: lines after the second and the fourth.
        self.assertEqual([line.split(" - ")[0] for line in lines],
                         ["  epoch 1 step 2/4", "  epoch 1 step 4/4"])
        self.assertRegex(lines[0], r"loss: \d+\.\d{4}$")

    def test_early_stopping_keeps_the_best_epoch(self):
        root = self.get_temp_dir()
        model, history, _ = self.train(os.path.join(root, "c"), epochs=8, patience=2,
                                       monitor="val_accuracy", callbacks=[SabotageCallback()])
        self.assertLess(len(history.epoch), 8)  # stopped early
        best = max(history.history["val_accuracy"])
        self.assertLess(history.history["val_accuracy"][-1], best)
        _, accuracy = model.evaluate(data(1), verbose=0)
        self.assertAllClose(accuracy, best)  # the best epoch's weights were restored

    def test_moving_average_is_what_is_evaluated_kept_and_returned(self):
        root = self.get_temp_dir()
        # So slow an average stays near the weights after the first step, far
        # from the trained ones: evaluating one and returning the other shows.
        model, history, _ = self.train(os.path.join(root, "d"), epochs=3, ema_momentum=0.9999)
        plain, plain_history, _ = self.train(os.path.join(root, "e"), epochs=3)
        loss, _ = model.evaluate(data(1), verbose=0)
        self.assertAllClose(loss, history.history["val_loss"][-1], atol=1e-5)
        self.assertGreater(loss, plain_history.history["val_loss"][-1] + 0.1)

    def test_early_stopping_keeps_the_best_epochs_moving_average(self):
        root = self.get_temp_dir()
        model, history, _ = self.train(os.path.join(root, "f"), epochs=3, patience=2,
                                       ema_momentum=0.9999)
        loss, _ = model.evaluate(data(1), verbose=0)
        self.assertAllClose(loss, min(history.history["val_loss"]), atol=1e-5)

    def test_starting_weights_stay_when_no_epoch_beats_them(self):
        root = self.get_temp_dir()
        trained, _, _ = self.train(os.path.join(root, "g"), epochs=3)
        start = trained.get_weights()
        _, accuracy = trained.evaluate(data(1), verbose=0)
        for competes in (True, False):
            model = keras.models.clone_model(trained)
            model.set_weights(start)
            model, history, _ = self.train(
                os.path.join(root, f"h{competes}"), model=model, train_data=data(0, flip=True),
                epochs=2, patience=2, monitor="val_accuracy", start_competes=competes)
            self.assertLess(max(history.history["val_accuracy"]), accuracy)
            kept_start = all(np.array_equal(a, b) for a, b in zip(model.get_weights(), start))
            self.assertEqual(kept_start, competes)

    def test_start_competes_needs_a_validation_monitor(self):
        with self.assertRaisesRegex(ValueError, "validation monitor"):
            self.train(os.path.join(self.get_temp_dir(), "i"), epochs=1, patience=1,
                       monitor="loss", start_competes=True)

    def test_a_finished_stage_is_loaded_not_trained_again(self):
        model_dir = os.path.join(self.get_temp_dir(), "j")
        first, first_history, seconds = self.train(model_dir, epochs=2, more_stages_follow=True)
        counter = EpochCounter()
        again, history, again_seconds = self.train(model_dir, seed=5, epochs=2,
                                                   more_stages_follow=True, callbacks=[counter])
        self.assertEqual(counter.epochs, 0)
        self.assertEqual(history.history, first_history.history)
        self.assertEqual(again_seconds, seconds)
        for a, b in zip(again.get_weights(), first.get_weights()):
            self.assertAllEqual(a, b)

        clear_finished(model_dir)
        self.train(model_dir, seed=5, epochs=2, more_stages_follow=True, callbacks=[counter])
        self.assertEqual(counter.epochs, 2)
