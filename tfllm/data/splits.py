"""Holding out evaluation data when the user gives none (`--eval_fraction`).

Two ways, each where it belongs:
  * `hold_out`: a seeded random share of the examples, for tasks whose
    examples stand alone (classification, pairs, questions);
  * `hold_out_tail`: the last share of a text, for language models, whose
    windows overlap their neighbours: a random share of lines would leave
    held-out text in the training context around it.

Example:

>>> train, evaluation = hold_out(examples, 0.1, seed=0)
>>> train_text, eval_text = hold_out_tail(text, 0.1)
"""

import numpy as np

from tfllm.data.errors import DataError


def _check(fraction):
    if not 0 < fraction < 1:
        raise DataError("--eval_fraction", f"must be between 0 and 1 without --eval_data, "
                                           f"got {fraction}")


def holdout_indices(count, fraction, seed):
    """(kept, held out) index lists: a seeded random `fraction` held out."""
    _check(fraction)
    order = np.random.default_rng(seed).permutation(count)
    cut = max(1, int(round(count * fraction)))
    return sorted(order[cut:].tolist()), sorted(order[:cut].tolist())


def hold_out(examples, fraction, seed):
    """(training, held-out) subsets of `Examples`."""
    kept, held_out = holdout_indices(len(examples), fraction, seed)
    return examples.subset(kept), examples.subset(held_out)


def hold_out_tail(text, fraction):
    """(first part, last `fraction` of the characters) of `text`."""
    _check(fraction)
    cut = int(len(text) * (1 - fraction))
    return text[:cut], text[cut:]
