"""Text classifiers over token ids: a Transformer encoder, a BiLSTM baseline,
and a pretrained backbone with a classifier head (`BackboneClassifier`).

Both take `token_ids` (int32 [batch, length], 0 = padding, masked out) and
return class logits. Built from keras-hub and Keras layers, as a
`TextClassifier`: an embedder and a head, so that training can perturb the
embedded text (`adversarial_epsilon`).

Models in tfllm are `keras.Model` subclasses built from their sizes, with
`get_config`. Both classifiers here take `vocabulary_size` and
`num_classes`, and `build_classifier` picks one by name from the shared
flags.

Example:

>>> model = TransformerClassifier(vocabulary_size=8000, num_classes=2, sequence_length=128)
>>> model(tf.constant([[2, 17, 93, 0]])).shape
TensorShape([1, 2])
"""

import keras
import keras_hub
import tensorflow as tf

from tfllm.compat import update_loss_tracker
from tfllm.models.pretraining import encode

POOLINGS = ("mean", "max")
# Over a pretrained backbone also its own summary of the text ("cls").
BACKBONE_POOLINGS = ("cls", *POOLINGS)


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


def adversarial_perturbation(gradient, embedded, mask, epsilon):
    """The step of norm `epsilon * |embedded|` along `gradient`, per example.

    Miyato et al. (2017) perturb the embedded text of each example along the
    gradient of its loss. Sizing the step by the example's own embedding
    norm (over its unpadded positions) keeps one `epsilon` meaningful for a
    two-word phrase and a long review alike, and while embeddings grow in
    training; an absolute size that suits sentences swamps short phrases.
    """
    mask = tf.cast(mask, embedded.dtype)[..., None]
    gradient = gradient * mask
    size = epsilon * tf.norm(embedded * mask, axis=[1, 2], keepdims=True)
    return size * gradient / (tf.norm(gradient, axis=[1, 2], keepdims=True) + 1e-12)


