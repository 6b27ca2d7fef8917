"""Extractive QA scores as the official SQuAD evaluation scripts compute them.

Exact match and token F1 after the v1.1 answer normalisation (lowercase,
punctuation removed, the articles "a", "an" and "the" removed, whitespace
collapsed), each the best over an example's gold answers, as percentages.
An example with no gold answer (SQuAD 2.0's unanswerable questions) scores
1 when the prediction is empty and 0 otherwise; with any such example the
scores are also split into `has_answer_*` and `no_answer_*`, as the v2.0
script's HasAns/NoAns.

Written here because the official scripts are standalone files, not a
package (Hugging Face `evaluate` wraps them, at the price of its whole
dependency tree).

Example:

>>> squad_scores({"q1": "the Eiffel Tower"}, {"q1": ["Eiffel Tower", "the tower"]})
{'exact_match': 100.0, 'f1': 100.0, 'examples': 1}
"""

import collections
import re
import string

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text):
    """Lowercase, drop punctuation and articles, collapse whitespace (SQuAD v1.1)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction, gold):
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction, gold):
    """F1 of the normalised tokens' overlap; two empty answers agree (v2.0)."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((collections.Counter(predicted) & collections.Counter(expected)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def example_scores(prediction, golds):
    """`(exact match, F1)` of one prediction: the best over `golds`; no
    gold answer (or only empty ones) means the question has none."""
    golds = [gold for gold in golds if normalize_answer(gold)] or [""]
    return (max(exact_match(prediction, gold) for gold in golds),
            max(token_f1(prediction, gold) for gold in golds))


def squad_scores(predictions, golds):
    """Scores (percent) of `predictions` ({id: text}) against `golds` ({id:
    [answer texts]}); a question without a prediction counts as answered
    with the empty string."""
    rows = {question: example_scores(predictions.get(question, ""), answers)
            for question, answers in golds.items()}
    result = _mean(rows.values())
    answerable = {q for q, answers in golds.items() if any(map(normalize_answer, answers))}
    if len(answerable) < len(golds):
        for name, keep in (("has_answer", True), ("no_answer", False)):
            part = _mean(score for q, score in rows.items() if (q in answerable) == keep)
            result.update({f"{name}_{key}": value for key, value in part.items()})
    return result


def _mean(scores):
    scores = list(scores)
    count = len(scores)
    return {"exact_match": 100.0 * sum(em for em, _ in scores) / max(count, 1),
            "f1": 100.0 * sum(f1 for _, f1 in scores) / max(count, 1),
            "examples": count}
