"""Small demo datasets the project generates itself, so tasks run offline.

They are demo data, not benchmarks: real runs point `--data` at real files
or TFDS. The sentiment sample is built so that a bag of words cannot solve
it: negation flips a clause ("was not good"), and in "X but Y" the clause
after "but" decides, so "the plot was good but the acting was bad" and "the
plot was bad but the acting was good" hold the same words with opposite
labels.
"""

import random

POSITIVE = ["good", "great", "wonderful", "moving", "funny"]
NEGATIVE = ["bad", "awful", "boring", "dull", "weak"]
ASPECTS = ["plot", "acting", "music", "script", "ending", "cast"]
LABEL_NAMES = ["negative", "positive"]


def _clause(rng):
    """A clause and its polarity (1 positive, 0 negative)."""
    positive = rng.random() < 0.5
    adjective = rng.choice(POSITIVE if positive else NEGATIVE)
    negated = rng.random() < 0.35
    verb = "was not" if negated else rng.choice(["was", "was really"])
    return f"the {rng.choice(ASPECTS)} {verb} {adjective}", int(positive != negated)


def sentiment_examples(count=2000, seed=0):
    """`count` (text, label name) pairs; the same `seed` gives the same data.

    Example:

    >>> sentiment_examples(2, seed=1)[0]
    ('the script was not good', 'negative')
    """
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        first, polarity = _clause(rng)
        if rng.random() < 0.5:
            second, polarity = _clause(rng)
            first = f"{first} but {second}"
        examples.append((first, LABEL_NAMES[polarity]))
    return examples


def corpus_text(count=2000, seed=0):
    """Plain demo text (one sentence a line) for language-model tasks."""
    return "\n".join(text for text, _ in sentiment_examples(count, seed)) + "\n"
