"""SQuAD v1.1 questions of held-out articles: the span readers against a sliding-window floor.

    python benchmarks/qa_squad.py [--rows=lstm,transformer] [--epochs=N]   # ~45 min a row
    python benchmarks/qa_squad.py --rows=lstm,lstm_words,lstm_word_vectors --epochs=3 \
        --vectors=saved_models/word2vec_corpus_en/1/assets.extra/vectors.txt

Data: `../shared/data/squad/train_from_dev_v1.1.json` (39 articles of the
SQuAD v1.1 development set, 9,231 questions). Every row holds out the same
fifth of the articles (`--eval_fraction=0.2 --seed=0`: 8 articles, whole,
never trained on) and is scored there with the official SQuAD v1.1 exact
match and F1 (`tfllm.metrics.squad`, max over the gold answers).

Rows:
* `sliding window`: the SQuAD paper's simplest baseline (Rajpurkar et al.
  2016, after Richardson et al. 2013), without a parser: candidates are the
  spans of one to three words (not only stopwords, none in the question) of
  the sentences sharing most unigrams and bigrams with the question, scored
  by the summed inverse-frequency weights of the question words within a
  window around them; no training (the paper's candidates are a parser's
  constituents, hence its F1 of about 20 on all of dev);
* each reader: `python -m tasks.qa` as a user runs it (through its `main`),
  training on the other 31 articles. `lstm_words` reads whole words (the
  20,000 most frequent of its training text) instead of WordPiece pieces;
  `lstm_word_vectors` starts their embedding from `--vectors`, word vectors
  learned on corpus_en by `VECTORS_COMMAND` (no SQuAD text), and
  `lstm_frozen_word_vectors` keeps them fixed.

Writes benchmarks/results/qa_squad.json (`target_command`: the best
reader's command) and prints a table with wall time and training windows/s,
and five example answers of the best reader.
"""

import argparse
import collections
import math
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tfllm  # noqa: E402,F401  (imports TensorFlow quietly)

from benchmarks.common import print_table, write_results  # noqa: E402
from tasks import qa  # noqa: E402
from tfllm.data.squad import load_qa_data  # noqa: E402
from tfllm.metrics.squad import squad_scores  # noqa: E402

SQUAD = os.path.join("..", "shared", "data", "squad", "train_from_dev_v1.1.json")
# --patience=0: no epoch is chosen by its score on the held-out articles.
SPLIT = [f"--data={SQUAD}", "--eval_fraction=0.2", "--seed=0", "--patience=0"]
READERS = {
    "lstm": ["--model=lstm", "--hidden_dim=128", "--num_layers=1", "--sequence_length=256",
             "--doc_stride=128", "--batch_size=32", "--learning_rate=2e-3", "--dropout=0.2"],
    "transformer": ["--model=transformer", "--hidden_dim=128", "--num_layers=2",
                    "--num_heads=4", "--intermediate_dim=512", "--sequence_length=256",
                    "--doc_stride=128", "--batch_size=32", "--learning_rate=5e-4"],
}
WORDS = READERS["lstm"] + ["--tokenizer=word", "--vocab_size=20000"]
READERS.update({"lstm_words": WORDS,
                "lstm_word_vectors": WORDS + ["--pretrained_embeddings={vectors}"],
                "lstm_frozen_word_vectors": WORDS + ["--pretrained_embeddings={vectors}",
                                                     "--freeze_embeddings"]})
# The vectors of the *_word_vectors rows (128 wide: the readers' --hidden_dim).
VECTORS_COMMAND = ("python -m tasks.word2vec --data=../shared/data/corpus_en/*.txt.gz "
                   "--method=skipgram --dimension=128 --window=5 --negatives=5 --min_count=5 "
                   "--sample=0.001 --epochs=5 --seed=0 --export_dir=saved_models/"
                   "word2vec_corpus_en")
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?](?=\s)")
_STOPWORDS = {"the", "a", "an", "of", "in", "on", "at", "to", "and", "or", "is", "was", "are",
              "were", "by", "for", "with", "as", "from", "that", "this", "it", "its", "be"}


