"""Word-vector benchmark: skip-gram, CBOW (and GloVe) on corpus_en, beside gensim.

    python benchmarks/word2vec_corpus_en.py                  # skipgram, cbow, glove
    python benchmarks/word2vec_corpus_en.py glove            # some methods only

Each tfllm run is `python -m tasks.word2vec` as a user starts it (through its
`main`) on ../shared/data/corpus_en (217 books, 15.9M words), 5 epochs,
dimension 100, window 5, 5 negatives, min_count 5, sample 1e-3. In the same
script run, gensim's Word2Vec trains with the same settings and 2 worker
threads on exactly the token stream tfllm's pipeline produces (written to a
temporary file in chunks of 1,000 words, word2vec.c's chunking, and read in
gensim's `corpus_file` mode). Both are scored with the same code
(`tfllm.metrics.embeddings`) on WordSim353, SimLex-999 (Spearman) and the
Google analogies (3CosAdd over the 30,000 most frequent words, with
coverage). Words/s is corpus words times epochs over training seconds, for
both. Nothing is tuned on the evaluation sets beyond what the results file
records.

GloVe has no gensim counterpart; its row stands alone (co-occurrence matrix
size and counting time included), trained 25 epochs (see GLOVE).

Writes benchmarks/results/word2vec_corpus_en.json (or, for some methods,
word2vec_corpus_en.METHOD-METHOD.json), with `target_command` (the
skip-gram command), and prints a table.
"""

import os
import shlex
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tfllm  # noqa: E402,F401  (imports TensorFlow quietly)

from benchmarks.common import SHARED_DATA, print_table, write_results  # noqa: E402
from tasks import word2vec  # noqa: E402
from tfllm.data.word_corpus import line_dataset, word_stream  # noqa: E402
from tfllm.data.word_vectors import WordVectors  # noqa: E402
from tfllm.metrics.embeddings import evaluate_word_vectors  # noqa: E402

CORPUS = os.path.join(SHARED_DATA, "corpus_en", "*.txt.gz")
EVAL = os.path.join(SHARED_DATA, "embeddings_eval")
SIMILARITY = [os.path.join(EVAL, "wordsim353.tsv"), os.path.join(EVAL, "simlex999.txt")]
ANALOGY = os.path.join(EVAL, "questions-words.txt")
SETTINGS = {"dimension": 100, "window": 5, "negatives": 5, "min_count": 5, "sample": 1e-3,
            "epochs": 5}
RECIPE = [f"--{name}={value}" for name, value in SETTINGS.items()] + ["--seed=0"]
# GloVe's own: larger batches of co-occurrences, and more epochs. GloVe
# converges far slower than word2vec: glove.c's own loop run on this corpus'
# matrix (a diagnostic re-implementation) scored WordSim353 0.06 after 5
# iterations and 0.15 after 9, still rising; Pennington et al. train 50
# iterations for vectors under 300 dimensions. 25 fit the benchmark's budget.
GLOVE = ["--batch_size=16384", "--epochs=25"]
METHODS = ("skipgram", "cbow", "glove")


def relative(path):
    return os.path.join("..", "shared", "data", os.path.relpath(path, SHARED_DATA))


def task_flags(method, paths=relative):
    return [f"--data={paths(CORPUS)}", f"--method={method}", *RECIPE,
            f"--similarity_data={','.join(paths(p) for p in SIMILARITY)}",
            f"--analogy_data={paths(ANALOGY)}", "--neighbours_of=king,france,good,river"]


def write_token_stream(path):
    """tfllm's token stream of the corpus, 1,000 words a line; its word count."""
    count = 0
    with open(path, "w", encoding="utf-8") as f:
        for words, _ in word_stream(line_dataset(CORPUS)):
            words = [w.decode("utf-8") for w in words.numpy()]
            count += len(words)
            for start in range(0, len(words), 1000):
                f.write(" ".join(words[start:start + 1000]) + "\n")
    return count


