"""AdamW with linear warmup, then cosine or inverse-square-root decay: the optimizer of tasks."""

import keras
import tensorflow as tf
from keras import ops

from tfllm.compat import ClipAfterSum, optimizer_slot

# Norm scales and biases are not decayed, as in BERT and GPT training.
_NO_DECAY = ["bias", "gamma", "beta", "scale"]


class ReplicaSafeAdamW(ClipAfterSum, keras.optimizers.AdamW):
    """AdamW whose global-norm clipping sees the gradient of the whole batch,
    under every strategy (see `tfllm.compat.ClipAfterSum`)."""


DECAYS = ("cosine", "inverse_sqrt")


class WarmupInverseSquareRoot(keras.optimizers.schedules.LearningRateSchedule):
    """A linear rise to `peak` over `warmup_steps`, then `peak * sqrt(warmup_steps
    / step)`: the Transformer's schedule (Vaswani et al., 2017), which Keras
    does not have (its `InverseTimeDecay` falls as 1/t, not 1/sqrt(t)).

    Example:

    >>> schedule = WarmupInverseSquareRoot(1e-3, warmup_steps=4000)
    >>> float(schedule(16000))
    0.0005
    """

    def __init__(self, peak, warmup_steps):
        self.peak = float(peak)
        self.warmup_steps = max(int(warmup_steps), 1)

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0
        warmup = ops.cast(self.warmup_steps, "float32")
        return self.peak * ops.minimum(step / warmup, ops.sqrt(warmup / step))

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps}


def schedule(learning_rate, total_steps, warmup_steps, decay="cosine",
             final_learning_rate_ratio=0.1):
    """The learning rate over training: linear warmup, then `decay`."""
    warmup_steps = min(warmup_steps, max(total_steps - 1, 0))
    if decay == "inverse_sqrt":
        return WarmupInverseSquareRoot(learning_rate, warmup_steps)
    if decay != "cosine":
        raise ValueError(f"--decay must be one of {', '.join(DECAYS)}, got {decay!r}")
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else learning_rate,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=final_learning_rate_ratio,
        warmup_target=learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def adamw(learning_rate, total_steps, warmup_steps=0, weight_decay=0.01,
          clipnorm=1.0, final_learning_rate_ratio=0.1, beta_2=0.999, ema_momentum=0.0,
          decay="cosine"):
    """AdamW whose rate rises linearly for `warmup_steps`, then decays.

    With `decay="cosine"` the rate ends at `final_learning_rate_ratio *
    learning_rate` after `total_steps`; with `"inverse_sqrt"` it falls as
    one over the square root of the step. Gradients are clipped to global
    norm `clipnorm` (0: off).
    With `ema_momentum > 0` the optimizer also keeps an exponential moving
    average of the weights; `tfllm.training.loop.fit` evaluates, selects and
    ends with those averaged weights.

    Example:

    >>> optimizer = adamw(1e-3, total_steps=2000, warmup_steps=100)
    """
    optimizer = ReplicaSafeAdamW(
        learning_rate=schedule(learning_rate, total_steps, warmup_steps, decay,
                               final_learning_rate_ratio),
        weight_decay=weight_decay,
        beta_2=beta_2,
        global_clipnorm=clipnorm or None,
        use_ema=ema_momentum > 0,
        ema_momentum=ema_momentum or 0.99,
    )
    optimizer.exclude_from_weight_decay(var_names=_NO_DECAY)
    return optimizer


def _capped_rows(gradient, cap):
    """A sparse gradient with one row per touched index: the sum of that
    index's rows, scaled down to `cap` rows' worth where it has more."""
    rows, position = tf.unique(gradient.indices)
    total = tf.math.unsorted_segment_sum(gradient.values, position, tf.size(rows))
    count = tf.math.unsorted_segment_sum(tf.ones_like(position, total.dtype), position,
                                         tf.size(rows))
    scale = tf.minimum(1.0, cap / count)
    return tf.IndexedSlices(total * scale[:, None], rows, gradient.dense_shape)


class RowCappedSGD(keras.optimizers.SGD):
    """Plain SGD whose sparse updates touch only the batch's rows, each
    moved by the sum of its gradients, at most `row_cap` of them.

    Word2vec's per-example updates, summed over a large batch, move a
    frequent word (a negative for hundreds of centres at once) by hundreds
    of steps taken from stale vectors, and training diverges. Capped, a
    row moves by at most `row_cap` examples' steps a batch, while a word
    seen a few times in the batch moves exactly as word2vec would move it.

    Example:

    >>> optimizer = RowCappedSGD(keras.optimizers.schedules.PolynomialDecay(0.025, 1000))
    """

    def __init__(self, learning_rate=0.025, row_cap=10, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.row_cap = float(row_cap)

    def update_step(self, gradient, variable, learning_rate):
        if isinstance(gradient, tf.IndexedSlices):
            gradient = _capped_rows(gradient, self.row_cap)
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "row_cap": self.row_cap}


class SparseAdagrad(keras.optimizers.Optimizer):
    """AdaGrad that updates only the rows a sparse gradient touches.

    Keras' Adagrad turns an embedding's sparse gradient into a dense one (its
    update divides by the whole accumulator), so each step would rewrite
    every row; here a row's squared-gradient sum and its value change only
    when the batch touches it, as in glove.c. Dense gradients update as
    usual.

    Example:

    >>> model.compile(optimizer=SparseAdagrad(0.05))
    """

    def __init__(self, learning_rate=0.05, initial_accumulator_value=1.0, epsilon=1e-8,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.accumulators = [
            self.add_variable_from_reference(
                variable, "accumulator",
                initializer=keras.initializers.Constant(self.initial_accumulator_value))
            for variable in variables]

    def update_step(self, gradient, variable, learning_rate):
        accumulator = optimizer_slot(self, self.accumulators, variable)
        learning_rate = tf.cast(learning_rate, variable.dtype)
        if not isinstance(gradient, tf.IndexedSlices):
            self.assign_add(accumulator, tf.square(gradient))
            self.assign_sub(variable, learning_rate * gradient
                            / tf.sqrt(accumulator + self.epsilon))
            return
        rows, position = tf.unique(gradient.indices)
        summed = tf.math.unsorted_segment_sum(gradient.values, position, tf.size(rows))
        self.assign_add(accumulator, tf.IndexedSlices(tf.square(summed), rows))
        scale = tf.sqrt(tf.gather(accumulator, rows) + self.epsilon)
        self.assign_sub(variable, tf.IndexedSlices(learning_rate * summed / scale, rows))

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
