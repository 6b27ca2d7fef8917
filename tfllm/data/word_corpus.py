"""A word corpus read as a stream: lines from files (globs, `.gz`), TFDS or
the bundled sample, words by a TF op, a vocabulary counted on the way, and
word2vec's training windows.

Nothing holds the corpus in memory: tf.data reads it a batch of lines at a
time, so a corpus larger than memory trains as a small one does. A file is
one token stream (books are hard-wrapped, so a line is not a sentence), cut
into chunks of `chunk_words` words (word2vec.c cuts at 1,000); training
windows stay inside a chunk.

Words are lowercased and split at every character that is not a letter, a
digit or an inner apostrophe, the classic word2vec setting (text8 is made
the same way, without the digits). Bytes that are not UTF-8 are replaced
(and their lines counted), so one bad byte does not stop a long run.

Example:

>>> stream = word_stream(line_dataset("books/*.txt.gz"))
>>> vocabulary = count_vocabulary(stream, min_count=5)
>>> vocabulary.words[:3]
['the', 'of', 'and']
>>> train = training_windows(stream, vocabulary, window=5, sample=1e-3,
...                          batch_size=4096, seed=0)
"""

import collections
import csv
import dataclasses
import functools
import gzip

import numpy as np
import tensorflow as tf

from tfllm.data import sample as samples
from tfllm.data.errors import DataError
from tfllm.data.readers import TABLE_EXTENSIONS, files, split_tfds_spec
from tfllm.data.word_windows import keep_probabilities, subsample, windows

NOT_WORD = r"(?:^|\s)'+|'+(?:\s|$)|[^\p{L}\p{N}']+"
LINES_PER_BATCH = 2048


def corpus_files(spec):
    """The files `spec` names (comma-separated paths and globs, in order);
    none for `sample` and `tfds:` specs."""
    if spec == "sample" or spec.startswith("tfds:"):
        return []
    return [path for part in spec.split(",") for path in files(part)]


def line_dataset(spec, text_field="text", interleave=0, shard=None):
    """The lines of `spec` as a string dataset: `sample`, `tfds:NAME[:SPLIT]`
    (each example's `text_field`), or files and globs, comma-separated
    (`.gz` decompressed; of a `.csv`/`.tsv` table, the `text_field` column).

    Files are read one after the other, or, with `interleave=N`, N lines of
    each in turn (a pretraining corpus then mixes its sources from the first
    step, and a run shorter than an epoch still sees every source). With
    `shard=(count, index)` only the files `index`, `index + count`, ... are
    read (a worker's part of the corpus; there must be `count` files)."""
    if spec == "sample":
        return tf.data.Dataset.from_tensor_slices(samples.topic_corpus())
    if spec.startswith("tfds:"):
        return _tfds_lines(spec, text_field)
    paths = corpus_files(spec)
    if shard:
        count, index = shard
        if len(paths) < count:
            raise DataError(spec, f"names {len(paths)} file(s), fewer than the {count} parts "
                                  "asked for")
        paths = paths[index::count]
    sources = [_file_lines(path, text_field) for path in paths]
    if interleave and len(sources) > 1:
        # Round robin over chunks of lines, skipping sources that ran out.
        turns = tf.data.Dataset.range(len(sources)).repeat()
        chunks = [source.batch(interleave) for source in sources]
        return tf.data.Dataset.choose_from_datasets(
            chunks, turns, stop_on_empty_dataset=False).unbatch()
    return functools.reduce(tf.data.Dataset.concatenate, sources)


def _file_lines(path, text_field):
    """The lines of a text file, or the `text_field` column of a table."""
    compression = "GZIP" if path.endswith(".gz") else ""
    table = path[:-3] if compression else path
    if not table.endswith(TABLE_EXTENSIONS):
        return tf.data.TextLineDataset(path, compression_type=compression)
    tab = table.endswith(".tsv")
    opener = gzip.open if compression else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        header = next(csv.reader(f, delimiter="\t" if tab else ",",
                                 quoting=csv.QUOTE_NONE if tab else csv.QUOTE_MINIMAL), [])
    if text_field not in header:
        raise DataError(path, f"no column {text_field!r} in the header {header} (name one "
                              "with --text_field)")
    # TSV reads quote characters as text, as the row readers do (SST-2 has literal quotes).
    return tf.data.experimental.CsvDataset(
        path, [tf.string], header=True, field_delim="\t" if tab else ",",
        use_quote_delim=not tab, compression_type=compression,
        select_cols=[header.index(text_field)]).map(lambda text: text)


def _tfds_lines(spec, text_field):
    import tensorflow_datasets as tfds

    name, split = split_tfds_spec(spec)
    try:
        dataset, info = tfds.load(name, split=split, with_info=True)
    except Exception as error:  # tfds raises many types; all mean "cannot load"
        raise DataError(spec, f"TFDS could not load {name!r} split {split!r}: {error}") from error
    if text_field not in info.features:
        raise DataError(spec, f"no field {text_field!r}; fields are {list(info.features)} "
                              "(name one with --text_field)")
    return dataset.map(lambda example: example[text_field])


