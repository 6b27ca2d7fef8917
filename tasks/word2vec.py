r"""Word vectors: train skip-gram or CBOW (negative sampling) or GloVe, score them, export them.

    python -m tasks.word2vec                              # bundled topic text, offline
    python -m tasks.word2vec --data='corpus/*.txt.gz' \
        --similarity_data=wordsim353.tsv,simlex999.txt --analogy_data=questions-words.txt
    python -m tasks.word2vec --data=tfds:lm1b --text_field=text --method=cbow

Data: plain-text files (globs, comma-separated, `.gz`), read as a stream:
the corpus is never held in memory. Words are lowercased and split at what
is not a letter, digit or inner apostrophe. The export answers `embed`
(words -> vectors, known) and `nearest` (words, k -> neighbours, scores),
and holds `assets.extra/vectors.txt` (word2vec text format) and the
TensorBoard projector's TSV files.
"""

import dataclasses
import math

import tfllm  # noqa: F401  (imports TensorFlow quietly; must come first)

import keras

from tfllm import flags as tf_flags
from tfllm import report
from tfllm.data.cooccurrence import cooccurrence_batches, count_cooccurrences
from tfllm.data.errors import RowGuard
from tfllm.data.word_corpus import (check_window, count_vocabulary, expected_centres,
                                    id_chunks, line_dataset, word_stream)
from tfllm.data.word_vectors import WordVectors
from tfllm.export.word_vectors import VectorIndex, vector_assets, word_vector_endpoints
from tfllm.metrics.embeddings import (evaluate_word_vectors, format_scores, nearest_neighbours,
                                      read_analogies, read_word_pairs)
from tfllm.models.glove import GloVe
from tfllm.models.word2vec import Word2Vec
from tfllm.preprocessors.word_vectors import WordVectorPreprocessor
from tfllm.task import Stage, Task
from tfllm.training.optimizers import RowCappedSGD, SparseAdagrad

METHODS = ("skipgram", "cbow", "glove")
DEMO_WORDS = ["cat", "red", "apple", "hammer"]
GLOVE_LEARNING_RATE = 0.05  # glove.c's eta
# word2vec.c decays its rate linearly to this share of the start.
FINAL_LEARNING_RATE_RATIO = 1e-4
# A row moves by at most this many examples' steps a batch (`RowCappedSGD`).
# One epoch of 4M words of corpus_en, 4,096 centres a batch: cap 10 gave
# SimLex 0.100 and analogy 1.2%, cap 40 gave 0.141 and 3.3% (gensim: 0.154, 2.9%).
ROW_CAP = 40
MIN_STEPS, MIN_BATCH = 64, 128


@dataclasses.dataclass
class WordCorpus:
    stream: object  # tf.data: (words, bad lines) per batch of lines
    vocabulary: object
    rows: RowGuard  # nothing is skipped: undecodable bytes are replaced and counted
    cooccurrences: object = None  # GloVe's sparse matrix


