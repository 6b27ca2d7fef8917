"""Packs a token stream into fixed windows with next-token targets.

A language model sees text as one long stream of token ids. Cutting that
stream into windows of `sequence_length + 1` ids that overlap by one id gives
`sequence_length` inputs and the `sequence_length` next-token targets of each
window, with no padding at all: every training token is a real token.

Example:

>>> windows = pack_windows(np.arange(10), sequence_length=3)
>>> windows.tolist()
[[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
>>> x, y = split_inputs_targets(windows)   # x = [0,1,2], y = [1,2,3], ...
"""

import numpy as np
import tensorflow as tf


def concat_token_ids(tokenized_texts, separator_ids=()):
    """Joins per-document token id lists into one int32 stream.

    `separator_ids` (for example the ids of "\\n") go between documents so the
    model sees where one ends; no separator is added after the last one.
    """
    parts = []
    for i, ids in enumerate(tokenized_texts):
        if i and len(separator_ids):
            parts.append(np.asarray(separator_ids, dtype=np.int32))
        parts.append(np.asarray(ids, dtype=np.int32).reshape(-1))
    if not parts:
        return np.zeros([0], np.int32)
    return np.concatenate(parts)


def pack_windows(token_ids, sequence_length, offset=0):
    """Windows of `sequence_length + 1` ids, stride `sequence_length`.

    Window `i` is `token_ids[offset + i*L : offset + (i+1)*L + 1]`; a tail too
    short for a whole window is dropped (training never pads). Works on NumPy
    arrays and on tensors (inside tf.data); returns the same kind.
    """
    length = sequence_length
    if isinstance(token_ids, np.ndarray) or isinstance(token_ids, (list, tuple)):
        ids = np.asarray(token_ids, dtype=np.int32)[offset:]
        count = max((len(ids) - 1) // length, 0)
        if count == 0:
            return np.zeros([0, length + 1], np.int32)
        # Stride tricks avoid copying the stream once per window.
        idx = np.arange(count)[:, None] * length + np.arange(length + 1)[None, :]
        return ids[idx]
    ids = token_ids[offset:]
    return tf.signal.frame(ids, length + 1, length, pad_end=False)


def split_inputs_targets(windows):
    """`(inputs, targets)`: each window minus its last id, and shifted by one."""
    return windows[..., :-1], windows[..., 1:]


def pack_for_evaluation(token_ids, sequence_length):
    """Windows covering *every* token of the stream, for exact evaluation.

    Returns `(inputs, targets, weights)` as NumPy arrays of shape
    `[windows, sequence_length]`. Each token after the first is predicted
    exactly once; the last window is padded with zeros and weight 0, so a
    weighted sum of the per-token loss over all windows is the loss of the
    whole stream (with the same context resets as training windows).
    """
    ids = np.asarray(token_ids, dtype=np.int32).reshape(-1)
    length = sequence_length
    predicted = max(len(ids) - 1, 0)
    count = -(-predicted // length)  # ceil
    padded = np.zeros([count * length + 1], np.int32)
    padded[: len(ids)] = ids
    windows = pack_windows(padded, length)
    inputs, targets = split_inputs_targets(windows)
    weights = (np.arange(count * length) < predicted).astype(np.float32).reshape(count, length)
    return inputs, targets, weights


def training_dataset(token_ids, sequence_length, batch_size, *, seed=None,
                     shuffle=True, random_offset=True, repeat=True, steps=None):
    """A tf.data pipeline of `(inputs, targets)` batches for `fit`.

    The whole token stream is one constant tensor (packed once, kept in
    memory); each pass over it starts at a fresh random offset in
    `[0, sequence_length)`, so windows fall on different boundaries every
    epoch (what nanoGPT gets from random crops) at no extra cost. Batches
    keep a fixed shape (remainder dropped), which XLA needs to compile once.
    """
    ids = tf.constant(np.asarray(token_ids, dtype=np.int32))
    length = sequence_length
    if (len(token_ids) - 1) // length < 1:
        raise ValueError(
            f"the text has {len(token_ids)} tokens, too few for one window of "
            f"{length + 1}; lower --sequence_length or add data.")

    if random_offset:
        offsets = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).map(
            lambda r: tf.cast(r % length, tf.int32))
    else:
        offsets = tf.data.Dataset.from_tensors(tf.constant(0, tf.int32)).repeat()
    if not repeat:
        offsets = offsets.take(1)

    def epoch(offset):
        windows = tf.data.Dataset.from_tensor_slices(
            tf.signal.frame(ids[offset:], length + 1, length))
        if shuffle:
            count = (len(token_ids) - 1) // length
            windows = windows.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        return windows

    ds = offsets.flat_map(epoch)
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.map(split_inputs_targets, num_parallel_calls=tf.data.AUTOTUNE)
    if steps:
        ds = ds.take(steps)
    return ds.prefetch(tf.data.AUTOTUNE)


def evaluation_dataset(token_ids, sequence_length, batch_size):
    """`(inputs, targets, weights)` batches covering every token once."""
    inputs, targets, weights = pack_for_evaluation(token_ids, sequence_length)
    ds = tf.data.Dataset.from_tensor_slices((inputs, targets, weights))
    return ds.batch(batch_size).cache().prefetch(tf.data.AUTOTUNE)


def tokenize_stream(tokenizer, text, batch_lines=4096):
    """Token ids of a whole text as one int32 NumPy stream, line by line.

    Lines go through the tokenizer in tf.data batches (keras-hub tokenizers
    run their TF path there, far faster than their eager Python path). When
    the tokenizer has an id for "\\n" (char, byte), it is put back between
    lines so the model learns line breaks; subword vocabularies that drop
    whitespace just concatenate the lines.
    """
    lines = text.split("\n")
    newline = tf.function(tokenizer)(tf.constant(["\n"]))
    newline = np.asarray(tf.RaggedTensor.from_tensor(newline).flat_values
                         if not isinstance(newline, tf.RaggedTensor) else newline.flat_values,
                         np.int32)
    newline_t = tf.constant(newline)

    def with_separator(ids):
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        ids = tf.cast(ids, tf.int32)
        rows = ids.nrows()
        sep = tf.RaggedTensor.from_tensor(tf.tile(newline_t[None], [rows, 1]))
        return tf.concat([ids, sep], axis=1).flat_values

    ds = (tf.data.Dataset.from_tensor_slices(tf.constant(lines, tf.string))
          .batch(batch_lines).map(tokenizer).map(with_separator))
    ids = np.concatenate([chunk.numpy() for chunk in ds] or [np.zeros([0], np.int32)])
    # The text's own last line has no newline after it.
    return ids[: len(ids) - len(newline)] if len(newline) else ids
