"""Trains, saves and loads the keras-hub tokenizers tasks use.

Kinds: `wordpiece` and `sentencepiece` (vocabularies trained on the data
with keras-hub), `word` (whole lowercased words, see
`tfllm.data.word_tokenizer`), `char` (Unicode code points, as many ids as
the training text needs) and `byte`. Trained kinds reserve padding = 0 (so models can
mask it), unknown = 1 and a start token (`[CLS]` for WordPiece, `<s>` for
SentencePiece; see `start_token_id`).

Seed before making a SentencePiece tokenizer, not after: `tf.random.set_seed`
(and `keras.utils.set_random_seed`) clears TensorFlow's kernel cache, and with
it the SentencePiece model, so a later call fails with "Resource ...
SentencepieceResource does not exist". The task runner seeds first.

Example:

>>> tokenizer = train_tokenizer("wordpiece", ["a good film", "a bad film"], 100)
>>> save_tokenizer(tokenizer, "runs/sentiment/tokenizer")
>>> load_tokenizer("runs/sentiment/tokenizer")("a good film")
"""

import io
import json
import math
import os
import re

import keras_hub
import tensorflow as tf

from tfllm.compat import split_words
from tfllm.data.errors import DataError
from tfllm.data.word_tokenizer import SPECIAL, WordTokenizer
from tfllm.runtime import quiet_stderr

KINDS = ("wordpiece", "sentencepiece", "word", "char", "byte")
_SPECIAL = SPECIAL  # the word tokenizer's ids are the same
PAD, UNK, CLS = _SPECIAL
_CONFIG = "tokenizer.json"


def _as_dataset(texts):
    if isinstance(texts, tf.data.Dataset):
        return texts
    return tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string))


def train_tokenizer(kind, texts, vocab_size=8000):
    """A tokenizer of `kind` fitted to `texts` (strings, or a tf.data.Dataset of them).

    `wordpiece` and `sentencepiece` learn a vocabulary of up to `vocab_size`
    (give them sentences or lines, not one long string); `char` takes the
    code points the texts hold, rounded up to a multiple of 64, at most
    `vocab_size` (Tiny Shakespeare needs 128 ids, not an 8,000-way softmax;
    rarer code points seen later map to the last id); `byte` needs nothing.
    """
    if kind == "wordpiece":
        return _wordpiece(word_piece_vocabulary(_as_dataset(texts), vocab_size, _SPECIAL))
    if kind == "sentencepiece":
        return _sentencepiece(_sentence_piece_proto(texts, vocab_size))
    if kind == "word":
        return WordTokenizer.train(_as_dataset(texts), vocab_size)
    if kind == "char":
        top = _largest_code_point(texts) + 1
        return _char(int(min(vocab_size, 64 * math.ceil(top / 64))))
    if kind == "byte":
        return keras_hub.tokenizers.ByteTokenizer(lowercase=False)
    raise ValueError(f"tokenizer must be one of {KINDS}, got {kind!r}")


# tf.text's learner keeps a piece seen at least this often (its default lowest threshold).
_LOWEST_COUNT = 10


def word_piece_vocabulary(texts, vocab_size, reserved_tokens):
    """A WordPiece vocabulary of at most `vocab_size` pieces (`reserved_tokens`
    first) learned from `texts` (a tf.data.Dataset of cleaned strings), as
    keras-hub's `compute_word_piece_vocabulary` learns it, but faster where
    the text cannot fill the vocabulary.

    tf.text's learner (which keras-hub calls) binary-searches the count a
    piece needs, from the commonest word's count down to 10, for a
    vocabulary within 5% below `vocab_size`; each probe is a full learning
    pass over the words, about 15 in all (SST-2's 14k words: 1.5 s a pass,
    20-30 s in all). A text that cannot fill `vocab_size` even at the lowest
    count (SST-2 at 8,000) sends the search to that bottom probe by probe:
    here one pass at the lowest count comes first, and if it fits it is the
    vocabulary (the largest within the bound); only otherwise does the
    search run, as keras-hub runs it.

    Example:

    >>> vocabulary = word_piece_vocabulary(dataset_of_lines, 8000, ["[PAD]", "[UNK]"])
    """
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

    try:
        counts = learner.count_words(texts.batch(1024).map(split_words))
    except StopIteration:  # how tf.text's count_words meets a text without words
        raise DataError("--vocab_size", "the text to learn a WordPiece vocabulary from "
                        "has no words") from None

    def learn(**bounds):
        return learner.learn(counts, vocab_size, list(reserved_tokens),
                             include_joiner_token=True, joiner="##", **bounds)

    vocabulary = learn(upper_thresh=_LOWEST_COUNT, lower_thresh=_LOWEST_COUNT)
    if len(vocabulary) > vocab_size:
        vocabulary = learn(lower_thresh=_LOWEST_COUNT)
    return vocabulary[:vocab_size]  # as keras-hub cuts the search's result