class TextClassifier(keras.Model):
    """`head(embedder(token_ids))`, optionally trained adversarially.

    With `adversarial_epsilon > 0`, each training step adds to the loss the
    loss of the same batch with its embedded text moved a distance
    `adversarial_epsilon` (relative to its norm) in the direction that hurts
    most (Miyato et al., 2017, "Adversarial Training Methods for
    Semi-Supervised Text Classification"), and averages the two. Written
    here because neither Keras nor keras-hub has it. A step then costs about
    twice a plain one; evaluation and serving are unchanged.

    Args:
        token_ids, embedded: input and output of the `embedder`, from token
            ids (0 = padding) to vectors [batch, length, dim] that carry the
            padding mask.
        vectors, logits: input and output of the `head`, from those vectors
            to class logits, honouring the mask.
        adversarial_epsilon: perturbation size relative to each example's
            embedding norm; 0 trains plainly. The attribute may change
            between training stages; it takes effect at the next `compile`.
        config: the subclass's constructor arguments, for `get_config`.

    Example:

    >>> model = TransformerClassifier(8000, 2, 128, adversarial_epsilon=0.05)
    >>> model(tf.constant([[2, 17, 93, 0]])).shape
    TensorShape([1, 2])
    """

    def __init__(self, token_ids, embedded, vectors, logits, adversarial_epsilon=0.0,
                 config=None, **kwargs):
        embedder = keras.Model(token_ids, embedded, name="embedder")
        head = keras.Model(vectors, logits, name="head")
        inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        super().__init__(inputs, head(embedder(inputs)), **kwargs)
        self.embedder = embedder
        self.head = head
        self.adversarial_epsilon = adversarial_epsilon
        self.config = dict(config or {})

    @property
    def token_embedding(self):
        """The `keras.layers.Embedding` of token ids (for pretrained vectors)."""
        layer = self.embedder.layers[1]  # after the input
        return getattr(layer, "token_embedding", layer)  # keras-hub's token + position

    def train_step(self, data):
        if not self.adversarial_epsilon:
            return super().train_step(data)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        mask = tf.not_equal(x, 0)
        with tf.GradientTape() as tape:
            embedded = self.embedder(x, training=True)
            with tf.GradientTape() as probe:
                probe.watch(embedded)
                logits = self.head(embedded, mask=mask, training=True)
                clean = self.compute_loss(x, y, logits, sample_weight, training=True)
            step = adversarial_perturbation(tf.stop_gradient(probe.gradient(clean, embedded)),
                                            tf.stop_gradient(embedded), mask,
                                            self.adversarial_epsilon)
            attacked = self.head(embedded + step, mask=mask, training=True)
            loss = (clean + self.compute_loss(x, y, attacked, sample_weight, training=True)) / 2
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        update_loss_tracker(self, loss, sample_weight=tf.shape(x)[0])
        return self.compute_metrics(x, y, logits, sample_weight)

    def get_config(self):
        # Subclasses are rebuilt from their sizes (`self.config`), as
        # keras-hub backbones are, not from the functional graph.
        return {"name": self.name, "trainable": self.trainable, **self.config,
                "adversarial_epsilon": self.adversarial_epsilon}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class TransformerClassifier(TextClassifier):
    """Token+position embedding, `num_layers` keras-hub Transformer encoder
    blocks, and a masked mean or max over positions feeding a linear classifier.

    Example:

    >>> model = TransformerClassifier(vocabulary_size=8000, num_classes=2, sequence_length=128)
    >>> model(tf.constant([[2, 17, 93, 0]])).shape
    TensorShape([1, 2])
    """

    def __init__(self, vocabulary_size, num_classes, sequence_length, hidden_dim=128,
                 num_layers=2, num_heads=4, intermediate_dim=256, dropout=0.1,
                 initializer="glorot_uniform", pooling="mean", adversarial_epsilon=0.0,
                 **kwargs):
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        embedded = keras_hub.layers.TokenAndPositionEmbedding(
            vocabulary_size, sequence_length, hidden_dim, mask_zero=True,
            embeddings_initializer=initializer)(token_ids)
        vectors = keras.Input(shape=(None, hidden_dim), name="embedded")
        x = keras.layers.Dropout(dropout)(vectors)
        for _ in range(num_layers):
            x = keras_hub.layers.TransformerEncoder(
                intermediate_dim, num_heads, dropout=dropout, kernel_initializer=initializer)(x)
        x = _pool(pooling)(x)
        x = keras.layers.Dropout(dropout)(x)
        logits = keras.layers.Dense(num_classes, kernel_initializer=initializer,
                                    dtype="float32", name="logits")(x)
        config = dict(vocabulary_size=vocabulary_size, num_classes=num_classes,
                      sequence_length=sequence_length, hidden_dim=hidden_dim,
                      num_layers=num_layers, num_heads=num_heads,
                      intermediate_dim=intermediate_dim, dropout=dropout,
                      initializer=initializer, pooling=pooling)
        super().__init__(token_ids, embedded, vectors, logits, adversarial_epsilon, config,
                         **{"name": "transformer_classifier", **kwargs})


class LSTMClassifier(TextClassifier):
    """Embedding, `num_layers` bidirectional LSTMs, and a linear classifier
    on the last layer's final states.

    Example:

    >>> model = LSTMClassifier(vocabulary_size=8000, num_classes=2)
    >>> model(tf.constant([[2, 17, 93, 0]])).shape
    TensorShape([1, 2])
    """

    def __init__(self, vocabulary_size, num_classes, hidden_dim=128, num_layers=1, dropout=0.1,
                 initializer="glorot_uniform", adversarial_epsilon=0.0, **kwargs):
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        embedded = keras.layers.Embedding(vocabulary_size, hidden_dim, mask_zero=True,
                                          embeddings_initializer=initializer)(token_ids)
        vectors = keras.Input(shape=(None, hidden_dim), name="embedded")
        x = vectors
        for layer in range(num_layers):
            x = keras.layers.Bidirectional(keras.layers.LSTM(
                hidden_dim, return_sequences=layer < num_layers - 1, dropout=dropout,
                kernel_initializer=initializer))(x)
        x = keras.layers.Dropout(dropout)(x)
        logits = keras.layers.Dense(num_classes, kernel_initializer=initializer,
                                    dtype="float32", name="logits")(x)
        config = dict(vocabulary_size=vocabulary_size, num_classes=num_classes,
                      hidden_dim=hidden_dim, num_layers=num_layers, dropout=dropout,
                      initializer=initializer)
        super().__init__(token_ids, embedded, vectors, logits, adversarial_epsilon, config,
                         **{"name": "lstm_classifier", **kwargs})


