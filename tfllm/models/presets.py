"""Pretrained backbones: saved and loaded as keras-hub presets, and prepared for fine-tuning.

What `python -m tasks.pretrain` produces is a keras-hub preset directory
(`config.json`, the weights, `tokenizer.json` and the vocabulary), written by
keras-hub's own `save_to_preset`, so one loader reads ours and keras-hub's.
`--init_from` names one of:

* a preset directory (ours, or a keras-hub preset saved locally);
* a pretraining export, `saved_models/pretrain/3` (its `assets.extra/preset`),
  or the export root `saved_models/pretrain` (its newest version);
* a keras-hub preset name such as `bert_tiny_en_uncased` (downloaded, so it
  needs internet).

Example:

>>> tokenizer = load_tokenizer("saved_models/pretrain")
>>> backbone = load_backbone("saved_models/pretrain")
>>> freeze_layers(backbone, 1)
"""

import os

import keras_hub

from tfllm import report
from tfllm.data.errors import DataError
from tfllm.models.pretrained_embeddings import pretrained_embeddings

PRESET_FOLDER = os.path.join("assets.extra", "preset")


def save_preset(backbone, tokenizer, folder):
    """Writes `backbone` and `tokenizer` to `folder` as a keras-hub preset."""
    backbone.save_to_preset(folder)
    tokenizer.save_to_preset(folder)


def _is_preset(folder):
    return os.path.isfile(os.path.join(folder, "config.json"))


def preset_path(init_from):
    """The preset `init_from` names (see the module docstring)."""
    if not os.path.exists(init_from):
        if os.sep in init_from or init_from.startswith("."):
            raise DataError("--init_from", f"{init_from} does not exist")
        return init_from  # a keras-hub preset name
    if _is_preset(init_from):
        return init_from
    if _is_preset(os.path.join(init_from, PRESET_FOLDER)):
        return os.path.join(init_from, PRESET_FOLDER)
    versions = sorted((int(name) for name in os.listdir(init_from) if name.isdigit()),
                      reverse=True)
    for version in versions:
        candidate = os.path.join(init_from, str(version), PRESET_FOLDER)
        if _is_preset(candidate):
            return candidate
    raise DataError("--init_from", f"{init_from} is not a keras-hub preset directory, a "
                                   "pretraining export, or a folder of such exports")


def _load(loader, init_from):
    path = preset_path(init_from)
    try:
        return loader.from_preset(path)
    except (OSError, ValueError) as error:
        raise DataError("--init_from", f"could not load preset {path!r}: {error}") from error


def load_backbone(init_from):
    """The backbone of the preset `init_from` names (build it in the strategy's scope)."""
    return _load(keras_hub.models.Backbone, init_from)


def load_tokenizer(init_from):
    """The tokenizer of the preset `init_from` names."""
    return _load(keras_hub.tokenizers.Tokenizer, init_from)


def transformer_blocks(backbone):
    """The backbone's Transformer blocks, first to last."""
    blocks = getattr(backbone, "transformer_layers", None)
    if not blocks:
        raise ValueError(f"{type(backbone).__name__} has no `transformer_layers` to freeze "
                         "or decay")
    return list(blocks)


def _embedding_layers(backbone):
    """The layers that run before the first block: the embeddings and their norm."""
    blocks = {id(block) for block in transformer_blocks(backbone)}
    layers = []
    for layer in backbone.layers:
        if id(layer) in blocks:
            break
        layers.append(layer)
    return layers


def freeze_layers(backbone, count):
    """Fixes the embeddings and the first `count` blocks (0: nothing)."""
    if count <= 0:
        return
    blocks = transformer_blocks(backbone)
    if count > len(blocks):
        raise DataError("--freeze_layers", f"{count} is more than the backbone's "
                                           f"{len(blocks)} blocks")
    for layer in _embedding_layers(backbone) + blocks[:count]:
        layer.trainable = False


def layer_decay_multipliers(backbone, decay):
    """`{variable path: learning-rate factor}`: layer-wise decay (Clark et
    al. 2020): the top block trains at `decay` times the head's rate, each
    block below at `decay` times the one above, the embeddings lowest."""
    blocks = transformer_blocks(backbone)
    depth = len(blocks)
    factors = {}
    for layer in _embedding_layers(backbone):
        for variable in layer.weights:
            factors[variable.path] = decay ** (depth + 1)
    for index, block in enumerate(blocks):
        for variable in block.weights:
            factors[variable.path] = decay ** (depth - index)
    return factors