# Byte fallback needs 256 pieces of the vocabulary for the bytes.
_BYTE_FALLBACK_MIN_VOCAB = 1024


def _sentence_piece_proto(texts, vocab_size):
    """A SentencePiece unigram model of at most `vocab_size` pieces.

    Trained with `sentencepiece` itself rather than keras-hub's
    `compute_sentence_piece_proto`, which takes no trainer options: here
    every character of the training text gets a piece (`character_coverage`
    1, where the default drops the rarest 0.05%, so a rare "Z" would come
    back as " ⁇ "), and with a vocabulary of 1,024 or more, characters never
    seen fall back to their UTF-8 bytes and still detokenize. The ids are
    keras-hub's: <pad> 0, <unk> 1, <s> 2, </s> 3.

    SentencePiece refuses a size the text cannot fill ("Vocabulary size too
    high (8000). Please set it to a value <= 119"); `vocab_size` is an upper
    bound here, as for WordPiece, so training is repeated at the size it
    names.
    """
    import sentencepiece

    writer = io.BytesIO()
    try:
        with quiet_stderr():
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=_as_dataset(texts).as_numpy_iterator(), model_writer=writer,
                vocab_size=vocab_size, model_type="unigram", normalization_rule_name="nmt_nfkc",
                character_coverage=1.0, byte_fallback=vocab_size >= _BYTE_FALLBACK_MIN_VOCAB,
                pad_id=0, unk_id=1, bos_id=2, eos_id=3)
    except RuntimeError as error:
        largest = re.search(r"value <= (\d+)", str(error))
        if largest and int(largest.group(1)) < vocab_size:
            return _sentence_piece_proto(texts, int(largest.group(1)))
        raise DataError("--vocab_size", str(error).split("] ")[-1]) from error
    return writer.getvalue()


def _largest_code_point(texts):
    """The largest code point in `texts` (127 for none), computed in TF ops."""
    largest = 127
    for batch in _as_dataset(texts).batch(4096):
        points = tf.strings.unicode_decode(batch, "UTF-8", errors="replace").flat_values
        if tf.size(points):
            largest = max(largest, int(tf.reduce_max(points)))
    return largest


def _char(vocab_size):
    return keras_hub.tokenizers.UnicodeCodepointTokenizer(lowercase=False,
                                                          vocabulary_size=vocab_size)


def _sentencepiece(proto):
    return keras_hub.tokenizers.SentencePieceTokenizer(proto=proto)


def _wordpiece(vocabulary):
    return keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=vocabulary, lowercase=False, strip_accents=False, oov_token=UNK,
        special_tokens=[CLS], special_tokens_in_strings=False)


def tokenizer_kind(tokenizer):
    for kind, cls in (("wordpiece", keras_hub.tokenizers.WordPieceTokenizer),
                      ("sentencepiece", keras_hub.tokenizers.SentencePieceTokenizer),
                      ("word", WordTokenizer),
                      ("char", keras_hub.tokenizers.UnicodeCodepointTokenizer),
                      ("byte", keras_hub.tokenizers.ByteTokenizer)):
        if isinstance(tokenizer, cls):
            return kind
    raise TypeError(f"unsupported tokenizer {type(tokenizer).__name__}")