class WordVectorTask(Task):
    name = "word2vec"
    shared_flags = ("data", "text_field") + tf_flags.LOOP
    own_flags = (
        tf_flags.enum_flag("method", "skipgram", METHODS,
                           "skipgram (predict each context word from the centre), cbow "
                           "(the centre from its averaged context), or glove (fit log "
                           "co-occurrence counts; its --learning_rate defaults to 0.05)."),
        tf_flags.integer_flag("dimension", 100, "Length of the word vectors.", lower_bound=1),
        tf_flags.integer_flag("window", 5, "Largest distance between a word and its context; "
                              "each word draws its own from 1..window.", lower_bound=1),
        tf_flags.integer_flag("negatives", 5, "Negative samples per centre word.",
                              lower_bound=1),
        tf_flags.integer_flag("min_count", 5, "Leave out words rarer than this.", lower_bound=1),
        tf_flags.integer_flag("max_vocab", 0, "Keep at most this many words, the most "
                              "frequent (0: no cap).", lower_bound=0),
        tf_flags.float_flag("sample", 1e-3, "Subsampling of frequent words (word2vec's "
                            "-sample; 0: off).", lower_bound=0.0),
        tf_flags.list_flag("similarity_data", None, "Word-pair files (word TAB word TAB "
                           "score, e.g. WordSim353, SimLex-999) scored by Spearman correlation."),
        tf_flags.float_flag("x_max", 100.0, "GloVe: counts above this weigh fully.",
                            lower_bound=1e-6),
        tf_flags.float_flag("alpha", 0.75, "GloVe: exponent of the weighting function.",
                            lower_bound=0.0),
        tf_flags.string_flag("analogy_data", None, "Google-analogy style file (': section', "
                             "then 'a b c d' lines) scored by 3CosAdd accuracy."),
        tf_flags.list_flag("neighbours_of", None, "Words whose nearest neighbours to show "
                           "(default: a few of the corpus' frequent words)."),
    )
    defaults = {"epochs": 5, "batch_size": 4096, "learning_rate": 0.025, "text_field": "text"}

    def title(self):
        return f"{self.name}: {self.flags.method} on {self.flags.data}"

    def load_data(self):
        f = self.flags
        # The evaluation files are read (and any error in them named) before training.
        for path in f.similarity_data or ():
            read_word_pairs(path)
        if f.analogy_data:
            read_analogies(f.analogy_data)
        stream = word_stream(line_dataset(f.data, f.text_field))
        vocabulary = count_vocabulary(stream, f.min_count, f.max_vocab or None, f.data)
        check_window(vocabulary, f.window, f.data)
        data = WordCorpus(stream, vocabulary, RowGuard())
        if f.method == "glove":
            report.stage("Counting co-occurrences")
            data.cooccurrences = count_cooccurrences(id_chunks(stream, vocabulary),
                                                     len(vocabulary.words), f.window)
        return data

    def build_preprocessor(self, data):
        return WordVectorPreprocessor(data.vocabulary, self.flags.window, self.flags.sample)

    def describe(self, data, preprocessor):
        v = data.vocabulary
        bad = (f"; {v.bad_lines:,} lines held bytes that are not UTF-8 (replaced)"
               if v.bad_lines else "")
        matrix = data.cooccurrences
        counts = (f"; {matrix.entries:,} co-occurrence entries ({matrix.nbytes / 2**20:,.0f} MiB)"
                  if matrix is not None else "")
        return (f"{v.corpus_words:,} words, vocabulary of {len(v.words):,} words occurring at "
                f"least {self.flags.min_count} times ({v.kept_words / v.corpus_words:.1%} of "
                f"the text){counts}{bad}")

    def build_model(self, data, preprocessor):
        f = self.flags
        if f.method == "glove":
            return GloVe(len(data.vocabulary.words), f.dimension, f.x_max, f.alpha, seed=f.seed)
        return Word2Vec(len(data.vocabulary.words), f.dimension, f.method, f.negatives,
                        data.vocabulary.counts.tolist(), seed=f.seed)

    def loss(self):
        return None  # the model's output is its loss

    def optimizer(self, stage, total_steps, model):
        """GloVe: AdaGrad on the batch's rows, as glove.c. Word2vec: plain SGD
        on the batch's rows (capped per row, see `RowCappedSGD`), the rate
        falling linearly to near zero, as word2vec's does."""
        if self.flags.method == "glove":
            return SparseAdagrad(stage.learning_rate)
        return RowCappedSGD(keras.optimizers.schedules.PolynomialDecay(
            stage.learning_rate, total_steps, stage.learning_rate * FINAL_LEARNING_RATE_RATIO),
            row_cap=ROW_CAP)

    def validation_data(self, data, preprocessor):
        return None

    def stages(self, data, preprocessor):
        f = self.flags
        glove = f.method == "glove"
        examples = (data.cooccurrences.entries if glove
                    else expected_centres(data.vocabulary, f.sample))
        # A small corpus gets smaller batches, so that an epoch has at least
        # MIN_STEPS steps (a few big steps on a small vocabulary learn
        # nothing: each row's update is capped).
        batch = int(min(f.batch_size, max(MIN_BATCH, examples // MIN_STEPS)))
        unit = "co-occurrences" if glove else "centre words"
        if batch < f.batch_size:
            report.stage(f"Batches of {batch} {unit} (not --batch_size={f.batch_size}): the "
                         f"corpus is small, and an epoch should have {MIN_STEPS}+ steps")
        steps = max(1, math.ceil(examples / batch))
        if glove:
            learning_rate = f.learning_rate if f["learning_rate"].present else \
                GLOVE_LEARNING_RATE
            return [Stage("train", cooccurrence_batches(data.cooccurrences, batch, f.seed),
                          f.epochs, steps, learning_rate, 0.0, f.data, examples,
                          units_per_step=batch, throughput_unit=unit, exact_steps=True)]
        return [Stage("train", preprocessor.dataset(data.stream, batch, f.seed),
                      f.epochs, steps, f.learning_rate, 0.0, f.data,
                      data.vocabulary.corpus_words,
                      units_per_step=data.vocabulary.corpus_words / steps,
                      throughput_unit="corpus words")]

    def vectors(self, model, data):
        return WordVectors(data.vocabulary.words, model.word_vectors())

    def evaluate(self, model, data, preprocessor, validation):
        f = self.flags
        vectors = self.vectors(model, data)
        scores = evaluate_word_vectors(vectors, f.similarity_data or (), f.analogy_data)
        words = f.neighbours_of or [w for w in DEMO_WORDS if w in vectors.index] or \
            vectors.words[50:53]
        neighbours = nearest_neighbours(vectors, words, k=8)
        return {**scores, "neighbours": {word: found for word, found in zip(words, neighbours)}}

    def format_metrics(self, metrics):
        lines = [format_scores({k: v for k, v in metrics.items() if k != "neighbours"})]
        for word, found in metrics["neighbours"].items():
            shown = ", ".join(f"{other} {score:.2f}" for other, score in found or [])
            lines.append(f"  {word}: {shown or '(not in the vocabulary)'}")
        return "\n".join(line for line in lines if line)

    def served_model(self, model, data, preprocessor):
        return VectorIndex(self.vectors(model, data))

    def endpoints(self, model, data, preprocessor):
        return word_vector_endpoints(model)

    def assets(self, model, data, preprocessor):
        return vector_assets(model.source)

    def card(self, data):
        v = data.vocabulary
        matrix = data.cooccurrences
        return {"data": {"train": self.flags.data, "corpus_words": v.corpus_words,
                         "vocabulary": len(v.words), "bad_utf8_lines": v.bad_lines,
                         "cooccurrence_entries": matrix.entries if matrix else None,
                         "cooccurrence_bytes": matrix.nbytes if matrix else None}}

    def demo_inputs(self, data):
        words = self.flags.neighbours_of or DEMO_WORDS if self.flags.data == "sample" else \
            data.vocabulary.words[50:53]
        return "nearest", {"words": list(words) + ["an-unknown-word"], "k": 5}

    def show_answers(self, inputs, outputs):
        answers = []
        for word, neighbours, known in zip(inputs["words"], outputs["neighbours"],
                                           outputs["known"]):
            found = [n.decode() for n in neighbours] if known else []
            answers.append({"word": word, "known": bool(known), "neighbours": found})
            print(f"  {word:>16}: {', '.join(found) if known else '(unknown word)'}")
        return answers

    def summary_rows(self, metrics, stages):
        rows = [(name, f"Spearman {score['spearman']:.3f} ({score['covered']}/{score['pairs']})")
                for name, score in metrics.items() if "spearman" in score]
        if "analogy" in metrics:
            a = metrics["analogy"]
            rows.append(("analogy", f"{a['accuracy']:.1%} ({a['answered']:,}/{a['questions']:,})"))
        rows.append(("speed", f"{stages[0].throughput:,.0f} {stages[0].throughput_unit}/s"))
        return rows


main = WordVectorTask.main

if __name__ == "__main__":
    main()
