"""Word-vector evaluation: similarity (Spearman), analogies (3CosAdd), neighbours.

The protocol is gensim's (`KeyedVectors.evaluate_word_pairs` and
`evaluate_word_analogies`), so figures compare with what gensim users
report: words compared case-insensitively (the most frequent casing in the
vocabulary stands for a word), pairs or questions with a word outside the
first `restrict_vocab` words left out and counted, cosine similarity, and
for an analogy "a is to b as c is to d" the nearest word to
unit(b) - unit(a) + unit(c) other than a, b and c. Written here rather than
taken from gensim so that tfllm does not need it at run time; the tests
check the figures against gensim's on the same vectors. Unlike gensim, a
line that does not parse stops the read with its file and line, rather than
being skipped with a log message.

Example:

>>> pairs = read_word_pairs("../shared/data/embeddings_eval/wordsim353.tsv")
>>> word_similarity(vectors, pairs)["spearman"]
0.474
"""

import dataclasses
import os

import numpy as np
from scipy import stats

from tfllm.data.errors import DataError

# gensim's `accuracy` (before 4.0) used the 30,000 most frequent words for
# analogies, and word2vec's compute-accuracy its -threshold; gensim 4's
# `evaluate_word_analogies` defaults to 300,000. 30,000 keeps rare words'
# noisy vectors from answering, the setting most published figures use.
ANALOGY_VOCABULARY = 30_000


@dataclasses.dataclass(frozen=True)
class WordPair:
    first: str
    second: str
    score: float


@dataclasses.dataclass(frozen=True)
class Analogy:
    """`a` is to `b` as `c` is to `d`, in `section` of its file."""
    section: str
    a: str
    b: str
    c: str
    d: str


def _lines(path):
    if not os.path.isfile(path):
        raise DataError(path, "no such file")
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if line:
                yield number, line


def read_word_pairs(path, delimiter="\t"):
    """The rated pairs of a WordSim353/SimLex-999 style file: `word1 word2
    score` lines split by `delimiter`, lines starting with `#` ignored."""
    pairs = []
    for number, line in _lines(path):
        if line.startswith("#"):
            continue
        fields = line.split(delimiter)
        try:
            first, second, score = fields
            pairs.append(WordPair(first, second, float(score)))
        except ValueError:
            raise DataError(path, f"expected 'word{delimiter}word{delimiter}score', "
                                  f"got {line!r}", line=number) from None
    if not pairs:
        raise DataError(path, "no word pairs in the file")
    return pairs


def read_analogies(path):
    """The questions of a Google-analogy style file: `: section` headers,
    then `a b c d` lines."""
    questions, section = [], None
    for number, line in _lines(path):
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        fields = line.split()
        if section is None:
            raise DataError(path, "a question before the first ': section' line", line=number)
        if len(fields) != 4:
            raise DataError(path, f"expected four words 'a b c d', got {line!r}", line=number)
        questions.append(Analogy(section, *fields))
    if not questions:
        raise DataError(path, "no analogy questions in the file")
    return questions


class _Vocabulary:
    """The first `restrict` words of `vectors` by their comparison key
    (upper case when case-insensitive), the most frequent casing winning."""

    def __init__(self, vectors, restrict, case_insensitive):
        self.fold = str.upper if case_insensitive else str
        words = vectors.words[:restrict]
        self.index = {}
        for i, word in enumerate(words):
            self.index.setdefault(self.fold(word), i)
        keys = {key: n for n, key in enumerate(self.index)}
        self.key_of = np.array([keys[self.fold(word)] for word in words])
        self.unit = vectors.unit_vectors()[:restrict]

    def ids(self, words):
        """Indices of `words`, or None if any is outside the vocabulary."""
        found = [self.index.get(self.fold(word)) for word in words]
        return None if None in found else found


