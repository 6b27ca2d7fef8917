"""The preprocessor of extractive QA: question and context in, packed windows with offsets out.

Text is split into words (runs between whitespace; each punctuation mark or
symbol a word of its own, as BERT's basic tokenizer splits) with TF Text's
`regex_split_with_offsets`, each word is normalised (lowercased, accents
stripped where the tokenizer does) and cut into WordPiece tokens by TF
Text's `FastWordpieceTokenizer.tokenize_with_offsets` over the tokenizer's
own vocabulary. So every token keeps its byte span in the original text,
which the answer's offsets map onto; keras-hub's tokenizers give no
offsets, hence this path beside them (same vocabulary, same special ids).
A vocabulary of whole words (`train(..., tokenizer="word")`: BERT's special
tokens, then the most frequent words) makes the same path a word lookup,
one id a word and `[UNK]` for the rest, which word vectors
(`--pretrained_embeddings`) map onto one to one.

A context longer than one sequence is cut into overlapping windows of
`[CLS] question [SEP] context part [SEP]` (keras-hub `MultiSegmentPacker`),
a new window every `doc_stride` context tokens, so every context token is in
some window and an answer shorter than the overlap is whole in one of them.
All of it runs in the graph (core TF and TF Text ops), in the tf.data
pipeline and in the export alike.

Example:

>>> preprocessor = SpanQAPreprocessor.train(texts, vocab_size=8000, sequence_length=384)
>>> windows = preprocessor.windows(tf.constant(["Who?"]), tf.constant(["Zoë went home."]))
>>> windows["token_ids"].shape, windows["example"].numpy()
(TensorShape([1, 384]), array([0], dtype=int32))
"""

import keras_hub
import tensorflow as tf
import tensorflow_text as tf_text

from tfllm.data.masked_lm import (CLS, PAD, SEP, SPECIAL_TOKENS, UNK,
                                  train_masked_lm_tokenizer)
from tfllm.data.word_tokenizer import most_frequent_words
from tfllm.preprocessors.base import Preprocessor

_DELIMITERS = r"\s+|[\p{P}\p{S}]"
_KEPT = r"[\p{P}\p{S}]"
# What the model reads of a window; the rest of `windows` places it in its example.
MODEL_INPUTS = ("token_ids", "segment_ids", "padding_mask")
# Batches are cut to their longest window, rounded up to this many positions
# (few distinct shapes to trace; short contexts cost less than 384 positions).
_LENGTH_STEP = 32


