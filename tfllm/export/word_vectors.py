"""The serving signatures of word vectors: words in, vectors and neighbours out.

`embed(words: string [batch])` returns `vectors` (float32 [batch, dim]) and
`known` (bool [batch]); `nearest(words, k: int32 scalar)` returns
`neighbours` (string [batch, k]), `scores` (cosine similarity, float32
[batch, k]) and `known`. Words are lowercased as training lowercased them;
an unknown word gets a zero vector, empty neighbours and `known` false,
not an error. `serving_default` is `embed`. Only core TF ops (a hash
table, gathers, a matmul and `top_k`).

The vector files go beside the SavedModel, in `assets.extra/` (TF Serving
ignores it): `vectors.txt` in the word2vec text format (gensim's
`KeyedVectors.load_word2vec_format` reads it) and the TensorBoard
projector's `vectors.tsv` and `metadata.tsv`.

Example:

>>> index = VectorIndex(vectors)
>>> export_task("saved_models/word2vec", index, preprocessor,
...             word_vector_endpoints(index), card, assets=vector_assets(vectors))
"""

import os

import keras
import tensorflow as tf

from tfllm.export.saved_model import endpoint

ASSETS = "assets.extra"


class VectorIndex(keras.layers.Layer):
    """Word vectors held for serving: a word -> row table, the vectors and
    their unit-length copies (for cosine scores), as non-trainable weights.

    Example:

    >>> index = VectorIndex(WordVectors(["cat", "dog"], [[1.0, 0.0], [0.6, 0.8]]))
    >>> index.embed(tf.constant(["Dog", "emu"]))["known"].numpy()
    array([ True, False])
    """

    def __init__(self, vectors, **kwargs):
        super().__init__(**kwargs)
        self.source = vectors  # the `WordVectors` served
        self.words = tf.constant(vectors.words)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                self.words, tf.range(len(vectors), dtype=tf.int64)), -1)
        self.vectors = self.add_weight(shape=vectors.vectors.shape, trainable=False,
                                       initializer="zeros", name="vectors")
        self.unit = self.add_weight(shape=vectors.vectors.shape, trainable=False,
                                    initializer="zeros", name="unit_vectors")
        self.vectors.assign(vectors.vectors)
        self.unit.assign(vectors.unit_vectors())
        self.built = True

    def _rows(self, words):
        rows = self.table.lookup(tf.strings.lower(tf.strings.strip(words), encoding="utf-8"))
        return tf.maximum(rows, 0), rows >= 0

    def embed(self, words):
        rows, known = self._rows(words)
        vectors = tf.gather(self.vectors, rows) * tf.cast(known, tf.float32)[:, None]
        return {"vectors": vectors, "known": known}

    def nearest(self, words, k):
        rows, known = self._rows(words)
        k = tf.clip_by_value(k, 1, tf.shape(self.unit)[0] - 1)
        scores = tf.matmul(tf.gather(self.unit, rows), self.unit, transpose_b=True)
        # A word is not its own neighbour.
        scores += tf.one_hot(rows, tf.shape(self.unit)[0], on_value=-1e9, off_value=0.0)
        best, ids = tf.math.top_k(scores, k)
        mask = known[:, None]
        return {"neighbours": tf.where(mask, tf.gather(self.words, ids), ""),
                "scores": tf.where(mask, best, 0.0), "known": known}


def word_vector_endpoints(index):
    """`{"serving_default", "embed", "nearest"}` for `export_task`."""
    words = tf.TensorSpec([None], tf.string, name="words")

    @endpoint(words)
    def embed(words):
        return index.embed(words)

    @endpoint(words, tf.TensorSpec([], tf.int32, name="k"))
    def nearest(words, k):
        return index.nearest(words, k)

    return {"serving_default": embed, "embed": embed, "nearest": nearest}


def vector_assets(vectors):
    """Writes `vectors`' files into an export folder's `assets.extra/`."""
    def write(folder):
        extra = os.path.join(folder, ASSETS)
        os.makedirs(extra, exist_ok=True)
        vectors.save(os.path.join(extra, "vectors.txt"))
        vectors.save_projector(extra)

    return write
