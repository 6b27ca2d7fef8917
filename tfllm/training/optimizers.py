"""AdamW with linear warmup and cosine decay, the one optimizer tasks use."""

import keras
import tensorflow as tf

# Norm scales and biases are not decayed, as in BERT and GPT training.
_NO_DECAY = ["bias", "gamma", "beta", "scale"]


class ReplicaSafeAdamW(keras.optimizers.AdamW):
    """AdamW whose global-norm clipping sees the gradient of the whole batch.

    Keras 3 (checked on 3.15) clips in the replica context, before gradients
    are summed across replicas, so under MirroredStrategy each replica's half
    gradient is clipped on its own and training differs from one device.
    Here the replicas first sum their gradients, the sum is clipped, and each
    replica hands on `clipped / replicas`, which Keras' own all-reduce then
    sums back to the clipped total. The price is one extra all-reduce per
    step, paid only with clipping on and more than one replica.
    """

    def _clip_gradients(self, grads):
        context = tf.distribute.get_replica_context()
        if not self.global_clipnorm or context is None or context.num_replicas_in_sync == 1:
            return super()._clip_gradients(grads)
        present = [i for i, g in enumerate(grads) if g is not None]
        total = context.all_reduce(tf.distribute.ReduceOp.SUM, [grads[i] for i in present])
        clipped = super()._clip_gradients(total)  # Keras' clipping, as on one device
        grads = list(grads)
        for i, g in zip(present, clipped):
            # scalar_mul scales IndexedSlices too.
            grads[i] = tf.math.scalar_mul(1.0 / context.num_replicas_in_sync, g)
        return grads


def adamw(learning_rate, total_steps, warmup_steps=0, weight_decay=0.01,
          clipnorm=1.0, final_learning_rate_ratio=0.1, beta_2=0.999, ema_momentum=0.0):
    """AdamW whose rate rises linearly for `warmup_steps`, then decays by a cosine.

    The rate ends at `final_learning_rate_ratio * learning_rate` after
    `total_steps`. Gradients are clipped to global norm `clipnorm` (0: off).
    With `ema_momentum > 0` the optimizer also keeps an exponential moving
    average of the weights; `tfllm.training.loop.fit` evaluates, selects and
    ends with those averaged weights.

    Example:

    >>> optimizer = adamw(1e-3, total_steps=2000, warmup_steps=100)
    """
    warmup_steps = min(warmup_steps, max(total_steps - 1, 0))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else learning_rate,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=final_learning_rate_ratio,
        warmup_target=learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )
    optimizer = ReplicaSafeAdamW(
        learning_rate=schedule,
        weight_decay=weight_decay,
        beta_2=beta_2,
        global_clipnorm=clipnorm or None,
        use_ema=ema_momentum > 0,
        ema_momentum=ema_momentum or 0.99,
    )
    optimizer.exclude_from_weight_decay(var_names=_NO_DECAY)
    return optimizer
