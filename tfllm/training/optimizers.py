"""AdamW with linear warmup and cosine decay, the one optimizer tasks use."""

import keras

# Norm scales and biases are not decayed, as in BERT and GPT training.
_NO_DECAY = ["bias", "gamma", "beta", "scale"]


def adamw(learning_rate, total_steps, warmup_steps=0, weight_decay=0.01,
          clipnorm=1.0, final_learning_rate_ratio=0.1):
    """AdamW whose rate rises linearly for `warmup_steps`, then decays by a cosine.

    The rate ends at `final_learning_rate_ratio * learning_rate` after
    `total_steps`. Gradients are clipped to global norm `clipnorm` (0: off).

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
    optimizer = keras.optimizers.AdamW(
        learning_rate=schedule,
        weight_decay=weight_decay,
        global_clipnorm=clipnorm or None,
    )
    optimizer.exclude_from_weight_decay(var_names=_NO_DECAY)
    return optimizer
