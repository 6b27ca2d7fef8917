"""An encoder-decoder Transformer for translation, built from keras-hub blocks.

Source tokens go through an embedding (token + learned or sinusoidal
positions) and `num_layers` keras-hub `TransformerEncoder` blocks; target
tokens through their own (or the shared) embedding and `num_layers`
`TransformerDecoder` blocks with causal self-attention and cross-attention
to the encoder's output; the output projection is the transposed target
embedding. Blocks are pre-layer-norm, with a final norm on each side.

Decoding uses the decoders' caches: the encoder runs once, each decoder
block's cross-attention keys and values are computed once, and every new
target token costs one single-position step (`call_with_cache`).

Example:

>>> model = Seq2SeqTransformer(8000, 8000, sequence_length=64, hidden_dim=256,
...                            num_layers=3, num_heads=4, intermediate_dim=1024)
>>> logits = model((source_ids, decoder_inputs))        # [batch, target, 8000]
"""

import keras
import keras_hub
from keras import ops

from tfllm.models.initializers import fresh_initializer

POSITIONS = ("learned", "sinusoidal")


class TokenEmbedding(keras.layers.Layer):
    """Token embedding plus positions, learned or sinusoidal.

    The token matrix is a keras-hub `ReversibleEmbedding`, so the decoder
    can project back to the vocabulary with it (`reverse=True`). Padding
    masks are passed to the blocks explicitly, not attached here. Sinusoidal
    positions are added to the embedding scaled by sqrt(width), as in
    Vaswani et al. (2017).

    Example:

    >>> embed = TokenEmbedding(8000, 64, 256, positions="sinusoidal")
    >>> embed(tf.constant([[5, 9, 0]])).shape
    TensorShape([1, 3, 256])
    """

    def __init__(self, vocabulary_size, sequence_length, hidden_dim, positions="learned",
                 token_embedding=None, **kwargs):
        super().__init__(**kwargs)
        if positions not in POSITIONS:
            raise ValueError(f"--positions must be one of {', '.join(POSITIONS)}, "
                             f"got {positions!r}")
        self.positions = positions
        self.hidden_dim = hidden_dim
        self.token_embedding = token_embedding or keras_hub.layers.ReversibleEmbedding(
            vocabulary_size, hidden_dim,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="token_embedding")
        if positions == "learned":
            self.position_embedding = keras_hub.layers.PositionEmbedding(
                sequence_length, initializer=keras.initializers.RandomNormal(stddev=0.02),
                name="position_embedding")
        else:
            self.position_embedding = keras_hub.layers.SinePositionEncoding(
                name="position_embedding")

    def build(self, input_shape):
        if not self.token_embedding.built:
            self.token_embedding.build(input_shape)
        self.position_embedding.build((*input_shape, self.hidden_dim))
        self.built = True

    def call(self, token_ids, start_index=0):
        x = self.token_embedding(token_ids)
        if self.positions == "sinusoidal":
            x = x * ops.sqrt(ops.cast(self.hidden_dim, x.dtype))
        return x + self.position_embedding(x, start_index=start_index)