# The special tokens each trained kind reserves, by role.
_SPECIAL_TOKENS = {
    "wordpiece": {"start": CLS, "unknown": UNK},
    "sentencepiece": {"start": "<s>", "unknown": "<unk>", "end": "</s>"},
    "word": {"start": CLS, "unknown": UNK},
}


def _special_token_id(tokenizer, role):
    kind = tokenizer_kind(tokenizer)
    if role not in _SPECIAL_TOKENS.get(kind, {}):
        having = [name for name, roles in _SPECIAL_TOKENS.items() if role in roles]
        raise ValueError(f"{kind} tokenizers have no {role} token; use {' or '.join(having)}")
    return tokenizer.token_to_id(_SPECIAL_TOKENS[kind][role])


def start_token_id(tokenizer):
    """Id of the token that starts every sequence a classifier sees."""
    return _special_token_id(tokenizer, "start")


def end_token_id(tokenizer):
    """Id of the token that ends a generated sequence (SentencePiece's </s>)."""
    return _special_token_id(tokenizer, "end")


def unknown_token_id(tokenizer):
    """Id of the out-of-vocabulary token of a trained tokenizer."""
    return _special_token_id(tokenizer, "unknown")


def vocabulary_size(tokenizer):
    return int(tokenizer.vocabulary_size())


# A keras-hub model's tokenizer (a `BertTokenizer` from a preset) is saved
# as a preset of its own, in this subfolder (keras-hub's preset files
# include a `tokenizer.json` of their own).
_PRESET = "preset"


def _from_preset(tokenizer):
    """Whether `tokenizer` came from a keras-hub preset (a subclass of one
    of the kinds' classes, such as `BertTokenizer`), not made here."""
    return type(tokenizer) not in (keras_hub.tokenizers.WordPieceTokenizer,
                                   keras_hub.tokenizers.SentencePieceTokenizer, WordTokenizer,
                                   keras_hub.tokenizers.UnicodeCodepointTokenizer,
                                   keras_hub.tokenizers.ByteTokenizer)


def save_tokenizer(tokenizer, folder):
    """Writes the tokenizer's kind and vocabulary (vocab.txt or spm.model) to
    `folder`; a preset's tokenizer as a keras-hub preset in `folder/preset`."""
    os.makedirs(folder, exist_ok=True)
    kind = "preset" if _from_preset(tokenizer) else tokenizer_kind(tokenizer)
    config = {"kind": kind}
    if kind == "preset":
        tokenizer.save_to_preset(os.path.join(folder, _PRESET))
    elif kind in ("wordpiece", "word"):
        with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(tokenizer.get_vocabulary()) + "\n")
    elif kind == "sentencepiece":
        with open(os.path.join(folder, "spm.model"), "wb") as f:
            f.write(tokenizer.proto)
    elif kind == "char":
        config["vocab_size"] = vocabulary_size(tokenizer)
    with open(os.path.join(folder, _CONFIG), "w") as f:
        json.dump(config, f)


def load_tokenizer(folder):
    """Reads a tokenizer written by `save_tokenizer`."""
    with open(os.path.join(folder, _CONFIG)) as f:
        config = json.load(f)
    kind = config["kind"]
    if kind == "preset":
        return keras_hub.tokenizers.Tokenizer.from_preset(os.path.join(folder, _PRESET))
    if kind == "wordpiece":
        with open(os.path.join(folder, "vocab.txt"), encoding="utf-8") as f:
            return _wordpiece(f.read().splitlines())
    if kind == "word":
        with open(os.path.join(folder, "vocab.txt"), encoding="utf-8") as f:
            return WordTokenizer(f.read().splitlines())
    if kind == "sentencepiece":
        with open(os.path.join(folder, "spm.model"), "rb") as f:
            return _sentencepiece(f.read())
    if kind == "char":
        return _char(config["vocab_size"])
    return train_tokenizer(kind, [])
