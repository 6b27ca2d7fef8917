"""Examples with named fields, read from one spec string by any reader.

A task says what it reads with a `Schema`: the fields it needs (text and
label for classification, text alone for a corpus; source and target, or
question, context and answers, for later tasks), the column names each is
found under, and its bundled demo data. `load_examples(spec, schema)` then
reads `sample`, `tfds:...` or local files (see `tfllm.data.readers`) into
`Examples`, checking every value and naming file, line and field when one
is unusable.

Example:

>>> data = load_examples("train.tsv", LABELLED_TEXT)
>>> data["text"][0], data["label"][0], data.where(0)
('a gripping film', '1', 'train.tsv:2')
"""

import dataclasses

import numpy as np

from tfllm.data import readers, sample
from tfllm.data.errors import DataError, RowGuard

TEXT_FIELDS = ("text", "sentence", "review", "content", "document")
LABEL_FIELDS = ("label", "labels", "sentiment", "class", "target")


@dataclasses.dataclass(frozen=True)
class Field:
    """A field a task reads: its name, the column names it is looked for
    under (the first present wins unless the user names one), and what a
    usable value is (`text`: a non-empty string; `any_text`: a string, which
    the task may find empty; `label`: a scalar)."""

    name: str
    candidates: tuple
    kind: str = "text"


@dataclasses.dataclass(frozen=True)
class Schema:
    """The fields of a task's examples, and its demo data: a function
    returning `(class names by field, records)`, records as readers yield them."""

    fields: tuple
    sample: object
    labelled_txt: bool = False  # whether a .txt file holds fastText labelled lines


@dataclasses.dataclass
class Examples:
    """Columns of values by field name, where each example came from, and
    the class names a source declares (TFDS ClassLabel, the demo data)."""

    columns: dict
    sources: list
    class_names: dict = dataclasses.field(default_factory=dict)

    def __getitem__(self, field):
        return self.columns[field]

    def __len__(self):
        return len(self.sources)

    def where(self, index):
        return self.sources[index]

    def subset(self, indices):
        pick = lambda values: [values[i] for i in indices]  # noqa: E731
        return Examples({name: pick(values) for name, values in self.columns.items()},
                        pick(self.sources), self.class_names)


def _sentiment_sample():
    pairs = sample.sentiment_examples()
    records = [(f"sample[{i}]", None, {"text": text, "label": label})
               for i, (text, label) in enumerate(pairs)]
    return {"label": list(sample.LABEL_NAMES)}, records


def _corpus_sample():
    return {}, [("sample", None, {"text": sample.corpus_text()})]


LABELLED_TEXT = Schema((Field("text", TEXT_FIELDS), Field("label", LABEL_FIELDS, "label")),
                       _sentiment_sample, labelled_txt=True)
PLAIN_TEXT = Schema((Field("text", TEXT_FIELDS),), _corpus_sample)


def _pick_column(where, available, wanted, field):
    if wanted:
        if wanted not in available:
            raise DataError(where, f"{field.name} column {wanted!r} not found; columns are "
                                   f"{list(available)}")
        return wanted
    for name in field.candidates:
        if name in available:
            return name
    raise DataError(where, f"no {field.name} column among {list(available)}; name one with "
                           f"--{field.name}_field (looked for {', '.join(field.candidates)})")


def _label(value):
    # TFDS ClassLabels are NumPy integers (ids of its class names); labels in
    # files are text, whatever JSON type they came as.
    return int(value) if isinstance(value, np.integer) else str(value).strip()


def _usable(value, kind):
    if kind == "text":
        return isinstance(value, str) and bool(value.strip())
    if kind == "any_text":
        return isinstance(value, str)
    return value is not None and not isinstance(value, (list, dict, float)) \
        and str(value).strip() != ""


def _add(out, source, line, record, columns, schema, guard):
    values = {}
    for field in schema.fields:
        value = record.get(columns[field.name])
        if not _usable(value, field.kind):
            problem = {"text": "missing or empty text", "any_text": "missing text"}.get(
                field.kind, f"missing or unusable {field.name} {value!r}")
            guard.reject(DataError(source, problem, line=line, field=columns[field.name]))
            return
        values[field.name] = _label(value) if field.kind == "label" else value
    for name, value in values.items():
        out.columns[name].append(value)
    out.sources.append(source if line is None else f"{source}:{line}")


def _collect(records, schema, named_columns, guard, out, spec):
    columns = None
    for source, line, record in records:
        if columns is None:
            columns = {field.name: _pick_column(spec, record, named_columns.get(field.name),
                                                field) for field in schema.fields}
        _add(out, source, line, record, columns, schema, guard)


def load_examples(spec, schema, columns=None, guard=None):
    """Reads `spec` into `Examples` with the fields of `schema`.

    `columns` maps a field name to the column the user named (e.g.
    `{"text": "body"}` from `--text_field=body`). Every unusable value is
    passed to `guard` (a `RowGuard`): an error naming file, line and field,
    or a counted skip.
    """
    guard = guard or RowGuard()
    columns = {name: value for name, value in (columns or {}).items() if value}
    out = Examples({field.name: [] for field in schema.fields}, [])
    if spec == "sample":
        out.class_names, records = schema.sample()
        _collect(records, schema, {}, guard, out, spec)
    elif spec.startswith("tfds:"):
        features, records = readers.read_tfds(spec)
        keys = {field.name: _pick_column(spec, features, columns.get(field.name), field)
                for field in schema.fields}
        out.class_names = {name: features[key].names for name, key in keys.items()
                           if getattr(features[key], "names", None)}
        _collect(records, schema, keys, guard, out, spec)
    else:
        for path in readers.files(spec):
            _collect(readers.read_file(path, guard, schema.labelled_txt), schema, columns,
                     guard, out, path)
    if not len(out):
        raise DataError(spec, "no usable examples")
    return out