def backbone_sequence_length(backbone):
    """The longest sequence the backbone's position embedding holds (None: any)."""
    return getattr(backbone, "max_sequence_length", None)


# Flags that size or initialise a model trained from scratch: a preset has its own.
_SCRATCH_FLAGS = ("hidden_dim", "num_layers", "num_heads", "intermediate_dim", "initializer",
                  "pretrained_embeddings", "freeze_embeddings")


def check_transfer_flags(flags, scratch_only=()):
    """A message when the transfer flags do not fit the others, else None.
    `scratch_only` are the task's own flags that a preset makes moot."""
    if not flags.init_from:
        stray = [f"--{name}" for name in ("freeze_layers", "layer_decay") if flags[name].present]
        return (f"{', '.join(stray)} apply to a pretrained backbone; pass --init_from"
                if stray else None)
    moot = [f"--{name}" for name in (*_SCRATCH_FLAGS, *scratch_only)
            if name in flags and flags[name].present]
    if moot:
        return (f"{', '.join(moot)} size or start a model trained from scratch; the "
                f"--init_from preset brings its own encoder and tokenizer")
    return None


def model_description(flags):
    """The model of a run, for people: the `--model` trained from scratch,
    or "fine-tuned from" the `--init_from` preset."""
    return f"fine-tuned from {flags.init_from}" if flags.init_from else flags.model


def fine_tuning_model(flags, preprocessor, head, decoder=False):
    """`head(backbone)` over the backbone `--init_from` names, with
    `--freeze_layers` applied (call it in the strategy's scope), and the
    run card's record of it. The backbone must be an encoder (BERT), or
    with `decoder` a decoder (GPT-2)."""
    backbone = load_backbone(flags.init_from)
    is_decoder = isinstance(transformer_blocks(backbone)[0], keras_hub.layers.TransformerDecoder)
    if is_decoder and not decoder:
        raise DataError("--init_from", f"{preset_path(flags.init_from)} holds a decoder "
                        f"({type(backbone).__name__}, causal LM); this task fine-tunes "
                        "encoders such as BERT (pretrain with --objective=mlm)")
    if decoder and not is_decoder:
        raise DataError("--init_from", f"{preset_path(flags.init_from)} holds an encoder "
                        f"({type(backbone).__name__}, masked LM); this task continues "
                        "decoders such as GPT-2 (pretrain with --objective=causal)")
    longest = backbone_sequence_length(backbone)
    if longest and preprocessor.sequence_length > longest:
        raise DataError("--sequence_length", f"{preprocessor.sequence_length} is longer than "
                                             f"the preset's {longest} positions")
    if preprocessor.tokenizer.pad_token_id != 0:
        raise DataError("--init_from", "the preset's padding token is not id 0, which "
                                       "tfllm's batches pad with")
    freeze_layers(backbone, flags.freeze_layers)
    blocks = len(transformer_blocks(backbone))
    report.stage(f"Fine-tuning {type(backbone).__name__} ({blocks} blocks, "
                 f"{backbone.count_params():,} parameters) from {preset_path(flags.init_from)}"
                 + (f"; embeddings and {flags.freeze_layers} block(s) frozen"
                    if flags.freeze_layers else "")
                 + (f"; layer decay {flags.layer_decay}" if flags.layer_decay < 1 else ""))
    card = {"preset": preset_path(flags.init_from), "backbone": type(backbone).__name__,
            "blocks": blocks, "freeze_layers": flags.freeze_layers,
            "layer_decay": flags.layer_decay}
    return card, head(backbone)


def build_task_model(flags, preprocessor, head, from_scratch):
    """An encoder task's model, and the run card's records of where it started.

    With `--init_from`: `head(backbone)` over the preset's backbone
    (`fine_tuning_model`); else `from_scratch()`, whose `token_embedding`
    starts from `--pretrained_embeddings` where given. Returns `(model,
    transfer record or None, embedding coverage or None)`; call it in the
    strategy's scope.

    Example:

    >>> model, transfer, embeddings = build_task_model(
    ...     flags, preprocessor, BackboneReader, lambda: build_reader("lstm", ...))
    """
    if flags.init_from:
        transfer, model = fine_tuning_model(flags, preprocessor, head)
        return model, transfer, None
    model = from_scratch()
    return model, None, pretrained_embeddings(model.token_embedding,
                                              preprocessor.tokenizer.get_vocabulary(), flags)
