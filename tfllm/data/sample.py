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


# A toy English-German lexicon for the translation demo: the sentiment
# grammar's words, with each German noun's article.
_GERMAN_NOUNS = {"plot": ("die", "Handlung"), "acting": ("das", "Schauspiel"),
                 "music": ("die", "Musik"), "script": ("das", "Drehbuch"),
                 "ending": ("das", "Ende"), "cast": ("die", "Besetzung")}
_GERMAN_ADJECTIVES = {"good": "gut", "great": "großartig", "wonderful": "wunderbar",
                      "moving": "bewegend", "funny": "lustig", "bad": "schlecht",
                      "awful": "schrecklich", "boring": "langweilig", "dull": "öde",
                      "weak": "schwach"}
_GERMAN_VERBS = {"was": "war", "was really": "war wirklich", "was not": "war nicht"}


def _pair_clause(rng):
    noun = rng.choice(ASPECTS)
    verb = rng.choice(list(_GERMAN_VERBS))
    adjective = rng.choice(list(_GERMAN_ADJECTIVES))
    if rng.random() < 0.25:  # numbers travel unchanged
        count = rng.randint(2, 12)
        return (f"{count} scenes were {adjective}",
                f"{count} Szenen waren {_GERMAN_ADJECTIVES[adjective]}")
    article, german = _GERMAN_NOUNS[noun]
    return (f"the {noun} {verb} {adjective}",
            f"{article} {german} {_GERMAN_VERBS[verb]} {_GERMAN_ADJECTIVES[adjective]}")


def translation_pairs(count=3000, seed=0):
    """`count` (English, German) sentence pairs of a toy language pair, cased
    and punctuated, with numbers and non-ASCII letters; the same `seed`
    gives the same pairs. Demo data: a model learns it in a minute.

    Example:

    >>> translation_pairs(3, seed=3)[2]
    ('The cast was moving.', 'Die Besetzung war bewegend.')
    """
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        english, german = _pair_clause(rng)
        if rng.random() < 0.4:
            second_english, second_german = _pair_clause(rng)
            english, german = f"{english}, but {second_english}", \
                f"{german}, aber {second_german}"
        mark = "!" if rng.random() < 0.2 else "."
        pairs.append((english[0].upper() + english[1:] + mark,
                      german[0].upper() + german[1:] + mark))
    return pairs


# Words of four topics for the word-vector demo: a line talks of one topic,
# so words of a topic share their contexts and end up near each other.
TOPICS = {
    "animals": ["cat", "dog", "horse", "cow", "sheep", "goat", "mouse", "rabbit"],
    "colours": ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"],
    "fruit": ["apple", "pear", "plum", "cherry", "grape", "lemon", "peach", "melon"],
    "tools": ["hammer", "saw", "drill", "wrench", "chisel", "spade", "axe", "shovel"],
}
_FUNCTION_WORDS = ["the", "a", "and", "of", "with", "then"]


def topic_corpus(lines=3000, words_per_line=12, seed=0):
    """`lines` lines of text, each of one topic's words mixed with function
    words; the same `seed` gives the same text.

    Example:

    >>> topic_corpus(1, seed=1)[0].split()[:4]
    ['green', 'black', 'of', 'a']
    """
    rng = random.Random(seed)
    topics = list(TOPICS.values())
    corpus = []
    for _ in range(lines):
        topic = rng.choice(topics)
        corpus.append(" ".join(rng.choice(topic if rng.random() < 0.6 else _FUNCTION_WORDS)
                               for _ in range(words_per_line)))
    return corpus


# People, places and years for the QA demo, some of them not ASCII.
_PEOPLE = ["Zoë", "Ana", "Jürgen", "Li", "Omar", "Mia", "Søren", "Kofi"]
_PLACES = ["Zürich", "Lyon", "Kyoto", "Oslo", "Lima", "Cairo", "São Paulo", "Perth"]


def qa_examples(count=1500, seed=0):
    """`count` SQuAD-style records (`id`, `title`, `question`, `context`,
    `answers` as {"text", "answer_start"}) about a few people and a film:
    where someone lives, who lives somewhere, when someone was born, how a
    part of the film was; the same `seed` gives the same records. A context
    answers several questions; the title groups them as an article.

    Example:

    >>> qa_examples(1, seed=2)[0]["question"]
    'How was the music?'
    """
    rng = random.Random(seed)
    records = []
    while len(records) < count:
        people = rng.sample(_PEOPLE, 2)
        facts = [(f"{person} lives in {place}.", [
                    (f"Where does {person} live?", place), (f"Who lives in {place}?", person)])
                 for person, place in zip(people, rng.sample(_PLACES, 2))]
        facts += [(f"{person} was born in {year}.", [(f"When was {person} born?", str(year))])
                  for person, year in zip(people, rng.sample(range(1950, 2010), 2))]
        facts += [(f"The {aspect} was {adjective}.", [(f"How was the {aspect}?", adjective)])
                  for aspect, adjective in zip(rng.sample(ASPECTS, 2),
                                               rng.sample(POSITIVE + NEGATIVE, 2))]
        rng.shuffle(facts)
        context = "  ".join(sentence for sentence, _ in facts)
        article = len(records) // 16
        for sentence, questions in facts:
            for question, answer in questions:
                start = context.index(sentence) + sentence.index(answer)
                records.append({"id": f"sample-{len(records)}", "title": f"sample {article}",
                                "question": question, "context": context,
                                "answers": {"text": [answer], "answer_start": [start]}})
    return records[:count]
