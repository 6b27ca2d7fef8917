"""Loads the (source, target) sentence pairs of a translation task.

Spec forms:
  * `SOURCE_FILE,TARGET_FILE`: two aligned plain-text files, one sentence a
    line (`train.de,train.en`); their line counts must agree;
  * a `.tsv` / `.csv` / `.jsonl` file of pairs: columns named by
    `--source_field` / `--target_field`, else found by the languages'
    codes (`de`, `en`), else `source` / `target`;
  * `tfds:NAME[/CONFIG][:SPLIT]`, a TFDS translation dataset
    (`tfds:wmt14_translate/de-en`), its languages picked by
    `--source_lang` / `--target_lang` (default: the dataset's own direction);
  * `sample`: the bundled toy English-German pairs (see `tfllm.data.sample`).

Pairs with an empty side are dropped and counted by reason (`dropped`),
never silently; unreadable lines go to the `RowGuard` (an error naming file
and line, or a counted skip with `--skip_bad_rows`) without breaking the
alignment of the two files.

Example:

>>> data = load_parallel_data("train.de,train.en", "val.de,val.en")
>>> data.train["source"][0], data.train["target"][0]
('Zwei junge weiße Männer ...', 'Two young, White males ...')
"""

import collections
import dataclasses
import os

from tfllm.data import readers, sample
from tfllm.data.errors import DataError, RowGuard
from tfllm.data.examples import Examples, Field, Schema, load_examples
from tfllm.data.splits import hold_out


@dataclasses.dataclass
class ParallelData:
    train: Examples  # fields source and target
    eval: Examples
    rows: RowGuard  # unreadable rows skipped on the way (with --skip_bad_rows)
    dropped: collections.Counter  # pairs dropped, by reason
    source_lang: str = None
    target_lang: str = None
    train_tokens: int = None  # source and target tokens, once a tokenizer exists


def _sample_records():
    return {}, [(f"sample[{i}]", None, {"en": english, "de": german})
                for i, (english, german) in enumerate(sample.translation_pairs())]


def _schema(source_lang, target_lang):
    """Source and target fields, found by language code, then by role."""
    return Schema((Field("source", tuple(filter(None, (source_lang, "source", "src"))),
                         "any_text"),
                   Field("target", tuple(filter(None, (target_lang, "target", "tgt"))),
                         "any_text")),
                  _sample_records)


def _lines(path):
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    return lines[:-1] if lines and not lines[-1] else lines


def _decode(line, path, number, guard):
    try:
        return line.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as error:
        guard.reject(DataError(path, f"invalid UTF-8 at byte {error.start} of the line",
                               line=number))
        return None


def read_aligned(source_path, target_path, guard):
    """Pairs from two aligned files, line by line."""
    for path in (source_path, target_path):
        readers.files(path)  # a clear error for a missing file or a directory
    sources, targets = _lines(source_path), _lines(target_path)
    if len(sources) != len(targets):
        raise DataError(f"{source_path},{target_path}",
                        f"the files are not aligned: {source_path} has {len(sources):,} lines, "
                        f"{target_path} has {len(targets):,}")
    out = Examples({"source": [], "target": []}, [])
    for number, (source, target) in enumerate(zip(sources, targets), start=1):
        source = _decode(source, source_path, number, guard)
        target = _decode(target, target_path, number, guard)
        if source is None or target is None:
            continue
        out.columns["source"].append(source)
        out.columns["target"].append(target)
        out.sources.append(f"{source_path}:{number}")
    return out


def _default_direction(spec, source_lang, target_lang):
    """The languages of `spec`: the flags, else a TFDS dataset's own pair."""
    if (source_lang and target_lang) or not spec.startswith("tfds:"):
        return source_lang, target_lang
    import tensorflow_datasets as tfds

    name, _ = readers.split_tfds_spec(spec)
    try:
        keys = tfds.builder(name).info.supervised_keys or (None, None)
    except Exception as error:  # tfds raises many types; all mean "cannot load"
        raise DataError(spec, f"TFDS could not load {name!r}: {error}") from error
    return source_lang or keys[0], target_lang or keys[1]


def _language(path):
    extension = os.path.splitext(path)[1][1:]
    return extension if extension.isalpha() and len(extension) <= 3 else None


def load_pairs(spec, source_lang=None, target_lang=None, source_field=None,
               target_field=None, guard=None):
    """`(Examples with source and target, (source_lang, target_lang))` of `spec`."""
    guard = guard or RowGuard()
    if spec == "sample":
        source_lang, target_lang = source_lang or "en", target_lang or "de"
    source_lang, target_lang = _default_direction(spec, source_lang, target_lang)
    if "," in spec and not spec.startswith("tfds:"):
        source_path, _, target_path = spec.partition(",")
        # train.de,train.en: the extensions name the languages.
        languages = (source_lang or _language(source_path), target_lang or _language(target_path))
        return read_aligned(source_path, target_path, guard), languages
    columns = {"source": source_field, "target": target_field}
    pairs = load_examples(spec, _schema(source_lang, target_lang), columns, guard)
    return pairs, (source_lang, target_lang)


def drop_empty(pairs, dropped):
    """`pairs` less those with an empty side, counted in `dropped`."""
    keep = [i for i, (source, target) in enumerate(zip(pairs["source"], pairs["target"]))
            if source.strip() and target.strip()]
    dropped["an empty side"] += len(pairs) - len(keep)
    return pairs.subset(keep)


def load_parallel_data(spec, eval_spec=None, eval_fraction=0.1, seed=0, source_lang=None,
                       target_lang=None, source_field=None, target_field=None,
                       skip_bad_rows=False):
    """Reads the training pairs and the evaluation pairs (or holds some out)."""
    rows, dropped = RowGuard(skip=skip_bad_rows), collections.Counter()
    options = dict(source_field=source_field, target_field=target_field, guard=rows)
    train, languages = load_pairs(spec, source_lang, target_lang, **options)
    train = drop_empty(train, dropped)
    if eval_spec:
        evaluation, _ = load_pairs(eval_spec, *languages, **options)
        evaluation = drop_empty(evaluation, dropped)
    else:
        train, evaluation = hold_out(train, eval_fraction, seed)
    if not len(train):
        raise DataError(spec, "no pair has both a source and a target")
    return ParallelData(train, evaluation, rows, dropped, *languages)
