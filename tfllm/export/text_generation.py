"""Serving signatures for a causal language model: prompt in, text out.

The export (`saved_models/text_generation/<version>/`) has three signatures,
all taking and returning raw strings or numbers, built only from core TF and
TF Text ops so stock TF Serving runs them:

* `serving_default(prompt: string[batch]) -> text: string[batch]`
  The continuation of each prompt, with the sampler, its settings,
  `max_new_tokens` and the seed fixed at export time. Sampling is
  stateless, so the same prompt always gives the same text.
* `generate(prompt: string[batch], max_new_tokens: int32[], temperature:
  float32[], top_k: int32[], top_p: float32[], seed: int64[]) -> text`
  The same with settings per request (scalars; use TF Serving's columnar
  "inputs" request format). `temperature <= 0` or `top_p <= 0` is greedy,
  `top_k <= 0` and `top_p >= 1` switch those limits off.
* `score(text: string[batch]) -> nll: float32[batch], tokens: int32[batch]`
  Summed negative log-likelihood (nats) of each text and how many tokens were
  predicted (all but the first; long texts are cut into windows of the
  context length, as in evaluation). Perplexity over any held-out set is
  `exp(sum(nll) / sum(tokens))`.

Prompt rules (see `tfllm.decoding.generation`): `max_new_tokens` is clipped
to `[0, context - 1]`; a prompt that does not fit in `context -
max_new_tokens` tokens keeps its last tokens; an empty prompt starts from the
start token (the tokenizer's "\\n"), which is not returned. An empty batch
gives an empty batch.

Example:

>>> endpoints = generation_endpoints(model, preprocessor, GenerationSettings(top_k=10))
>>> export_task("saved_models/text_generation", model, preprocessor, endpoints, card)
"""

import dataclasses

import tensorflow as tf

from tfllm.decoding.generator import TextGenerator
from tfllm.decoding.samplers import RequestSampler, make_sampler
from tfllm.export.saved_model import endpoint


@dataclasses.dataclass
class GenerationSettings:
    """Sampling settings baked into `serving_default`."""

    sampler: str = "top_k"
    max_new_tokens: int = 32
    temperature: float = 1.0
    top_k: int = 10
    top_p: float = 0.9
    num_beams: int = 4
    seed: int = 0


def _fixed_sampler(settings):
    if settings.sampler in ("greedy", "beam"):
        # Deterministic: the keras-hub samplers hold no random state.
        return make_sampler(settings.sampler, temperature=settings.temperature,
                            num_beams=settings.num_beams)
    # Random samplers go through RequestSampler with constants, so the graph
    # has no seed-generator variable and answers are repeatable.
    top_k = settings.top_k if settings.sampler == "top_k" else 0
    top_p = settings.top_p if settings.sampler == "top_p" else 1.0
    return RequestSampler(settings.temperature, top_k, top_p, settings.seed)


def generation_endpoints(model, preprocessor, settings):
    """The three signatures, for `tfllm.export.saved_model.export_task`."""
    generator = TextGenerator(model, preprocessor)
    fixed = _fixed_sampler(settings)
    strings = tf.TensorSpec([None], tf.string)

    @endpoint(strings)
    def serving_default(prompt):
        return {"text": generator.generate(prompt, settings.max_new_tokens, fixed)}

    @endpoint(
        strings,
        tf.TensorSpec([], tf.int32, name="max_new_tokens"),
        tf.TensorSpec([], tf.float32, name="temperature"),
        tf.TensorSpec([], tf.int32, name="top_k"),
        tf.TensorSpec([], tf.float32, name="top_p"),
        tf.TensorSpec([], tf.int64, name="seed"),
    )
    def generate(prompt, max_new_tokens, temperature, top_k, top_p, seed):
        sampler = RequestSampler(temperature, top_k, top_p, seed)
        return {"text": generator.generate(prompt, max_new_tokens, sampler)}

    @endpoint(strings)
    def score(text):
        return generator.score(text)

    return {"serving_default": serving_default, "generate": generate, "score": score}
