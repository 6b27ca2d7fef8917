"""The serving signature of a masked language model: text with `[MASK]` in, words out.

`serving_default(text: string [batch])` returns, for each `[MASK]` of each
text (in order; rows with fewer masks are padded with "" and 0):
`predictions` (string [batch, masks, top_k], the `top_k` likeliest tokens),
`scores` (float32 [batch, masks, top_k], their probabilities), and `filled`
(string [batch]: the text as the model reads it, each mask replaced by its
likeliest token, detokenized). Cleaning, tokenization and packing run in the
graph with core TF and TF Text ops.

Example:

>>> endpoints = fill_mask_endpoints(model, preprocessor, top_k=5)
>>> export_task("saved_models/pretrain", model, preprocessor, endpoints, card)
"""

import tensorflow as tf

from tfllm.export.saved_model import endpoint


def fill_mask_endpoints(model, preprocessor, top_k=5):
    """`{"serving_default": tf.function}` for `tfllm.export.saved_model.export_task`."""
    tokenizer = preprocessor.tokenizer
    vocabulary = tf.constant(tokenizer.get_vocabulary())

    @endpoint(tf.TensorSpec([None], tf.string, name="text"))
    def serving_default(text):
        inputs = preprocessor.fill_mask_inputs(text)
        weights = inputs.pop("mask_weights")
        logits = model(inputs, training=False)["mlm"]
        scores, ids = tf.math.top_k(tf.nn.softmax(logits, axis=-1), k=top_k)
        present = weights[..., None] > 0
        words = tf.gather(vocabulary, ids)
        best = tf.tensor_scatter_nd_update(
            inputs["token_ids"],
            tf.stack([tf.broadcast_to(tf.range(tf.shape(ids)[0])[:, None],
                                      tf.shape(ids)[:2]), inputs["mask_positions"]], axis=-1)
            [weights > 0],
            ids[..., 0][weights > 0])
        kept = tf.ragged.boolean_mask(best, inputs["padding_mask"])[:, 1:-1]  # no [CLS], [SEP]
        return {"predictions": tf.where(present, words, ""),
                "scores": tf.where(present, scores, 0.0),
                "filled": tokenizer.detokenize(kept)}

    return {"serving_default": serving_default}
