"""Loads the train and eval splits of a text-classification task.

Example:

>>> data = load_classification_data("train.tsv", eval_spec="dev.tsv",
...                                 label_names=["negative", "positive"])
>>> data.labels.names, len(data.train), len(data.eval)
(['negative', 'positive'], 67349, 872)
"""

import dataclasses

from tfllm.data.errors import DataError, RowGuard
from tfllm.data.examples import LABELLED_TEXT, load_examples
from tfllm.data.labels import LabelVocabulary, suspect_labels
from tfllm.data.splits import hold_out


@dataclasses.dataclass
class ClassificationData:
    train: object  # Examples with fields text and label
    eval: object
    labels: LabelVocabulary
    train_ids: list
    eval_ids: list
    rows: RowGuard  # bad rows skipped on the way (with --skip_bad_rows)
    finetune: object = None  # Examples of a second training stage, if any
    finetune_ids: list = None


def _without_suspect_labels(examples, names, guard):
    """`examples` less the rows whose label looks wrong (see `suspect_labels`),
    each reported to `guard`: an error naming its row, or a counted skip."""
    suspects = suspect_labels(examples["label"], names)
    for index, reason in suspects:
        guard.reject(DataError(examples.where(index), reason, field="label"))
    dropped = {index for index, _ in suspects}
    return examples.subset([i for i in range(len(examples)) if i not in dropped])


def load_classification_data(spec, eval_spec=None, eval_fraction=0.1, seed=0,
                             text_field=None, label_field=None, label_names=None,
                             skip_bad_rows=False, finetune_spec=None):
    """Reads both splits, and the fine-tuning data if `finetune_spec` names
    any, and maps labels to ids with one vocabulary fitted on train."""
    rows = RowGuard(skip=skip_bad_rows)
    columns = {"text": text_field, "label": label_field}
    train = load_examples(spec, LABELLED_TEXT, columns, rows)
    names = label_names or train.class_names.get("label")
    train = _without_suspect_labels(train, names, rows)
    if eval_spec:
        evaluation = load_examples(eval_spec, LABELLED_TEXT, columns, rows)
    else:
        train, evaluation = hold_out(train, eval_fraction, seed)
    labels = LabelVocabulary.fit(train["label"], names)
    data = ClassificationData(train, evaluation, labels,
                              labels.encode(train["label"], train.sources),
                              labels.encode(evaluation["label"], evaluation.sources), rows)
    if finetune_spec:
        data.finetune = load_examples(finetune_spec, LABELLED_TEXT, columns, rows)
        data.finetune_ids = labels.encode(data.finetune["label"], data.finetune.sources)
    return data
