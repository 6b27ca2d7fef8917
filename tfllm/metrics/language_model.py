"""Token-level cross-entropy and perplexity of a causal language model.

Everything is counted per *predicted token*: a text of n tokens cut into
windows of `sequence_length` predictions has n - 1 predicted tokens (the very
first token is context only), each predicted once. The loss is the mean
negative log-likelihood in nats per token; perplexity is `exp(loss)`.

Example:

>>> result = evaluate_language_model(model, val_ids, sequence_length=64)
>>> result["loss"], result["perplexity"], result["tokens"]
(1.47, 4.35, 100385)
"""

import math

import numpy as np
import tensorflow as tf

from tfllm.data.packing import pack_for_evaluation


def perplexity(loss_nats):
    """exp(loss), or inf when it would overflow."""
    try:
        return math.exp(loss_nats)
    except OverflowError:
        return float("inf")


def window_nll(model, inputs, targets, weights=None):
    """Per-window summed NLL (nats) and number of scored tokens.

    `inputs`, `targets`: int `[windows, length]`; `weights` marks real
    targets (default: all). Computed in float32 from logits.
    """
    logits = model(inputs, training=False)
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(targets, tf.int32), logits=tf.cast(logits, tf.float32))
    weights = tf.ones_like(nll) if weights is None else tf.cast(weights, tf.float32)
    return tf.reduce_sum(nll * weights, axis=-1), tf.reduce_sum(weights, axis=-1)


def text_nll(model, token_ids, sequence_length):
    """Summed NLL and predicted-token count for each row of ragged `token_ids`.

    Each text is cut into windows exactly as `pack_for_evaluation` cuts a
    stream (stride `sequence_length`, context restarting at every window), so
    scoring one text here equals the evaluation loss of that text. Works in
    graph mode (the exported `score` signature uses it).
    """
    token_ids = tf.cast(token_ids, tf.int32)
    length = sequence_length
    lengths = tf.cast(token_ids.row_lengths(), tf.int32)
    batch = token_ids.nrows(out_type=tf.int32)
    windows = tf.maximum((tf.reduce_max(lengths) - 1 + length - 1) // length, 1)
    width = windows * length + 1
    dense = token_ids.to_tensor(default_value=0, shape=tf.stack([batch, width]))
    mask = tf.cast(tf.sequence_mask(lengths, width), tf.float32)
    framed = tf.reshape(tf.signal.frame(dense, length + 1, length), [-1, length + 1])
    framed_mask = tf.reshape(tf.signal.frame(mask, length + 1, length), [-1, length + 1])
    nll, count = window_nll(model, framed[:, :-1], framed[:, 1:], framed_mask[:, 1:])
    nll = tf.reduce_sum(tf.reshape(nll, [batch, windows]), axis=-1)
    count = tf.reduce_sum(tf.reshape(count, [batch, windows]), axis=-1)
    return nll, tf.cast(count, tf.int32)


def evaluate_language_model(model, token_ids, sequence_length, batch_size=64, jit_compile=False):
    """Loss (nats/token), perplexity and token count over a whole token stream.

    Every token after the first is predicted once; the exact sum over all
    windows is divided by the exact count (no average of batch averages).
    """
    inputs, targets, weights = pack_for_evaluation(token_ids, sequence_length)
    if len(inputs) == 0:
        raise ValueError("evaluation text has fewer than two tokens")
    step = tf.function(lambda x, y, w: window_nll(model, x, y, w), jit_compile=jit_compile)
    total, count = 0.0, 0.0
    for start in range(0, len(inputs), batch_size):
        # A fixed batch shape avoids retracing for the last, shorter batch.
        stop = start + batch_size
        x, y, w = inputs[start:stop], targets[start:stop], weights[start:stop]
        pad = batch_size - len(x)
        if pad:
            x, y = np.pad(x, [(0, pad), (0, 0)]), np.pad(y, [(0, pad), (0, 0)])
            w = np.pad(w, [(0, pad), (0, 0)])
        nll, n = step(x, y, w)
        total += float(tf.reduce_sum(nll))
        count += float(tf.reduce_sum(n))
    loss = total / count
    return {"loss": loss, "perplexity": perplexity(loss), "tokens": int(count)}


class TrainingThroughput:
    """A Keras callback measuring steady-state training steps per second.

    The first execution (tracing and XLA compilation) and validation passes
    are left out, so `tokens_per_second(tokens_per_step)` is the rate of the
    training steps themselves. `compile_seconds` is the first execution.

    Example:

    >>> speed = TrainingThroughput()
    >>> model.fit(data, epochs=1, steps_per_epoch=100, callbacks=[speed.callback])
    >>> speed.tokens_per_second(batch_size * sequence_length)
    """

    def __init__(self):
        import time

        import keras

        self._clock = time.perf_counter
        self.steps = 0
        self.seconds = 0.0
        self.compile_seconds = None
        outer = self

        class _Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                outer._start = outer._clock()
                outer._skip = 0
                outer._last = None

            def on_train_batch_end(self, batch, logs=None):
                now = outer._clock()
                if outer.compile_seconds is None:
                    outer.compile_seconds = now - outer._start
                    outer._start, outer._skip = now, batch + 1
                outer._last, outer._done = now, batch + 1

            def on_epoch_end(self, epoch, logs=None):
                if outer._last is not None:
                    outer.steps += outer._done - outer._skip
                    outer.seconds += outer._last - outer._start

        self.callback = _Callback()

    @property
    def steps_per_second(self):
        return self.steps / self.seconds if self.seconds else float("nan")

    def tokens_per_second(self, tokens_per_step):
        return self.steps_per_second * tokens_per_step
