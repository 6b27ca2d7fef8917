"""Word vectors in the word2vec text format: read, write, look up.

The format (Mikolov's word2vec `-binary 0`, gensim's
`save_word2vec_format(binary=False)`) is a header line `count dimension`,
then one line per word: the word and its `dimension` numbers, separated by
spaces, most frequent word first. GloVe's own files are the same without the
header; both are read.

Example:

>>> vectors = WordVectors(["the", "cat"], np.array([[1.0, 0.0], [0.6, 0.8]]))
>>> vectors.save("vectors.txt")
>>> WordVectors.load("vectors.txt").lookup(["cat", "dog"])[1]
array([ True, False])
"""

import gzip
import os

import numpy as np

from tfllm.atomic_files import staged_file
from tfllm.data.errors import DataError


class WordVectors:
    """`words[i]`'s vector is `vectors[i]`; words are in the order given
    (by convention, most frequent first), each once.

    Example:

    >>> vectors = WordVectors(["king", "queen"], np.ones((2, 3)))
    >>> vectors.dimension, len(vectors)
    (3, 2)
    """

    def __init__(self, words, vectors):
        self.words = list(words)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or len(self.words) != len(self.vectors):
            raise ValueError(f"{len(self.words)} words for vectors of shape "
                             f"{self.vectors.shape}")
        self.index = {}
        for i, word in enumerate(self.words):
            if word in self.index:
                raise ValueError(f"{word!r} appears twice (entries {self.index[word]} and {i})")
            self.index[word] = i

    def __len__(self):
        return len(self.words)

    @property
    def dimension(self):
        return self.vectors.shape[1]

    def unit_vectors(self):
        """Each vector scaled to length 1 (a zero vector stays zero)."""
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        return self.vectors / np.where(norms > 0, norms, 1)

    def lookup(self, words):
        """(indices, known) for `words`: index -1 where the word is unknown."""
        indices = np.array([self.index.get(word, -1) for word in words], dtype=np.int64)
        return indices, indices >= 0

    def save(self, path):
        """Writes the word2vec text format (atomically)."""
        with staged_file(path) as f:
            f.write(f"{len(self)} {self.dimension}\n")
            for word, vector in zip(self.words, self.vectors):
                f.write(word + " " + " ".join(f"{value:.6g}" for value in vector) + "\n")

    def save_projector(self, folder):
        """Writes `vectors.tsv` and `metadata.tsv` for the TensorBoard
        Embedding Projector (projector.tensorflow.org loads the pair)."""
        with staged_file(os.path.join(folder, "vectors.tsv")) as f:
            for vector in self.vectors:
                f.write("\t".join(f"{value:.6g}" for value in vector) + "\n")
        with staged_file(os.path.join(folder, "metadata.tsv")) as f:
            f.writelines(word + "\n" for word in self.words)

    @classmethod
    def load(cls, path, limit=None):
        """Reads a word2vec text file (or GloVe's, without the header; either
        may be gzipped), keeping the first `limit` words if given. A line
        that does not parse stops the read with its file and line number."""
        words, rows, expected = [], [], None
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                fields = line.rstrip("\n").rstrip(" ").split(" ")
                if number == 1 and len(fields) == 2 and all(x.isdigit() for x in fields):
                    expected = int(fields[0])
                    dimension = int(fields[1])
                    continue
                if not rows and expected is None:
                    dimension = len(fields) - 1  # GloVe: no header, the first row tells
                if len(fields) != dimension + 1:
                    raise DataError(path, f"{len(fields) - 1} numbers after {fields[0]!r}, "
                                          f"expected {dimension}", line=number)
                try:
                    rows.append(np.array(fields[1:], dtype=np.float32))
                except ValueError:
                    raise DataError(path, f"a value after {fields[0]!r} is not a number",
                                    line=number) from None
                words.append(fields[0])
                if limit is not None and len(words) == limit:
                    break
        if not words:
            raise DataError(path, "no word vectors in the file")
        if limit is None and expected is not None and expected != len(words):
            raise DataError(path, f"the header promises {expected:,} words, the file has "
                                  f"{len(words):,}")
        try:
            return cls(words, np.stack(rows))
        except ValueError as error:
            raise DataError(path, str(error)) from None
