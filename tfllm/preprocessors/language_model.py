"""The preprocessor of causal language models: token streams, windows, prompts.

Training sees text as one stream of token ids packed into windows of
`sequence_length` (see `tfllm.data.packing`); generation turns prompts into
the fixed-window batches the model continues, and ids back into text.

Example:

>>> preprocessor = LanguageModelPreprocessor.train(text, "char", 8000, 64)
>>> ids = preprocessor.token_stream(text)
>>> train = preprocessor.training_dataset(ids, batch_size=12, seed=0, steps=100)
"""

import numpy as np
import tensorflow as tf

from tfllm.data import packing
from tfllm.data.cleaning import clean_text
from tfllm.data.masked_lm import (block_length, next_token_pairs, pretraining_batches,
                                  token_blocks, train_masked_lm_tokenizer)
from tfllm.data.tokenizers import train_tokenizer
from tfllm.decoding.generation import prepare_prompts
from tfllm.preprocessors.base import Preprocessor


class LanguageModelPreprocessor(Preprocessor):
    """Text to token streams and windows for training; prompts to model
    inputs and ids back to text for generation.

    An empty prompt starts from `prompt_start_id`: the id of "\\n" when the
    tokenizer has one (generation begins as at the start of a paragraph),
    else 0.

    Example:

    >>> preprocessor = LanguageModelPreprocessor(tokenizer, sequence_length=64)
    >>> ids, mask, lengths, new = preprocessor.prompts(tf.constant(["ROMEO:"]), 20)
    """

    def __init__(self, tokenizer, sequence_length):
        super().__init__(tokenizer, sequence_length)
        newline = tf.function(self.tokenize)(tf.constant(["\n"])).flat_values.numpy()
        self.prompt_start_id = int(newline[0]) if len(newline) else 0

    @classmethod
    def train(cls, text, kind, vocab_size, sequence_length):
        """A preprocessor whose `kind` tokenizer was fitted to `text`'s lines."""
        # Trainers want sentences, not one megabyte-long line.
        lines = [line for line in text.split("\n") if line.strip()]
        return cls(train_tokenizer(kind, lines, vocab_size), sequence_length)

    def token_stream(self, text):
        """All of `text` as one int32 NumPy stream of ids (see `packing.tokenize_stream`)."""
        return packing.tokenize_stream(self.tokenize, text)

    def training_dataset(self, token_ids, batch_size, **options):
        """`(inputs, targets)` batches of windows; `options` as `packing.training_dataset`."""
        return packing.training_dataset(token_ids, self.sequence_length, batch_size, **options)

    def evaluation_dataset(self, token_ids, batch_size):
        """`(inputs, targets, weights)` batches covering every token once."""
        return packing.evaluation_dataset(np.asarray(token_ids), self.sequence_length,
                                          batch_size)

    def prompts(self, prompts, max_new_tokens):
        """`(token_ids, padding_mask, prompt_lengths, max_new_tokens)` for
        string tensor `prompts` (see `tfllm.decoding.generation.prepare_prompts`)."""
        return prepare_prompts(self.tokenize(prompts), max_new_tokens, self.sequence_length,
                               self.prompt_start_id)

    def detokenize(self, token_ids):
        return self.tokenizer.detokenize(token_ids)


class StreamedLanguageModelPreprocessor(LanguageModelPreprocessor):
    """The language-model preprocessor of causal pretraining: a corpus read
    as a stream, with the masked-LM task's WordPiece vocabulary (learned from
    a sample of lines) and its cleaning (and lowercasing), so the two
    objectives see the same tokens. The stream is packed into blocks of
    `sequence_length + 1` tokens whose next-token pairs are the batches;
    prompts are cleaned as training text was.

    Example:

    >>> preprocessor = StreamedLanguageModelPreprocessor.train(lines.take(1000), 8000, 128)
    >>> train = preprocessor.batches(preprocessor.blocks(lines), batch_size=32, seed=0)
    """

    def __init__(self, tokenizer, sequence_length, lowercase=True):
        self.lowercase = bool(lowercase)  # before the base class tokenizes its start token
        super().__init__(tokenizer, sequence_length)

    @classmethod
    def train(cls, lines, vocab_size, sequence_length, lowercase=True):
        """A preprocessor whose vocabulary is learned from `lines` (a string
        dataset), as `MaskedLMPreprocessor.train` learns it."""
        return cls(train_masked_lm_tokenizer(lines, vocab_size, lowercase), sequence_length,
                   lowercase)

    def tokenize(self, texts):
        return super().tokenize(clean_text(texts, self.lowercase))

    def blocks(self, lines):
        """The stream of `lines` as token blocks of one sequence and its last target."""
        return token_blocks(lines, self.tokenizer, block_length("causal", self.sequence_length),
                            self.lowercase)

    def batches(self, blocks, batch_size, seed, fixed=False, curriculum=None):
        """`(inputs, targets)` batches of `blocks` (see `pretraining_batches`)."""
        return pretraining_batches(blocks, next_token_pairs, batch_size, seed, fixed, curriculum)

    def get_config(self):
        return {**super().get_config(), "lowercase": self.lowercase}
