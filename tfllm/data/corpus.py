"""Loads the training and evaluation text of a language-model task.

Every document of `--data` (a text file, a row's text field, a TFDS
example) joins the training text, one line break between documents.
Without `--eval_data` the last `--eval_fraction` of its characters is held
out (`tfllm.data.splits.hold_out_tail`).

Example:

>>> data = load_corpus_data("input.txt", eval_fraction=0.1)
>>> len(data.train_text), len(data.eval_text)
(903468, 100386)
"""

import dataclasses

from tfllm.data.errors import RowGuard
from tfllm.data.examples import PLAIN_TEXT, load_examples
from tfllm.data.splits import hold_out_tail


@dataclasses.dataclass
class CorpusData:
    train_text: str
    eval_text: str
    rows: RowGuard  # bad rows skipped on the way (with --skip_bad_rows)
    train_ids: object = None  # token streams, once a tokenizer exists
    eval_ids: object = None


def load_text(spec, text_field=None, guard=None):
    """The documents of `spec`, joined by line breaks."""
    documents = load_examples(spec, PLAIN_TEXT, {"text": text_field}, guard)
    return "\n".join(documents["text"])


def load_corpus_data(spec, eval_spec=None, eval_fraction=0.1, text_field=None,
                     skip_bad_rows=False):
    rows = RowGuard(skip=skip_bad_rows)
    train = load_text(spec, text_field, rows)
    if eval_spec:
        return CorpusData(train, load_text(eval_spec, text_field, rows), rows)
    return CorpusData(*hold_out_tail(train, eval_fraction), rows)
