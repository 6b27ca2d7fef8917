"""Text classifiers over token ids: a Transformer encoder and a BiLSTM baseline.

Both take `token_ids` (int32 [batch, length], 0 = padding, masked out) and
return class logits. Built from keras-hub and Keras layers.

Example:

>>> model = transformer_classifier(vocab_size=8000, num_classes=2, sequence_length=128)
>>> model(tf.constant([[2, 17, 93, 0]])).shape
TensorShape([1, 2])
"""

import keras
import keras_hub

MODELS = ("transformer", "lstm")
POOLINGS = ("mean", "max")


class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Max over positions that are not padding.

    Keras' `GlobalMaxPooling1D` ignores the padding mask, so padded positions
    would take part in the max; keras-hub has no masked max either.

    Example:

    >>> x = keras.ops.convert_to_tensor([[[1.0], [5.0]]])
    >>> MaskedGlobalMaxPooling1D()(x, mask=keras.ops.convert_to_tensor([[True, False]]))
    [[1.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = keras.ops.where(keras.ops.expand_dims(mask, -1), inputs, -1e9)
        return keras.ops.max(inputs, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


def _pool(pooling):
    if pooling == "mean":
        return keras.layers.GlobalAveragePooling1D()  # honours the padding mask
    if pooling == "max":
        return MaskedGlobalMaxPooling1D()
    raise ValueError(f"--pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")


def transformer_classifier(vocab_size, num_classes, sequence_length, hidden_dim=128,
                           num_layers=2, num_heads=4, intermediate_dim=256, dropout=0.1,
                           initializer="glorot_uniform", pooling="mean"):
    """Token+position embedding, `num_layers` Transformer encoder blocks, and a
    masked mean or max over positions feeding a linear classifier."""
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = keras_hub.layers.TokenAndPositionEmbedding(
        vocab_size, sequence_length, hidden_dim, mask_zero=True,
        embeddings_initializer=initializer)(token_ids)
    x = keras.layers.Dropout(dropout)(x)
    for _ in range(num_layers):
        x = keras_hub.layers.TransformerEncoder(
            intermediate_dim, num_heads, dropout=dropout, kernel_initializer=initializer)(x)
    x = _pool(pooling)(x)
    x = keras.layers.Dropout(dropout)(x)
    logits = keras.layers.Dense(num_classes, kernel_initializer=initializer, name="logits")(x)
    return keras.Model(token_ids, logits, name="transformer_classifier")


def lstm_classifier(vocab_size, num_classes, hidden_dim=128, num_layers=1, dropout=0.1,
                    initializer="glorot_uniform"):
    """Embedding, `num_layers` bidirectional LSTMs, and a linear classifier on
    the last layer's final states."""
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, hidden_dim, mask_zero=True,
                               embeddings_initializer=initializer)(token_ids)
    for layer in range(num_layers):
        x = keras.layers.Bidirectional(keras.layers.LSTM(
            hidden_dim, return_sequences=layer < num_layers - 1, dropout=dropout,
            kernel_initializer=initializer))(x)
    x = keras.layers.Dropout(dropout)(x)
    logits = keras.layers.Dense(num_classes, kernel_initializer=initializer, name="logits")(x)
    return keras.Model(token_ids, logits, name="lstm_classifier")


def build_classifier(name, vocab_size, num_classes, sequence_length, hidden_dim=128,
                     num_layers=2, num_heads=4, intermediate_dim=256, dropout=0.1,
                     initializer="glorot_uniform", pooling="mean"):
    """The classifier called `name` (one of `MODELS`); `pooling` applies to the Transformer."""
    if name == "transformer":
        return transformer_classifier(vocab_size, num_classes, sequence_length, hidden_dim,
                                      num_layers, num_heads, intermediate_dim, dropout,
                                      initializer, pooling)
    if name == "lstm":
        return lstm_classifier(vocab_size, num_classes, hidden_dim, num_layers, dropout,
                               initializer)
    raise ValueError(f"--model must be one of {', '.join(MODELS)} for classification, got {name!r}")
