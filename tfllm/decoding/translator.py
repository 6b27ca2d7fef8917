"""Source sentences to translations (greedy or beam search), and pairs to log-probabilities.

`Translator` pairs a `Seq2SeqTransformer` with its `Seq2SeqPreprocessor`.
Everything is TF ops, so the export's signatures call it inside the serving
graph. The encoder runs once per batch, each decoder block's cross-attention
keys and values once, and every new token costs one cached step.

Rules, the same in Python and in the export:

* a translation has at most `source tokens + max_extra` tokens (its end
  token included), nor more than `max_length` when one is given, nor more
  than the model's `sequence_length`;
  a longer source is cut to its first `sequence_length - 1` tokens;
* an empty (or all-whitespace) source translates to "";
* invalid UTF-8 in a source becomes U+FFFD before tokenization;
* an empty batch gives an empty batch.

Example:

>>> translator = Translator(model, preprocessor)
>>> translator.translate(tf.constant(["Ein Hund läuft."]), num_beams=4)
<tf.Tensor: shape=(1,), dtype=string, numpy=array([b'A dog is running.'], dtype=object)>
"""

import keras_hub
import tensorflow as tf

from tfllm.decoding.beam_search import beam_search


class Translator:
    """Translations and scores with `model` and `preprocessor`, in TF ops.

    Example:

    >>> translator = Translator(model, preprocessor)
    >>> translator.score(tf.constant(["Ein Hund."]), tf.constant(["A dog."]))["log_probability"]
    """

    def __init__(self, model, preprocessor):
        self.model = model
        self.preprocessor = preprocessor

    def _max_lengths(self, source_ids, max_extra, max_length=0):
        lengths = tf.cast(source_ids.row_lengths(), tf.int32) + tf.cast(max_extra, tf.int32)
        cap = tf.cast(max_length, tf.int32)
        cap = tf.where(cap > 0, tf.minimum(cap, self.model.sequence_length),
                       self.model.sequence_length)
        return tf.clip_by_value(lengths, 1, cap)

    def _start(self, source_ids, max_lengths):
        """Encodes the sources and primes the caches with the start token:
        `(encoded, source_mask, self_cache, cross_cache)`."""
        dense = source_ids.to_tensor()
        encoded, mask = self.model.encode(dense)
        batch, source_length = tf.shape(dense)[0], tf.shape(dense)[1]
        self_cache, cross_cache = self.model.empty_caches(batch, source_length,
                                                          tf.reduce_max(max_lengths) + 1)
        start = tf.fill([batch, 1], self.preprocessor.start_id)
        _, self_cache, cross_cache = self.model.call_with_cache(
            start, encoded, mask, self_cache, cross_cache, 0, fill_cross_cache=True)
        return encoded, mask, self_cache, cross_cache

    def greedy_ids(self, source_ids, max_lengths):
        """Greedy decoding with keras-hub's `GreedySampler`: ids `[batch, longest]`."""
        encoded, mask, self_cache, cross_cache = self._start(source_ids, max_lengths)
        batch, longest = tf.shape(encoded)[0], tf.reduce_max(max_lengths)
        prompt = tf.concat([tf.fill([batch, 1], self.preprocessor.start_id),
                            tf.zeros([batch, longest], tf.int32)], axis=1)
        prompt_mask = tf.concat([tf.ones([batch, 1], tf.bool),
                                 tf.zeros([batch, longest], tf.bool)], axis=1)

        def next_token(prompt, cache, index):
            last = prompt[:, index - 1:index]
            logits, cache, _ = self.model.call_with_cache(last, encoded, mask, cache,
                                                          cross_cache, index - 1)
            return logits[:, 0], None, cache

        ids = keras_hub.samplers.GreedySampler()(
            next_token, prompt, cache=self_cache, index=1, mask=prompt_mask,
            stop_token_ids=[self.preprocessor.end_id])[:, 1:]
        # A row's last allowed position holds its end token, as in beam search.
        position, last = tf.range(longest)[None], max_lengths[:, None] - 1
        return tf.where(position < last, ids,
                        tf.where(position == last, self.preprocessor.end_id, 0))

    def beam_ids(self, source_ids, max_lengths, num_beams, length_penalty=0.0, n_best=1,
                 use_cache=True):
        """Beam search (see `tfllm.decoding.beam_search`): `(ids [batch, n_best,
        longest], scores [batch, n_best])`. `use_cache=False` recomputes every
        prefix in full at each step (slow; it checks the cached path)."""
        encoded, mask, self_cache, cross_cache = self._start(source_ids, max_lengths)
        model = self.model

        def cached_step(sequences, index, state):
            self_cache, cross_cache, encoded, mask = state
            logits, self_cache, cross_cache = model.call_with_cache(
                sequences[:, index:index + 1], encoded, mask, self_cache, cross_cache, index)
            return logits[:, 0], (self_cache, cross_cache, encoded, mask)

        def full_step(sequences, index, state):
            _, _, encoded, mask = state
            return model.decode(sequences[:, :index + 1], encoded, mask)[:, -1], state

        return beam_search(cached_step if use_cache else full_step,
                           (self_cache, cross_cache, encoded, mask), tf.shape(encoded)[0],
                           self.preprocessor.start_id, self.preprocessor.end_id, max_lengths,
                           num_beams, length_penalty, n_best)

    def translate(self, texts, num_beams=1, length_penalty=0.0, max_extra=10, max_length=0):
        """String tensor `[batch]` of sources -> string tensor of translations;
        `num_beams <= 1` decodes greedily; `max_length > 0` caps every
        translation at that many tokens."""
        def run():
            source_ids = self.preprocessor.encode_source(texts)
            max_lengths = self._max_lengths(source_ids, max_extra, max_length)
            ids = tf.cond(
                tf.cast(num_beams, tf.int32) > 1,
                lambda: self.beam_ids(source_ids, max_lengths, num_beams, length_penalty)[0][:, 0],
                lambda: self.greedy_ids(source_ids, max_lengths))
            empty = tf.equal(tf.strings.strip(texts), "")
            return tf.where(empty, "", self.preprocessor.detokenize(ids))

        return tf.cond(tf.size(texts) > 0, run, lambda: tf.zeros([0], tf.string))

    def score(self, sources, targets):
        """`{"log_probability": [batch], "tokens": [batch]}`: the summed
        log-probability (nats) of each target (its end token included) given
        its source, and how many tokens that counts."""
        source_ids = self.preprocessor.encode_source(sources).to_tensor()
        target_ids = self.preprocessor.encode_target(targets).to_tensor()
        logits = self.model((source_ids, target_ids[:, :-1]), training=False)
        labels = target_ids[:, 1:]
        weights = tf.cast(labels != 0, tf.float32)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return {"log_probability": -tf.reduce_sum(nll * weights, axis=-1),
                "tokens": tf.cast(tf.reduce_sum(weights, axis=-1), tf.int32)}
