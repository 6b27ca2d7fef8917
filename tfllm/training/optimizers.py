"""AdamW with linear warmup, then cosine or inverse-square-root decay: the optimizer of tasks."""

import keras
import tensorflow as tf
from keras import ops

from tfllm.compat import ClipAfterSum, optimizer_slot

# Norm scales and biases are not decayed, as in BERT and GPT training.
_NO_DECAY = ["bias", "gamma", "beta", "scale"]


class ReplicaSafeAdamW(ClipAfterSum, keras.optimizers.AdamW):
    """AdamW whose global-norm clipping sees the gradient of the whole batch,
    under every strategy (see `tfllm.compat.ClipAfterSum`), and whose rate
    may differ by variable: `learning_rate_multipliers` maps variable paths
    to factors of the schedule's rate (layer-wise decay; others train at 1).

    Example:

    >>> ReplicaSafeAdamW(1e-3, learning_rate_multipliers={"bert/token_embedding/embeddings": 0.5})
    """

    def __init__(self, *args, learning_rate_multipliers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.learning_rate_multipliers = dict(learning_rate_multipliers or {})

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._factors = [self.learning_rate_multipliers.get(v.path, 1.0) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        factor = optimizer_slot(self, self._factors, variable)
        if factor != 1.0:
            learning_rate = learning_rate * factor
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(),
                "learning_rate_multipliers": self.learning_rate_multipliers}


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
          decay="cosine", learning_rate_multipliers=None):
    """AdamW whose rate rises linearly for `warmup_steps`, then decays.

    With `decay="cosine"` the rate ends at `final_learning_rate_ratio *
    learning_rate` after `total_steps`; with `"inverse_sqrt"` it falls as
    one over the square root of the step. Gradients are clipped to global
    norm `clipnorm` (0: off).
    With `ema_momentum > 0` the optimizer also keeps an exponential moving
    average of the weights; `tfllm.training.loop.fit` evaluates, selects and
    ends with those averaged weights. `learning_rate_multipliers` scale the
    rate of the variables they name (see `ReplicaSafeAdamW`).

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
        learning_rate_multipliers=learning_rate_multipliers,
    )
    optimizer.exclude_from_weight_decay(var_names=_NO_DECAY)
    return optimizer


def _capped_rows(gradient, cap):
    """`gradient` with each index's rows scaled so that they add up to at
    most `cap` rows' worth. The rows stay apart: the scatter update adds up
    an index's rows itself, and summing them here first cost a step more."""
    _, position = tf.unique(gradient.indices)
    count = tf.cast(tf.math.bincount(position), gradient.values.dtype)
    scale = tf.gather(tf.minimum(1.0, cap / count), position)
    return tf.IndexedSlices(gradient.values * scale[:, None], gradient.indices,
                            gradient.dense_shape)


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
    """AdaGrad as glove.c runs it, updating only the rows a sparse gradient
    touches.

    glove.c accumulates the square of each scaled step, `(lr * g)^2`, onto
    an accumulator that starts at 1, and moves by `lr * g / sqrt(accumulator)`:
    early steps are plain SGD at `lr`, later ones AdaGrad's. (Keras' Adagrad
    accumulates `g^2` and scales by `lr`, which for GloVe's `lr = 0.05` makes
    steps 20 times smaller once the accumulator has grown, and it turns an
    embedding's sparse gradient into a dense one.) A row the batch touches
    several times accumulates each example's square, as glove.c's one-by-one
    updates would, and moves by their sum; rows the batch does not touch stay
    as they are. Dense gradients update the same way.

    Example:

    >>> model.compile(optimizer=SparseAdagrad(0.05))
    """

    def __init__(self, learning_rate=0.05, initial_accumulator_value=1.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value

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
            step = learning_rate * gradient
            self.assign_sub(variable, step / tf.sqrt(accumulator))
            self.assign_add(accumulator, tf.square(step))
            return
        rows, position = tf.unique(gradient.indices)
        steps = learning_rate * gradient.values
        summed = tf.math.unsorted_segment_sum(steps, position, tf.size(rows))
        squares = tf.math.unsorted_segment_sum(tf.square(steps), position, tf.size(rows))
        scale = tf.sqrt(tf.gather(accumulator, rows))
        self.assign_sub(variable, tf.IndexedSlices(summed / scale, rows))
        self.assign_add(accumulator, tf.IndexedSlices(squares, rows))

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value}
