"""The preprocessor of masked-LM pretraining: a BERT WordPiece tokenizer, packing and masking.

Training batches come from `tfllm.data.masked_lm` (the stream packed into
full sequences, masked by keras-hub's `MaskedLMMaskGenerator`); served text
is cleaned as training text was, `[MASK]` marking what to fill in.

Example:

>>> preprocessor = MaskedLMPreprocessor.train(lines, vocab_size=8000, sequence_length=128)
>>> train = preprocessor.batches(preprocessor.blocks(lines), batch_size=32, seed=0)
>>> x = preprocessor.fill_mask_inputs(tf.constant(["the [MASK] sat on the mat"]))
"""

import tensorflow as tf

from tfllm.data.cleaning import clean_text
from tfllm.data.masked_lm import (MASK, MaskedLMInputs, block_length, pretraining_batches,
                                  token_blocks, train_masked_lm_tokenizer)
from tfllm.preprocessors.base import Preprocessor


class MaskedLMPreprocessor(Preprocessor):
    """A BERT tokenizer with the pretraining objective's packing and masking.

    `objective` is `mlm` or `mlm_nsp`; `whole_word` masks whole words;
    `mask_rate` is the share of tokens selected (BERT: 0.15).
    """

    def __init__(self, tokenizer, sequence_length, objective="mlm", whole_word=False,
                 mask_rate=0.15, lowercase=True):
        super().__init__(tokenizer, sequence_length)
        self.objective, self.whole_word = objective, bool(whole_word)
        self.mask_rate, self.lowercase = float(mask_rate), bool(lowercase)
        self.inputs = MaskedLMInputs(tokenizer, self.sequence_length,
                                     next_sentence=objective == "mlm_nsp",
                                     whole_word=self.whole_word, mask_rate=self.mask_rate)

    @classmethod
    def train(cls, lines, vocab_size, sequence_length, **settings):
        """A preprocessor whose vocabulary is learned from `lines` (a string dataset)."""
        return cls(train_masked_lm_tokenizer(lines, vocab_size, settings.get("lowercase", True)),
                   sequence_length, **settings)

    def blocks(self, lines):
        """The stream of `lines` as token blocks that fill one sequence each."""
        return token_blocks(lines, self.tokenizer,
                            block_length(self.objective, self.sequence_length), self.lowercase)

    def batches(self, blocks, batch_size, seed, fixed=False, curriculum=None):
        """Masked training batches `(x, y, sample_weight)` of `blocks`; new
        masks each epoch, or the same ones with `fixed`; sequences cut by a
        length `curriculum`'s schedule."""
        return pretraining_batches(blocks, self.inputs, batch_size, seed, fixed, curriculum)

    @tf.function(reduce_retracing=True)
    def fill_mask_inputs(self, texts):
        """The backbone's inputs for `texts` (string [batch]) with `[MASK]`
        where a word is to be predicted, and `mask_positions` (padded with
        0, `mask_weights` 0 there). Text past the sequence is cut."""
        cleaned = clean_text(texts, self.lowercase)
        if self.lowercase:  # cleaning lowercased the marker too
            cleaned = tf.strings.regex_replace(cleaned, r"\[mask\]", MASK)
        ids = tf.cast(self.tokenizer(cleaned), tf.int32)
        token_ids, segment_ids = self.inputs.packer(ids)
        masked = token_ids == self.inputs.mask_id
        positions = tf.ragged.boolean_mask(
            tf.broadcast_to(tf.range(tf.shape(token_ids)[1]), tf.shape(token_ids)), masked)
        return {"token_ids": token_ids, "segment_ids": segment_ids,
                "padding_mask": token_ids != self.inputs.pad_id,
                "mask_positions": positions.to_tensor(),
                "mask_weights": tf.ones_like(positions, tf.float32).to_tensor()}

    def get_config(self):
        return {**super().get_config(), "objective": self.objective,
                "whole_word": self.whole_word, "mask_rate": self.mask_rate,
                "lowercase": self.lowercase}
