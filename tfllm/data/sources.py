"""Reads examples from one spec string: `sample`, `tfds:...` or local files.

Spec forms:
  * `sample`: the bundled demo data (see `tfllm.data.sample`);
  * `tfds:NAME[/CONFIG][:SPLIT]`: a TensorFlow Datasets dataset (split
    defaults to `train`), e.g. `tfds:imdb_reviews`, `tfds:glue/sst2:validation`;
  * a path or glob of local files, by extension: `.csv` / `.tsv` with a
    header row, `.jsonl` (one JSON object a line), `.txt` (labelled data:
    fastText's `__label__NAME text`; corpora: plain text).

Bad input raises `DataError` naming file, line and field, or, when the
`RowGuard` skips, is counted there; nothing is dropped silently.

Example:

>>> data = load_labelled("train.tsv")
>>> data.texts[0], data.labels[0], data.where(0)
('a gripping film', '1', 'train.tsv:2')
"""

import csv
import dataclasses
import glob
import json
import os

from tfllm.data import sample
from tfllm.data.errors import DataError, RowGuard

TEXT_FIELDS = ("text", "sentence", "review", "content", "document")
LABEL_FIELDS = ("label", "labels", "sentiment", "class", "target")
_FASTTEXT_PREFIX = "__label__"


@dataclasses.dataclass
class LabelledExamples:
    """Texts with raw labels (str, or int from TFDS) and where each came from."""

    texts: list
    labels: list
    sources: list  # one "file:line" (or "tfds:name[index]") per example
    label_names: list = None  # known class names (TFDS ClassLabel, sample)

    def where(self, index):
        return self.sources[index]

    def __len__(self):
        return len(self.texts)

    def subset(self, indices):
        pick = lambda values: [values[i] for i in indices]  # noqa: E731
        return LabelledExamples(pick(self.texts), pick(self.labels), pick(self.sources),
                                self.label_names)


def _files(spec):
    paths = sorted(glob.glob(spec)) if glob.has_magic(spec) else [spec]
    if not paths:
        raise DataError(spec, "no file matches this pattern")
    for path in paths:
        if not os.path.isfile(path):
            raise DataError(path, "no such file")
    return paths


