"""Classification metrics from a confusion matrix, and a table for people.

Example:

>>> report = classification_report([0, 1, 1], [0, 1, 0], ["neg", "pos"])
>>> report["accuracy"], report["macro_f1"]
(0.6666666666666666, 0.6666666666666666)
"""

import numpy as np
import tensorflow as tf


def classification_report(y_true, y_pred, label_names):
    """Accuracy, per-class and macro precision/recall/F1, and the confusion matrix
    (rows: true class, columns: predicted class). A class never predicted has
    precision 0, as scikit-learn reports it."""
    k = len(label_names)
    matrix = tf.math.confusion_matrix(y_true, y_pred, num_classes=k).numpy().astype(np.int64)
    true_pos = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(true_pos, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(true_pos, actual, out=np.zeros(k), where=actual > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(k), where=denominator > 0)
    return {
        "examples": int(matrix.sum()),
        "accuracy": float(true_pos.sum() / max(matrix.sum(), 1)),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]),
                   "f1": float(f1[i]), "support": int(actual[i])}
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": matrix.tolist(),
        "label_names": list(label_names),
    }


def predict_labels(model, dataset):
    """(true, predicted) label ids over `dataset` of (token_ids, label_id)
    batches, in one pass so they stay aligned."""
    step = tf.function(lambda x: tf.argmax(model(x, training=False), axis=-1),
                       reduce_retracing=True)
    pairs = [(y.numpy(), step(x).numpy()) for x, y in dataset]
    return np.concatenate([t for t, _ in pairs]), np.concatenate([p for _, p in pairs])


def evaluate_classifier(model, dataset, label_names):
    """`classification_report` of `model` over `dataset`."""
    return classification_report(*predict_labels(model, dataset), label_names)


def format_report(report):
    """The report as aligned text tables."""
    names = report["label_names"]
    width = max(9, *(len(n) for n in names))
    lines = [f"{'class':<{width}}  precision  recall  f1      support"]
    for name in names:
        row = report["per_class"][name]
        lines.append(f"{name:<{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  "
                     f"{row['f1']:6.4f}  {row['support']:7d}")
    lines.append(f"{'macro':<{width}}  {report['macro_precision']:9.4f}  "
                 f"{report['macro_recall']:6.4f}  {report['macro_f1']:6.4f}  "
                 f"{report['examples']:7d}")
    lines.append(f"accuracy {report['accuracy']:.4f}")
    lines.append("confusion matrix (rows: true, columns: predicted)")
    lines.append(" " * (width + 2) + "  ".join(f"{n:>{width}}" for n in names))
    for name, row in zip(names, report["confusion_matrix"]):
        lines.append(f"{name:<{width}}  " + "  ".join(f"{v:>{width}d}" for v in row))
    return "\n".join(lines)
