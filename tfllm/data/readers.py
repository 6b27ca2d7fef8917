"""One reader per file format, each yielding records with named fields.

A record is `(source, line, fields)`: where it came from (a file and its
line number, or "tfds:imdb_reviews[3]" and None), for error messages, and
`fields`, mapping a column or field name to its raw value. Readers know
formats, not tasks: which fields a task takes, and what makes a value
usable, is `tfllm.data.examples`.

Formats:
  * `.csv` / `.tsv` with a header row (TSV reads quote characters as text,
    as SST-2 and GLUE write them);
  * `.jsonl` (also `.json` holding one object a line);
  * `.txt` either as fastText labelled lines (`__label__NAME text`) or as
    one plain-text document per file;
  * TFDS datasets (`tfds:NAME[/CONFIG][:SPLIT]`).

A line that cannot be read (invalid UTF-8, a wrong field count, broken
JSON) goes to the `RowGuard`, which raises `DataError` naming file and line,
or counts it with `--skip_bad_rows`.

Example:

>>> for source, line, fields in read_file("train.tsv", RowGuard()):
...     print(source, line, fields)
train.tsv 2 {'sentence': 'a gripping film', 'label': '1'}
"""

import csv
import glob
import json
import os

from tfllm.data.errors import DataError

FASTTEXT_PREFIX = "__label__"
TABLE_EXTENSIONS = (".csv", ".tsv")
JSONL_EXTENSIONS = (".jsonl", ".json")
TEXT_EXTENSIONS = (".txt",)


def files(spec):
    """The files a path or glob names, sorted; a clear error when there are none."""
    paths = sorted(glob.glob(spec)) if glob.has_magic(spec) else [spec]
    if not paths:
        raise DataError(spec, "no file matches this pattern")
    for path in paths:
        if os.path.isdir(path):
            raise DataError(path, "is a directory; name a file in it, or a glob such as "
                                  f"{os.path.join(path, '*.tsv')}")
        if not os.path.isfile(path):
            raise DataError(path, "no such file")
    return paths


def decoded_lines(path, guard):
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


def read_table(path, guard):
    """Rows of a CSV or TSV file with a header row."""
    # Lines that failed UTF-8 decoding were reported by the guard; they stay
    # as blank lines so that csv's line counter keeps matching the file.
    decoded = dict(decoded_lines(path, guard))
    lines = (decoded.get(n, "") + "\n" for n in range(1, max(decoded, default=0) + 1))
    delimiter = "\t" if path.endswith(".tsv") else ","
    # TSV files (SST-2, GLUE) use quote characters as text, not as quoting.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    rows = csv.reader(lines, delimiter=delimiter, quoting=quoting)
    header = next(rows, [])
    if not any(header):
        raise DataError(path, "the first line must be a header row", line=1)
    for row in rows:
        if not row:
            continue
        if len(row) != len(header):
            guard.reject(DataError(path, f"expected {len(header)} fields, found {len(row)}",
                                   line=rows.line_num))
            continue
        yield path, rows.line_num, dict(zip(header, row))


def read_jsonl(path, guard):
    """One JSON object a line; blank lines are skipped."""
    for number, line in decoded_lines(path, guard):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as error:
            guard.reject(DataError(path, f"not a JSON object: {error}", line=number))
            continue
        yield path, number, record


def read_fasttext(path, guard):
    """fastText's labelled lines: `__label__NAME the text`."""
    for number, line in decoded_lines(path, guard):
        if not line.strip():
            continue
        head, _, text = line.partition(" ")
        if not head.startswith(FASTTEXT_PREFIX):
            guard.reject(DataError(path, f"line does not start with {FASTTEXT_PREFIX}LABEL",
                                   line=number))
            continue
        yield path, number, {"label": head[len(FASTTEXT_PREFIX):], "text": text}


def read_text(path, guard):
    """A whole plain-text file as one document (field `text`)."""
    yield path, None, {"text": "\n".join(text for _, text in decoded_lines(path, guard))}


def read_file(path, guard, labelled_txt=False):
    """The records of one local file, by its extension. `.txt` holds fastText
    labelled lines when `labelled_txt`, else one plain-text document."""
    if path.endswith(TABLE_EXTENSIONS):
        return read_table(path, guard)
    if path.endswith(JSONL_EXTENSIONS):
        return read_jsonl(path, guard)
    if path.endswith(TEXT_EXTENSIONS):
        return read_fasttext(path, guard) if labelled_txt else read_text(path, guard)
    raise DataError(path, "unknown file type; use .csv, .tsv, .jsonl or .txt")


def split_tfds_spec(spec):
    """`tfds:NAME[/CONFIG][:SPLIT]` -> (NAME[/CONFIG], SPLIT or "train")."""
    name, _, split = spec[len("tfds:"):].partition(":")
    if not name:
        raise DataError(spec, "expected tfds:NAME[/CONFIG][:SPLIT]")
    return name, split or "train"


def read_tfds(spec):
    """`(features, records)` of a TFDS split: its `FeaturesDict` and
    `(source, None, example)` records with text fields decoded from UTF-8."""
    import tensorflow_datasets as tfds

    name, split = split_tfds_spec(spec)
    try:
        dataset, info = tfds.load(name, split=split, with_info=True)
    except Exception as error:  # tfds raises many types; all mean "cannot load"
        raise DataError(spec, f"TFDS could not load {name!r} split {split!r}: {error}") from error

    def records():
        for index, example in enumerate(tfds.as_numpy(dataset)):
            yield f"{spec}[{index}]", None, {key: _decoded(value, spec, index, key)
                                             for key, value in example.items()}

    return info.features, records()


def _decoded(value, spec, index, field):
    if not isinstance(value, bytes):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(spec, f"example {index}: invalid UTF-8 at byte {error.start}",
                        field=field) from error
