"""The one way tfllm writes an export: SavedModel, preprocessor and run card, atomically.

`export_task(root, model, preprocessor, endpoints, run_card)` writes
`root/<version>/` holding

* the SavedModel, with the task's `endpoints` as its signatures (raw
  strings in, readable results out; core TF and TF Text ops only);
* `assets.extra/preprocessor/`: the tokenizer's files and
  `preprocessor.json`, so Python code can rebuild the preprocessor
  (`Preprocessor.load`); TF Serving ignores `assets.extra`;
* `run_card.json`: how the export was made (see `run_card`).

Everything is written into a hidden staging folder that is renamed into
place at the end (`versioned.export_version`), so TF Serving never sees a
half-written version, and only the chief publishes (`export_on_chief`).

Example:

>>> endpoints = classifier_endpoints(model, preprocessor, ["negative", "positive"])
>>> export_task("saved_models/sentiment", model, preprocessor, endpoints,
...             {"task": "sentiment"})
'saved_models/sentiment/1'
"""

import os

import keras
import tensorflow as tf

from tfllm.export.run_card import write_run_card
from tfllm.export.versioned import export_on_chief

PREPROCESSOR_FOLDER = os.path.join("assets.extra", "preprocessor")


def endpoint(*input_signature):
    """Decorates a serving function: a `tf.function` of `input_signature`.

    AutoGraph is off: the serving code writes its loops and branches as TF
    ops (`tf.while_loop`, `tf.cond`, keras-hub's samplers), so converting
    its Python source only cost time (a tiny text-generation export traced
    its signatures in 7.3 s with it, 1.6 s without, on a busy machine); a
    Python `if` or `for` on a tensor now fails at export instead of being
    converted.

    Example:

    >>> @endpoint(tf.TensorSpec([None], tf.string, name="text"))
    ... def serving_default(text):
    ...     return {"length": tf.strings.length(text)}
    """
    return tf.function(input_signature=list(input_signature), autograph=False)


def write_saved_model(folder, model, preprocessor, endpoints, run_card, assets=None):
    """Writes the SavedModel with `endpoints` ({signature name: tf.function
    with an input signature}), the preprocessor and the run card to `folder`;
    then `assets(folder)`, if given, adds the task's own files."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    for tokenizer in preprocessor.tokenizers:
        archive.track(tokenizer)
    for name, function in endpoints.items():
        archive.add_endpoint(name, function)
    archive.write_out(folder, verbose=False)
    preprocessor.save(os.path.join(folder, PREPROCESSOR_FOLDER))
    write_run_card(folder, **run_card)
    if assets:
        assets(folder)


def export_task(root, model, preprocessor, endpoints, run_card, chief=True, version=None,
                assets=None):
    """Publishes `root/<version>/` (next version by default) on the chief and
    returns its path; other workers join the save and return None."""
    return export_on_chief(
        root, lambda folder: write_saved_model(folder, model, preprocessor, endpoints,
                                               run_card, assets), chief, version)
