"""Maps raw labels (ints or strings) to class ids and back to names.

Example:

>>> labels = LabelVocabulary.fit(["pos", "neg", "pos"])
>>> labels.names, labels.encode(["neg", "pos"])
(['neg', 'pos'], [0, 1])
"""

import collections

from tfllm.data.errors import DataError

# A class holding under this share of at least this many training labels is
# taken for a typo ("positve" among thousands of "positive"), unless named.
RARE_SHARE, RARE_MIN_LABELS = 0.001, 1000


def _as_int(label):
    if isinstance(label, int):
        return label
    text = str(label)
    return int(text) if text.lstrip("-").isdigit() else None


def suspect_labels(labels, names=None):
    """`(index, reason)` for each label that is probably a mistake.

    With `names` (from `--label_names` or the dataset), a label must be one
    of them, or an integer below their count. Without, a string among
    integer labels (or an integer among string labels) is suspect, and so
    is a class so rare that it is more likely a typo than a class: under
    0.1% of 1,000 or more labels. A real rare class is kept by listing every
    class in `--label_names`.
    """
    if names:
        allowed = set(names)
        return [(i, f"label {label!r} is not one of --label_names {list(names)} (nor an "
                    f"integer below {len(names)})")
                for i, label in enumerate(labels)
                if str(label) not in allowed
                and not (_as_int(label) is not None and 0 <= _as_int(label) < len(names))]
    integer = [_as_int(label) is not None for label in labels]
    if any(integer) and not all(integer):
        majority = sum(integer) * 2 >= len(labels)
        kind = "integer" if majority else "string"
        return [(i, f"label {label!r} is not an {kind} like the other labels; if it is a "
                    "class, list every class in --label_names")
                for i, (label, is_integer) in enumerate(zip(labels, integer))
                if is_integer != majority]
    counts = collections.Counter(map(str, labels))
    if len(labels) < RARE_MIN_LABELS:
        return []
    rare = {name for name, count in counts.items() if count < RARE_SHARE * len(labels)}
    return [(i, f"label {label!r} occurs {counts[str(label)]} time(s) among "
                f"{len(labels):,} labels, more likely a typo than a class; if it is a class, "
                "list every class in --label_names")
            for i, label in enumerate(labels) if str(label) in rare]


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
