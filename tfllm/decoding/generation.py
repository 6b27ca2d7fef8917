"""Turning ragged prompts into the fixed-window batches the model generates on.

These are plain TensorFlow ops so the same code runs in Python and inside an
exported serving graph. The rules, documented once here:

* `max_new_tokens` is clipped to `[0, sequence_length - 1]`: the model only
  has `sequence_length` positions, and at least one must hold context.
* A prompt longer than `sequence_length - max_new_tokens` tokens keeps its
  **last** tokens (left truncation): the continuation follows the end of the
  prompt, as the user expects, using as much of it as fits.
* An empty prompt starts from `start_id` (the tokenizer's id of "\\n" when it
  has one): generation begins as at the start of a paragraph. The start token
  is not part of the returned continuation.

Example:

>>> ids, mask, lengths, new = prepare_prompts(tokenizer(prompts), 50, 64, start_id)
>>> generated = model.generate(ids, mask, sampler)
>>> text = tokenizer.detokenize(continuation_ids(generated, lengths, new))
"""

import tensorflow as tf


def prepare_prompts(prompt_ids, max_new_tokens, sequence_length, start_id):
    """Returns `(token_ids, padding_mask, prompt_lengths, max_new_tokens)`.

    `prompt_ids`: int RaggedTensor `[batch, (tokens)]`. The dense outputs are
    `[batch, longest_kept_prompt + max_new_tokens]`, at most
    `sequence_length` wide, prompts at position 0, zeros after.
    """
    prompt_ids = tf.cast(prompt_ids, tf.int32)
    max_new = tf.clip_by_value(tf.cast(max_new_tokens, tf.int32), 0, sequence_length - 1)
    lengths = prompt_ids.row_lengths()
    empty = tf.cast(tf.equal(lengths, 0), lengths.dtype)
    starts = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(empty)], tf.cast(start_id, tf.int32)), empty)
    prompt_ids = tf.concat([starts, prompt_ids], axis=1)
    keep = sequence_length - max_new
    prompt_ids = prompt_ids[:, -keep:]
    lengths = tf.cast(prompt_ids.row_lengths(), tf.int32)
    total = tf.reduce_max(lengths) + max_new
    batch = prompt_ids.nrows(out_type=tf.int32)
    token_ids = prompt_ids.to_tensor(default_value=0, shape=tf.stack([batch, total]))
    padding_mask = tf.sequence_mask(lengths, total)
    return token_ids, padding_mask, lengths, max_new


def continuation_ids(token_ids, prompt_lengths, max_new_tokens):
    """The `max_new_tokens` ids after each row's prompt: `[batch, max_new_tokens]`."""
    positions = prompt_lengths[:, None] + tf.range(max_new_tokens)[None, :]
    return tf.gather(token_ids, positions, batch_dims=1)
