"""A GPT-style decoder-only Transformer language model built from keras-hub blocks.

Token + position embedding, a stack of keras-hub `TransformerDecoder` blocks
with causal self-attention (no cross-attention, pre-layer-norm as in GPT-2 and
nanoGPT), a final layer norm and an output projection that is either the
transposed token embedding (tied, the default) or its own matrix. Causal
pretraining wraps keras-hub's `GPT2Backbone` (the same layout, savable as a
keras-hub preset) in `BackboneCausalLM`; both generate the same way.

Generation uses the decoders' key/value cache: the prompt is run once to fill
the cache, then every new token costs one single-position step.

Example:

>>> model = CausalLM(vocabulary_size=65, sequence_length=64, hidden_dim=128,
...                  num_layers=4, num_heads=4, intermediate_dim=512)
>>> logits = model(tf.zeros([2, 64], tf.int32))          # [2, 64, 65]
>>> ids = model.generate(prompt_ids, prompt_mask, keras_hub.samplers.GreedySampler())
"""

import keras
import keras_hub
from keras import ops

from tfllm.models.initializers import fresh_initializer


class CachedGeneration:
    """Sampling with a key/value cache, for a Keras causal LM that has
    `call_with_cache(token_ids, cache, index) -> (logits, cache)`,
    `__call__(token_ids) -> logits` and the sizes `num_layers`,
    `num_heads`, `hidden_dim`.

    Example:

    >>> class MyLM(CachedGeneration, keras.Model): ...
    >>> MyLM(...).generate(token_ids, padding_mask, keras_hub.samplers.GreedySampler())
    """

    def empty_cache(self, batch_size, max_length):
        """Zeros for the keys and values of every layer and position:
        `[batch, num_layers, 2, max_length, num_heads, head_dim]`."""
        head_dim = self.hidden_dim // self.num_heads
        shape = [batch_size, self.num_layers, 2, max_length, self.num_heads, head_dim]
        return ops.zeros(shape, dtype=self.compute_dtype)

    def generate(self, token_ids, padding_mask, sampler, use_cache=True):
        """Fills the positions of `token_ids` where `padding_mask` is False.

        `token_ids`: int `[batch, total_length]` with each prompt right-aligned
        to position 0 and followed by filler; `padding_mask` marks the prompt
        tokens (they are kept). `total_length` must be at most
        `sequence_length`; every row is extended to the full length.
        Generation starts at the shortest prompt's end; longer prompts keep
        their own tokens until theirs ends (keras-hub sampler semantics).

        With `use_cache=False` every step re-runs the model over the whole
        prefix; this exists to test the cache and to measure what it saves.
        """
        token_ids = ops.convert_to_tensor(token_ids, "int32")
        padding_mask = ops.cast(padding_mask, "bool")
        batch_size, total = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
        index = ops.min(ops.sum(ops.cast(padding_mask, "int32"), axis=-1))
        # An empty prompt in the batch would mean predicting position 0 from
        # nothing; callers put a start token there (see tfllm.export).
        index = ops.maximum(index, 1)

        if use_cache:
            # One pass over the whole (padded) prompt fills every position's
            # keys/values; positions >= index are overwritten as we go.
            _, cache = self.call_with_cache(token_ids, self.empty_cache(batch_size, total), 0)

            def next_fn(prompt, cache, index):
                last = ops.slice(prompt, [0, index - 1], [ops.shape(prompt)[0], 1])
                logits, cache = self.call_with_cache(last, cache, index - 1)
                return ops.squeeze(logits, axis=1), None, cache
        else:
            cache = None

            def next_fn(prompt, cache, index):
                logits = self(prompt, training=False)
                return ops.take(logits, index - 1, axis=1), None, cache

        return sampler(next=next_fn, prompt=token_ids, cache=cache, index=index,
                       mask=padding_mask, model=self)


