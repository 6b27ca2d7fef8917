"""Serving signatures of a translation model: source sentences in, translations out.

The export (`saved_models/translation/<version>/`) has three signatures,
with core TF and TF Text ops only:

* `serving_default(text: string[batch]) -> translation: string[batch]`:
  beam search (or greedy, with one beam) with the settings fixed at export;
* `translate(text: string[batch], num_beams: int32[], max_length: int32[])
  -> translation`: the same with the beam width and the longest
  translation, in tokens, chosen per request (scalars: TF Serving's
  columnar "inputs" format); `num_beams <= 1` is greedy, and `max_length`
  (tokens, the end token included) lowers the export's own limit, `<= 0`
  keeping it;
* `score(source: string[batch], target: string[batch]) ->
  log_probability: float32[batch], tokens: int32[batch]`: the summed
  log-probability of each target given its source, and its token count.

Rules (see `tfllm.decoding.translator`): an empty source translates to "",
a source longer than the context keeps its first tokens, invalid UTF-8
becomes U+FFFD, and an empty batch gets an empty batch.

Example:

>>> endpoints = translation_endpoints(model, preprocessor, TranslationSettings(num_beams=4))
>>> export_task("saved_models/translation", model, preprocessor, endpoints, card)
"""

import dataclasses

import tensorflow as tf

from tfllm.decoding.translator import Translator
from tfllm.export.saved_model import endpoint


@dataclasses.dataclass
class TranslationSettings:
    """Decoding settings baked into `serving_default`."""

    num_beams: int = 4
    length_penalty: float = 0.6
    max_extra_tokens: int = 10


def translation_endpoints(model, preprocessor, settings):
    """The three signatures, for `tfllm.export.saved_model.export_task`."""
    translator = Translator(model, preprocessor)

    @endpoint(tf.TensorSpec([None], tf.string, name="text"))
    def serving_default(text):
        return {"translation": translator.translate(text, settings.num_beams,
                                                    settings.length_penalty,
                                                    settings.max_extra_tokens)}

    @endpoint(tf.TensorSpec([None], tf.string, name="text"),
              tf.TensorSpec([], tf.int32, name="num_beams"),
              tf.TensorSpec([], tf.int32, name="max_length"))
    def translate(text, num_beams, max_length):
        return {"translation": translator.translate(text, num_beams, settings.length_penalty,
                                                    settings.max_extra_tokens, max_length)}

    @endpoint(tf.TensorSpec([None], tf.string, name="source"),
              tf.TensorSpec([None], tf.string, name="target"))
    def score(source, target):
        return translator.score(source, target)

    return {"serving_default": serving_default, "translate": translate, "score": score}
