"""What every preprocessor shares: a tokenizer, a sequence length, save and load.

A preprocessor turns raw strings into model inputs (and model outputs back
into strings) with TF and TF Text ops only, so the same object runs in the
tf.data pipeline and inside the exported serving graph, as keras-hub's
preprocessors do. Each task family has one (classification, language
model; seq2seq, span QA and masked LM follow the same pattern). It is
saved with the run (`model_dir/preprocessor/`) and with the export
(`assets.extra/preprocessor/`): the tokenizer's files and
`preprocessor.json` (its class and settings), which `Preprocessor.load`
reads back.

Example:

>>> preprocessor.save("runs/sentiment/preprocessor")
>>> same = Preprocessor.load("runs/sentiment/preprocessor")
"""

import json
import os

import tensorflow as tf

from tfllm.data.tokenizers import load_tokenizer, save_tokenizer, vocabulary_size

_CONFIG = "preprocessor.json"
_CLASSES = {}


class Preprocessor:
    """Base class: owns `tokenizer` and `sequence_length` (the longest input).

    Subclasses add their own settings to `get_config` and take them as
    constructor arguments, after the tokenizer.
    """

    def __init__(self, tokenizer, sequence_length):
        self.tokenizer = tokenizer
        self.sequence_length = int(sequence_length)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _CLASSES[cls.__name__] = cls

    @property
    def vocabulary_size(self):
        return vocabulary_size(self.tokenizer)

    @property
    def tokenizers(self):
        """Every tokenizer this preprocessor uses (an export tracks them all)."""
        return [self.tokenizer]

    def tokenize(self, texts):
        """int32 RaggedTensor of token ids for a string tensor `[batch]`."""
        ids = self.tokenizer(texts)
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        return tf.cast(ids, tf.int32)

    def get_config(self):
        return {"sequence_length": self.sequence_length}

    def save(self, folder):
        """Writes the tokenizer's files and `preprocessor.json` to `folder`."""
        self.save_tokenizers(folder)
        with open(os.path.join(folder, _CONFIG), "w") as f:
            json.dump({"class": type(self).__name__, "config": self.get_config()}, f, indent=2)

    def save_tokenizers(self, folder):
        save_tokenizer(self.tokenizer, folder)

    @classmethod
    def from_folder(cls, folder, config):
        """An instance from `folder`'s tokenizer files and the saved `config`."""
        return cls(load_tokenizer(folder), **config)

    @staticmethod
    def load(folder):
        """The preprocessor `save` wrote to `folder`, of its own class."""
        with open(os.path.join(folder, _CONFIG)) as f:
            saved = json.load(f)
        return _CLASSES[saved["class"]].from_folder(folder, saved["config"])