def _decoded_lines(path, guard):
    """(line number, text) for each line of `path`, checking UTF-8 line by line."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.strip():
        raise DataError(path, "file is empty")
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            yield number, line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as error:
            guard.reject(DataError(path, f"invalid UTF-8 at byte {error.start} of the line",
                                   line=number))


def _pick_field(path, available, wanted, candidates, kind):
    if wanted:
        if wanted not in available:
            raise DataError(path,
                            f"{kind} column {wanted!r} not found; columns are {list(available)}")
        return wanted
    for name in candidates:
        if name in available:
            return name
    raise DataError(path, f"no {kind} column among {list(available)}; "
                          f"name one with --{kind}_field (looked for {', '.join(candidates)})")


def _read_table(path, text_field, label_field, guard, out):
    # Lines that failed UTF-8 decoding were reported by the guard; they stay
    # as blank lines so that csv's line counter keeps matching the file.
    decoded = dict(_decoded_lines(path, guard))
    lines = (decoded.get(n, "") + "\n" for n in range(1, max(decoded, default=0) + 1))
    delimiter = "\t" if path.endswith(".tsv") else ","
    # TSV files (SST-2, GLUE) use quote characters as text, not as quoting.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    rows = csv.reader(lines, delimiter=delimiter, quoting=quoting)
    header = next(rows, [])
    if not any(header):
        raise DataError(path, "the first line must be a header row", line=1)
    text_col = header.index(_pick_field(path, header, text_field, TEXT_FIELDS, "text"))
    label_col = header.index(_pick_field(path, header, label_field, LABEL_FIELDS, "label"))
    for row in rows:
        number = rows.line_num
        if not row:
            continue
        if len(row) != len(header):
            guard.reject(DataError(path, f"expected {len(header)} fields, found {len(row)}",
                                   line=number))
            continue
        _add(out, path, number, row[text_col], row[label_col], header[text_col],
             header[label_col], guard)


def _read_jsonl(path, text_field, label_field, guard, out):
    fields = None
    for number, line in _decoded_lines(path, guard):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as error:
            guard.reject(DataError(path, f"not a JSON object: {error}", line=number))
            continue
        if fields is None:
            fields = (_pick_field(path, record, text_field, TEXT_FIELDS, "text"),
                      _pick_field(path, record, label_field, LABEL_FIELDS, "label"))
        text, label = record.get(fields[0]), record.get(fields[1])
        _add(out, path, number, text, label, *fields, guard)


def _read_fasttext(path, guard, out):
    for number, line in _decoded_lines(path, guard):
        if not line.strip():
            continue
        head, _, text = line.partition(" ")
        if not head.startswith(_FASTTEXT_PREFIX):
            guard.reject(DataError(path, f"line does not start with {_FASTTEXT_PREFIX}LABEL",
                                   line=number))
            continue
        _add(out, path, number, text, head[len(_FASTTEXT_PREFIX):], "text", "label", guard)


def _add(out, path, number, text, label, text_name, label_name, guard):
    if not isinstance(text, str) or not text.strip():
        guard.reject(DataError(path, "missing or empty text", line=number, field=text_name))
    elif label is None or isinstance(label, (list, dict, float)) or str(label).strip() == "":
        guard.reject(DataError(path, f"missing or unusable label {label!r}", line=number,
                               field=label_name))
    else:
        out.texts.append(text)
        out.labels.append(str(label).strip())
        out.sources.append(f"{path}:{number}")


def _split_tfds_spec(spec):
    name, _, split = spec[len("tfds:"):].partition(":")
    if not name:
        raise DataError(spec, "expected tfds:NAME[/CONFIG][:SPLIT]")
    return name, split or "train"


def _load_tfds(spec):
    import tensorflow_datasets as tfds

    name, split = _split_tfds_spec(spec)
    try:
        dataset, info = tfds.load(name, split=split, with_info=True)
    except Exception as error:  # tfds raises many types; all mean "cannot load"
        raise DataError(spec, f"TFDS could not load {name!r} split {split!r}: {error}") from error
    return dataset, info


def _tfds_text(value, spec, index, field):
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(spec, f"example {index}: invalid UTF-8 at byte {error.start}",
                        field=field) from error


def _labelled_from_tfds(spec, text_field, label_field):
    import tensorflow_datasets as tfds

    dataset, info = _load_tfds(spec)
    features = info.features
    text_key = _pick_field(spec, features, text_field, TEXT_FIELDS, "text")
    label_key = _pick_field(spec, features, label_field, LABEL_FIELDS, "label")
    names = getattr(features[label_key], "names", None)
    out = LabelledExamples([], [], [], names)
    for index, example in enumerate(tfds.as_numpy(dataset)):
        out.texts.append(_tfds_text(example[text_key], spec, index, text_key))
        out.labels.append(int(example[label_key]))
        out.sources.append(f"{spec}[{index}]")
    return out


def load_labelled(spec, text_field=None, label_field=None, guard=None):
    """Reads (text, label) examples from `spec` (see the module docstring)."""
    guard = guard or RowGuard()
    if spec == "sample":
        pairs = sample.sentiment_examples()
        return LabelledExamples([t for t, _ in pairs], [l for _, l in pairs],
                                [f"sample[{i}]" for i in range(len(pairs))],
                                list(sample.LABEL_NAMES))
    if spec.startswith("tfds:"):
        return _labelled_from_tfds(spec, text_field, label_field)
    out = LabelledExamples([], [], [])
    for path in _files(spec):
        if path.endswith((".csv", ".tsv")):
            _read_table(path, text_field, label_field, guard, out)
        elif path.endswith((".jsonl", ".json")):
            _read_jsonl(path, text_field, label_field, guard, out)
        elif path.endswith(".txt"):
            _read_fasttext(path, guard, out)
        else:
            raise DataError(path, "unknown file type; use .csv, .tsv, .jsonl or .txt")
    if not out.texts:
        raise DataError(spec, "no usable examples")
    return out


def load_corpus(spec, text_field=None, guard=None):
    """Reads plain text for language modelling: a list of (source, text).

    Files are read whole (one document each); TFDS examples are documents.
    """
    guard = guard or RowGuard()
    if spec == "sample":
        return [("sample", sample.corpus_text())]
    if spec.startswith("tfds:"):
        import tensorflow_datasets as tfds

        dataset, info = _load_tfds(spec)
        key = _pick_field(spec, info.features, text_field, TEXT_FIELDS, "text")
        return [(f"{spec}[{i}]", _tfds_text(ex[key], spec, i, key))
                for i, ex in enumerate(tfds.as_numpy(dataset))]
    documents = []
    for path in _files(spec):
        lines = [text for _, text in _decoded_lines(path, guard)]
        documents.append((path, "\n".join(lines)))
    return documents
