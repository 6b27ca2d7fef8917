"""The pretraining models: a keras-hub BERT backbone with masked-LM and next-sentence
heads, or (causal LM) a keras-hub GPT-2 backbone (see `tfllm.models.causal_lm.BackboneCausalLM`).

The backbone is keras-hub's `BertBackbone` (token, position and segment
embeddings, Transformer encoder blocks, a pooled `[CLS]` output), so what
pretraining produces is saved with keras-hub's own `save_to_preset` and
loaded by `keras_hub.models.Backbone.from_preset`, as any keras-hub preset
is. The masked-LM head is keras-hub's `MaskedLMHead`, tied to the token
embedding as in BERT; next-sentence prediction is a two-way `Dense` on the
pooled output.

Example:

>>> backbone = bert_backbone(vocabulary_size=8000, sequence_length=128)
>>> model = MaskedLMPretrainer(backbone, next_sentence=True)
>>> sorted(model(x))
['mlm', 'nsp']
"""

import keras
import keras_hub

BACKBONE_INPUTS = ("token_ids", "segment_ids", "padding_mask")


def bert_backbone(vocabulary_size, sequence_length, hidden_dim=128, num_layers=2, num_heads=4,
                  intermediate_dim=256, dropout=0.1):
    """A keras-hub `BertBackbone` of these sizes, positions up to `sequence_length`."""
    return keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
        hidden_dim=hidden_dim, intermediate_dim=intermediate_dim, dropout=dropout,
        max_sequence_length=sequence_length)


def gpt2_backbone(vocabulary_size, sequence_length, hidden_dim=128, num_layers=2, num_heads=4,
                  intermediate_dim=256, dropout=0.1):
    """A keras-hub `GPT2Backbone` (pre-LN decoder blocks) of these sizes,
    positions up to `sequence_length`."""
    return keras_hub.models.GPT2Backbone(
        vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
        hidden_dim=hidden_dim, intermediate_dim=intermediate_dim, dropout=dropout,
        max_sequence_length=sequence_length)


class MaskedLMPretrainer(keras.Model):
    """`backbone` with a masked-LM head (and, with `next_sentence`, an NSP head).

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
        encoded = backbone({name: inputs[name] for name in BACKBONE_INPUTS})
        outputs = {"mlm": keras_hub.layers.MaskedLMHead(
            vocabulary_size=backbone.vocabulary_size, token_embedding=backbone.token_embedding,
            intermediate_activation="gelu", dtype="float32", name="mlm_head")(
                encoded["sequence_output"], mask_positions=inputs["mask_positions"])}
        if next_sentence:
            outputs["nsp"] = keras.layers.Dense(2, dtype="float32", name="nsp_head")(
                encoded["pooled_output"])
        super().__init__(inputs, outputs, **kwargs)
        self.backbone, self.next_sentence = backbone, bool(next_sentence)

    def get_config(self):
        return {"backbone": keras.saving.serialize_keras_object(self.backbone),
                "next_sentence": self.next_sentence, "name": self.name}

    @classmethod
    def from_config(cls, config):
        backbone = keras.saving.deserialize_keras_object(config.pop("backbone"))
        return cls(backbone, **config)
