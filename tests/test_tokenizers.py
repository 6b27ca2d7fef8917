import os

import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.data import tokenizers
from tfllm.data.errors import DataError
from tfllm.data.sample import sentiment_examples

TEXTS = [text for text, _ in sentiment_examples(300)]


class TokenizersTest(tf.test.TestCase):

    def round_trip(self, kind, vocab_size):
        tokenizer = tokenizers.train_tokenizer(kind, TEXTS, vocab_size)
        folder = os.path.join(self.get_temp_dir(), kind)
        tokenizers.save_tokenizer(tokenizer, folder)
        loaded = tokenizers.load_tokenizer(folder)
        encode = tf.function(lambda t, tok: tok(t))
        text = tf.constant(["the plot was not good", "unseen zebra"])
        self.assertAllEqual(encode(text, tokenizer).to_list(), encode(text, loaded).to_list())
        return tokenizer

    def test_wordpiece_reserves_pad_unk_and_start(self):
        tokenizer = self.round_trip("wordpiece", 100)
        self.assertEqual(tokenizer.token_to_id("[PAD]"), 0)
        self.assertEqual(tokenizer.token_to_id("[UNK]"), 1)
        self.assertEqual(tokenizers.start_token_id(tokenizer), 2)
        self.assertEqual(tokenizers.unknown_token_id(tokenizer), 1)
        self.assertLessEqual(tokenizers.vocabulary_size(tokenizer), 100)

    def test_sentencepiece(self):
        tokenizer = self.round_trip("sentencepiece", 40)
        self.assertEqual(tokenizer.id_to_token(0), "<pad>")
        self.assertEqual(tokenizers.unknown_token_id(tokenizer), 1)
        self.assertEqual(tokenizers.start_token_id(tokenizer), 2)

    def test_sentencepiece_vocab_size_is_an_upper_bound(self):
        small = tokenizers.train_tokenizer("sentencepiece", TEXTS[:5], 5000)
        self.assertLess(tokenizers.vocabulary_size(small), 100)  # what five texts can fill
        with self.assertRaisesRegex(DataError, "--vocab_size"):
            tokenizers.train_tokenizer("sentencepiece", [""], 5000)

    def test_char_and_byte(self):
        char = self.round_trip("char", 8000)
        self.assertEqual(tokenizers.vocabulary_size(char), 128)  # what ASCII text needs
        wide = tokenizers.train_tokenizer("char", ["naïve été"], 8000)
        self.assertEqual(tokenizers.vocabulary_size(wide), 256)  # up to U+00EF
        capped = tokenizers.train_tokenizer("char", ["中文"], 1000)
        self.assertEqual(tokenizers.vocabulary_size(capped), 1000)
        byte = self.round_trip("byte", None)
        self.assertEqual(tokenizers.vocabulary_size(byte), 256)
        with self.assertRaisesRegex(ValueError, "no start token"):
            tokenizers.start_token_id(byte)

    def test_unknown_kind(self):
        with self.assertRaisesRegex(ValueError, "tokenizer must be one of"):
            tokenizers.train_tokenizer("bpe-ish", TEXTS)


class WordPieceVocabularyTest(tf.test.TestCase):
    """tfllm learns WordPiece vocabularies with tf.text's learner, as keras-hub does."""

    def lines(self, texts=TEXTS):
        return tf.data.Dataset.from_tensor_slices(texts)

    def test_equals_keras_hub_where_the_text_fills_the_vocabulary(self):
        import keras_hub
        ours = tokenizers.word_piece_vocabulary(self.lines(), 60, ["[PAD]", "[UNK]"])
        theirs = keras_hub.tokenizers.compute_word_piece_vocabulary(
            self.lines().batch(1024), 60, lowercase=False, strip_accents=False,
            reserved_tokens=["[PAD]", "[UNK]"])
        self.assertEqual(ours, theirs)

    def test_a_text_that_cannot_fill_it_keeps_every_piece_seen_ten_times(self):
        # One learning pass at the lowest count, not keras-hub's search down to it.
        ours = tokenizers.word_piece_vocabulary(self.lines(), 8000, ["[PAD]", "[UNK]"])
        self.assertLess(len(ours), 8000)
        self.assertEqual(ours[:2], ["[PAD]", "[UNK]"])
        self.assertEqual(len(ours), len(set(ours)))
        words = {word for text in TEXTS for word in text.split()}
        common = [w for w in words if sum(t.split().count(w) for t in TEXTS) >= 10
                  and w.isalpha()]
        self.assertNotEmpty(common)
        for word in common:
            self.assertIn(word, ours)

    def test_a_text_without_words_is_an_error(self):
        with self.assertRaisesRegex(DataError, "no words"):
            tokenizers.word_piece_vocabulary(self.lines(["", "  "]), 100, ["[PAD]"])