class SpanQAPreprocessor(Preprocessor):
    """Question and context strings -> the windows a span reader reads.

    Args:
        tokenizer: a keras-hub `BertTokenizer` (trained here, or a preset's).
        sequence_length: positions of a window.
        doc_stride: context tokens from one window's start to the next's.
        max_query_length: question tokens kept (the rest is cut).
        lowercase: lowercase the text (also when the tokenizer itself does).

    Example:

    >>> preprocessor = SpanQAPreprocessor(tokenizer, sequence_length=16, doc_stride=4)
    >>> w = preprocessor.windows(tf.constant(["where?"]), tf.constant([long_context]))
    >>> w["first"].numpy()          # each window's first context token
    array([0, 4, 8])
    """

    def __init__(self, tokenizer, sequence_length=384, doc_stride=128, max_query_length=64,
                 lowercase=True):
        super().__init__(tokenizer, sequence_length)
        if max_query_length > sequence_length - 4:
            raise ValueError(f"max_query_length {max_query_length} leaves no room for the "
                             f"context in a sequence of {sequence_length}")
        self.doc_stride, self.max_query_length = int(doc_stride), int(max_query_length)
        self.lowercase = bool(lowercase) or bool(getattr(tokenizer, "lowercase", False))
        self.strip_accents = bool(getattr(tokenizer, "strip_accents", False))
        self.pad_id = tokenizer.token_to_id(PAD)
        self.pieces = tf_text.FastWordpieceTokenizer(
            tokenizer.get_vocabulary(), suffix_indicator="##", unknown_token=UNK,
            token_out_type=tf.int32, no_pretokenization=True, support_detokenization=False)
        self.packer = keras_hub.layers.MultiSegmentPacker(
            self.sequence_length, start_value=tokenizer.token_to_id(CLS),
            end_value=tokenizer.token_to_id(SEP), pad_value=self.pad_id)

    @property
    def tokenizers(self):
        # The graph tokenizes with `pieces` (its vocabulary, a constant); the
        # keras-hub tokenizer is never called, and only saved as files.
        return []

    @classmethod
    def train(cls, texts, vocab_size, sequence_length, tokenizer="wordpiece", **settings):
        """A preprocessor whose vocabulary (at most `vocab_size`) is learned
        from `texts` (a string dataset: questions and contexts): WordPiece,
        or with `tokenizer="word"` whole words."""
        lowercase = settings.get("lowercase", True)
        if tokenizer == "word":
            words = most_frequent_words(texts, vocab_size,
                                        lambda batch: split_words(batch, lowercase)[3])
            words = [w for w in words if w not in SPECIAL_TOKENS][:vocab_size - len(SPECIAL_TOKENS)]
            bert = keras_hub.models.BertTokenizer(list(SPECIAL_TOKENS) + words, lowercase=False,
                                                  special_tokens_in_strings=True)
        else:
            bert = train_masked_lm_tokenizer(texts, vocab_size, lowercase)
        return cls(bert, sequence_length, **settings)

    def tokenize_with_offsets(self, texts):
        """`(ids, starts, ends)`, ragged [batch, tokens]: WordPiece ids and
        each token's byte span in `texts` (a word whose normalised form has
        another length gives each of its pieces the whole word's span)."""
        words, word_starts, word_ends, normal = split_words(texts, self.lowercase,
                                                            self.strip_accents)
        raw = words.flat_values
        ids, piece_starts, piece_ends = self.pieces.tokenize_with_offsets(normal)
        word = ids.value_rowids()
        start, end = tf.gather(word_starts.flat_values, word), tf.gather(word_ends.flat_values,
                                                                         word)
        same = tf.gather(tf.strings.length(normal) == tf.strings.length(raw), word)
        starts = tf.where(same, start + piece_starts.flat_values, start)
        ends = tf.where(same, start + piece_ends.flat_values, end)

        def per_text(values):
            return words.with_flat_values(ids.with_flat_values(values)).merge_dims(1, 2)

        return per_text(ids.flat_values), per_text(starts), per_text(ends)

    @tf.function(reduce_retracing=True)
    def windows(self, questions, contexts):
        """The windows of each (question, context) pair (string [batch] each).

        Returns a dict: `token_ids`, `segment_ids`, `padding_mask`
        ([windows, sequence_length], the model's inputs); `example` (int32
        [windows], the pair it belongs to); `first` and `length` (its
        context tokens: the first's index in the context, and how many);
        `offset` (the position of its first context token); and
        `token_starts`, `token_ends` (int64 ragged [batch, context tokens],
        byte spans in the contexts).
        """
        question, _, _ = self.tokenize_with_offsets(questions)
        question = question[:, :self.max_query_length]
        context, starts, ends = self.tokenize_with_offsets(contexts)
        question_length, context_length = question.row_lengths(), context.row_lengths()
        room = self.sequence_length - 3 - question_length
        stride = tf.minimum(room, self.doc_stride)
        count = 1 + (tf.maximum(context_length - room, 0) + stride - 1) // stride
        window = tf.ragged.range(count)
        example = window.value_rowids()
        first = window.flat_values * tf.gather(stride, example)
        last = tf.minimum(first + tf.gather(room, example), tf.gather(context_length, example))
        base = tf.gather(context.row_splits[:-1], example)
        part = tf.gather(context.values, tf.ragged.range(base + first, base + last))
        token_ids, segment_ids = self.packer((tf.gather(question, example), part))
        return {"token_ids": token_ids, "segment_ids": segment_ids,
                "padding_mask": token_ids != self.pad_id,
                "example": tf.cast(example, tf.int32), "first": tf.cast(first, tf.int32),
                "length": tf.cast(last - first, tf.int32),
                "offset": tf.cast(2 + tf.gather(question_length, example), tf.int32),
                "token_starts": starts, "token_ends": ends}

    @tf.function(reduce_retracing=True)
    def labelled_windows(self, questions, contexts, answer_starts, answer_ends):
        """`(inputs, {"start", "end"})` of every window, for training: the
        answer's first and last token positions where the window holds the
        whole answer, else 0 (`[CLS]`, "no answer here"). Answers are byte
        spans (int64 [batch]); a negative start: the question has none."""
        w = self.windows(questions, contexts)
        starts, ends = w["token_starts"], w["token_ends"]
        first_token = tf.reduce_sum(tf.cast(ends <= answer_starts[:, None], tf.int32), axis=1)
        last_token = tf.reduce_sum(tf.cast(starts < answer_ends[:, None], tf.int32), axis=1) - 1
        answerable = (answer_starts >= 0) & (first_token <= last_token)
        start = tf.gather(first_token, w["example"]) - w["first"]
        end = tf.gather(last_token, w["example"]) - w["first"]
        inside = tf.gather(answerable, w["example"]) & (start >= 0) & (end < w["length"])
        labels = {"start": tf.where(inside, w["offset"] + start, 0),
                  "end": tf.where(inside, w["offset"] + end, 0)}
        return {name: w[name] for name in MODEL_INPUTS}, labels

    def dataset(self, questions, contexts, answer_starts, answer_ends, batch_size,
                shuffle=False, seed=None):
        """Batches of `(inputs, {"start", "end"})` windows; answers as byte
        spans (`labelled_windows`). Windows are made once and cached; with
        `shuffle` (training), reshuffled each epoch and batched with windows
        of similar length; each batch is cut to its longest window."""
        pairs = tf.data.Dataset.from_tensor_slices(
            (tf.constant(questions, tf.string), tf.constant(contexts, tf.string),
             tf.constant(answer_starts, tf.int64), tf.constant(answer_ends, tf.int64)))
        windows = pairs.batch(256).map(self.labelled_windows).unbatch().cache()
        if shuffle:
            windows = windows.shuffle(100_000, seed=seed, reshuffle_each_iteration=True)
            bounds = list(range(_LENGTH_STEP + 1, self.sequence_length + 1, _LENGTH_STEP))
            batches = windows.bucket_by_sequence_length(
                lambda inputs, labels: tf.reduce_sum(tf.cast(inputs["padding_mask"], tf.int32)),
                bounds, [batch_size] * (len(bounds) + 1))
        else:
            batches = windows.batch(batch_size)
        batches = batches.map(lambda inputs, labels: (cut_to_longest(inputs), labels))
        options = tf.data.Options()
        # Windows come from memory, not files: shard by window across workers.
        options.experimental_distribute.auto_shard_policy = \
            tf.data.experimental.AutoShardPolicy.DATA
        return batches.with_options(options).prefetch(tf.data.AUTOTUNE)

    def examples_dataset(self, examples, batch_size, shuffle=False, seed=None):
        """`dataset` of `tfllm.data.squad.QAExample`s (the first answer trains)."""
        spans = [example.byte_span() for example in examples]
        return self.dataset([e.question for e in examples], [e.context for e in examples],
                            [start for start, _ in spans], [end for _, end in spans],
                            batch_size, shuffle=shuffle, seed=seed)

    def get_config(self):
        return {**super().get_config(), "doc_stride": self.doc_stride,
                "max_query_length": self.max_query_length, "lowercase": self.lowercase}