def valid_utf8(lines):
    """`lines` with bytes that are not UTF-8 replaced, and which lines had any."""
    fixed = tf.strings.unicode_transcode(lines, "UTF-8", "UTF-8", errors="replace")
    return fixed, tf.not_equal(fixed, lines)


def words_of(lines):
    """Lowercased words of a string tensor of lines (ragged [lines, words])."""
    spaced = tf.strings.regex_replace(tf.strings.lower(lines, encoding="utf-8"), NOT_WORD, " ")
    return tf.strings.split(tf.strings.strip(spaced))


def word_stream(lines, lines_per_batch=LINES_PER_BATCH):
    """(words, bad lines) per `lines_per_batch` lines: a 1-D string tensor
    of their words, in order, and how many held bytes that are not UTF-8."""
    def split(batch):
        fixed, bad = valid_utf8(batch)
        return words_of(fixed).flat_values, tf.reduce_sum(tf.cast(bad, tf.int64))

    return lines.batch(lines_per_batch).map(split, num_parallel_calls=tf.data.AUTOTUNE)


@dataclasses.dataclass
class Vocabulary:
    """Words with at least `min_count` occurrences, most frequent first (ties
    by first appearance), and their counts; `corpus_words` counts every
    word of the corpus, kept or not, `bad_lines` the lines whose invalid
    UTF-8 bytes were replaced."""
    words: list
    counts: np.ndarray
    corpus_words: int
    bad_lines: int = 0

    def table(self):
        """A TF lookup table word -> id (-1 for words outside the vocabulary)."""
        return tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(self.words),
                                                tf.range(len(self.words), dtype=tf.int64)), -1)

    @property
    def kept_words(self):
        """Words of the corpus inside the vocabulary."""
        return int(self.counts.sum())


def count_vocabulary(stream, min_count=5, max_vocab=None, source="the corpus"):
    """Counts the words of `stream` (from `word_stream`) in one pass; keeps
    the `max_vocab` most frequent that occur at least `min_count` times."""
    counts = collections.Counter()
    total = bad = 0
    for words, bad_lines in stream:
        unique, _, occurrences = tf.unique_with_counts(words)
        counts.update(dict(zip(unique.numpy(), occurrences.numpy().tolist())))
        total += int(tf.size(words))
        bad += int(bad_lines)
    if not total:
        raise DataError(source, "has no words")
    kept = [(word, n) for word, n in counts.most_common(max_vocab) if n >= min_count]
    if not kept:
        best = counts.most_common(1)[0]
        raise DataError(source, f"no word occurs --min_count={min_count} times (the most "
                                f"frequent, {best[0].decode()!r}, occurs {best[1]})")
    return Vocabulary([w.decode("utf-8") for w, _ in kept],
                      np.array([n for _, n in kept], dtype=np.int64), total, bad)


def id_chunks(stream, vocabulary, chunk_words=1000):
    """(ids, rows) per batch of `stream`: the ids of its in-vocabulary words
    (others dropped, as word2vec drops them) and the chunk each belongs to,
    chunks being `chunk_words` consecutive words of the stream."""
    table = vocabulary.table()

    def to_ids(words, bad_lines):
        ids = table.lookup(words)
        ids = tf.boolean_mask(ids, ids >= 0)
        rows = tf.range(tf.size(ids, out_type=tf.int64)) // chunk_words
        return ids, rows

    return stream.map(to_ids, num_parallel_calls=tf.data.AUTOTUNE)


def check_window(vocabulary, window, source="the corpus"):
    """A clear error when the corpus cannot fill one training window."""
    if vocabulary.kept_words < 2 * window + 1:
        raise DataError(source, f"has {vocabulary.kept_words} words in its vocabulary, fewer "
                                f"than one window of 2 * --window + 1 = {2 * window + 1}")


def expected_centres(vocabulary, sample):
    """The centre words an epoch has on average, after subsampling."""
    return float((vocabulary.counts * keep_probabilities(vocabulary.counts, sample)).sum())


def training_windows(stream, vocabulary, window, sample, batch_size, seed):
    """Batches of `batch_size` centres of word2vec windows (see
    `tfllm.data.word_windows.windows`), subsampled with `sample`; each
    epoch draws new subsamples and window sizes."""
    keep = tf.constant(keep_probabilities(vocabulary.counts, sample))
    seeds = tf.data.Dataset.random(seed, rerandomize_each_iteration=True).batch(4)

    def make(chunk, seed):
        ids, rows = chunk
        seed = tf.cast(seed % (2**31 - 1), tf.int32)
        ids, rows = subsample(ids, rows, keep, seed[:2])
        centres, contexts, mask = windows(ids, rows, window, seed[2:])
        return {"centres": centres, "contexts": contexts, "mask": mask}

    chunks = tf.data.Dataset.zip(id_chunks(stream, vocabulary), seeds)
    return (chunks.map(make, num_parallel_calls=tf.data.AUTOTUNE)
            .rebatch(batch_size).prefetch(tf.data.AUTOTUNE))