def sliding_window_answer(question, context, longest=3):
    """The sliding-window baseline's answer (see the module docstring)."""
    tokens = [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(context)]
    words = [word for word, _, _ in tokens]
    asked = {m.group().lower() for m in _WORD.finditer(question)}
    asked_pairs = set(zip(*[[m.group().lower() for m in _WORD.finditer(question)]] * 2))
    sentence = [len(_SENTENCE_END.findall(context[:start])) for _, start, _ in tokens]
    # The sentences sharing most unigrams and bigrams with the question hold the candidates.
    overlap = collections.Counter()
    for index, word in enumerate(words):
        overlap[sentence[index]] += (word in asked) + (
            index > 0 and sentence[index - 1] == sentence[index]
            and (words[index - 1], word) in asked_pairs)
    top = max(overlap.values(), default=0)
    chosen = {s for s, count in overlap.items() if count == top}
    weight = {word: math.log(1 + 1 / count) for word, count in collections.Counter(words).items()}
    reach = max(1, len(asked))
    best, answer = -1.0, ""
    for first in range(len(tokens)):
        if sentence[first] not in chosen:
            continue
        for last in range(first, min(first + longest, len(tokens))):
            span = words[first:last + 1]
            if any(word in asked or not word.isalnum() for word in span):
                break
            if all(word in _STOPWORDS for word in span):
                continue
            around = set(words[max(0, first - reach):last + 1 + reach])
            score = sum(weight[word] for word in around & asked)
            if score > best:
                best, answer = score, context[tokens[first][1]:tokens[last][2]]
    return answer


def sliding_window_row(data):
    started = time.perf_counter()
    predictions = {e.id: sliding_window_answer(e.question, e.context) for e in data.eval}
    scores = squad_scores(predictions, {e.id: [a.text for a in e.answers] for e in data.eval})
    return {"run": "sliding window", "flags": "", "epochs": 0,
            "train_seconds": 0.0, "windows_per_second": None,
            "wall_seconds": round(time.perf_counter() - started, 1),
            "exact_match": round(scores["exact_match"], 2), "f1": round(scores["f1"], 2),
            "questions": scores["examples"]}


def reader_row(name, flags, data):
    """A reader's row; its export's answers to the first held-out questions
    (the run's closing query) beside their gold answers."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        result = qa.main(["qa", *SPLIT, *flags, f"--model_dir={scratch}/run",
                          f"--export_dir={scratch}/export"])
    examples = [{"question": e.question, "gold": [a.text for a in e.answers][:3],
                 "ours": answer["answer"]} for e, answer in zip(data.eval, result.answers)]
    return {"run": name, "flags": " ".join(flags), "epochs": result.stages[0].epochs_run,
            "train_seconds": round(result.training_seconds, 1),
            "windows_per_second": round(result.stages[0].throughput, 1),
            "wall_seconds": round(time.perf_counter() - started, 1),
            "exact_match": round(result.metrics["exact_match"], 2),
            "f1": round(result.metrics["f1"], 2), "questions": result.metrics["examples"],
            "examples": examples}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="lstm,transformer")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--results", default="qa_squad",
                        help="name of the results file (benchmarks/results/NAME.json)")
    parser.add_argument("--vectors", help="word vectors for the *_word_vectors rows (made by "
                                          f"{VECTORS_COMMAND})")
    args = parser.parse_args(argv[1:])
    rows_asked = args.rows.split(",")
    if any("vectors" in name for name in rows_asked) and not args.vectors:
        parser.error(f"the word-vector rows need --vectors (made by: {VECTORS_COMMAND})")
    started = time.perf_counter()
    data = load_qa_data(SQUAD, None, 0.2, 0, False)
    rows = [sliding_window_row(data)]
    print_table(rows, ["run", "exact_match", "f1", "questions", "wall_seconds"])
    for name in rows_asked:
        flags = [flag.format(vectors=args.vectors) for flag in READERS[name]]
        rows.append(reader_row(name, flags + [f"--epochs={args.epochs}"], data))
        print_table(rows, ["run", "epochs", "train_seconds", "windows_per_second",
                           "exact_match", "f1", "questions", "wall_seconds"])
    best = max(rows[1:], key=lambda row: row["f1"])
    for example in best["examples"]:
        print(f"  Q: {example['question']}\n     gold: {example['gold']}\n     ours: "
              f"{example['ours']!r}")
    target = "python -m tasks.qa " + " ".join(SPLIT + best["flags"].split())
    vectors = {"pretrain_command": VECTORS_COMMAND} if "vectors" in best["run"] else {}
    path = write_results(args.results, rows, started, target_command=target, **vectors,
                         held_out="8 of 39 articles (--eval_fraction=0.2 --seed=0)")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main(sys.argv)
