"""Maps raw labels (ints or strings) to class ids and back to names.

Example:

>>> labels = LabelVocabulary.fit(["pos", "neg", "pos"])
>>> labels.names, labels.encode(["neg", "pos"])
(['neg', 'pos'], [0, 1])
"""

from tfllm.data.errors import DataError


def _as_int(label):
    if isinstance(label, int):
        return label
    text = str(label)
    return int(text) if text.lstrip("-").isdigit() else None


class LabelVocabulary:
    """Class names in id order; built from training labels, applied to all splits."""

    def __init__(self, names, integer_labels):
        self.names = list(names)
        self.integer_labels = integer_labels
        self._ids = {name: i for i, name in enumerate(self.names)}

    @classmethod
    def fit(cls, labels, names=None):
        """Integer labels 0..N-1 take `names` (default "0".."N-1"); string
        labels are their own names, in `names` order if given, else sorted."""
        ints = [_as_int(label) for label in labels]
        if all(i is not None for i in ints):
            if min(ints) < 0:
                raise DataError("labels", f"integer labels must be >= 0, found {min(ints)}")
            count = max(ints) + 1
            if names and len(names) < count:
                raise DataError("--label_names", f"{len(names)} names for {count} classes")
            return cls(names or [str(i) for i in range(count)], integer_labels=True)
        found = sorted(set(map(str, labels)))
        if names:
            missing = [name for name in found if name not in names]
            if missing:
                raise DataError("--label_names", f"labels {missing} are not among {names}")
            return cls(names, integer_labels=False)
        return cls(found, integer_labels=False)

    def encode(self, labels, sources=None):
        """Class ids for `labels`; an unknown label names where it came from."""
        ids = []
        for index, label in enumerate(labels):
            key = _as_int(label) if self.integer_labels else str(label)
            valid = (0 <= key < len(self.names)) if self.integer_labels and key is not None \
                else key in self._ids
            if not valid:
                where = sources[index] if sources else f"example {index}"
                raise DataError(where, f"label {label!r} is not one of the training labels "
                                       f"{self.names}", field="label")
            ids.append(key if self.integer_labels else self._ids[key])
        return ids
