"""The preprocessor of sequence-to-sequence tasks (translation): source and target text.

Sources become `ids </s>`, targets `<s> ids </s>`, both at most
`sequence_length` tokens; the decoder reads the target less its last token
and learns to predict it less its first. Text is NFKC-normalised, invalid
UTF-8 becomes U+FFFD and case is kept. The tokenizers are SentencePiece
(one shared vocabulary, or one per side), whose detokenization gives back
cased, properly spaced text.

Example:

>>> preprocessor = Seq2SeqPreprocessor.train(sources, targets, 8000, 64, joint=True)
>>> train = preprocessor.dataset(sources, targets, batch_size=64, shuffle=True, seed=0)
>>> preprocessor.detokenize(tf.constant([[17, 94, 3, 0]]))   # up to </s>
"""

import os

import tensorflow as tf
import tensorflow_text as tf_text

from tfllm.data.pipeline import AUTOTUNE, bucket_boundaries
from tfllm.data.tokenizers import (end_token_id, load_tokenizer, save_tokenizer,
                                   start_token_id, train_tokenizer, vocabulary_size)
from tfllm.preprocessors.base import Preprocessor


def normalize(texts):
    """Invalid UTF-8 to U+FFFD, then NFKC; case, spacing and punctuation stay."""
    texts = tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace")
    return tf_text.normalize_utf8(texts, "NFKC")


class Seq2SeqPreprocessor(Preprocessor):
    """Source and target strings <-> token ids for an encoder-decoder.

    `tokenizer` is the target side's; `source_tokenizer` the source side's
    (the same object with a joint vocabulary).

    Example:

    >>> preprocessor = Seq2SeqPreprocessor(source_tokenizer, target_tokenizer, 64)
    >>> preprocessor.encode_source(tf.constant(["Ein Hund läuft."])).to_list()
    [[412, 96, 1271, 5, 3]]
    """

    def __init__(self, source_tokenizer, target_tokenizer, sequence_length):
        super().__init__(target_tokenizer, sequence_length)
        self.source_tokenizer = source_tokenizer
        self.start_id = start_token_id(target_tokenizer)
        self.end_id = end_token_id(target_tokenizer)
        self.source_end_id = end_token_id(source_tokenizer)

    @classmethod
    def train(cls, sources, targets, vocab_size, sequence_length, joint=True):
        """SentencePiece vocabularies of up to `vocab_size` learned from the
        pairs: one over both sides (`joint`) or one per side."""
        def fit(texts):
            data = tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024).map(normalize)
            return train_tokenizer("sentencepiece", data.unbatch(), vocab_size)

        if joint:
            shared = fit(list(sources) + list(targets))
            return cls(shared, shared, sequence_length)
        return cls(fit(sources), fit(targets), sequence_length)

    @property
    def joint(self):
        return self.source_tokenizer is self.tokenizer

    @property
    def tokenizers(self):
        return [self.tokenizer] if self.joint else [self.source_tokenizer, self.tokenizer]

    @property
    def source_vocabulary_size(self):
        return vocabulary_size(self.source_tokenizer)

    def _ids(self, tokenizer, texts):
        ids = tokenizer(normalize(texts))
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        return tf.cast(ids, tf.int32)

    @tf.function(reduce_retracing=True)
    def encode_source(self, texts):
        """Ragged `ids </s>` of each source, at most `sequence_length` tokens."""
        ids = self._ids(self.source_tokenizer, texts)[:, : self.sequence_length - 1]
        end = tf.fill([ids.nrows(), 1], tf.constant(self.source_end_id, tf.int32))
        return tf.concat([ids, end], axis=1)

    @tf.function(reduce_retracing=True)
    def encode_target(self, texts):
        """Ragged `<s> ids </s>` of each target, at most `sequence_length + 1`
        tokens (so decoder inputs and labels each have `sequence_length`)."""
        ids = self._ids(self.tokenizer, texts)[:, : self.sequence_length - 1]
        rows = ids.nrows()
        start = tf.fill([rows, 1], tf.constant(self.start_id, tf.int32))
        end = tf.fill([rows, 1], tf.constant(self.end_id, tf.int32))
        return tf.concat([start, ids, end], axis=1)

    def token_lengths(self, sources, targets):
        """Untruncated token counts of each source and target, as NumPy arrays."""
        counts = []
        for tokenizer, texts in ((self.source_tokenizer, sources), (self.tokenizer, targets)):
            data = tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024).map(
                lambda t, tokenizer=tokenizer: self._ids(tokenizer, t).row_lengths())
            counts.append(tf.concat(list(data), axis=0).numpy())
        return counts

    def dataset(self, sources, targets, batch_size, *, shuffle=False, seed=None, bucket=True):
        """Batches of `((source_ids, decoder_inputs), labels)`, padded with 0.

        Pairs are encoded once and cached; each epoch then reshuffles and
        groups pairs of similar length (`bucket`), so little of a batch is
        padding.
        """
        data = tf.data.Dataset.from_tensor_slices((list(sources), list(targets)))
        data = (data.batch(1024)
                .map(lambda s, t: (self.encode_source(s), self.encode_target(t)),
                     num_parallel_calls=AUTOTUNE)
                .unbatch()
                .map(lambda s, t: (tf.identity(s), tf.identity(t)))  # ragged rows to dense
                .cache())
        if shuffle:
            data = data.shuffle(len(sources), seed=seed, reshuffle_each_iteration=True)
        if bucket:
            bounds = bucket_boundaries(self.sequence_length + 1)
            data = data.bucket_by_sequence_length(
                lambda s, t: tf.maximum(tf.shape(s)[0], tf.shape(t)[0]), bounds,
                [batch_size] * (len(bounds) + 1))
        else:
            data = data.padded_batch(batch_size, padded_shapes=([self.sequence_length],
                                                                [self.sequence_length + 1]))
        data = data.map(lambda s, t: ((s, t[:, :-1]), t[:, 1:]), num_parallel_calls=AUTOTUNE)
        options = tf.data.Options()
        # Pairs come from memory, not files: shard by example across workers.
        options.experimental_distribute.auto_shard_policy = \
            tf.data.experimental.AutoShardPolicy.DATA
        return data.with_options(options).prefetch(AUTOTUNE)

    def detokenize(self, token_ids):
        """Strings from target ids `[batch, length]`: up to the first `</s>`,
        without `<s>` or padding."""
        token_ids = tf.convert_to_tensor(token_ids, tf.int32)
        before_end = tf.math.cumsum(tf.cast(tf.equal(token_ids, self.end_id), tf.int32),
                                    axis=1) == 0
        keep = before_end & (token_ids != 0) & (token_ids != self.start_id)
        return self.tokenizer.detokenize(tf.ragged.boolean_mask(token_ids, keep))

    def get_config(self):
        return {**super().get_config(), "joint": self.joint}

    def save_tokenizers(self, folder):
        save_tokenizer(self.source_tokenizer, os.path.join(folder, "source"))
        if not self.joint:
            save_tokenizer(self.tokenizer, os.path.join(folder, "target"))

    @classmethod
    def from_folder(cls, folder, config):
        source = load_tokenizer(os.path.join(folder, "source"))
        target = source if config["joint"] else load_tokenizer(os.path.join(folder, "target"))
        return cls(source, target, config["sequence_length"])
