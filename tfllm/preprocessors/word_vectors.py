"""The preprocessor of word-vector training: a counted word vocabulary and
the settings that turn a word stream into training windows.

Words come from `tfllm.data.word_corpus.words_of` (lowercased, split at
what is not a letter, digit or inner apostrophe); the vocabulary is saved
as `vocabulary.tsv` (word TAB count, most frequent first).

Example:

>>> preprocessor = WordVectorPreprocessor(count_vocabulary(stream), window=5, sample=1e-3)
>>> train = preprocessor.dataset(stream, batch_size=4096, seed=0)
"""

import os

import numpy as np

from tfllm.data.word_corpus import Vocabulary, training_windows
from tfllm.preprocessors.base import Preprocessor

_VOCABULARY = "vocabulary.tsv"


class WordVectorPreprocessor(Preprocessor):
    """A `Vocabulary` (words, counts) with the window and subsampling of
    training. Its ids are vocabulary rows (0 is the most frequent word)."""

    def __init__(self, vocabulary, window=5, sample=1e-3):
        super().__init__(tokenizer=None, sequence_length=2 * window + 1)
        self.vocabulary, self.window, self.sample = vocabulary, int(window), float(sample)

    @property
    def vocabulary_size(self):
        return len(self.vocabulary.words)

    @property
    def tokenizers(self):
        return []

    def dataset(self, stream, batch_size, seed):
        """Training windows of `stream` (from `word_stream`), `batch_size` centres a batch."""
        return training_windows(stream, self.vocabulary, self.window, self.sample, batch_size,
                                seed)

    def get_config(self):
        return {"window": self.window, "sample": self.sample,
                "corpus_words": self.vocabulary.corpus_words}

    def save_tokenizers(self, folder):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, _VOCABULARY), "w", encoding="utf-8") as f:
            f.writelines(f"{word}\t{count}\n"
                         for word, count in zip(self.vocabulary.words, self.vocabulary.counts))

    @classmethod
    def from_folder(cls, folder, config):
        with open(os.path.join(folder, _VOCABULARY), encoding="utf-8") as f:
            words, counts = zip(*(line.rstrip("\n").split("\t") for line in f))
        vocabulary = Vocabulary(list(words), np.array(counts, dtype=np.int64),
                                config["corpus_words"])
        return cls(vocabulary, config["window"], config["sample"])
