"""The pretraining models: a keras-hub encoder with masked-LM and next-sentence
heads, or (causal LM) a keras-hub GPT-2 backbone (see `tfllm.models.causal_lm.BackboneCausalLM`).

The encoder (`--backbone`) is one keras-hub ships, so what pretraining
produces is saved with keras-hub's own `save_to_preset` and loaded by
`keras_hub.models.Backbone.from_preset`, as any keras-hub preset is:

* `bert`: `BertBackbone` (token, position and segment embeddings, post-LN
  Transformer encoder blocks, a pooled `[CLS]` output);
* `esm`: `ESMBackbone` with `use_pre_layer_norm` (token embeddings and a
  norm, pre-LN blocks with rotary positions, a final norm; no segment
  embeddings and no pooler). Pre-LN encoders leave the masked-LM plateau
  (predicting frequent words) sooner than post-LN BERT does (Xiong et al.
  2020); ESM is the pre-LN encoder keras-hub has.

The masked-LM head is keras-hub's `MaskedLMHead`, tied to BERT's token
embedding; next-sentence prediction is a two-way `Dense` on the
pooled output (`encode`).

Example:

>>> backbone = bert_backbone(vocabulary_size=8000, sequence_length=128)
>>> model = MaskedLMPretrainer(backbone, next_sentence=True)
>>> sorted(model(x))
['mlm', 'nsp']
"""

import keras
import keras_hub

from tfllm import compat

compat.mask_padding_keys_in_esm()  # keras-hub's ESM attends to padding (see tfllm/compat.py)

BACKBONE_INPUTS = ("token_ids", "segment_ids", "padding_mask")


def bert_backbone(vocabulary_size, sequence_length, hidden_dim=128, num_layers=2, num_heads=4,
                  intermediate_dim=256, dropout=0.1):
    """A keras-hub `BertBackbone` of these sizes, positions up to `sequence_length`."""
    return keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
        hidden_dim=hidden_dim, intermediate_dim=intermediate_dim, dropout=dropout,
        max_sequence_length=sequence_length)


def esm_backbone(vocabulary_size, sequence_length, hidden_dim=128, num_layers=2, num_heads=4,
                 intermediate_dim=256, dropout=0.1):
    """A keras-hub `ESMBackbone` (pre-LN encoder blocks, rotary positions) of
    these sizes, positions up to `sequence_length`, padding id 0 as tfllm's."""
    return keras_hub.models.ESMBackbone(
        vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
        hidden_dim=hidden_dim, intermediate_dim=intermediate_dim, dropout=dropout,
        max_sequence_length=sequence_length, use_pre_layer_norm=True, pad_token_id=0)


ENCODERS = {"bert": bert_backbone, "esm": esm_backbone}


def encode(backbone, inputs):
    """`(sequence [batch, length, dim], pooled [batch, dim])` of a keras-hub
    encoder, given the tensors of `BACKBONE_INPUTS` (it takes those it has
    inputs for: ESM has no segment ids). Encoders without a pooled output
    (ESM) give their first position's vector, as RoBERTa's classifier reads."""
    encoded = backbone({name: inputs[name] for name in backbone.input})
    if not isinstance(encoded, dict):
        encoded = {"sequence_output": encoded}
    sequence = encoded["sequence_output"]
    return sequence, encoded.get("pooled_output", sequence[:, 0])


def gpt2_backbone(vocabulary_size, sequence_length, hidden_dim=128, num_layers=2, num_heads=4,
                  intermediate_dim=256, dropout=0.1):
    """A keras-hub `GPT2Backbone` (pre-LN decoder blocks) of these sizes,
    positions up to `sequence_length`."""
    return keras_hub.models.GPT2Backbone(
        vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
        hidden_dim=hidden_dim, intermediate_dim=intermediate_dim, dropout=dropout,
        max_sequence_length=sequence_length)


class MaskedLMPretrainer(keras.Model):
    """An encoder `backbone` (`ENCODERS`) with a masked-LM head (and, with
    `next_sentence`, an NSP head).

    Takes the dict `tfllm.data.masked_lm.MaskedLMInputs` makes (the backbone's
    inputs plus `mask_positions` [batch, selections]) and returns
    `{"mlm": logits [batch, selections, vocabulary], "nsp": logits [batch, 2]}`.

    Example:

    >>> model = MaskedLMPretrainer(bert_backbone(8000, 128))
    >>> model(x)["mlm"].shape
    TensorShape([32, 24, 8000])
    """

    def __init__(self, backbone, next_sentence=False, **kwargs):
        inputs = {name: keras.Input(shape=(None,), dtype="int32" if name != "padding_mask"
                                    else "bool", name=name)
                  for name in (*BACKBONE_INPUTS, "mask_positions")}
        sequence, pooled = encode(backbone, inputs)
        # Tied to the token embedding where it is reversible (BERT's); ESM's
        # is a plain `Embedding`, so its head has an output kernel of its own.
        tied = isinstance(backbone.token_embedding, keras_hub.layers.ReversibleEmbedding)
        outputs = {"mlm": keras_hub.layers.MaskedLMHead(
            vocabulary_size=backbone.vocabulary_size,
            token_embedding=backbone.token_embedding if tied else None,
            intermediate_activation="gelu", dtype="float32", name="mlm_head")(
                sequence, mask_positions=inputs["mask_positions"])}
        if next_sentence:
            outputs["nsp"] = keras.layers.Dense(2, dtype="float32", name="nsp_head")(pooled)
        super().__init__(inputs, outputs, **kwargs)
        self.backbone, self.next_sentence = backbone, bool(next_sentence)

    def get_config(self):
        return {"backbone": keras.saving.serialize_keras_object(self.backbone),
                "next_sentence": self.next_sentence, "name": self.name}

    @classmethod
    def from_config(cls, config):
        backbone = keras.saving.deserialize_keras_object(config.pop("backbone"))
        return cls(backbone, **config)
