"""Decoding strategies over keras-hub samplers.

`make_sampler` turns flag values into a keras-hub sampler (greedy, top-k,
top-p, beam, or plain random sampling), each with a temperature and, where
random, a seed. `RequestSampler` is the one used inside exported graphs: its
temperature, top-k, top-p and seed are *tensors*, so a serving request can
choose them, and its randomness is stateless, so the same request with the
same seed gives the same text.

Example:

>>> sampler = make_sampler("top_p", temperature=0.8, top_p=0.9, seed=1)
>>> token_ids = model.generate(prompt_ids, prompt_mask, sampler)
"""

import keras_hub
import tensorflow as tf
from keras import ops

from tfllm.compat import StepIndexedSampler

SAMPLERS = ("greedy", "top_k", "top_p", "beam", "random")


def make_sampler(name, *, temperature=1.0, top_k=10, top_p=0.9, num_beams=4, seed=None):
    """A keras-hub sampler from flag-style settings.

    greedy and beam ignore `temperature`'s randomness (beam still scales by
    it, as keras-hub does); top_k samples among the `top_k` likeliest tokens;
    top_p among the smallest set whose probability reaches `top_p`; random
    from the whole distribution. `seed` makes the random ones repeatable.
    """
    samplers = keras_hub.samplers
    if name == "greedy":
        return samplers.GreedySampler()
    if name == "top_k":
        return samplers.TopKSampler(k=top_k, seed=seed, temperature=temperature)
    if name == "top_p":
        return samplers.TopPSampler(p=top_p, seed=seed, temperature=temperature)
    if name == "beam":
        return samplers.BeamSampler(num_beams=num_beams, temperature=temperature)
    if name == "random":
        return samplers.RandomSampler(seed=seed, temperature=temperature)
    raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {name!r}")


class RequestSampler(StepIndexedSampler):
    """Temperature + top-k + top-p sampling with settings given as tensors.

    * `temperature <= 0` or `top_p <= 0` means greedy (argmax);
    * `top_k <= 0` means no top-k limit;
    * `top_p >= 1` means no nucleus limit;
    * `seed` (int) with the step index seeds a stateless draw, so the
      sampler holds no variable and a request is repeatable.

    Both limits apply together (top-k first, then top-p within it), the
    usual convention of serving stacks.

    Example:

    >>> sampler = RequestSampler(temperature=0.7, top_k=40, top_p=0.95, seed=3)
    >>> token_ids = model.generate(prompt_ids, prompt_mask, sampler)
    """

    def __init__(self, temperature=1.0, top_k=0, top_p=1.0, seed=0):
        super().__init__(temperature=temperature)
        self.top_k = top_k
        self.top_p = top_p
        self.seed = seed

    def compute_probabilities(self, logits):
        temperature = ops.cast(self.temperature, "float32")
        # Greedy rows still need finite numbers here; argmax ignores scale.
        scale = ops.where(temperature > 0, temperature, 1.0)
        return ops.softmax(ops.cast(logits, "float32") / scale, axis=-1)

    def get_next_token(self, probabilities):
        return filtered_sample(probabilities, self.temperature, self.top_k, self.top_p,
                               self.seed, self.step_index)


def filtered_sample(probabilities, temperature, top_k, top_p, seed, step):
    """Samples one id per row after top-k / top-p filtering (see RequestSampler)."""
    probabilities = tf.convert_to_tensor(probabilities, tf.float32)
    vocab = tf.shape(probabilities)[-1]
    top_k = tf.cast(top_k, tf.int32)
    k = tf.where((top_k <= 0) | (top_k > vocab), vocab, top_k)
    # One descending sort serves both limits.
    sorted_probs = tf.sort(probabilities, axis=-1, direction="DESCENDING")
    kth = tf.gather(sorted_probs, k - 1, axis=-1)[:, None]
    keep = probabilities >= kth
    # Nucleus within the top k: keep tokens whose preceding mass is below p,
    # which always keeps the likeliest token.
    in_k = tf.range(vocab)[None, :] < k
    sorted_probs = tf.where(in_k, sorted_probs, 0.0)
    preceding = tf.cumsum(sorted_probs, axis=-1, exclusive=True) / tf.reduce_sum(
        sorted_probs, axis=-1, keepdims=True)
    top_p = tf.cast(top_p, tf.float32)
    nucleus = tf.where(in_k & (preceding < top_p), sorted_probs, 2.0)
    threshold = tf.reduce_min(nucleus, axis=-1, keepdims=True)
    keep &= probabilities >= threshold
    logits = tf.where(keep, tf.math.log(probabilities), -1e9)
    seed_pair = tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])
    sampled = tf.random.stateless_categorical(logits, 1, seed=seed_pair, dtype=tf.int32)[:, 0]
    greedy = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
    # A nucleus of mass 0 would keep no token at all: like temperature 0, greedy.
    sample = (tf.cast(temperature, tf.float32) > 0) & (top_p > 0)
    return tf.where(sample, sampled, greedy)