def split_words(texts, lowercase, strip_accents=False):
    """`(words, starts, ends, normal)`: the words of `texts` (ragged
    [batch, words]) with their byte spans, and each word normalised as the
    vocabulary holds it (flat): case-folded as keras-hub's WordPiece
    pretokenization does, accents stripped where the tokenizer strips them."""
    words, starts, ends = tf_text.regex_split_with_offsets(texts, _DELIMITERS, _KEPT)
    normal = tf_text.case_fold_utf8(words.flat_values) if lowercase else words.flat_values
    if strip_accents:
        normal = tf.strings.regex_replace(tf_text.normalize_utf8(normal, "NFD"), r"\p{Mn}", "")
    return words, starts, ends, normal


def cut_to_longest(inputs):
    """Windows ({name: [windows, length]}) cut to the longest one's
    positions, rounded up to `_LENGTH_STEP`."""
    longest = tf.reduce_max(tf.reduce_sum(tf.cast(inputs["padding_mask"], tf.int32), axis=1))
    longest = tf.maximum(longest, 1)  # (no windows at all: an empty request)
    length = tf.minimum(-(-longest // _LENGTH_STEP) * _LENGTH_STEP,
                        tf.shape(inputs["token_ids"])[1])
    return {name: value[:, :length] for name, value in inputs.items()}
