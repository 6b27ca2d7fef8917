"""The serving graph of a text classifier: raw strings in, labels out.

`serving_default(text: string [batch])` returns `label` (string [batch]),
`label_id` (int32 [batch]) and `probabilities` (float32 [batch, classes]).
Cleaning and tokenization run inside the graph (core TF and TF Text ops
only), so stock TF Serving answers raw text.

Example:

>>> archive = classifier_archive(model, encoder, ["negative", "positive"])
>>> export_version("saved_models/sentiment", archive.write_out)
"""

import keras
import tensorflow as tf


def classifier_archive(model, encoder, label_names):
    """A `keras.export.ExportArchive` holding the model, tokenizer and signature."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(encoder.tokenizer)
    names = tf.constant(list(label_names))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(text):
        token_ids = encoder(text).to_tensor()
        probabilities = tf.nn.softmax(model(token_ids, training=False), axis=-1)
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"label": tf.gather(names, label_id), "label_id": label_id,
                "probabilities": probabilities}

    archive.add_endpoint("serving_default", serve)
    return archive


def write_classifier(folder, model, encoder, label_names):
    """Writes the SavedModel of `classifier_archive` to `folder`."""
    classifier_archive(model, encoder, label_names).write_out(folder, verbose=False)
