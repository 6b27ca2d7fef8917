"""A word-level tokenizer: lowercased words in, one id per word out.

Word vectors map one-to-one only onto whole words, so classification can
tokenize as word2vec does (`tfllm.data.word_corpus.words_of`: lowercase,
split at what is not a letter, digit or inner apostrophe, punctuation
dropped, as Keras' `TextVectorization` does by default) with a vocabulary
of the `vocab_size` most frequent training words. keras-hub has no word
tokenizer (its WordPiece splits unknown words into pieces), so this is a
keras-hub `Tokenizer` subclass around Keras' `StringLookup`, which exports
as core TF ops.

Ids: `[PAD]` 0, `[UNK]` 1, `[CLS]` 2, then the words, most frequent first.

Example:

>>> tokenizer = WordTokenizer.train(["A good film.", "a bad film"], vocab_size=100)
>>> tokenizer(tf.constant(["a GOOD plot"])).to_list()
[[3, 5, 1]]
"""

import collections

import keras
import keras_hub
import tensorflow as tf

from tfllm.data.word_corpus import words_of

SPECIAL = ["[PAD]", "[UNK]", "[CLS]"]


def most_frequent_words(texts, count, split):
    """The `count` most frequent words of `texts` (a string dataset), as
    `split` (string batch -> flat string tensor of words) cuts them; ties by
    first appearance. (Keras' `StringLookup.adapt` counts too, but orders
    ties by its own hashing; first appearance keeps vocabularies stable.)"""
    counts = collections.Counter()
    for batch in texts.batch(4096):
        counts.update(split(batch).numpy().tolist())
    return [word.decode("utf-8", "replace") for word, _ in counts.most_common(max(count, 0))]


class WordTokenizer(keras_hub.tokenizers.Tokenizer):
    """Words of `vocabulary` (without the special tokens) -> ids; other words -> `[UNK]`."""

    def __init__(self, vocabulary, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = SPECIAL + [w for w in vocabulary if w not in SPECIAL]
        # StringLookup gives unknown words 0 and the words 1..n.
        self.lookup = keras.layers.StringLookup(vocabulary=self.vocabulary[len(SPECIAL):],
                                                num_oov_indices=1, output_mode="int")
        for token in SPECIAL:
            self._add_special_token(token, token.strip("[]").lower() + "_token")

    @classmethod
    def train(cls, texts, vocab_size):
        """The `vocab_size` - 3 most frequent words of `texts` (strings or a
        string dataset), ties by first appearance."""
        if not isinstance(texts, tf.data.Dataset):
            texts = tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string))
        return cls(most_frequent_words(texts, vocab_size - len(SPECIAL),
                                       lambda batch: words_of(batch).flat_values))

    def tokenize(self, inputs):
        ids = tf.cast(self.lookup(words_of(tf.convert_to_tensor(inputs))), "int32")
        shift = lambda i: tf.where(i == 0, 1, i + len(SPECIAL) - 1)  # noqa: E731
        return tf.ragged.map_flat_values(shift, ids)

    def detokenize(self, inputs):
        return tf.strings.reduce_join(tf.gather(self.vocabulary, inputs), axis=-1,
                                      separator=" ")

    def get_vocabulary(self):
        return list(self.vocabulary)

    def vocabulary_size(self):
        return len(self.vocabulary)

    def id_to_token(self, id):
        return self.vocabulary[id]

    def token_to_id(self, token):
        return self.vocabulary.index(token)

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary[len(SPECIAL):]}
