"""The preprocessor of text classification: clean, tokenize, start token, truncate.

Example:

>>> preprocessor = ClassificationPreprocessor.train(texts, "wordpiece", 8000, 128)
>>> preprocessor(tf.constant(["a <b>fine</b> film"]))          # ragged ids, [CLS] first
>>> train = preprocessor.dataset(texts, label_ids, batch_size=32, shuffle=True, seed=0)
"""

import tensorflow as tf

from tfllm.data.cleaning import clean_text
from tfllm.data.pipeline import classification_dataset
from tfllm.data.tokenizers import start_token_id, train_tokenizer, unknown_token_id
from tfllm.preprocessors.base import Preprocessor


class ClassificationPreprocessor(Preprocessor):
    """Raw strings -> ragged token ids: clean (HTML, NFKC, case), tokenize,
    prepend the start token (and, with `end_token`, append the tokenizer's
    end token, as a pretrained BERT expects), keep `sequence_length` ids.

    The start token gives every text, even an empty one, at least one
    position, so masked pooling never divides by zero.

    Example:

    >>> preprocessor = ClassificationPreprocessor(tokenizer, sequence_length=5)
    >>> preprocessor(tf.constant(["", "the plot"])).to_list()
    [[2], [2, 17, 93]]
    """

    def __init__(self, tokenizer, sequence_length, lowercase=True, end_token=False):
        super().__init__(tokenizer, sequence_length)
        self.lowercase, self.end_token = bool(lowercase), bool(end_token)
        self.start_id = start_token_id(tokenizer)
        self.unknown_id = unknown_token_id(tokenizer)
        # A pretrained BERT saw `[CLS] text [SEP]`; its fine-tuning input ends the same way.
        self.end_id = tokenizer.end_token_id if self.end_token else None

    @classmethod
    def train(cls, texts, kind, vocab_size, sequence_length, lowercase=True):
        """A preprocessor whose `kind` tokenizer learned its vocabulary from
        `texts` as cleaning leaves them."""
        cleaned = (tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024)
                   .map(lambda t: clean_text(t, lowercase)).unbatch())
        return cls(train_tokenizer(kind, cleaned, vocab_size), sequence_length, lowercase)

    # Traced even when called eagerly: keras-hub tokenizers turn eager
    # outputs into Python lists, but keep tensors inside a graph.
    @tf.function(reduce_retracing=True)
    def __call__(self, texts):
        room = self.sequence_length - 1 - int(self.end_token)
        ids = self.tokenize(clean_text(texts, self.lowercase))[:, :room]
        start = tf.fill([ids.nrows(), 1], tf.constant(self.start_id, tf.int32))
        if not self.end_token:
            return tf.concat([start, ids], axis=1)
        end = tf.fill([ids.nrows(), 1], tf.constant(self.end_id, tf.int32))
        return tf.concat([start, ids, end], axis=1)

    def dataset(self, texts, label_ids, batch_size, **options):
        """Batches of `(token_ids, label_id)`; `options` as `classification_dataset` takes them."""
        return classification_dataset(texts, label_ids, self, batch_size, **options)

    def get_config(self):
        return {**super().get_config(), "lowercase": self.lowercase,
                "end_token": self.end_token}