class Seq2SeqTransformer(keras.Model):
    """Encoder-decoder Transformer: `(source_ids, decoder_ids)` -> target logits.

    Args:
        source_vocabulary_size, target_vocabulary_size: token ids per side.
        sequence_length: the longest source, and the longest target, in tokens.
        hidden_dim, num_layers (per side), num_heads, intermediate_dim: sizes.
        dropout: dropout rate on embeddings, attention and feed-forward.
        positions: "learned" or "sinusoidal" position embeddings.
        share_embeddings: one matrix for source tokens, target tokens and the
            output projection (needs one vocabulary for both sides).
        initializer: kernel initializer of the blocks.

    Example:

    >>> model = Seq2SeqTransformer(100, 100, sequence_length=16, num_layers=1)
    >>> model((tf.constant([[5, 6, 3]]), tf.constant([[2, 7]]))).shape
    TensorShape([1, 2, 100])
    """

    def __init__(self, source_vocabulary_size, target_vocabulary_size, sequence_length,
                 hidden_dim=256, num_layers=3, num_heads=4, intermediate_dim=1024, dropout=0.1,
                 positions="learned", share_embeddings=False, initializer="glorot_uniform",
                 **kwargs):
        super().__init__(**kwargs)
        if share_embeddings and source_vocabulary_size != target_vocabulary_size:
            raise ValueError("sharing embeddings needs one vocabulary for both sides (joint)")
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} must be a multiple of num_heads={num_heads}")
        self.source_vocabulary_size = int(source_vocabulary_size)
        self.target_vocabulary_size = int(target_vocabulary_size)
        self.sequence_length = int(sequence_length)
        self.hidden_dim = int(hidden_dim)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.dropout_rate = float(dropout)
        self.positions = positions
        self.share_embeddings = bool(share_embeddings)
        self.initializer = initializer

        # Positions of both sides cover the target's extra start token.
        length = self.sequence_length + 1
        self.source_embedding = TokenEmbedding(self.source_vocabulary_size, length, hidden_dim,
                                               positions, name="source_embedding")
        self.target_embedding = TokenEmbedding(
            self.target_vocabulary_size, length, hidden_dim, positions,
            token_embedding=self.source_embedding.token_embedding if share_embeddings else None,
            name="target_embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        block = dict(intermediate_dim=intermediate_dim, num_heads=num_heads, dropout=dropout,
                     activation="gelu", normalize_first=True)
        self.encoder_blocks = [
            keras_hub.layers.TransformerEncoder(
                **block, kernel_initializer=fresh_initializer(initializer), name=f"encoder_{i}")
            for i in range(num_layers)]
        self.decoder_blocks = [
            keras_hub.layers.TransformerDecoder(
                **block, kernel_initializer=fresh_initializer(initializer), name=f"decoder_{i}")
            for i in range(num_layers)]
        self.encoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="encoder_norm")
        self.decoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="decoder_norm")
        self.build()

    def build(self, input_shape=None):
        # Every weight exists up front, so checkpoints restore and exports trace.
        shape, vectors = (None, None), (None, None, self.hidden_dim)
        self.source_embedding.build(shape)
        self.target_embedding.build(shape)
        for block in self.encoder_blocks:
            block.build(vectors)
        for block in self.decoder_blocks:
            block.build(decoder_sequence_shape=vectors, encoder_sequence_shape=vectors)
        self.encoder_norm.build(vectors)
        self.decoder_norm.build(vectors)
        self.built = True

    def encode(self, source_ids, training=None):
        """`(encoded [batch, source, width], source padding mask)`."""
        mask = ops.not_equal(source_ids, 0)
        x = self.embedding_dropout(self.source_embedding(source_ids), training=training)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=mask, training=training)
        return self.encoder_norm(x), mask

    def _logits(self, x):
        x = self.decoder_norm(x)
        return ops.cast(self.target_embedding.token_embedding(x, reverse=True), "float32")

    def decode(self, decoder_ids, encoded, source_mask, training=None):
        """Logits of every target position given the whole decoder input."""
        x = self.embedding_dropout(self.target_embedding(decoder_ids), training=training)
        mask = ops.not_equal(decoder_ids, 0)
        for block in self.decoder_blocks:
            x = block(x, encoded, decoder_padding_mask=mask, encoder_padding_mask=source_mask,
                      use_causal_mask=True, training=training)
        return self._logits(x)

    def call(self, inputs, training=None):
        source_ids, decoder_ids = inputs
        encoded, source_mask = self.encode(source_ids, training=training)
        return self.decode(decoder_ids, encoded, source_mask, training=training)

    # -- cached decoding --------------------------------------------------

    def empty_caches(self, batch_size, source_length, max_length):
        """Zero self-attention caches `[batch, layers, 2, max_length, heads,
        head_dim]` and cross-attention caches (the same over `source_length`)."""
        head_dim = self.hidden_dim // self.num_heads
        shape = [batch_size, self.num_layers, 2]
        return (ops.zeros(shape + [max_length, self.num_heads, head_dim]),
                ops.zeros(shape + [source_length, self.num_heads, head_dim]))

    def call_with_cache(self, token_ids, encoded, source_mask, self_cache, cross_cache, index,
                        fill_cross_cache=False):
        """Logits for `token_ids` placed at `index`, and the updated caches.

        With `fill_cross_cache` the cross-attention keys and values are
        computed from `encoded` (once, at the first step); otherwise the
        `cross_cache` given is reused.
        """
        x = self.target_embedding(token_ids, start_index=index)
        self_caches, cross_caches = [], []
        for i, block in enumerate(self.decoder_blocks):
            x, layer_self, layer_cross = block(
                x, encoded, encoder_padding_mask=source_mask,
                self_attention_cache=self_cache[:, i, ...],
                self_attention_cache_update_index=index,
                cross_attention_cache=cross_cache[:, i, ...],
                cross_attention_cache_update_index=0 if fill_cross_cache else None,
                training=False)
            self_caches.append(layer_self)
            cross_caches.append(layer_cross)
        return self._logits(x), ops.stack(self_caches, axis=1), ops.stack(cross_caches, axis=1)

    def get_config(self):
        return {
            "name": self.name, "trainable": self.trainable,
            "source_vocabulary_size": self.source_vocabulary_size,
            "target_vocabulary_size": self.target_vocabulary_size,
            "sequence_length": self.sequence_length, "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers, "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim, "dropout": self.dropout_rate,
            "positions": self.positions, "share_embeddings": self.share_embeddings,
            "initializer": self.initializer if isinstance(self.initializer, str)
            else keras.initializers.serialize(self.initializer),
        }
