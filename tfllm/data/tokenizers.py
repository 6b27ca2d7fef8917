"""Trains, saves and loads the keras-hub tokenizers tasks use.

Kinds: `wordpiece` and `sentencepiece` (vocabularies trained on the data
with keras-hub), `char` (Unicode code points) and `byte`. Trained kinds
reserve padding = 0 (so models can mask it), unknown = 1 and a start token
(`[CLS]` for WordPiece, `<s>` for SentencePiece; see `start_token_id`).

Example:

>>> tokenizer = build_tokenizer("wordpiece", ["a good film", "a bad film"], 100)
>>> save_tokenizer(tokenizer, "runs/sentiment/tokenizer")
>>> load_tokenizer("runs/sentiment/tokenizer")("a good film")
"""

import json
import os

import keras_hub
import tensorflow as tf

from tfllm.data.errors import DataError
from tfllm.runtime import quiet_stderr

KINDS = ("wordpiece", "sentencepiece", "char", "byte")
PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"
_SPECIAL = [PAD, UNK, CLS]
_CONFIG = "tokenizer.json"


def _as_dataset(texts):
    if isinstance(texts, tf.data.Dataset):
        return texts
    return tf.data.Dataset.from_tensor_slices(list(texts))


def build_tokenizer(kind, texts=None, vocab_size=8000):
    """A tokenizer of `kind`; trained kinds learn a vocabulary from `texts`."""
    if kind == "wordpiece":
        vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
            _as_dataset(texts).batch(1024), vocab_size, lowercase=False,
            strip_accents=False, reserved_tokens=_SPECIAL)
        return _wordpiece(vocabulary)
    if kind == "sentencepiece":
        # keras-hub fixes the ids: <pad> 0, <unk> 1, <s> 2, </s> 3.
        try:
            with quiet_stderr():
                proto = keras_hub.tokenizers.compute_sentence_piece_proto(
                    _as_dataset(texts), vocab_size, model_type="unigram")
        except RuntimeError as error:  # e.g. "Vocabulary size too high (30) ... <= 28"
            raise DataError("--vocab_size", str(error).split("] ")[-1]) from error
        return keras_hub.tokenizers.SentencePieceTokenizer(proto=proto)
    if kind == "char":
        return keras_hub.tokenizers.UnicodeCodepointTokenizer(
            lowercase=False, vocabulary_size=vocab_size)
    if kind == "byte":
        return keras_hub.tokenizers.ByteTokenizer(lowercase=False)
    raise ValueError(f"tokenizer must be one of {KINDS}, got {kind!r}")


def _wordpiece(vocabulary):
    return keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=vocabulary, lowercase=False, strip_accents=False, oov_token=UNK,
        special_tokens=[CLS], special_tokens_in_strings=False)


def tokenizer_kind(tokenizer):
    for kind, cls in (("wordpiece", keras_hub.tokenizers.WordPieceTokenizer),
                      ("sentencepiece", keras_hub.tokenizers.SentencePieceTokenizer),
                      ("char", keras_hub.tokenizers.UnicodeCodepointTokenizer),
                      ("byte", keras_hub.tokenizers.ByteTokenizer)):
        if isinstance(tokenizer, cls):
            return kind
    raise TypeError(f"unsupported tokenizer {type(tokenizer).__name__}")


# The special tokens each trained kind reserves, by role.
_SPECIAL_TOKENS = {
    "wordpiece": {"start": CLS, "unknown": UNK},
    "sentencepiece": {"start": "<s>", "unknown": "<unk>"},
}


def _special_token_id(tokenizer, role):
    kind = tokenizer_kind(tokenizer)
    if kind not in _SPECIAL_TOKENS:
        raise ValueError(f"{kind} tokenizers have no {role} token; use wordpiece or sentencepiece")
    return tokenizer.token_to_id(_SPECIAL_TOKENS[kind][role])


def start_token_id(tokenizer):
    """Id of the token that starts every sequence a classifier sees."""
    return _special_token_id(tokenizer, "start")


def unknown_token_id(tokenizer):
    """Id of the out-of-vocabulary token of a trained tokenizer."""
    return _special_token_id(tokenizer, "unknown")


def vocabulary_size(tokenizer):
    return int(tokenizer.vocabulary_size())


def save_tokenizer(tokenizer, folder):
    """Writes the tokenizer's kind and vocabulary (vocab.txt or spm.model) to `folder`."""
    os.makedirs(folder, exist_ok=True)
    kind = tokenizer_kind(tokenizer)
    config = {"kind": kind}
    if kind == "wordpiece":
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
    if kind == "wordpiece":
        with open(os.path.join(folder, "vocab.txt"), encoding="utf-8") as f:
            return _wordpiece(f.read().splitlines())
    if kind == "sentencepiece":
        with open(os.path.join(folder, "spm.model"), "rb") as f:
            return keras_hub.tokenizers.SentencePieceTokenizer(proto=f.read())
    return build_tokenizer(kind, vocab_size=config.get("vocab_size"))
