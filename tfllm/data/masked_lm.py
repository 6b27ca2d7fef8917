"""Pretraining inputs from a stream of text: packed sequences, sentence pairs, masking.

The corpus is read as a stream (`tfllm.data.word_corpus.line_dataset`: files,
globs, `.gz`, TFDS, the sample), tokenized a batch of lines at a time, and
its tokens are laid end to end and cut into blocks, so every sequence is full
(RoBERTa's "full sentences" packing) and memory holds a few batches, never
the corpus. Blocks become model inputs with keras-hub's layers:

* masked LM: `[CLS] block [SEP]` (`MultiSegmentPacker`), then
  `MaskedLMMaskGenerator` selects 15% of the tokens and replaces 80% of those
  with `[MASK]`, 10% with a random token and leaves 10%; with
  `whole_word=True` it selects whole words (a word's pieces are masked
  together), the tokens being grouped by the tokenizer's word starts;
* next-sentence prediction: each block is halved into segments A and B; for
  half the rows B is replaced by the B of another row of the batch (not the
  text that follows A), and the label says which;
* causal LM: a block of `sequence_length + 1` tokens is its own input and,
  shifted by one, its next-token targets (`next_token_pairs`).

Example:

>>> blocks = token_blocks(lines, tokenizer, block_length=126)
>>> batches = pretraining_batches(blocks, MaskedLMInputs(tokenizer, 128), 32, seed=0)
"""

import dataclasses

import keras_hub
import numpy as np
import tensorflow as tf

from tfllm.data.cleaning import clean_text
from tfllm.data.errors import DataError, RowGuard
from tfllm.data.tokenizers import word_piece_vocabulary
from tfllm.data.word_corpus import corpus_files, line_dataset, valid_utf8

# BERT's tokens; the pretraining tokenizer reserves them (see `pretraining_tokens`).
PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)
_LINES_PER_BATCH = 256
SHUFFLE_BLOCKS = 10_000