class CausalLM(CachedGeneration, keras.Model):
    """Decoder-only Transformer mapping token ids `[batch, length]` to logits.

    Args:
        vocabulary_size: number of token ids.
        sequence_length: the context window; the longest input the position
            embedding covers (prompt plus generated tokens).
        hidden_dim, num_layers, num_heads, intermediate_dim: sizes.
        dropout: dropout rate on embeddings, attention and feed-forward.
        tie_embeddings: project to the vocabulary with the transposed token
            embedding (fewer parameters, usually better on small data).
        initializer: kernel initializer of the decoder blocks. Embeddings use
            a normal with stddev 0.02 as in GPT-2.

    Example:

    >>> model = CausalLM(vocabulary_size=100, sequence_length=32, num_layers=1)
    >>> model(tf.constant([[1, 2, 3]])).shape
    TensorShape([1, 3, 100])
    """

    def __init__(self, vocabulary_size, sequence_length, hidden_dim=128, num_layers=2,
                 num_heads=4, intermediate_dim=512, dropout=0.0, tie_embeddings=True,
                 initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} must be a multiple of num_heads={num_heads}")
        self.vocabulary_size = int(vocabulary_size)
        self.sequence_length = int(sequence_length)
        self.hidden_dim = int(hidden_dim)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.dropout_rate = float(dropout)
        self.tie_embeddings = bool(tie_embeddings)
        self.initializer = initializer

        self.embedding = keras_hub.layers.TokenAndPositionEmbedding(
            vocabulary_size=self.vocabulary_size,
            sequence_length=self.sequence_length,
            embedding_dim=self.hidden_dim,
            tie_weights=self.tie_embeddings,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="embedding",
        )
        self.embedding_dropout = keras.layers.Dropout(self.dropout_rate, name="embedding_dropout")
        self.blocks = [
            keras_hub.layers.TransformerDecoder(
                intermediate_dim=self.intermediate_dim,
                num_heads=self.num_heads,
                dropout=self.dropout_rate,
                activation="gelu",
                normalize_first=True,  # pre-LN trains stably without tuning
                kernel_initializer=fresh_initializer(initializer),
                name=f"decoder_{i}",
            )
            for i in range(self.num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.build()

    def build(self, input_shape=None):
        # Building on a fixed shape creates every weight up front, so
        # checkpoints restore and exports trace without a first call.
        shape = (None, None)
        self.embedding.build(shape)
        for block in self.blocks:
            block.build(decoder_sequence_shape=(None, None, self.hidden_dim))
        self.final_norm.build((None, None, self.hidden_dim))
        self.built = True

    def _logits(self, x):
        x = self.final_norm(x)
        # ReversibleEmbedding projects back to the vocabulary with the tied
        # matrix (or its separate output matrix when untied); float32 logits.
        return ops.cast(self.embedding.token_embedding(x, reverse=True), "float32")

    def call(self, token_ids, training=None):
        x = self.embedding(token_ids)
        x = self.embedding_dropout(x, training=training)
        for block in self.blocks:
            x = block(x, use_causal_mask=True, training=training)
        return self._logits(x)

    # -- cached generation ------------------------------------------------

    def call_with_cache(self, token_ids, cache, cache_update_index):
        """Logits for `token_ids` placed at `cache_update_index`, and the new cache.

        `cache` is `[batch, num_layers, 2, max_length, num_heads, head_dim]`
        (keys and values of every position seen so far). Passing the whole
        prompt at index 0 fills it; passing one token at index `i` computes
        only that position's attention over positions `<= i`.
        """
        x = self.embedding(token_ids, start_index=cache_update_index)
        caches = []
        for i, block in enumerate(self.blocks):
            x, layer_cache = block(
                x,
                self_attention_cache=cache[:, i, ...],
                self_attention_cache_update_index=cache_update_index,
                training=False,
            )
            caches.append(layer_cache)
        return self._logits(x), ops.stack(caches, axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "sequence_length": self.sequence_length,
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout_rate,
            "tie_embeddings": self.tie_embeddings,
            "initializer": self.initializer if isinstance(self.initializer, str)
            else keras.initializers.serialize(self.initializer),
        }


class BackboneCausalLM(CachedGeneration, keras.Model):
    """A keras-hub GPT-2 decoder backbone as a causal LM: token ids
    `[batch, length]` to float32 logits, with `CausalLM`'s cached
    generation. keras-hub's `GPT2CausalLM` does the work (its forward pass
    and `call_with_cache`); this only gives it `CausalLM`'s interface, which
    the export and the samplers use. The backbone is what a keras-hub preset
    holds, so causal pretraining saves it with `save_to_preset` like the
    masked-LM encoder.

    Example:

    >>> model = BackboneCausalLM(gpt2_backbone(vocabulary_size=8000, sequence_length=128))
    >>> model(tf.constant([[1, 2, 3]])).shape
    TensorShape([1, 3, 8000])
    """

    def __init__(self, backbone, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone
        self.causal_lm = keras_hub.models.GPT2CausalLM(backbone, preprocessor=None)
        self.sequence_length = int(backbone.max_sequence_length)
        self.num_layers, self.num_heads = backbone.num_layers, backbone.num_heads
        self.hidden_dim = backbone.hidden_dim
        self.built = True  # the backbone, a functional model, holds every weight

    def call(self, token_ids, training=None):
        inputs = {"token_ids": token_ids, "padding_mask": ops.ones_like(token_ids, "int32")}
        return ops.cast(self.causal_lm(inputs, training=training), "float32")

    def call_with_cache(self, token_ids, cache, cache_update_index):
        logits, _, cache = self.causal_lm.call_with_cache(token_ids, cache, cache_update_index)
        return ops.cast(logits, "float32"), cache

    def get_config(self):
        return {"backbone": keras.saving.serialize_keras_object(self.backbone),
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        backbone = keras.saving.deserialize_keras_object(config.pop("backbone"))
        return cls(backbone, **config)
