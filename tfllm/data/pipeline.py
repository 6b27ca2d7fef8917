"""tf.data input pipelines for text classification.

The pipeline encodes text with the task's preprocessor (see
`tfllm.preprocessors.classification`), the same object the exported serving
graph calls, so the two cannot drift apart.

Example:

>>> preprocessor = ClassificationPreprocessor(tokenizer, sequence_length=128)
>>> train = classification_dataset(texts, label_ids, preprocessor, batch_size=32,
...                                shuffle=True, seed=0)
"""

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def bucket_boundaries(sequence_length, smallest=8):
    """Powers of two up to `sequence_length`, as `bucket_by_sequence_length` wants them.

    Buckets are padded to their upper bound, so the model sees a handful of
    shapes (XLA compiles each once) and a short text is never padded to the
    longest.
    """
    bounds, size = [], smallest
    while size < sequence_length:
        bounds.append(size + 1)
        size *= 2
    return bounds + [sequence_length + 1]


def drop_tokens(ids, rate, unknown_id, seed):
    """Replaces each token but the first (the start token) by `unknown_id`
    with probability `rate`: word dropout, a regulariser for classifiers
    trained from scratch (Iyyer et al., 2015). `seed` is a stateless seed
    (two integers): the same seed drops the same tokens."""
    drop = tf.random.stateless_uniform(tf.shape(ids), seed=seed) < rate
    drop = tf.logical_and(drop, tf.range(tf.shape(ids)[0]) > 0)
    return tf.where(drop, tf.constant(unknown_id, ids.dtype), ids)


def classification_dataset(texts, label_ids, preprocessor, batch_size, *, shuffle=False,
                           seed=None, bucket=True, token_dropout=0.0, curriculum=None):
    """Batches of `(token_ids [batch, length], label_id [batch])`.

    Texts are encoded once (vectorised, in parallel) and cached; each epoch
    then reshuffles (or, with a `tfllm.data.curriculum.Curriculum`, draws
    shortest first), applies word dropout (`token_dropout`, for training
    data), groups by length (`bucket=True`) or pads every batch to
    `preprocessor.sequence_length` (`bucket=False`), and prefetches.
    """
    data = tf.data.Dataset.from_tensor_slices((list(texts), tf.constant(label_ids, tf.int32)))
    data = (data.batch(1024)
            .map(lambda text, label: (preprocessor(text), label), num_parallel_calls=AUTOTUNE)
            .unbatch()
            # Unbatched rows are typed as ragged tensors of rank 0 but are
            # handed to map functions dense; passing them on makes them dense.
            .map(lambda ids, label: (tf.identity(ids), label))
            .cache())
    if curriculum is not None:
        # The draw needs every example at hand: encoded once, into one ragged tensor.
        encoded = data.ragged_batch(len(texts)).get_single_element()
        data = curriculum.sample(*encoded, seed=seed or 0)
    elif shuffle:
        data = data.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    if token_dropout:
        # A seed per example, drawn in dataset order and anew each epoch. A
        # stateful random op in a parallel map draws in thread order instead,
        # so two runs with one --seed dropped different tokens.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        data = tf.data.Dataset.zip(data, seeds).map(
            lambda example, pair: (
                drop_tokens(example[0], token_dropout, preprocessor.unknown_id, pair), example[1]),
            num_parallel_calls=AUTOTUNE)
    if bucket:
        bounds = bucket_boundaries(preprocessor.sequence_length)
        data = data.bucket_by_sequence_length(
            lambda ids, label: tf.shape(ids)[0], bounds, [batch_size] * (len(bounds) + 1),
            pad_to_bucket_boundary=True)
    else:
        data = data.padded_batch(batch_size, padded_shapes=([preprocessor.sequence_length], []))
    options = tf.data.Options()
    # Examples come from memory, not files: shard by example across workers.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options).prefetch(AUTOTUNE)
