"""Loads the train and eval splits of a text-classification task.

Example:

>>> data = load_classification_data("train.tsv", eval_spec="dev.tsv",
...                                 label_names=["negative", "positive"])
>>> data.labels.names, len(data.train), len(data.eval)
(['negative', 'positive'], 67349, 872)
"""

import dataclasses

import numpy as np

from tfllm.data.errors import RowGuard
from tfllm.data.labels import LabelVocabulary
from tfllm.data.sources import load_labelled


@dataclasses.dataclass
class ClassificationData:
    train: object  # LabelledExamples
    eval: object
    labels: LabelVocabulary
    train_ids: list
    eval_ids: list
    rows: RowGuard  # bad rows skipped on the way (with --skip_bad_rows)
    finetune: object = None  # LabelledExamples of a second training stage, if any
    finetune_ids: list = None


def holdout_indices(count, fraction, seed):
    """(kept, held out) index lists: a seeded random `fraction` held out."""
    if not 0 < fraction < 1:
        raise ValueError(f"--eval_fraction must be between 0 and 1, got {fraction}")
    order = np.random.default_rng(seed).permutation(count)
    cut = max(1, int(round(count * fraction)))
    return sorted(order[cut:].tolist()), sorted(order[:cut].tolist())


def load_classification_data(spec, eval_spec=None, eval_fraction=0.1, seed=0,
                             text_field=None, label_field=None, label_names=None,
                             skip_bad_rows=False, finetune_spec=None):
    """Reads both splits, and the fine-tuning data if `finetune_spec` names
    any, and maps labels to ids with one vocabulary fitted on train."""
    rows = RowGuard(skip=skip_bad_rows)
    train = load_labelled(spec, text_field, label_field, rows)
    if eval_spec:
        evaluation = load_labelled(eval_spec, text_field, label_field, rows)
    else:
        kept, held_out = holdout_indices(len(train), eval_fraction, seed)
        train, evaluation = train.subset(kept), train.subset(held_out)
    labels = LabelVocabulary.fit(train.labels, label_names or train.label_names)
    data = ClassificationData(train, evaluation, labels,
                              labels.encode(train.labels, train.sources),
                              labels.encode(evaluation.labels, evaluation.sources), rows)
    if finetune_spec:
        data.finetune = load_labelled(finetune_spec, text_field, label_field, rows)
        data.finetune_ids = labels.encode(data.finetune.labels, data.finetune.sources)
    return data
