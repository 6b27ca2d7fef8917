"""The serving signature of a text classifier: raw strings in, labels out.

`serving_default(text: string [batch])` returns `label` (string [batch]),
`label_id` (int32 [batch]) and `probabilities` (float32 [batch, classes]).
Cleaning and tokenization run inside the graph (core TF and TF Text ops
only), so stock TF Serving answers raw text.

Example:

>>> endpoints = classifier_endpoints(model, preprocessor, ["negative", "positive"])
>>> export_task("saved_models/sentiment", model, preprocessor, endpoints, card)
"""

import tensorflow as tf

from tfllm.export.saved_model import endpoint


def classifier_endpoints(model, preprocessor, label_names):
    """`{"serving_default": tf.function}` for `tfllm.export.saved_model.export_task`."""
    names = tf.constant(list(label_names))

    @endpoint(tf.TensorSpec([None], tf.string, name="text"))
    def serving_default(text):
        token_ids = preprocessor(text).to_tensor()
        probabilities = tf.nn.softmax(model(token_ids, training=False), axis=-1)
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"label": tf.gather(names, label_id), "label_id": label_id,
                "probabilities": probabilities}

    return {"serving_default": serving_default}
