"""Starting a model's token embedding from pretrained word vectors.

`--pretrained_embeddings=PATH` (word2vec text format, ours or anyone's, or
GloVe's headerless files) sets the rows of the token embedding whose token
is a word of the file (exact, else lowercased, and SentencePiece's
word-start pieces `▁house` as `house`); the other rows keep their
initialisation. Word-inner pieces (`##ing`) and special tokens do not
match, so the report says how many vocabulary entries were covered; word
vectors suit the `word` tokenizer, which maps each word to one id.

Example:

>>> coverage = initialize_token_embedding(model.token_embedding,
...                                       preprocessor.tokenizer.get_vocabulary(),
...                                       "saved_models/word2vec/1/assets.extra/vectors.txt")
>>> coverage["covered"], coverage["vocabulary"]
(17412, 20000)
"""

import numpy as np

from tfllm import report
from tfllm.data.errors import DataError
from tfllm.data.word_vectors import WordVectors


def _row(vectors, token):
    """The row of `token`'s word: the token itself, lowercased, or a
    SentencePiece word-start piece without its "▁"."""
    for key in (token, token.lower(), token.lstrip("\u2581").lower()):
        if key in vectors.index:
            return vectors.index[key]
    return None


def initialize_token_embedding(layer, vocabulary, path, freeze=False):
    """Copies the vectors of `path` into `layer` (a Keras `Embedding`) for
    the tokens of `vocabulary` (its ids' strings); with `freeze` the layer
    stops training. Returns the coverage: covered, vocabulary, share."""
    vectors = WordVectors.load(path)
    matrix = layer.embeddings.numpy()
    if vectors.dimension != matrix.shape[1]:
        raise DataError(path, f"holds {vectors.dimension}-dimensional vectors; the model's "
                              f"embedding is {matrix.shape[1]} wide (set --hidden_dim="
                              f"{vectors.dimension})")
    rows, found = [], []
    for token_id, token in enumerate(vocabulary):
        row = _row(vectors, token)
        if row is not None:
            rows.append(token_id)
            found.append(row)
    if rows:
        matrix[np.array(rows)] = vectors.vectors[np.array(found)]
        layer.embeddings.assign(matrix)
    layer.trainable = not freeze
    return {"file": path, "covered": len(rows), "vocabulary": len(vocabulary),
            "coverage": len(rows) / len(vocabulary), "frozen": bool(freeze)}


def pretrained_embeddings(layer, vocabulary, flags):
    """What `--pretrained_embeddings` and `--freeze_embeddings` ask of a
    task's token embedding `layer`: its coverage (reported), or None."""
    if not flags.pretrained_embeddings:
        return None
    coverage = initialize_token_embedding(layer, vocabulary, flags.pretrained_embeddings,
                                          flags.freeze_embeddings)
    report.stage(f"Pretrained embeddings: {coverage['covered']:,} of {coverage['vocabulary']:,} "
                 f"vocabulary entries ({coverage['coverage']:.1%}) start from "
                 f"{coverage['file']}{', frozen' if coverage['frozen'] else ''}")
    return coverage


def embedding_rows(coverage):
    """The closing summary's line about pretrained embeddings (none without)."""
    if not coverage:
        return []
    return [("embeddings", f"{coverage['covered']:,}/{coverage['vocabulary']:,} from "
                           f"{coverage['file']}{' (frozen)' if coverage['frozen'] else ''}")]