def block_length(objective, sequence_length):
    """Corpus tokens a sequence of `sequence_length` holds: all but [CLS]
    and [SEP] for masked LM, all but [CLS] and two [SEP]s for sentence
    pairs (an even count); for causal LM one more than the sequence (its
    last target)."""
    if objective == "causal":
        return sequence_length + 1
    if objective == "mlm_nsp":
        return 2 * ((sequence_length - 3) // 2)
    return sequence_length - 2


def train_masked_lm_tokenizer(lines, vocab_size, lowercase=True):
    """A keras-hub `BertTokenizer` whose WordPiece vocabulary (at most
    `vocab_size`) is learned from `lines` as cleaning leaves them, with
    BERT's special tokens first; `[MASK]` written in a text is the mask token."""
    cleaned = lines.batch(1024).map(lambda t: clean_text(valid_utf8(t)[0], lowercase))
    vocabulary = word_piece_vocabulary(cleaned.unbatch(), vocab_size, SPECIAL_TOKENS)
    return keras_hub.models.BertTokenizer(vocabulary, lowercase=False,
                                          special_tokens_in_strings=True)


def word_starts(tokenizer):
    """For each token id, whether it starts a word: WordPiece marks the
    other pieces with `##`, SentencePiece marks starts with `▁`; special
    tokens are words of their own."""
    vocabulary = tokenizer.get_vocabulary()
    if isinstance(tokenizer, keras_hub.tokenizers.SentencePieceTokenizer):
        starts = [piece.startswith("▁") or piece.startswith("<") for piece in vocabulary]
    else:
        starts = [not piece.startswith("##") for piece in vocabulary]
    return np.array(starts, dtype=bool)


def token_blocks(lines, tokenizer, block_length, lowercase=True):
    """int32 blocks [block_length] of the stream's tokens end to end
    (`lines`: a dataset of strings); the last partial block is dropped."""

    def tokenize(batch):
        ids = tokenizer(clean_text(valid_utf8(batch)[0], lowercase))
        if isinstance(ids, tf.RaggedTensor):
            ids = ids.flat_values
        return tf.cast(tf.reshape(ids, [-1]), tf.int32)

    return (lines.batch(_LINES_PER_BATCH)
            .map(tokenize, num_parallel_calls=tf.data.AUTOTUNE)
            .rebatch(block_length, drop_remainder=True))


@dataclasses.dataclass
class TextStream:
    """A pretraining corpus: its lines as a dataset, counted once, and the
    lines this worker trains on: all of them, or under several workers its
    own files (`worker_files`: `(files read, files in all)`, else None;
    `too_few_files`: `(files, workers)` when several workers share fewer
    files than there are of them, so each reads every file)."""
    lines: object  # tf.data of strings
    line_count: int
    bad_lines: int  # lines whose bytes were not UTF-8 (replaced)
    rows: RowGuard  # nothing is skipped; the runner reports it like other tasks' rows
    own_lines: object = None  # tf.data of strings; None: `lines`
    worker_files: tuple = None
    too_few_files: tuple = None

    @property
    def training_lines(self):
        return self.lines if self.own_lines is None else self.own_lines


def load_text_stream(spec, text_field="text", turn_lines=256, worker=None):
    """The lines of `spec` (files read `turn_lines` of each in turn, so every
    source is seen from the first step), counted in one pass; an empty
    corpus is an error naming it.

    `worker=(workers, index)` (`tfllm.training.strategy.worker_shard`) gives
    this worker the files `index`, `index + workers`, ... to train on, when
    there are at least as many files as workers; `lines` stays the whole
    corpus (every worker learns the same vocabulary from it)."""
    lines = line_dataset(spec, text_field, interleave=turn_lines)
    total = bad = 0
    for batch in lines.batch(4096):
        total += int(tf.size(batch))
        bad += int(tf.reduce_sum(tf.cast(valid_utf8(batch)[1], tf.int32)))
    if not total:
        raise DataError(spec, "has no lines")
    stream = TextStream(lines, total, bad, RowGuard())
    paths = corpus_files(spec)
    if worker and worker[0] > 1 and len(paths) >= worker[0]:
        stream.own_lines = line_dataset(spec, text_field, interleave=turn_lines, shard=worker)
        stream.worker_files = (len(paths[worker[1]::worker[0]]), len(paths))
    elif worker and worker[0] > 1:
        stream.too_few_files = (len(paths), worker[0])
    return stream


def held_out(blocks, every, keep):
    """Every `every`-th block (`keep=True`) or the others: a split of a
    stream that needs no second copy of it."""
    return (blocks.enumerate().filter(lambda i, _: tf.equal(i % every, 0) == keep)
            .map(lambda _, block: block))


class MaskedLMInputs:
    """Turns batches of token blocks into masked-LM (and NSP) training batches.

    Calling it on int32 blocks [batch, block] gives `(x, y, sample_weight)`:
    `x` the backbone's inputs (`token_ids`, `segment_ids`, `padding_mask`)
    plus `mask_positions`; `y["mlm"]` the original ids at those positions,
    weighted by `sample_weight["mlm"]` (0 where a row selected fewer than
    `max_selections`); with `next_sentence`, `y["nsp"]` is 1 where segment B
    follows A in the corpus.

    Example:

    >>> inputs = MaskedLMInputs(tokenizer, sequence_length=128, next_sentence=True)
    >>> x, y, weights = inputs(blocks, seed=tf.constant([1, 2]))
    """

    def __init__(self, tokenizer, sequence_length, next_sentence=False, whole_word=False,
                 mask_rate=0.15):
        self.sequence_length, self.next_sentence = int(sequence_length), bool(next_sentence)
        self.whole_word, self.mask_rate = bool(whole_word), float(mask_rate)
        ids = {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}
        self.pad_id, self.cls_id, self.sep_id, self.mask_id = (
            ids[PAD], ids[CLS], ids[SEP], ids[MASK])
        self.packer = keras_hub.layers.MultiSegmentPacker(
            self.sequence_length, start_value=self.cls_id, end_value=self.sep_id,
            pad_value=self.pad_id)
        # The selector picks ceil(rate * tokens) tokens, or as many words, whose
        # pieces may be more tokens: room for twice that (on English text a
        # word is 1.1-1.3 WordPiece tokens), since positions past it lose their label.
        self.max_selections = int(np.ceil((2.5 if self.whole_word else 1.0)
                                          * self.mask_rate * self.sequence_length))
        self.masker = keras_hub.layers.MaskedLMMaskGenerator(
            vocabulary_size=tokenizer.vocabulary_size(), mask_selection_rate=self.mask_rate,
            mask_token_id=self.mask_id, mask_selection_length=self.max_selections,
            unselectable_token_ids=[self.pad_id, self.cls_id, self.sep_id])
        self.starts = tf.constant(word_starts(tokenizer))

    def _segments(self, blocks, seed):
        """Segments for the packer, and the NSP labels (None without NSP)."""
        if not self.next_sentence:
            return (blocks,), None
        half = tf.shape(blocks)[1] // 2
        first, second = blocks[:, :half], blocks[:, half:]
        rows = tf.shape(blocks)[0]
        is_next = tf.random.stateless_uniform([rows], seed) < 0.5
        # Another row's B: shifted by 1..rows-1, so never the row's own.
        shift = tf.random.stateless_uniform([], seed + 1, 1, tf.maximum(rows, 2),
                                            dtype=tf.int32)
        other = tf.roll(second, shift, axis=0)
        second = tf.where(is_next[:, None], second, other)
        return (first, second), tf.cast(is_next, tf.int32)

    def _grouped(self, token_ids):
        """Ragged [batch, words, pieces] of `token_ids`: a word is a start
        token and the pieces after it; a token after a special one starts a
        word too (a block may begin inside a word)."""
        special = ((token_ids == self.cls_id) | (token_ids == self.sep_id)
                   | (token_ids == self.pad_id))
        after_special = tf.pad(special[:, :-1], [[0, 0], [1, 0]], constant_values=True)
        starts = tf.gather(self.starts, token_ids) | special | after_special
        flat_starts = tf.reshape(starts, [-1])
        words = tf.RaggedTensor.from_row_starts(
            tf.reshape(token_ids, [-1]), tf.cast(tf.where(flat_starts)[:, 0], tf.int64))
        return tf.RaggedTensor.from_row_lengths(
            words, tf.reduce_sum(tf.cast(starts, tf.int64), axis=1))

    # Traced even when called eagerly: keras-hub's preprocessing layers turn
    # eager ragged outputs into Python lists, but keep tensors in a graph.
    @tf.function(reduce_retracing=True)
    def __call__(self, blocks, seed):
        segments, is_next = self._segments(blocks, seed)
        token_ids, segment_ids = self.packer(segments)
        masked = self.masker(self._grouped(token_ids) if self.whole_word else token_ids)
        masked_ids = masked["token_ids"]
        if isinstance(masked_ids, tf.RaggedTensor):  # from whole words
            masked_ids = masked_ids.to_tensor(shape=[None, self.sequence_length])
        # As long as the blocks and their special tokens (shorter under a curriculum).
        width = tf.shape(blocks)[1] + (3 if self.next_sentence else 2)
        x = {"token_ids": masked_ids[:, :width],
             "segment_ids": segment_ids[:, :width],
             "padding_mask": (token_ids != self.pad_id)[:, :width],
             "mask_positions": tf.cast(masked["mask_positions"], tf.int32)}
        y = {"mlm": tf.cast(masked["mask_ids"], tf.int32)}
        weights = {"mlm": masked["mask_weights"]}
        if is_next is not None:
            y["nsp"] = is_next
            weights["nsp"] = tf.ones_like(is_next, tf.float32)
        return x, y, weights


def next_token_pairs(blocks, seed):
    """Causal-LM batches of int32 blocks [batch, length + 1]: `(inputs,
    targets)`, both [batch, length], the targets one token on (`seed`, which
    masking draws from, is not needed)."""
    del seed
    return blocks[:, :-1], blocks[:, 1:]


def pretraining_batches(blocks, inputs, batch_size, seed, fixed=False, curriculum=None):
    """Batches of `inputs` (a `MaskedLMInputs`, or `next_token_pairs`) over
    `blocks`, each epoch drawing new masks (and new NSP pairings) over blocks
    shuffled within a window of `SHUFFLE_BLOCKS`, or the same ones in order
    with `fixed` (for evaluation). A `tfllm.data.curriculum.Curriculum` cuts each batch's
    blocks to the length its schedule opens."""
    seeds = tf.data.Dataset.random(seed, rerandomize_each_iteration=not fixed).batch(2)
    if not fixed:
        # A stream cannot be shuffled whole; a window of blocks (5 MB at 128
        # tokens) breaks up batches of consecutive text from one book.
        blocks = blocks.shuffle(SHUFFLE_BLOCKS, seed=seed, reshuffle_each_iteration=True)
    # Training batches are all full (one shape for XLA); evaluation keeps every block.
    batches = tf.data.Dataset.zip(blocks.batch(batch_size, drop_remainder=not fixed), seeds)

    def make(index, batch):
        block_batch, pair = batch
        if curriculum is not None:
            block_batch = curriculum.cut(index, block_batch)
        return inputs(block_batch, tf.cast(pair % (2**31 - 1), tf.int32))

    return batches.enumerate().map(make, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE)