def scores_row(scores):
    ws, sl, an = scores["wordsim353"], scores["simlex999"], scores["analogy"]
    return {"wordsim353": round(ws["spearman"], 4), "simlex999": round(sl["spearman"], 4),
            "analogy": round(an["accuracy"], 4), "analogy_coverage": round(an["coverage"], 4),
            "pairs_covered": f"{ws['covered']}/{ws['pairs']}, {sl['covered']}/{sl['pairs']}"}


def run_gensim(method, tokens, corpus_words):
    from gensim.models import Word2Vec

    started = time.perf_counter()
    model = Word2Vec(vector_size=SETTINGS["dimension"], window=SETTINGS["window"],
                     negative=SETTINGS["negatives"], min_count=SETTINGS["min_count"],
                     sample=SETTINGS["sample"], sg=int(method == "skipgram"), workers=2, seed=0)
    model.build_vocab(corpus_file=tokens)
    vocabulary_seconds = time.perf_counter() - started
    started = time.perf_counter()
    model.train(corpus_file=tokens, total_words=model.corpus_total_words,
                total_examples=model.corpus_count, epochs=SETTINGS["epochs"])
    seconds = time.perf_counter() - started
    vectors = WordVectors(model.wv.index_to_key, model.wv.vectors)
    scores = evaluate_word_vectors(vectors, SIMILARITY, ANALOGY)
    return {"system": f"gensim {__import__('gensim').__version__}", "method": method,
            "vocabulary": len(vectors), "train_seconds": round(seconds, 1),
            "vocabulary_seconds": round(vocabulary_seconds, 1),
            "words_per_second": round(corpus_words * SETTINGS["epochs"] / seconds),
            **scores_row(scores)}


def run_tfllm(method, folder, corpus_words):
    started = time.perf_counter()
    result = word2vec.main(["word2vec", *task_flags(method, paths=lambda p: p),
                            *(GLOVE if method == "glove" else []),
                            f"--model_dir={folder}/run-{method}",
                            f"--export_dir={folder}/export-{method}"])
    stage = result.stages[0]
    return {"system": "tfllm", "method": method, "vocabulary": result.data["vocabulary"],
            "train_seconds": round(stage.seconds, 1),
            "command_seconds": round(time.perf_counter() - started, 1),
            "words_per_second": round(corpus_words * stage.epochs_run / stage.seconds),
            "steady_throughput": round(stage.throughput),
            "throughput_unit": stage.throughput_unit,
            "cooccurrence_entries": result.data.get("cooccurrence_entries"),
            "cooccurrence_bytes": result.data.get("cooccurrence_bytes"),
            **scores_row(result.metrics),
            "neighbours": {word: [w for w, _ in found[:8]] if found else None
                           for word, found in result.metrics["neighbours"].items()}}


def main(argv):
    methods = argv[1:] or METHODS
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        tokens = os.path.join(folder, "tokens.txt")
        corpus_words = write_token_stream(tokens)
        for method in methods:
            if method == "glove":
                rows.append(run_tfllm(method, folder, corpus_words))
            else:
                gensim = run_gensim(method, tokens, corpus_words)
                ours = run_tfllm(method, folder, corpus_words)
                ours["words_per_second_vs_gensim"] = round(
                    ours["words_per_second"] / gensim["words_per_second"], 3)
                for name in ("wordsim353", "simlex999", "analogy"):
                    ours[f"{name}_minus_gensim"] = round(ours[name] - gensim[name], 4)
                rows += [gensim, ours]
            print_table(rows, ["system", "method", "train_seconds", "words_per_second",
                               "wordsim353", "simlex999", "analogy", "analogy_coverage"])
    target = "python -m tasks.word2vec " + " ".join(shlex.quote(f) for f in task_flags("skipgram"))
    name = "word2vec_corpus_en" + ("" if list(methods) == list(METHODS)
                                   else "." + "-".join(methods))
    path = write_results(name, rows, started, corpus_words=corpus_words,
                         settings=SETTINGS, target_command=target)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main(sys.argv)