def word_similarity(vectors, pairs, restrict_vocab=None, case_insensitive=True):
    """Spearman and Pearson correlation between `pairs`' scores and the
    cosine similarity of their vectors, over the pairs whose two words are
    among the first `restrict_vocab` words (all if None), with the count."""
    vocabulary = _Vocabulary(vectors, restrict_vocab, case_insensitive)
    gold, model = [], []
    for pair in pairs:
        ids = vocabulary.ids([pair.first, pair.second])
        if ids is not None:
            gold.append(pair.score)
            model.append(float(vocabulary.unit[ids[0]] @ vocabulary.unit[ids[1]]))
    if len(gold) < 2:
        raise ValueError(f"only {len(gold)} of {len(pairs)} pairs have both words in the "
                         "vocabulary: no correlation to compute")
    return {"spearman": float(stats.spearmanr(gold, model).statistic),
            "pearson": float(stats.pearsonr(gold, model).statistic),
            "pairs": len(pairs), "covered": len(gold), "coverage": len(gold) / len(pairs)}


def analogy_accuracy(vectors, questions, restrict_vocab=ANALOGY_VOCABULARY,
                     case_insensitive=True, batch_size=1024):
    """3CosAdd accuracy over the questions whose four words are among the
    first `restrict_vocab` words, overall and by section, with coverage."""
    vocabulary = _Vocabulary(vectors, restrict_vocab, case_insensitive)
    answerable = [(q.section, ids) for q in questions
                  if (ids := vocabulary.ids([q.a, q.b, q.c, q.d])) is not None]
    sections = {}
    for q in questions:
        sections.setdefault(q.section, {"questions": 0, "answered": 0, "correct": 0})
        sections[q.section]["questions"] += 1
    for start in range(0, len(answerable), batch_size):
        batch = answerable[start:start + batch_size]
        a, b, c, d = np.array([ids for _, ids in batch]).T
        unit = vocabulary.unit
        scores = (unit[b] - unit[a] + unit[c]) @ unit.T
        # The question's own words (in any casing) cannot be the answer.
        keys = vocabulary.key_of
        own = np.stack([keys[x] for x in (a, b, c)], axis=1)
        scores[(keys[None, :, None] == own[:, None, :]).any(axis=2)] = -np.inf
        right = keys[scores.argmax(axis=1)] == keys[d]
        for (section, _), correct in zip(batch, right):
            sections[section]["answered"] += 1
            sections[section]["correct"] += int(correct)
    correct = sum(s["correct"] for s in sections.values())
    return {"accuracy": correct / len(answerable) if answerable else 0.0,
            "correct": correct, "answered": len(answerable), "questions": len(questions),
            "coverage": len(answerable) / len(questions), "sections": sections}


def nearest_neighbours(vectors, words, k=10):
    """For each word, its `k` nearest other words by cosine similarity as
    (word, similarity) pairs; None for a word not in `vectors`."""
    unit = vectors.unit_vectors()
    indices, known = vectors.lookup(words)
    results = []
    for index, is_known in zip(indices, known):
        if not is_known:
            results.append(None)
            continue
        scores = unit @ unit[index]
        scores[index] = -np.inf
        best = np.argsort(-scores)[:k]
        results.append([(vectors.words[i], float(scores[i])) for i in best])
    return results


def evaluate_word_vectors(vectors, similarity_files=(), analogy_file=None):
    """The scores of `vectors` on each word-pair file (named by its file
    name without extension, e.g. `wordsim353`) and on the analogy file
    (`analogy`), as `word_similarity` and `analogy_accuracy` give them."""
    scores = {}
    for path in similarity_files:
        name = os.path.splitext(os.path.basename(path))[0]
        scores[name] = word_similarity(vectors, read_word_pairs(path))
    if analogy_file:
        scores["analogy"] = analogy_accuracy(vectors, read_analogies(analogy_file))
    return scores


def format_scores(scores):
    """One line per evaluation of `evaluate_word_vectors`, for people."""
    lines = []
    for name, score in scores.items():
        if "spearman" in score:
            lines.append(f"  {name}: Spearman {score['spearman']:.3f} over {score['covered']} "
                         f"of {score['pairs']} pairs")
        else:
            lines.append(f"  {name}: accuracy {score['accuracy']:.1%} over {score['answered']:,}"
                         f" of {score['questions']:,} questions (3CosAdd)")
    return "\n".join(lines)