class BackboneClassifier(keras.Model):
    """A pretrained backbone and a classifier on its summary of the text.

    Takes `token_ids` (int32 [batch, length], `pad_id` = padding) as the
    other classifiers do; the segment ids (where the backbone takes them)
    are all 0 and the padding mask is where the ids are not `pad_id`.
    `pooling` (`BACKBONE_POOLINGS`) is "cls", the backbone's pooled `[CLS]`
    output (its first position's vector when it has no pooler), or the
    masked "mean" or "max" of its sequence output: a backbone pretrained
    without a sentence-level objective has not learned to summarise the
    text in its first position.

    Example:

    >>> model = BackboneClassifier(load_backbone("saved_models/pretrain"), num_classes=2)
    >>> model(tf.constant([[2, 17, 93, 3, 0]])).shape
    TensorShape([1, 2])
    """

    def __init__(self, backbone, num_classes, dropout=0.1, pad_id=0, pooling="cls", **kwargs):
        if pooling not in BACKBONE_POOLINGS:
            raise ValueError(f"--pooling must be one of {', '.join(BACKBONE_POOLINGS)} over a "
                             f"pretrained backbone, got {pooling!r}")
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        padding_mask = keras.ops.not_equal(token_ids, pad_id)
        sequence, pooled = encode(backbone, {"token_ids": token_ids, "padding_mask": padding_mask,
                                             "segment_ids": keras.ops.zeros_like(token_ids)})
        if pooling != "cls":
            pooled = _pool(pooling)(sequence, mask=padding_mask)
        logits = keras.layers.Dense(num_classes, dtype="float32", name="logits")(
            keras.layers.Dropout(dropout)(pooled))
        super().__init__(token_ids, logits, **{"name": "backbone_classifier", **kwargs})
        self.backbone = backbone
        self.num_classes, self.dropout, self.pad_id = num_classes, dropout, pad_id
        self.pooling = pooling

    @property
    def token_embedding(self):
        return self.backbone.token_embedding

    def get_config(self):
        return {"backbone": keras.saving.serialize_keras_object(self.backbone),
                "num_classes": self.num_classes, "dropout": self.dropout,
                "pad_id": self.pad_id, "pooling": self.pooling, "name": self.name}

    @classmethod
    def from_config(cls, config):
        backbone = keras.saving.deserialize_keras_object(config.pop("backbone"))
        return cls(backbone, **config)


CLASSIFIERS = {"transformer": TransformerClassifier, "lstm": LSTMClassifier}
MODELS = tuple(CLASSIFIERS)


def build_classifier(name, vocabulary_size, num_classes, sequence_length, hidden_dim=128,
                     num_layers=2, num_heads=4, intermediate_dim=256, dropout=0.1,
                     initializer="glorot_uniform", pooling="mean", adversarial_epsilon=0.0):
    """The classifier called `name` (one of `MODELS`) from the shared sizes;
    `sequence_length`, `num_heads`, `intermediate_dim` and `pooling` apply
    to the Transformer only."""
    if name == "transformer":
        return TransformerClassifier(vocabulary_size, num_classes, sequence_length, hidden_dim,
                                     num_layers, num_heads, intermediate_dim, dropout,
                                     initializer, pooling, adversarial_epsilon)
    if name == "lstm":
        return LSTMClassifier(vocabulary_size, num_classes, hidden_dim, num_layers, dropout,
                              initializer, adversarial_epsilon)
    raise ValueError(f"--model must be one of {', '.join(MODELS)} for classification, got {name!r}")
