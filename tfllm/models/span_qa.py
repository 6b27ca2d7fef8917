"""Span readers: start and end logits over the windows `SpanQAPreprocessor` packs.

Every reader takes `token_ids`, `segment_ids` (0: `[CLS]` question `[SEP]`,
1: context `[SEP]`) and `padding_mask` ([batch, length]) and returns
`{"start", "end"}` float32 logits [batch, length], where positions that
cannot start or end an answer (the question, the final `[SEP]`, padding)
are pushed to -1e9; `[CLS]` stays, as the "no answer in this window" label.

* `transformer`: a keras-hub `BertBackbone` (token, position and segment
  embeddings, Transformer encoder blocks) trained from scratch, or a
  pretrained one (`--init_from`), and a linear start/end layer, as BERT
  does SQuAD;
* `lstm`: a DrQA/BiDAF-style reader: token and segment embeddings and, per
  token, whether it occurs in the question (DrQA's exact-match feature),
  BiLSTMs over the window, attention from every position to the question,
  `[h, a, h * a]` (BiDAF's fusion), another BiLSTM, and the start/end layer.

Example:

>>> reader = build_reader("lstm", vocabulary_size=8000, sequence_length=384)
>>> logits = reader(windows)
>>> logits["start"].shape
TensorShape([4, 384])
"""

import keras

from tfllm.models.pretraining import BACKBONE_INPUTS, bert_backbone, encode

READERS = ("transformer", "lstm")
_IMPOSSIBLE = -1e9


def _inputs():
    return {name: keras.Input(shape=(None,), dtype="bool" if name == "padding_mask" else
                              "int32", name=name) for name in BACKBONE_INPUTS}


def _span_logits(sequence, inputs):
    """The start/end layer on `sequence` [batch, length, dim], with the
    positions no answer can take pushed down."""
    ops = keras.ops
    logits = keras.layers.Dense(2, dtype="float32", name="span_logits")(sequence)
    mask = ops.cast(inputs["padding_mask"], "int32")
    position = ops.cumsum(ops.ones_like(mask), axis=1) - 1
    final = ops.sum(mask, axis=1, keepdims=True) - 1  # the closing [SEP]
    context = ops.logical_and(ops.logical_and(ops.equal(inputs["segment_ids"], 1),
                                              inputs["padding_mask"]),
                              ops.not_equal(position, final))
    allowed = ops.logical_or(context, ops.equal(position, 0))
    return {name: ops.where(allowed, logits[:, :, index], _IMPOSSIBLE)
            for index, name in enumerate(("start", "end"))}


class SpanReader(keras.Model):
    """An encoder of windows and the start/end layer (see the module docstring).

    Build one with `BackboneReader` or `LSTMReader`; `token_embedding` is
    the embedding `--pretrained_embeddings` initialises.
    """

    def __init__(self, inputs, sequence, token_embedding, **kwargs):
        super().__init__(inputs, _span_logits(sequence, inputs), **kwargs)
        self._token_embedding = token_embedding

    @property
    def token_embedding(self):
        return self._token_embedding


class BackboneReader(SpanReader):
    """A keras-hub encoder as the reader's. One without segment embeddings
    (ESM) tells the question from the context by the `[SEP]` between them,
    as RoBERTa does.

    Example:

    >>> reader = BackboneReader(bert_backbone(8000, 384))
    >>> reader(windows)["end"].shape
    TensorShape([4, 384])
    """

    def __init__(self, backbone, **kwargs):
        inputs = _inputs()
        sequence, _ = encode(backbone, inputs)
        super().__init__(inputs, sequence, backbone.token_embedding,
                         **{"name": "backbone_reader", **kwargs})
        self.backbone = backbone


class LSTMReader(SpanReader):
    """A DrQA/BiDAF-style BiLSTM reader (see the module docstring).

    Example:

    >>> reader = LSTMReader(vocabulary_size=8000, hidden_dim=128)
    >>> reader(windows)["start"].shape
    TensorShape([4, 384])
    """

    def __init__(self, vocabulary_size, hidden_dim=128, num_layers=1, num_heads=4, dropout=0.1,
                 initializer="glorot_uniform", **kwargs):
        ops = keras.ops
        inputs = _inputs()
        token_ids, segment_ids, mask = (inputs[name] for name in BACKBONE_INPUTS)
        embedding = keras.layers.Embedding(vocabulary_size, hidden_dim,
                                           embeddings_initializer=initializer,
                                           name="token_embedding")
        question = ops.logical_and(ops.equal(segment_ids, 0), mask)
        # DrQA's exact match: the token occurs in the question.
        in_question = ops.any(ops.logical_and(
            ops.equal(token_ids[:, :, None], token_ids[:, None, :]), question[:, None, :]),
            axis=2)
        x = ops.concatenate([
            embedding(token_ids) + keras.layers.Embedding(2, hidden_dim, name="segment_embedding")(
                segment_ids), ops.cast(in_question, embedding.compute_dtype)[:, :, None]], axis=-1)
        x = keras.layers.Dropout(dropout)(x)

        def bilstm(x, name):
            return keras.layers.Bidirectional(keras.layers.LSTM(
                hidden_dim // 2, return_sequences=True, dropout=dropout,
                kernel_initializer=initializer), name=name)(x, mask=mask)

        for layer in range(num_layers):
            x = bilstm(x, f"encoder_{layer}")
        attended = keras.layers.MultiHeadAttention(
            num_heads, max(1, hidden_dim // num_heads), dropout=dropout,
            kernel_initializer=initializer, name="question_attention")(
                x, x, attention_mask=ops.logical_and(question[:, None, :], mask[:, :, None]))
        x = bilstm(ops.concatenate([x, attended, x * attended], axis=-1), "modelling")
        super().__init__(inputs, keras.layers.Dropout(dropout)(x), embedding,
                         **{"name": "lstm_reader", **kwargs})


def build_reader(name, vocabulary_size, sequence_length, hidden_dim=128, num_layers=2,
                 num_heads=4, intermediate_dim=256, dropout=0.1, initializer="glorot_uniform"):
    """The reader called `name` (one of `READERS`) from the shared sizes,
    trained from scratch; `sequence_length` and `intermediate_dim` size the
    Transformer only."""
    if name == "transformer":
        return BackboneReader(bert_backbone(vocabulary_size, sequence_length, hidden_dim,
                                            num_layers, num_heads, intermediate_dim, dropout))
    if name == "lstm":
        return LSTMReader(vocabulary_size, hidden_dim, num_layers, num_heads, dropout,
                          initializer)
    raise ValueError(f"--model must be one of {', '.join(READERS)} for QA, got {name!r}")
